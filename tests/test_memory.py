"""labkit.sim.memory: worlds too large for the device are refused before any compile, with the
estimate, the dominating part and what would fit; the estimate holds to XLA's own plan."""

import time

import jax
import pytest

import labkit
from labkit.cli import main
from labkit.sim import loop, memory
from labkit.sim.prng import unrolled_threefry

GIB = 2 ** 30
ISSUE = dict(n_users=5_000_000, n_items=100_000, initial_items=100_000, rounds=50, recommender="content")


@pytest.fixture
def machine_of_24_gib(monkeypatch):
    """The issue's machine (24 GiB, about 22 free), whatever this one has; no simulation may compile."""
    monkeypatch.setattr(memory, "free_memory", lambda device=None: memory.Free(22 * GIB, "available on this host"))

    def compiled(*args, **kwargs):
        raise AssertionError("a simulation was compiled and run")

    for name in ("_simulate", "_simulate_seeds", "_simulate_seeds_branched", "_simulate_grid"):
        monkeypatch.setattr(loop, name, compiled)


@pytest.mark.parametrize("users", [5_000_000, 10_000_000])
def test_the_issues_worlds_are_refused_in_seconds_before_any_compile(machine_of_24_gib, users):
    config = labkit.Config.from_dict({**ISSUE, "n_users": users})
    start = time.perf_counter()
    with pytest.raises(memory.WorldTooLarge) as refused:
        labkit.simulate_seeds(config, [0])
    assert time.perf_counter() - start <= 5.0
    message = str(refused.value)
    assert "\n" not in message
    assert f"{users} users x 100000 items x 50 rounds" in message
    needs = float(message.split("needs about ")[1].split(" GiB")[0])
    assert needs > 22, message  # the log alone: 50 rounds x users x 10 slots x 11 bytes
    assert "but 22 GiB is available on this host" in message
    assert "log dominates" in message
    fit = int(message.split("rounds <= ")[1].split(" ")[0])
    assert 1 <= fit < 50
    assert loop.estimate_memory(config.replace(rounds=fit).static).total <= 22 * GIB
    assert loop.estimate_memory(config.replace(rounds=fit + 1).static).total > 22 * GIB


def test_seeds_that_fit_alone_but_not_together_are_told_how_many_fit(machine_of_24_gib):
    config = labkit.Config.from_dict({**ISSUE, "n_users": 200_000})
    one = loop.estimate_memory(config.static).total
    seeds = int(22 * GIB // one) + 1
    labkit.sim.loop.check_memory(config.static, seeds=seeds - 1)  # fits: nothing raised
    with pytest.raises(memory.WorldTooLarge, match=f"fewer seeds per call \\(at most {seeds - 1} worlds fit\\)"):
        labkit.simulate_seeds(config, range(seeds))


def test_a_huge_scoring_block_is_told_the_block_users_that_fit(machine_of_24_gib):
    config = labkit.Config.from_dict(n_users=2_000_000, n_items=2_000_000, initial_items=2_000_000, rounds=2,
                                     block_users=1_000_000, recommender="content")
    with pytest.raises(memory.WorldTooLarge, match="scoring blocks dominates") as refused:
        labkit.simulate(config, jax.random.key(0))
    block = int(str(refused.value).split("block_users: <= ")[1].split(" ")[0])
    assert loop.estimate_memory(config.replace(block_users=block).static).total <= 22 * GIB
    assert loop.estimate_memory(config.replace(block_users=2 * block).static).total > 22 * GIB


def test_the_override_runs_it_anyway(machine_of_24_gib, monkeypatch, tmp_path):
    config = labkit.Config.from_dict(ISSUE)

    class Ran(Exception):
        pass

    def reached(*args, **kwargs):
        raise Ran

    monkeypatch.setattr(loop, "_simulate_seeds", reached)
    monkeypatch.setattr(loop, "_simulate_seeds_branched", reached)  # labkit run's program (every policy a branch)
    with pytest.raises(Ran):
        labkit.simulate_seeds(config, [0], memory_check=False)
    with monkeypatch.context() as env:
        env.setenv(memory.SWITCH_VARIABLE, "0")
        with pytest.raises(Ran):
            labkit.simulate_seeds(config, [0])
    with memory.unchecked():
        with pytest.raises(Ran):
            labkit.simulate_seeds(config, [0])
    with pytest.raises(memory.WorldTooLarge):  # the block ended: checked again
        labkit.simulate_seeds(config, [0])

    huge = tmp_path / "huge.yaml"
    huge.write_text("".join(f"{key}: {value}\n" for key, value in ISSUE.items()))
    assert main(["run", str(huge), "--out", str(tmp_path / "out"), "--quiet"]) == 2  # refused, one line
    with pytest.raises(Ran):
        main(["run", str(huge), "--out", str(tmp_path / "out"), "--quiet", "--no-memory-check"])


def test_sweep_and_bench_refuse_every_world_before_computing_any(machine_of_24_gib, tmp_path, capsys):
    study = tmp_path / "huge_study.yaml"
    study.write_text("study: huge_study\nbase: {recommender: content}\nconditions:\n  small: {n_users: 200}\n"
                     "  huge: {n_users: 5000000, n_items: 100000, initial_items: 100000}\nseeds: 2\n")
    assert main(["sweep", str(study), "--out", str(tmp_path / "sweep"), "--quiet"]) == 2
    assert "5000000 users x 100000 items x 50 rounds (content): needs about" in capsys.readouterr().err
    assert not (tmp_path / "sweep" / "points").exists()  # not even the small point was computed
    assert main(["bench", "--sizes", "1000x1000x5", "5000000x100000x50", "--grid", "0", "0", "--no-trecs",
                 "--no-prng", "--grad-size", "0", "--study", "none", "--out", str(tmp_path / "bench")]) == 2
    assert "5000000 users x 100000 items x 50 rounds (content): needs about" in capsys.readouterr().err


def test_the_program_with_every_policy_as_a_branch_is_judged_by_its_largest_branch(machine_of_24_gib, monkeypatch):
    # one block of users: greedy ranks the scores in place (the estimate's one copy), softmax and
    # mmr hold more; the program that may take any of the branches is held to the largest
    config = labkit.Config.from_dict(n_users=20_000, n_items=200_000, initial_items=200_000, rounds=2,
                                     block_users=20_000, recommender="content", policy="greedy")
    alone = loop.estimate_memory(config.static).total
    branches = {name: loop.estimate_memory(config.replace(policy=name).static).total for name in loop.POLICY_BRANCHES}
    largest = loop.largest_branch(config.static)
    assert loop.estimate_memory(largest).total == max(branches.values()) > alone
    assert largest.policy == max(branches, key=branches.get) != "greedy"
    between = (alone + max(branches.values())) // 2
    monkeypatch.setattr(memory, "free_memory", lambda device=None: memory.Free(between, "available on this host"))
    loop.check_memory(config.static, seeds=1)  # the plain greedy program fits: nothing raised
    with pytest.raises(memory.WorldTooLarge, match="scoring blocks dominates"):
        loop.check_memory(config.static, seeds=1, policy_branches=True)
    with pytest.raises(memory.WorldTooLarge):  # refused before the fixture's stand-in for the compiled call
        labkit.simulate_seeds(config, [0], policy_branches=True)


def test_normal_worlds_pass_the_check_without_compiling(machine_of_24_gib):
    for study_scale in ({}, dict(n_users=100_000, n_items=10_000, initial_items=10_000, rounds=10)):
        loop.check_memory(labkit.Config.from_dict(study_scale).static, seeds=8)


def test_the_estimate_is_within_30_percent_of_xlas_plan():
    """A small world where an estimated part dominates (MF's full retraining over the log; the
    default recommender), against XLA's buffer plan of the compiled program: arguments +
    outputs + temporaries. One compile: docs/scale-out.md lists the other worlds measured."""
    config = labkit.Config.from_dict(n_users=300, n_items=300, initial_items=300, rounds=20)
    keys = loop.seed_keys([0])
    with unrolled_threefry():
        compiled = loop._simulate_seeds.lower(config.static, config.params, keys, False).compile()
    plan = compiled.memory_analysis()
    peak = plan.argument_size_in_bytes + plan.output_size_in_bytes + plan.temp_size_in_bytes
    estimate = loop.estimate_memory(config.static, seeds=1)
    assert estimate.dominant == "retraining"
    assert 0.7 <= estimate.total / peak <= 1.3, (estimate.total / peak, estimate.parts, peak)
