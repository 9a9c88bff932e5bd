"""Input checks of the signal features: trace-time shape and argument checks, value checks only
for concrete inputs (inside `jit` or `vmap` the values are not known)."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from .._validation import concrete_values


def _real_array(name: str, x: Any) -> Array:
    """`x` as a real floating JAX array (integers and bools become the default float)."""
    try:
        arr = jnp.asarray(x)
    except TypeError as err:
        raise ValueError(f"`{name}` must be an array of numbers; got {type(x).__name__}.") from err
    if jnp.issubdtype(arr.dtype, jnp.complexfloating):
        raise ValueError(f"`{name}` must be real-valued; got dtype {arr.dtype}.")
    if not jnp.issubdtype(arr.dtype, jnp.floating):
        arr = arr.astype(jnp.result_type(float))
    return arr


def _check_finite(name: str, x: Any) -> None:
    """Raise for NaN or inf in concrete data (traced data are not checked)."""
    v = concrete_values(x)
    if v is not None and np.issubdtype(v.dtype, np.inexact) and not np.all(np.isfinite(v)):
        n_bad = int(np.sum(~np.isfinite(v)))
        raise ValueError(
            f"`{name}` contains {n_bad} NaN or inf value(s); the analysis needs finite data "
            "(check the simulation for divergence, or drop the bad samples)."
        )


def _checked_input(name: str, x: Any, axis: Any, what: str) -> tuple[Array, int]:
    """`x` as a finite real array with at least one dimension, and `axis` normalised.
    `what` names the axis in the error for a scalar (e.g. "a time axis")."""
    arr = _real_array(name, x)
    if arr.ndim == 0:
        raise ValueError(f"`{name}` must have {what}; got a scalar.")
    ax = _normalise_axis(name, arr.ndim, axis)
    _check_finite(name, arr)
    return arr, ax


def _normalise_axis(name: str, ndim: int, axis: Any) -> int:
    """`axis` as a non-negative int, checked against the number of dimensions."""
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise ValueError(f"`axis` must be an int; got {axis!r}.")
    if not -ndim <= axis < ndim:
        raise ValueError(f"`axis`={axis} is out of range for `{name}` with {ndim} dimension(s).")
    return int(axis) % ndim


def _static_int(name: str, value: Any, *, minimum: int) -> int:
    """A Python int that fixes array shapes, at least `minimum`."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"`{name}` must be a Python int (it fixes array shapes); got {value!r}.")
    if value < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}; got {value}.")
    return int(value)


def _positive_scalar(name: str, value: Any, dtype: Any) -> Array:
    """A scalar (possibly traced) in `dtype`, checked finite and > 0 when concrete."""
    arr = jnp.asarray(value)
    if arr.ndim != 0:
        raise ValueError(
            f"`{name}` must be a scalar; got shape {arr.shape}. Use jax.vmap to sweep it."
        )
    v = concrete_values(arr)
    if v is not None and not (np.isfinite(v) and v > 0):
        raise ValueError(f"`{name}` must be a finite number > 0; got {v.item()!r}.")
    return arr.astype(dtype)


def _grid_of_length(name: str, values: Any, n: int, mismatch: str) -> Array:
    """`values` as a real 1-D array of `n` entries; `mismatch` says what has `n`."""
    g = _real_array(name, values)
    if g.ndim != 1:
        raise ValueError(f"`{name}` must be 1-D; got shape {g.shape}.")
    if g.shape[0] != n:
        raise ValueError(f"`{name}` has {g.shape[0]} entries but {mismatch}.")
    return g


def _check_increasing(name: str, g: Array, why: str = "") -> None:
    """A concrete grid must be finite and strictly increasing (`why` ends the message)."""
    v = concrete_values(g)
    if v is not None:
        _check_finite(name, v)
        if np.any(np.diff(v) <= 0):
            raise ValueError(f"`{name}` must be strictly increasing{why}.")


def _frequency_grid(freqs: Any, n: int, psd_name: str) -> Array:
    """The frequency grid of a spectrum with `n` frequencies: 1-D, at least 2, increasing."""
    f = _grid_of_length("freqs", freqs, n, f"`{psd_name}` has {n} along the frequency axis")
    if n < 2:
        raise ValueError(f"`freqs` needs at least 2 frequencies; got {n}.")
    _check_increasing("freqs", f)
    return f


def _band(band: Any, dtype: Any) -> tuple[Array, Array]:
    """The band edges `(f_lo, f_hi)` in `dtype`, checked `f_lo < f_hi` when concrete."""
    b = jnp.asarray(band)
    if b.shape != (2,):
        raise ValueError(f"`band` must be a pair (f_lo, f_hi); got shape {b.shape}.")
    v = concrete_values(b)
    if v is not None:
        _check_finite("band", v)
        if not v[0] < v[1]:
            raise ValueError(f"`band` must satisfy f_lo < f_hi; got {tuple(v.tolist())}.")
    b = b.astype(dtype)
    return b[0], b[1]


def _time_grid(ts: Any, n: int, x_name: str) -> Array:
    """The sample times of a signal with `n` samples: 1-D and increasing."""
    t = _grid_of_length("ts", ts, n, f"`{x_name}` has {n} samples along `axis`")
    _check_increasing("ts", t, " (uniformly sampled times)")
    return t


def _check_not_constant(name: str, x: Array, what: str) -> None:
    """Raise for a constant column (time along rows) of concrete data: its correlation is 0/0."""
    v = concrete_values(x)
    if v is not None and np.any(np.ptp(v, axis=0) == 0):
        raise ValueError(
            f"`{name}` has a constant {what}; its correlation is undefined (0/0). Drop it or "
            "check the simulation (a node at a fixed point has no fluctuations)."
        )


def _time_by_nodes(x: Any, axis: Any) -> Array:
    """`x` as a real 2-D array with time first and nodes second."""
    x = _real_array("x", x)
    if x.ndim != 2:
        raise ValueError(
            f"`x` must be 2-D (time and nodes); got shape {x.shape}. Use jax.vmap for batches."
        )
    ax = _normalise_axis("x", 2, axis)
    return jnp.moveaxis(x, ax, 0)
