"""XLA settings that must be in place before jax starts its CPU backend."""

import functools as _functools
import os as _os


# XLA's concurrency-optimised CPU scheduler deadlocks (threads idle, the step never returns)
# on large vmapped fitting steps (e.g. a regional spectral fit of 68 regions x 4 starts, jax
# 0.10). Switch it off unless the user set it; jax reads XLA_FLAGS when its CPU backend starts,
# so this only takes effect if rosetta_jax is imported before the first computation.
_flag = "--xla_cpu_enable_concurrency_optimized_scheduler"
if _flag not in _os.environ.get("XLA_FLAGS", ""):
    _os.environ["XLA_FLAGS"] = (_os.environ.get("XLA_FLAGS", "") + f" {_flag}=false").strip()
del _flag


def cpu_compiler_options(level: int | None = None) -> dict:
    """Compiler options for a large program on XLA's CPU backend: XLA's older loop emitters
    for fusions (`xla_cpu_use_fusion_emitters=False`), which compile the hundreds of small
    fusions of a model's derivatives in about half the time and run them as fast (Jansen-Rit's
    Laplace derivatives, 68 regions: 5.5 s -> 2.5-3.5 s, `benchmarks/bench_laplace.py`), and
    LLVM at backend optimisation level `level` (None: XLA's default). Without the former where
    this jaxlib does not know it."""
    options = {} if level is None else {"xla_backend_optimization_level": level}
    if _knows("xla_cpu_use_fusion_emitters", False):
        options["xla_cpu_use_fusion_emitters"] = False
    return options


def cpu_jit(fn, level: int | None = None):
    """`equinox.filter_jit(fn)`, compiled on CPU with `cpu_compiler_options(level)` (the
    options are chosen at the first call, once jax's backend is known)."""
    programs = {}

    @_functools.wraps(fn)
    def call(*args, **kwargs):
        import equinox as eqx
        import jax

        backend = jax.default_backend()
        if backend not in programs:
            options = cpu_compiler_options(level) if backend == "cpu" else {}
            programs[backend] = eqx.filter_jit(fn, compiler_options=options or None)
        return programs[backend](*args, **kwargs)

    return call


_KNOWN: dict = {}


def _knows(option: str, value) -> bool:
    """Whether XLA's CPU compiler accepts `option` (tried once on a trivial program)."""
    if option not in _KNOWN:
        import jax

        try:
            lowered = jax.jit(lambda x: x + 1).lower(1.0)
            lowered.compile(compiler_options={option: value})
            _KNOWN[option] = True
        except Exception:  # noqa: BLE001 - an unknown option is an XLA runtime error
            _KNOWN[option] = False
    return _KNOWN[option]
