"""Shared input checks: clear errors at trace time, never silent NaNs."""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


def is_concrete(x: Any) -> bool:
    """True when `x` holds actual values (not a tracer inside jit/vmap/grad)."""
    return not isinstance(x, jax.core.Tracer)


def concrete_values(x: Any) -> np.ndarray | None:
    """Return `x` as a numpy array when it is concrete, else None."""
    if not is_concrete(x):
        return None
    try:
        return np.asarray(x)
    except Exception:  # e.g. a key array: nothing to check
        return None


def check_finite(owner: str, name: str, value: Any) -> None:
    """Raise ValueError when a concrete parameter holds NaN or inf."""
    v = concrete_values(value)
    if v is None or not np.issubdtype(v.dtype, np.inexact):
        return
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{owner}.{name} contains NaN or inf ({_short(v)}); pass finite values.")


def check_positive(owner: str, name: str, value: Any, what: str = "") -> None:
    """Raise ValueError when a concrete parameter is not strictly positive."""
    v = concrete_values(value)
    if v is None:
        return
    if np.any(~(v > 0)):
        detail = f" ({what})" if what else ""
        raise ValueError(
            f"{owner}.{name} must be > 0{detail}; got {_short(v)}. "
            "Time constants, rates and widths are strictly positive."
        )


def check_nonnegative(owner: str, name: str, value: Any, what: str = "") -> None:
    v = concrete_values(value)
    if v is None:
        return
    if np.any(~(v >= 0)):
        detail = f" ({what})" if what else ""
        raise ValueError(f"{owner}.{name} must be >= 0{detail}; got {_short(v)}.")


def python_number(name: str, value: Any, *, positive: bool = False) -> float:
    """Coerce a static numeric argument (t0, t1, dt) to a Python float, with clear errors."""
    if not is_concrete(value):
        raise TypeError(
            f"`{name}` must be a Python number, not a traced value: it fixes the number of steps, "
            "which must be known at compile time. Pass it as a constant (e.g. via "
            "functools.partial)."
        )
    try:
        v = float(np.asarray(value))
    except (TypeError, ValueError):
        raise TypeError(f"`{name}` must be a number; got {value!r}.") from None
    if not math.isfinite(v):
        raise ValueError(f"`{name}` must be finite; got {v}.")
    if positive and v <= 0:
        raise ValueError(f"`{name}` must be > 0; got {v}.")
    return v


def array_leaves_with_paths(tree: Any):
    """Yield (dotted_path, leaf) for the array leaves of a pytree."""
    leaves, _ = jax.tree_util.tree_flatten_with_path(tree)
    for path, leaf in leaves:
        if isinstance(leaf, (jax.Array, np.ndarray, float, int)) and not _is_key(leaf):
            yield jax.tree_util.keystr(path).lstrip("."), leaf


def _is_key(x: Any) -> bool:
    return isinstance(x, jax.Array) and jnp.issubdtype(x.dtype, jax.dtypes.prng_key)


def _short(v: np.ndarray) -> str:
    if v.ndim == 0:
        return repr(v.item())
    flat = v.ravel()
    head = ", ".join(f"{x:.4g}" for x in flat[:4])
    return f"array of shape {v.shape}: [{head}{', ...' if flat.size > 4 else ''}]"
