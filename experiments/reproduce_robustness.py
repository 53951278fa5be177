"""Run each reproduction's check on seeds, sizes and parameter values the tests do not use.

    python experiments/reproduce_robustness.py            # every case (~6 min on 2 cores)
    python experiments/reproduce_robustness.py "chaney default seeds 100-107"

Each case loads ``experiments/reproduce_<name>.yaml`` at a scale and replaces its seeds,
its setup or some levers, then runs :func:`labkit.reproduce.run` and
:func:`labkit.reproduce.check`. Prints, per case, how many claims pass and which fail.
"""

import dataclasses
import sys
import time

from labkit import reproduce as R
def with_setup(spec, **setup):
    return dataclasses.replace(spec, setup={**spec.setup, **setup})


def with_experiment(spec, seeds=None, **levers):
    exp = spec.experiment
    conditions = {name: c.replace(**levers) for name, c in exp.conditions.items()}
    exp = dataclasses.replace(exp, seeds=tuple(seeds) if seeds is not None else exp.seeds,
                              conditions=conditions, config=exp.config.replace(**levers))
    return dataclasses.replace(spec, experiment=exp)


CASES = {
    "generator seed 7, M=20,50": lambda: with_setup(R.load("generator", "tiny"), seed=7, sample_sizes=[20, 50]),
    "accumulate seed 7, d=5": lambda: with_setup(R.load("accumulate", "tiny"), seed=7, n_features=5),
    "chaney tiny seeds 10-15": lambda: with_experiment(R.load("chaney", "tiny"), seeds=range(10, 16)),
    "chaney tiny seeds 20-25, position_bias 0.5": lambda: with_experiment(
        R.load("chaney", "tiny"), seeds=range(20, 26), position_bias=0.5),
    "degenerate tiny seeds 10-12, drift 0.2": lambda: with_experiment(
        R.load("degenerate", "tiny"), seeds=range(10, 13), drift=0.2),
    "chaney default seeds 100-107": lambda: with_experiment(R.load("chaney", "default"), seeds=range(100, 108)),
    "mad tiny seed 7": lambda: with_setup(R.load("mad", "tiny"), seed=7),
    "mad seed 3, N=60, T=1,0.6": lambda: with_setup(R.load("mad", "tiny"), seed=3, samples=60,
                                                    real_samples=[0, 6, 15, 30, 45, 60], temperatures=[1.0, 0.6]),
    "golden_ratio tiny seed 7": lambda: with_setup(R.load("golden_ratio", "tiny"), seed=7),
    "golden_ratio seed 5, n=80, k=1,3": lambda: with_setup(R.load("golden_ratio", "tiny"), seed=5, real_samples=80,
                                                           synthetic_ratios=[1.0, 3.0], chains=800),
    "strong_collapse tiny seed 7": lambda: with_setup(R.load("strong_collapse", "tiny"), seed=7),
    "strong_collapse seed 3, d=12, c=0.5, sigma=2, s=0.5": lambda: with_setup(
        R.load("strong_collapse", "tiny"), seed=3, n_features=12, quality=0.5, noise=2.0, synthetic_weights=[1.0, 0.5],
        synthetic_fractions=[0.15, 0.3, 0.6], model_sizes=[0.25, 0.5, 1.0], replicates=600),
    "source_bias tiny seeds 10-15": lambda: with_experiment(R.load("source_bias", "tiny"), seeds=range(10, 16)),
    "source_bias tiny seeds 20-24, synthetic_share 0.3, drift 0": lambda: with_experiment(
        R.load("source_bias", "tiny"), seeds=range(20, 25), synthetic_share=0.3, drift=0.0),
}


def verdict(spec) -> str:
    start = time.perf_counter()
    claims = R.check(spec.name, R.run(spec))["claims"]
    failed = [c["claim"] for c in claims if c["passed"] is False]
    untestable = [c["claim"] for c in claims if c["passed"] is None]
    passed = len(claims) - len(failed) - len(untestable)
    return (f"{passed}/{len(claims)} pass; failed: {failed or 'none'}; not testable: {untestable or 'none'} "
            f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    names = sys.argv[1:] or list(CASES)
    unknown = [n for n in names if n not in CASES]
    if unknown:
        sys.exit(f"unknown case(s) {unknown}; known: {list(CASES)}")
    for name in names:
        print(f"{name}: {verdict(CASES[name]())}", flush=True)
