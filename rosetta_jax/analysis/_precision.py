"""Float64 for equilibrium analyses, whatever the global precision."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import PyTree


def to_float64(tree: PyTree) -> PyTree:
    """Cast the floating-point arrays of a pytree to float64 (call inside jax.enable_x64)."""

    def cast(x):
        if eqx.is_inexact_array(x):
            return x.astype(jnp.complex128 if jnp.iscomplexobj(x) else jnp.float64)
        return x

    return jax.tree.map(cast, tree)


def _cast_argument(a: Any) -> Any:
    """A model or array argument in float64; anything else unchanged."""
    return to_float64(a) if isinstance(a, (eqx.Module, jax.Array, np.ndarray)) else a


def in_float64(fn: Callable) -> Callable:
    """Run an equilibrium analysis in float64 whatever the global precision: Newton and
    continuation need it (float32 residuals of stiff models are far above any useful tolerance).
    The model and array arguments are cast; results come back as float64 numpy arrays."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with jax.enable_x64(True):
            args = tuple(_cast_argument(a) for a in args)
            kwargs = {k: _cast_argument(v) for k, v in kwargs.items()}
            out = fn(*args, **kwargs)
            # Hand back numpy arrays: float64 JAX arrays would warn when used in float32 mode.
            return jax.tree.map(lambda x: np.asarray(x) if isinstance(x, jax.Array) else x, out)

    return wrapper
