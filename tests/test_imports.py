"""Importing labkit changes nothing outside it, and its parts import one way only (no circle)."""

import ast
import subprocess
import sys
from pathlib import Path

import labkit

PACKAGE = Path(labkit.__file__).parent

# What importing may not change: jax's lowering rules (every platform), jax's config
# values, XLA's flags, numpy's print options and error state, matplotlib's rc settings.
SNAPSHOT = r"""
import json, os
def snapshot():
    import jax, numpy as np, matplotlib
    from jax._src.interpreters import mlir
    rules = {p: {str(k): id(v) for k, v in table.items()} for p, table in mlir._platform_specific_lowerings.items()}
    common = {str(k): id(v) for k, v in mlir._lowerings.items()}
    config = {k: repr(v) for k, v in jax.config.values.items()}
    return {"rules": rules, "common": common, "config": config, "xla": os.environ.get("XLA_FLAGS"),
            "np": repr(np.get_printoptions()) + repr(np.geterr()),
            "mpl": {k: repr(v) for k, v in matplotlib.rcParams.items()}}
before = snapshot()
import labkit, labkit.cli, labkit.sim.loop, labkit.sim.prng, labkit.experiments.sweep, labkit.experiments.notebooks
import labkit.analysis.collapse, labkit.analysis.data_separation, labkit.analysis.findings, labkit.analysis.lever_study
import labkit.analysis.logs, labkit.analysis.plots, labkit.analysis.stats, labkit.analysis.style, labkit.analysis.tables
import labkit.analysis.tradeoffs, labkit.analysis.tuning, labkit.analysis.writeup
import labkit.experiments.studies, labkit.experiments.tuning, labkit.reproduce, labkit.bench
import labkit.grad, labkit.grad.relaxed, labkit.grad.estimators, labkit.grad.score, labkit.grad.tune
after = snapshot()
changed = [k for k in before if before[k] != after[k]]
print(json.dumps(changed))
"""


def test_importing_every_part_of_labkit_leaves_jax_numpy_and_matplotlib_untouched():
    result = subprocess.run([sys.executable, "-c", SNAPSHOT], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]", f"importing labkit changed: {result.stdout}"


def _imports(path: Path) -> set[str]:
    """The labkit modules a file imports, at its top level or inside functions (not the
    ``if TYPE_CHECKING:`` imports, which only annotations read)."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            node.body = []
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("labkit"):
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("labkit")}
    return found


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_the_package_has_no_import_circle():
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {name: {m for m in _imports(path) if m in modules and m != name} for name, path in modules.items()}
    # a package's __init__ that re-exports its modules points down, never up: drop parent -> child edges
    graph = {name: {m for m in deps if not m.startswith(name + ".")} for name, deps in graph.items()}
    state: dict[str, int] = {}

    def visit(name, trail):
        if state.get(name) == 1:
            raise AssertionError("import circle: " + " -> ".join(trail + [name]))
        if state.get(name) == 2:
            return
        state[name] = 1
        for dep in sorted(graph[name]):
            visit(dep, trail + [name])
        state[name] = 2

    for name in sorted(graph):
        visit(name, [])


def test_the_simulator_imports_nothing_from_the_layers_above_it():
    for path in (PACKAGE / "sim").rglob("*.py"):
        above = {m for m in _imports(path) if not m.startswith("labkit.sim")}
        assert not above, f"{path.name} imports {above}"


def test_the_differentiable_loop_imports_only_the_simulator():
    for path in (PACKAGE / "grad").rglob("*.py"):
        # the tuner writes its tables with the results store's atomic writers (which import only sim)
        above = {m for m in _imports(path)
                 if m.startswith("labkit.") and not m.startswith(("labkit.sim", "labkit.grad", "labkit.experiments.results"))}
        assert not above, f"{path.name} imports {above}"


def test_experiments_import_nothing_from_analysis():
    # analysis reads what experiments wrote; the other way round would make a circle
    for path in (PACKAGE / "experiments").rglob("*.py"):
        above = {m for m in _imports(path) if m.startswith("labkit.analysis")}
        assert not above, f"{path.name} imports {above}"
