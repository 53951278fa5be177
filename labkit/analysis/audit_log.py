"""Reading an interaction log for :func:`labkit.analysis.audit.audit`: which column plays
which role, integer codes of the ids, provenance flags, periods, and duplicate rows.

Every refusal is an :class:`AuditError` of one line naming the column and what is
expected. Ids become integer codes in order of first appearance (``pandas.factorize``);
everything after this works on those codes.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from labkit.sim.levers import ConfigError

PERIODS = ("day", "week", "month")
_PANDAS_PERIOD = {"day": "D", "week": "W", "month": "M"}
DUPLICATE_POLICIES = ("keep", "drop", "error")

# The provenance roles and the column names looked for by default (first present wins).
_DEFAULT_COLUMNS = {
    "user": ("user",),
    "item": ("item",),
    "time": ("time", "timestamp"),
    "is_synthetic": ("is_synthetic",),
    "ai_influenced": ("ai_influenced", "agent"),
    "creator": ("creator",),
    "clicked": ("clicked", "click"),
    "weight": ("weight",),
    "rating": ("rating",),
}


class AuditError(ConfigError):
    """A log that cannot be audited: the message names the column and what is expected."""


def resolve_columns(table: pd.DataFrame, columns: Mapping[str, str] | None, period: str | None) -> dict:
    """Role -> column name for the roles present; errors for required roles that are absent."""
    columns = dict(columns or {})
    unknown = set(columns) - set(_DEFAULT_COLUMNS) - {"round"}
    if unknown:
        raise AuditError(f"unknown column role(s) {sorted(unknown)}; expected some of "
                         f"{sorted(set(_DEFAULT_COLUMNS) | {'round'})}")
    resolved = {}
    for role, defaults in {**_DEFAULT_COLUMNS, "round": ("round",)}.items():
        if role in columns and columns[role] is not None:
            if columns[role] not in table.columns:
                raise AuditError(f"column {columns[role]!r} (given for {role}) not found; "
                                 f"the log has columns {list(table.columns)}")
            resolved[role] = columns[role]
        else:
            present = [name for name in defaults if name in table.columns]
            if present:
                resolved[role] = present[0]
    time_role = "round" if period is None else "time"
    for role in ("user", "item", time_role):
        if role not in resolved:
            hint = "the periods (or pass period=None to use a 'round' column)" if role == "time" else "ids"
            flag = "--period round" if role == "round" else f"--{role} COL"
            raise AuditError(f"column {role!r} not found (map another with {flag}); expected {hint}; "
                             f"the log has columns {list(table.columns)}")
    return resolved


def ids(values: pd.Series, name: str) -> tuple[np.ndarray, pd.Index]:
    """Integer codes 0..n-1 of an id column (order of first appearance) and the ids they
    stand for, refusing missing ids."""
    missing = int(values.isna().sum())
    if missing:
        rows = values.index[values.isna()][:3].tolist()
        raise AuditError(f"column {name!r} has {missing} missing id(s) (first at rows {rows}); "
                         f"expected an id on every row")
    codes, uniques = pd.factorize(values, sort=False)
    return codes, pd.Index(uniques)


def numbers(values: pd.Series, name: str, nonnegative: bool = False) -> np.ndarray:
    """A numeric column (a weight or a rating) as float64, refusing text, NaN and infinities
    (and negative values when ``nonnegative``)."""
    numeric = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(numeric) | ((numeric < 0) if nonnegative else False)
    if bad.any():
        examples = values[bad].astype(str).tolist()[:3]
        kind = "nonnegative finite numbers" if nonnegative else "finite numbers"
        raise AuditError(f"column {name!r} has {int(bad.sum())} value(s) that are not {kind} "
                         f"(e.g. {examples}); expected {kind} on every row")
    return numeric


def feature_codes(features: pd.DataFrame, items: pd.Index) -> tuple[np.ndarray, np.ndarray, list]:
    """An item -> feature table (columns ``item`` and ``feature``; an item may have several
    rows, one per feature) as CSR arrays over the log's item codes: ``offsets`` (n_items +
    1) and ``codes`` (the feature codes of item i are ``codes[offsets[i]:offsets[i+1]]``),
    and the feature labels. Items of the table that the log never shows are ignored; items
    of the log that the table lacks have no feature."""
    if not isinstance(features, pd.DataFrame) or not {"item", "feature"} <= set(features.columns):
        found = list(features.columns) if isinstance(features, pd.DataFrame) else type(features).__name__
        raise AuditError(f"item_features: expected a table with columns 'item' and 'feature' (one row per "
                         f"item and feature), received {found}")
    features = features.dropna(subset=["item", "feature"]).drop_duplicates(["item", "feature"])
    item = items.get_indexer(features["item"])
    known = item >= 0
    if not known.any():
        examples = features["item"].astype(str).tolist()[:3]
        raise AuditError(f"item_features: none of its items (e.g. {examples}) is in the log's item column; "
                         f"expected the log's item ids")
    feature, labels = pd.factorize(features["feature"][known], sort=True)
    item = item[known]
    order = np.argsort(item, kind="stable")
    offsets = np.concatenate([[0], np.cumsum(np.bincount(item, minlength=len(items)))])
    return offsets, feature[order], [str(label) for label in labels]


def flags(values: pd.Series, name: str) -> np.ndarray:
    """A provenance column as booleans: True/False, 1/0 or the words true/false."""
    if pd.api.types.is_bool_dtype(values) and not values.isna().any():
        return values.to_numpy(dtype=bool)
    words = values.astype("string").str.strip().str.lower()
    mapped = words.map({"true": True, "false": False, "1": True, "0": False, "1.0": True, "0.0": False})
    bad = mapped.isna()
    if bad.any():
        examples = sorted(set(values[bad].astype(str).tolist()))[:3]
        raise AuditError(f"column {name!r} has values other than true/false (e.g. {examples}); "
                         f"expected booleans, 0/1 or true/false on every row")
    return mapped.to_numpy(dtype=bool)


def period_of_rows(table: pd.DataFrame, column: str, period: str | None) -> tuple[np.ndarray, list[str]]:
    """Period index (0 = earliest) of each row and the periods' labels."""
    values = table[column]
    if period is None:
        if values.isna().any():
            raise AuditError(f"column {column!r} has missing values; expected a round on every row")
        codes, uniques = pd.factorize(values, sort=True)
        return codes, [str(u) for u in uniques]
    if period not in PERIODS:
        raise AuditError(f"period {period!r}: expected one of {list(PERIODS)} or None (a 'round' column)")
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        times = pd.to_datetime(values, unit="s", errors="coerce")
    else:
        with warnings.catch_warnings():  # pandas warns when it parses element by element; fine here
            warnings.simplefilter("ignore", UserWarning)
            times = pd.to_datetime(values, errors="coerce", utc=True).dt.tz_localize(None)
    bad = times.isna()
    if bad.any():
        examples = values[bad].astype(str).tolist()[:3]
        raise AuditError(f"column {column!r} has {int(bad.sum())} unparseable time(s) (e.g. {examples}); "
                         f"expected epoch seconds or timestamps")
    codes, uniques = pd.factorize(times.dt.to_period(_PANDAS_PERIOD[period]), sort=True)
    return codes, [str(u) for u in uniques]


def integer_times(times: pd.Series) -> np.ndarray | None:
    """The time column as int64 when it holds integers (or integral floats, or naive
    datetimes), else None."""
    values = times.to_numpy()
    if values.dtype.kind == "M":
        return values.view(np.int64)
    if values.dtype.kind in "iu":
        return values.astype(np.int64)
    if values.dtype.kind == "f" and np.isfinite(values).all() and (values == np.round(values)).all() \
            and np.abs(values).max(initial=0) < 2**62:
        return values.astype(np.int64)
    return None


def duplicated(user: np.ndarray, item: np.ndarray, n_items: int, times: pd.Series) -> np.ndarray:
    """Rows whose user, item and time repeat an earlier row's (``DataFrame.duplicated``'s
    answer, first kept), by sorting integer keys rather than hashing the three columns.

    With integer times whose span fits, (user, item, time) is one int64 key: one sort
    finds whether any row repeats (the usual answer is none), and a stable argsort marks
    every repeat but the first. Otherwise only rows whose (user, item) pair occurs more
    than once can repeat one, and pandas hashes those rows alone."""
    key = user.astype(np.int64) * n_items + item
    duplicate = np.zeros(len(key), dtype=bool)
    moments = integer_times(times)
    if moments is not None:
        start = int(moments.min())
        span = int(moments.max()) - start + 1
        if (int(key.max()) + 1) * span < 2**62:
            full = key * span + (moments - start)
            ordered = np.sort(full)
            if not (ordered[1:] == ordered[:-1]).any():
                return duplicate
            order = np.argsort(full, kind="stable")
            duplicate[order[1:][full[order][1:] == full[order][:-1]]] = True
            return duplicate
    order = np.argsort(key, kind="stable")
    repeat = key[order][1:] == key[order][:-1]
    in_run = np.zeros(len(key), dtype=bool)
    in_run[1:] |= repeat
    in_run[:-1] |= repeat
    candidates = np.sort(order[in_run])
    if len(candidates):
        pairs = pd.DataFrame({"key": key[candidates], "time": times.to_numpy()[candidates]})
        duplicate[candidates] = pairs.duplicated(keep="first").to_numpy()
    return duplicate
