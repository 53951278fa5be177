"""The main job: run every study notebook, in order, with papermill.

    labkit main --scale default            # every notebooks/NN_*.ipynb
    labkit main --scale tiny --only 01     # one study (number, stem or name)
    labkit main --list

Each ``notebooks/NN_name.ipynb`` is executed with parameters ``scale`` and
``out_dir=<out>/NN_name``; the executed notebook is written to
``<out>/NN_name/NN_name.ipynb`` next to the tables and figures it makes. The studies
start in number order, ``--workers`` of them at a time (default: one per core, at most
:data:`MAX_WORKERS`; each in its own kernel), and ``99_*`` (the write-up, which reads the
other studies' results) runs last, alone. The kernel is ``python3`` and its working
directory the repository root. Running studies side by side pays off because most of a
study's time is XLA compiling its programs, which keeps one core busy: two kernels on two
cores take about half the time of one after the other. A study's numbers do not depend on
what runs beside it.

If a notebook fails the job starts no other, lets the ones already running finish, names
the notebook, the failing cell and the error, and exits with status 1; the executed
notebook up to the failure is saved, and the studies already done are kept.

Compiled programs are shared: the kernels use JAX's persistent compilation cache, set by
:func:`labkit.compilation_cache` (``$LABKIT_COMPILATION_CACHE``, else
``$JAX_COMPILATION_CACHE_DIR``, else ``~/.cache/labkit/jax``; ``--jax-cache DIR`` picks
another folder, ``--jax-cache ''`` turns it off), which they inherit through the
environment. Studies 02-06 run the same programs (one per ranking policy, data strategy and
model size), so each is compiled once per machine, not once per notebook. A cached program
is the program XLA would compile, so the numbers do not depend on the cache.

What each notebook took is kept in ``<out>/main_job.json``: the scale, the cache folder,
the workers, the job's elapsed time, the programs the job added to the cache (0 once every
program it runs was compiled before: a warm run), and per notebook its wall time and, when
notebooks ran one at a time, the programs it added.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import platform
import re
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from labkit.cache import cache_entries, compilation_cache_at

ROOT = Path(__file__).resolve().parents[2]
SCALES = ("tiny", "default", "paper")  # every experiments/*.yaml defines these (tested)
NOTEBOOK_PATTERN = re.compile(r"^\d\d_.+\.ipynb$")
WRITE_UP_PREFIX = "99_"
KERNEL = "python3"
MAX_WORKERS = 4  # kernels at once by default: each holds its own programs and arrays in memory


def default_workers() -> int:
    """One notebook kernel per core, at most :data:`MAX_WORKERS`."""
    return max(1, min(MAX_WORKERS, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                      else os.cpu_count() or 1))


class NotebookFailed(RuntimeError):
    """A study notebook raised; the message names the notebook, the cell and the error.

    ``cell_index`` is papermill's: the position in the executed notebook, which holds one
    more cell (the injected parameters) than the source. ``source_cell`` is the failing
    cell's position in the source notebook (None if it cannot be matched).
    """

    def __init__(self, notebook: Path, output: Path, cell_index: int | None, exec_count: int | None,
                 source: str, ename: str, evalue: str, source_cell: int | None = None):
        self.notebook, self.output = notebook, output
        self.cell_index, self.exec_count, self.source_cell = cell_index, exec_count, source_cell
        self.source, self.ename, self.evalue = source, ename, evalue
        first_line = next((line for line in source.splitlines() if line.strip()), "").strip()
        where = ", ".join(part for part in (
            f"cell {source_cell} of {notebook.name}" if source_cell is not None else "",
            f"In [{exec_count}]" if exec_count is not None else "",
            f"cell {cell_index} of the executed notebook" if cell_index is not None else "",
        ) if part)
        super().__init__(
            f"notebook {notebook.name} failed at {where or 'an unknown cell'}: {ename}: {evalue}\n"
            + (f"  the cell starts: {first_line[:100]}\n" if first_line else "")
            + f"  executed notebook, up to the failure: {output}")


def _source_cell(notebook: Path, source: str) -> int | None:
    """Position in ``notebook`` of the first code cell whose source is ``source``."""
    import nbformat

    cells = nbformat.read(str(notebook), as_version=4).cells
    return next((i for i, cell in enumerate(cells)
                 if cell.cell_type == "code" and cell.source == source), None)


@dataclass(frozen=True)
class Done:
    """One notebook that ran: where its executed copy is and how long it took."""

    notebook: Path
    output: Path
    wall_time_s: float


def discover(folder: Path = ROOT / "notebooks") -> list[Path]:
    """The study notebooks ``NN_*.ipynb`` of ``folder`` in run order (``99_*`` last)."""
    found = sorted(p for p in Path(folder).iterdir() if NOTEBOOK_PATTERN.match(p.name))
    return ([p for p in found if not p.name.startswith(WRITE_UP_PREFIX)]
            + [p for p in found if p.name.startswith(WRITE_UP_PREFIX)])


def select(notebooks: Sequence[Path], only: str) -> list[Path]:
    """The notebooks that ``only`` names: a number (``01``), a stem (``01_collapse``) or a
    name (``collapse``)."""
    chosen = [p for p in notebooks
              if only in (p.stem, p.name, p.stem[:2], p.stem[3:])]
    if not chosen:
        raise SystemExit(f"--only {only!r}: no such notebook; available: "
                         f"{', '.join(p.stem for p in notebooks) or 'none'}")
    return chosen


def run_notebook(notebook: Path, out_root: Path, parameters: Mapping[str, Any],
                 cwd: Path = ROOT, kernel: str = KERNEL, progress: bool = False) -> Done:
    """Execute one notebook with papermill into ``out_root/<stem>/<stem>.ipynb``.

    ``parameters`` are injected after the notebook's ``parameters`` cell, plus
    ``out_dir=out_root/<stem>``. Raises :class:`~labkit.sim.config.ConfigError`, before
    anything runs, for a parameter the notebook does not declare (the notebook checks the
    values itself), and :class:`NotebookFailed` if a cell raises.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    from labkit.experiments.parameters import check_names

    notebook = Path(notebook)
    check_names(notebook, [*parameters, "out_dir"])
    out_dir = Path(out_root) / notebook.stem
    out_dir.mkdir(parents=True, exist_ok=True)
    output = out_dir / notebook.name
    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(notebook), str(output), parameters={**parameters, "out_dir": str(out_dir)},
            kernel_name=kernel, cwd=str(cwd), progress_bar=progress,
            # the kernel process's own log (its start-up notices) stays quiet below errors;
            # what a cell prints or warns goes to the executed notebook as before
            extra_arguments=["--IPKernelApp.log_level=ERROR"])
    except PapermillExecutionError as err:
        raise NotebookFailed(notebook, output, err.cell_index, err.exec_count, err.source or "",
                             err.ename, err.evalue, _source_cell(notebook, err.source or "")) from None
    return Done(notebook, output, time.perf_counter() - start)


class JobRecord:
    """``main_job.json``: what each notebook of one main job took, rewritten after every notebook.

    ``cache``: the compilation cache folder the kernels use (None: off); ``programs_compiled``
    counts the programs the job added there (0: a warm run, every program loaded; None: cache
    off). Per notebook the count is kept only when notebooks run one at a time (``workers``
    1): side by side, two kernels add programs at once and the count cannot be split.
    """

    def __init__(self, path: Path, scale: str, cache: str | None, workers: int = 1):
        from labkit.experiments.results import provenance

        self.path, self.cache, self.workers = Path(path), cache, workers
        self.entries = self.first_entries = cache_entries(cache)
        self.started = time.perf_counter()
        self.data: dict[str, Any] = {"scale": scale, "compilation_cache": cache,
                                     "cache_programs_before": self.entries, **provenance(),
                                     "host": platform.node(), "cpu_count": os.cpu_count(), "workers": workers,
                                     "notebooks": []}

    def add(self, done: Done) -> None:
        """Record one finished notebook and rewrite the file."""
        from labkit.experiments.results import write_json

        entries = cache_entries(self.cache)
        alone = self.cache and self.workers == 1
        self.data["notebooks"].append({
            "notebook": done.notebook.stem, "wall_time_s": round(done.wall_time_s, 1),
            "programs_compiled": entries - self.entries if alone else None})
        self.entries = entries
        self.data["total_s"] = round(sum(n["wall_time_s"] for n in self.data["notebooks"]), 1)
        self.data["elapsed_s"] = round(time.perf_counter() - self.started, 1)
        self.data["programs_compiled"] = entries - self.first_entries if self.cache else None
        write_json(self.data, self.path)


JOB_RECORD = "main_job.json"


def run_notebooks(notebooks: Sequence[Path], out_root: Path, parameters: Mapping[str, Any],
                  cwd: Path = ROOT, kernel: str = KERNEL, progress: bool = False,
                  log=print, record: JobRecord | None = None, workers: int = 1) -> list[Done]:
    """Run ``notebooks``, logging each one's wall time and the total (and adding each to
    ``record``, if given): the studies ``workers`` at a time, started in the given order,
    then the write-up (``99_*``) alone.

    At the first failure no further notebook starts, the running ones finish, and
    :class:`NotebookFailed` is raised; what the other notebooks wrote stays in place.
    """
    done: list[Done] = []
    total = time.perf_counter()
    studies = [p for p in notebooks if not p.name.startswith(WRITE_UP_PREFIX)]
    last = [p for p in notebooks if p.name.startswith(WRITE_UP_PREFIX)]
    position = {p: i for i, p in enumerate(notebooks, 1)}

    lock = threading.Lock()  # one line at a time from the notebooks running side by side

    def say(line: str) -> None:
        with lock:
            log(line, flush=True)

    def one(notebook: Path) -> Done:
        i = position[notebook]
        say(f"[{i}/{len(notebooks)}] {notebook.name} ...")
        result = run_notebook(notebook, out_root, parameters, cwd=cwd, kernel=kernel, progress=progress)
        say(f"[{i}/{len(notebooks)}] {notebook.name}: {result.wall_time_s:.1f} s -> {result.output}")
        return result

    for batch, width in ((studies, workers), (last, 1)):
        waiting, running = list(batch), set()
        failure: BaseException | None = None
        with concurrent.futures.ThreadPoolExecutor(max(1, width)) as pool:
            while waiting or running:
                while waiting and len(running) < width and failure is None:  # none starts after a failure
                    running.add(pool.submit(one, waiting.pop(0)))
                if not running:
                    break
                finished, running = concurrent.futures.wait(running, return_when=concurrent.futures.FIRST_COMPLETED)
                for future in finished:
                    if future.exception() is not None:
                        failure = failure or future.exception()
                        continue
                    done.append(future.result())
                    if record is not None:
                        record.add(done[-1])
        if failure is not None:
            raise failure
    log(f"{len(done)} notebook(s) in {time.perf_counter() - total:.1f} s", flush=True)
    return done


def main(argv: Sequence[str] | None = None) -> int:
    """Command line of the main job; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="labkit main",
        description="Run the study notebooks (notebooks/NN_*.ipynb) in order with papermill.")
    parser.add_argument("--scale", default="default", choices=SCALES,
                        help="scale of each experiment file (default: default)")
    parser.add_argument("--only", metavar="NAME",
                        help="run one notebook: its number (01), stem (01_collapse) or name (collapse)")
    parser.add_argument("--out", default="results", type=Path,
                        help="results folder; relative to the repository root (default: results)")
    parser.add_argument("--notebooks", default=ROOT / "notebooks", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--list", action="store_true", help="list the notebooks in run order and exit")
    parser.add_argument("--progress", action="store_true", help="show papermill's per-cell progress bar")
    parser.add_argument("--workers", type=int, default=default_workers(), metavar="N",
                        help="study notebooks run side by side, each in its own kernel (default: one per "
                             f"core, at most {MAX_WORKERS}; 1: one after the other); the write-up runs last")
    parser.add_argument("--jax-cache", default=None, metavar="DIR",
                        help="JAX persistent compilation cache shared by the kernels (default: "
                             "$LABKIT_COMPILATION_CACHE, else $JAX_COMPILATION_CACHE_DIR, else "
                             "~/.cache/labkit/jax; '' turns it off; see labkit.compilation_cache)")
    args = parser.parse_args(argv)
    from labkit.sim.config import ConfigError

    notebooks = discover(args.notebooks)
    if args.list:
        for notebook in notebooks:
            print(notebook.stem)
        return 0
    if args.workers < 1:
        parser.error(f"--workers must be at least 1, got {args.workers}")
    if args.only:
        notebooks = select(notebooks, args.only)
    if not notebooks:
        print(f"no notebooks matching NN_*.ipynb in {args.notebooks}", file=sys.stderr)
        return 1
    out_root = args.out if args.out.is_absolute() else ROOT / args.out
    # main() may be called in-process (tests): the block leaves jax and the environment as found
    with compilation_cache_at(args.jax_cache) as cache:
        print(f"scale {args.scale!r}, results under {out_root}, JAX compilation cache: {cache or 'off'}",
              flush=True)
        try:
            workers = min(args.workers, len(notebooks))
            print(f"{len(notebooks)} notebook(s), {workers} at a time", flush=True)
            run_notebooks(notebooks, out_root, {"scale": args.scale}, progress=args.progress,
                          record=JobRecord(out_root / JOB_RECORD, args.scale, cache, workers), workers=workers)
        except (NotebookFailed, ConfigError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
