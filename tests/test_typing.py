"""The shape annotations of labkit.sim (jaxtyping) hold: whole simulations run with every
annotated function checked by beartype, covering every policy, recommender, data strategy,
generator objective, generator family and consumption mode.

The check needs jaxtyping's import hook installed before labkit is imported, so it runs in
a fresh interpreter. Shapes are checked while jax traces, so the simulations are traced
(``jax.eval_shape``), not compiled.
"""

import subprocess
import sys

SCRIPT = r"""
from jaxtyping import install_import_hook
with install_import_hook("labkit", "beartype.beartype"):
    import labkit
    from labkit.sim import loop  # noqa: F401 (checked on import)
import jax
from labkit.sim.config import Config

CASES = [
    dict(),
    dict(policy="mmr", recommender="content", data_strategy="replace", consumption="once"),
    dict(policy="softmax", recommender="popularity", data_strategy="reserve", generator_objective="engagement"),
    dict(policy="ucb", recommender="ideal", data_strategy="downweight", novelty_weight=0.5),
    dict(policy="thompson", recommender="random", data_strategy="human_only", consumption="once"),
    dict(policy="epsilon_greedy", recommender="mf", data_strategy="replace", block_users=3),
    dict(generator_family="mixture", generator_components=2, generator_objective="engagement"),
    dict(generator_family="full"),
]
for case in CASES:
    config = Config.from_dict(n_users=7, n_items=13, initial_items=11, new_items=2, slate_size=3, rounds=3,
                              n_topics=3, n_creators=2, n_pairs=3, embedding_dim=2, train_steps=1,
                              synthetic_share=0.5, drift=0.2, **case)
    jax.eval_shape(lambda keys: jax.vmap(lambda k: loop._run(config.static, config.params, k))(keys),
                   loop.seed_keys([0, 1]))
    print("checked", case)
"""


def test_every_annotated_shape_holds_in_whole_simulations():
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-4000:]
    assert result.stdout.count("checked") == 8


def test_the_checker_catches_a_wrong_shape():
    bad = r"""
from jaxtyping import install_import_hook
with install_import_hook("labkit", "beartype.beartype"):
    from labkit.sim import metrics
import jax.numpy as jnp
metrics.preference_drift(jnp.ones((4, 3)), jnp.ones((2, 3)))  # 2 users against 4
"""
    result = subprocess.run([sys.executable, "-c", bad], capture_output=True, text=True)
    assert result.returncode != 0 and "TypeCheckError" in result.stderr
