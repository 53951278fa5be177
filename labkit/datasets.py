"""Public interaction logs, fetched on demand and cached, never committed to the repository.

MovieLens 100K (GroupLens: 100,000 ratings by 943 users of 1,682 movies, Sept 1997 -
April 1998) is the public example of ``labkit audit``. The pip package ``recbole`` ships it
inside its wheel as ``recbole/dataset_example/ml-100k/ml-100k.inter``, so
:func:`ml_100k` fetches it with the ordinary package client (``pip download recbole
--no-deps``: a 2 MB wheel, nothing installed) and reads it out of the wheel with
``zipfile``. MovieLens has its own terms of use (GroupLens: research use, no
redistribution); the data stays in the cache folder.

The cache is ``~/.cache/labkit/data`` unless ``$LABKIT_DATA`` names another folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd

from labkit.sim.levers import ConfigError

CACHE_VARIABLE = "LABKIT_DATA"
RECBOLE = "recbole==1.2.1"  # pinned: the same bytes on every machine
_MEMBER = "recbole/dataset_example/ml-100k/ml-100k.inter"
_ITEMS = "recbole/dataset_example/ml-100k/ml-100k.item"
DATASETS = ("ml-100k", "ml-100k-genres")


class DatasetError(ConfigError):
    """A dataset that could not be fetched: the message says from where and why."""


def cache_dir() -> Path:
    """Where fetched datasets are kept: ``$LABKIT_DATA``, else ``~/.cache/labkit/data``."""
    return Path(os.environ.get(CACHE_VARIABLE) or Path.home() / ".cache" / "labkit" / "data")


def _wheel(folder: Path) -> Path:
    """recbole's wheel in ``folder``, downloaded by pip when it is not there yet."""
    wheels = sorted(folder.glob("recbole-*.whl"))
    if wheels:
        return wheels[-1]
    folder.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", RECBOLE, "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "--dest", str(folder)]
    done = subprocess.run(command, check=False, capture_output=True, text=True)
    wheels = sorted(folder.glob("recbole-*.whl"))
    if done.returncode != 0 or not wheels:
        reason = (done.stderr.strip().splitlines() or ["no wheel written"])[-1]
        raise DatasetError(f"could not fetch {RECBOLE} from the package registry ({' '.join(command[2:5])}): "
                           f"{reason}")
    return wheels[-1]


def ml_100k_path(cache: str | os.PathLike | None = None) -> Path:
    """``ml-100k.parquet`` in the cache (columns user, item, rating, timestamp), made on first use."""
    folder = Path(cache) if cache is not None else cache_dir()
    target = folder / "ml-100k.parquet"
    if target.exists():
        return target
    with zipfile.ZipFile(_wheel(folder / "wheels")) as wheel, wheel.open(_MEMBER) as inter:
        # header: user_id:token item_id:token rating:float timestamp:float
        table = pd.read_csv(inter, sep="\t")
    table.columns = ["user", "item", "rating", "timestamp"]
    table = table.astype({"user": "int64", "item": "int64", "rating": "float64", "timestamp": "int64"})
    from labkit.experiments.results import write_table

    return write_table(table, target)


def ml_100k(cache: str | os.PathLike | None = None) -> pd.DataFrame:
    """MovieLens 100K as a DataFrame: user, item, rating, timestamp (epoch seconds); 100,000 rows."""
    return pd.read_parquet(ml_100k_path(cache))


def ml_100k_genres_path(cache: str | os.PathLike | None = None) -> Path:
    """``ml-100k-genres.parquet`` in the cache (columns item, feature: one row per movie and
    genre, 19 genres), made on first use from the same wheel."""
    folder = Path(cache) if cache is not None else cache_dir()
    target = folder / "ml-100k-genres.parquet"
    if target.exists():
        return target
    with zipfile.ZipFile(_wheel(folder / "wheels")) as wheel, wheel.open(_ITEMS) as movies:
        # header: item_id:token movie_title:token_seq release_year:token class:token_seq (genres, space-separated)
        table = pd.read_csv(movies, sep="\t", usecols=[0, 3])
    table.columns = ["item", "feature"]
    table = table.assign(feature=table["feature"].str.split()).explode("feature").dropna()
    table = table.astype({"item": "int64", "feature": "string"}).reset_index(drop=True)
    from labkit.experiments.results import write_table

    return write_table(table, target)


def ml_100k_genres(cache: str | os.PathLike | None = None) -> pd.DataFrame:
    """MovieLens 100K's genres: item, feature (one row per movie and genre), for
    ``audit(..., item_features=...)``."""
    return pd.read_parquet(ml_100k_genres_path(cache))
