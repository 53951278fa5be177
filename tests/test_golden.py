"""Every number of the golden table (tests/golden.json), bit for bit.

The table holds the metrics of fixed tiny worlds (every policy, recommender, data strategy,
generator objective and consumption mode, with the GenAI and drift on), a vmapped grid, and
the four reproductions at their tiny scale. A refactor or a speed-up keeps them all; a
change of semantics regenerates the table (``python tests/golden.py --write``) in a commit
of its own that says why.
"""

import copy

import golden
import pytest

TABLE = golden.load()


def _same(expected, got):
    found = golden.first_difference(expected, got)
    here, there = golden.host(), TABLE.get("host")
    other_host = ("" if here == there else
                  f" This host's CPU ({here}) is not the one that wrote the table ({there}): XLA compiles for "
                  f"the host CPU, and the last bits can differ between CPUs.")
    assert found is None, (f"{found}\nThe golden table changed. If this change of numbers is on purpose, "
                           f"regenerate it with `python tests/golden.py --write` in its own commit "
                           f"(golden table written under jax {TABLE['jax']}).{other_host}")


@pytest.mark.parametrize("case", sorted(golden.CASES))
def test_simulation_numbers_are_bit_identical_to_the_golden_table(case):
    _same(TABLE["simulations"][case], golden.simulation_case(case))


def test_grid_numbers_are_bit_identical_to_the_golden_table():
    _same(TABLE["grid"], golden.grid_case())


@pytest.mark.parametrize("name", golden.REPRODUCTIONS)
def test_reproduction_numbers_are_bit_identical_to_the_golden_table(name, tiny_reproduction):
    _same(TABLE["reproductions"][name], golden.reproduction_case(name, tiny_reproduction(name)))


def test_the_golden_table_covers_every_choice():
    from labkit.sim import config
    configs = [{**golden.WORLD, **case} for case in golden.CASES.values()]
    for lever, choices in [("policy", config.POLICIES), ("recommender", config.RECOMMENDERS),
                           ("data_strategy", config.DATA_STRATEGIES),
                           ("generator_objective", config.GENERATOR_OBJECTIVES),
                           ("consumption", config.CONSUMPTION)]:
        used = {c.get(lever, config.LEVERS[lever].default) for c in configs}
        assert used == set(choices), f"{lever}: the golden cases miss {set(choices) - used}"
    assert all(c["synthetic_share"] > 0 and c["drift"] > 0 for c in configs)


def test_the_table_pins_every_metric_but_those_declared_unpinned():
    """A metric added to the loop is either in the table or named in golden.UNPINNED_METRICS
    (until the next regeneration), so none goes uncompared by oversight."""
    import labkit
    for case in [*TABLE["simulations"].values(), TABLE["grid"]]:
        assert set(case["metrics"]) | set(golden.UNPINNED_METRICS) >= set(labkit.METRIC_NAMES)
        assert not set(case["metrics"]) & set(golden.UNPINNED_METRICS), "pinned now: empty UNPINNED_METRICS"


def test_a_changed_number_is_caught():
    case = TABLE["simulations"][sorted(golden.CASES)[0]]
    mutated = copy.deepcopy(case)
    mutated["metrics"]["ctr"][0][0] = (float.fromhex(case["metrics"]["ctr"][0][0]) + 2 ** -20).hex()
    assert "ctr" in golden.first_difference(case, mutated)
