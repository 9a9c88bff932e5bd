"""Functional connectivity of simulated activity: the FC matrix and FC dynamics (FCD)."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from ._checks import _check_finite, _check_not_constant, _static_int, _time_by_nodes


_HIGHEST = jax.lax.Precision.HIGHEST


@eqx.filter_jit
def _corrcoef_columns(x: Array) -> Array:
    """Pearson correlation between the columns of `x` (time along rows), with unit diagonal."""
    xc = x - jnp.mean(x, axis=0)
    cov = jnp.matmul(xc.T, xc, precision=_HIGHEST)
    sd = jnp.sqrt(jnp.diagonal(cov))
    corr = jnp.clip(cov / sd[:, None] / sd[None, :], -1.0, 1.0)
    return jnp.where(jnp.eye(x.shape[1], dtype=bool), jnp.ones((), corr.dtype), corr)


def functional_connectivity(x: ArrayLike, *, axis: int = 0) -> Float[Array, "n_nodes n_nodes"]:
    """Functional connectivity: the Pearson correlation matrix between nodes.

    $FC_{ij} = \\mathrm{cov}(x_i, x_j) / (\\sigma_i \\sigma_j)$ over time, equal to
    `np.corrcoef(x, rowvar=(axis == 1))`. The diagonal is set to exactly 1 and the entries
    are clipped to [-1, 1].

    Args:
        x: 2-D signal, time along `axis` and nodes along the other axis, e.g.
            `Solution.observed` of shape `(n_times, n_nodes)`. A constant node gives NaN
            under `jit` and raises when `x` is concrete.
        axis: the time axis (0 or 1).

    Returns:
        The correlation matrix, shape `(n_nodes, n_nodes)`, dimensionless.

    Raises:
        ValueError: if `x` is not 2-D, has fewer than 2 time samples, or (when concrete)
            holds NaN/inf or a constant node.
    """
    x = _time_by_nodes(x, axis)
    if x.shape[0] < 2:
        raise ValueError(f"`x` needs at least 2 time samples; got {x.shape[0]}.")
    _check_finite("x", x)
    _check_not_constant("x", x, "node (column along time)")
    return _corrcoef_columns(x)


@eqx.filter_jit
def _fcd(x, window, step):
    """The FCD matrix of `x` (time first); the windows are gathered with one index array."""
    n, n_nodes = x.shape
    n_win = (n - window) // step + 1
    idx = np.arange(n_win)[:, None] * step + np.arange(window)[None, :]
    fcs = jax.vmap(_corrcoef_columns)(x[idx])  # (n_win, n_nodes, n_nodes)
    iu, ju = np.triu_indices(n_nodes, k=1)
    triangles = fcs[:, iu, ju]  # (n_win, n_pairs)
    return _corrcoef_columns(triangles.T)


def fcd(
    x: ArrayLike, window: int, step: int, *, axis: int = 0
) -> Float[Array, "n_windows n_windows"]:
    """Functional connectivity dynamics: the similarity of sliding-window FC matrices.

    The signal is cut into `n_windows = (n_times - window) // step + 1` windows, gathered
    with one index array. For each window, the FC (Pearson correlation between nodes) is
    computed and its upper triangle $v_w$ (above the diagonal) is taken. The result is
    $FCD_{uv} = \\mathrm{corr}(v_u, v_v)$, as in Hansen et al. (2015), NeuroImage
    105:525–535.

    Args:
        x: 2-D signal, time along `axis`, at least 3 nodes.
        window: samples per window (static int, `2 <= window <= n_times`).
        step: shift between consecutive windows in samples (static int, >= 1).
        axis: the time axis (0 or 1).

    Returns:
        The FCD matrix, shape `(n_windows, n_windows)`, with unit diagonal. An entry is NaN
        when a window has a constant node or a constant FC triangle (not checked under
        `jit`).

    Raises:
        ValueError: for a non-2-D `x`, fewer than 3 nodes, bad `window`/`step`, or
            non-finite concrete input.
    """
    x = _time_by_nodes(x, axis)
    n, n_nodes = x.shape
    if n_nodes < 3:
        raise ValueError(
            f"`x` needs at least 3 nodes for FCD (FC triangles of >= 3 entries); got {n_nodes}."
        )
    window = _static_int("window", window, minimum=2)
    step = _static_int("step", step, minimum=1)
    if window > n:
        raise ValueError(f"`window`={window} is longer than the signal ({n} samples).")
    _check_finite("x", x)

    return _fcd(x, window, step)
