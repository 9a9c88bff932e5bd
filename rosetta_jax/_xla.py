"""XLA settings that must be in place before jax starts its CPU backend."""

import os as _os


# XLA's concurrency-optimised CPU scheduler deadlocks (threads idle, the step never returns)
# on large vmapped fitting steps (e.g. a regional spectral fit of 68 regions x 4 starts, jax
# 0.10). Switch it off unless the user set it; jax reads XLA_FLAGS when its CPU backend starts,
# so this only takes effect if rosetta_jax is imported before the first computation.
_flag = "--xla_cpu_enable_concurrency_optimized_scheduler"
if _flag not in _os.environ.get("XLA_FLAGS", ""):
    _os.environ["XLA_FLAGS"] = (_os.environ.get("XLA_FLAGS", "") + f" {_flag}=false").strip()
del _flag
