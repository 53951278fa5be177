"""The simulator: pure JAX functions over pytrees, one module per concept of DESIGN.md.

``config`` (levers, ``Static``, ``Params``, ``Config``), ``world`` (catalog and creators),
``users`` (tastes, choice, drift), ``generator`` (the GenAI), ``policies`` (scores to
slates), ``recommenders``, ``data`` (the log, its provenance and the data strategies),
``metrics`` and ``loop`` (``step``, ``simulate``); ``prng``, ``devices`` (a grid over the
local devices) and ``shard`` (one world's users over them) are how it runs.
Nothing here reads files or draws figures.
"""
