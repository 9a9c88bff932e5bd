"""Checks and layout behind `Network`: the connectome's validation, the delay geometry (fibre
lengths and speed, or explicit delays; the buffer capacity; the table of incoming edges) and
the checks of delays against a step size, at build time and, for traced delays, at run time."""

from __future__ import annotations

from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from ._validation import check_finite, concrete_values, python_number
from .connectome import as_normalization
from .coupling import AbstractCoupling
from .units import TimeUnit


def check_node(node, model_type: type, network_type: type, name: str = "node") -> None:
    """A network node is a single-node model."""
    if not isinstance(node, model_type) or isinstance(node, network_type):
        raise TypeError(
            f"`{name}` must be a single-node model of rosetta_jax.models; got "
            f"{type(node).__name__}."
        )


def checked_gain(G: Any) -> Array:
    """The global coupling gain as a finite scalar array."""
    G = jnp.asarray(G)
    check_finite("Network", "G", G)
    if jnp.ndim(G) != 0:
        raise ValueError(f"`G` must be a scalar; got shape {jnp.shape(G)}.")
    return G


def checked_coupling(coupling: Any) -> Any:
    """A coupling object of `rosetta_jax.coupling`."""
    if not isinstance(coupling, AbstractCoupling):
        raise TypeError(
            "`coupling` must be a rosetta_jax.coupling object (Additive(), "
            f"Diffusive(), Sine()); got {type(coupling).__name__}."
        )
    return coupling


def checked_weights(weights: Any, normalize: Any) -> tuple[Array, Any]:
    """The connectome as a float `(n, n)` array, finite and non-negative, and the
    normalisation object; a normalisation needs a positive entry."""
    W = jnp.asarray(weights)
    if W.ndim != 2 or W.shape[0] != W.shape[1] or W.shape[0] < 1:
        raise ValueError(f"`weights` must be a square (n, n) matrix; got shape {W.shape}.")
    if not jnp.issubdtype(W.dtype, jnp.floating):
        W = W.astype(jnp.result_type(float))
    _check_matrix("weights", W)
    normalize = as_normalization(normalize)
    wv = concrete_values(W)
    if wv is not None and normalize is not None and not np.any(wv > 0):
        raise ValueError(
            "`weights` has no positive entry; nothing to normalise. Use "
            "normalize=None for an uncoupled network."
        )
    return W, normalize


def check_regional(node, n: int, owner: str = "Node parameter", scope: str = "a network") -> None:
    """Every array parameter of `node` is a scalar or has one value per node."""
    for path, leaf in jax.tree_util.tree_flatten_with_path(node)[0]:
        if not eqx.is_array(leaf):
            continue
        name = jax.tree_util.keystr(path).lstrip(".")
        if jnp.ndim(leaf) > 1 or (jnp.ndim(leaf) == 1 and jnp.shape(leaf)[0] != n):
            raise ValueError(
                f"{owner} `{name}` has shape {jnp.shape(leaf)}; in {scope} of {n} nodes "
                f"a parameter is a scalar (shared) or has shape ({n},) (one value per region)."
            )


class DelayLayout(NamedTuple):
    """The delay fields of a `Network` (all None / 0 / False without delays)."""

    lengths: Array | None
    speed: Array | None
    delays: Array | None
    max_delay: float
    sources: Array | None
    source_mask: Array | None
    zero_delay_edges: bool


def delay_layout(node, weights: Array, lengths, speed, delays, max_delay, min_speed) -> DelayLayout:
    """Validate the delay arguments of a network and lay out the delayed edges; `node` is
    anything with the network's `time_unit` (the node model, or the network itself)."""
    unit = TimeUnit.of(node)
    if delays is not None and lengths is not None:
        raise ValueError("Pass either `lengths` (with `speed`) or `delays`, not both.")
    n, dtype = weights.shape[0], weights.dtype
    L = sp = D = None
    if lengths is not None:
        L, sp = _lengths_and_speed(node, lengths, speed, n, dtype)
        if min_speed is not None:
            max_delay = _buffer_for(unit, L, weights, sp, min_speed, max_delay)
    elif speed is not None:
        raise ValueError("`speed` was given without `lengths`.")
    elif min_speed is not None:
        raise ValueError(
            "`min_speed` sizes the buffer for `lengths` [mm]; pass lengths and "
            "speed, or `max_delay` with `delays`."
        )
    if delays is not None:
        D = _square_matrix("delays", delays, n, dtype)
    tau = D if D is not None else (None if L is None else unit.from_ms(L / sp))
    if tau is None:
        return DelayLayout(None, None, None, 0.0, None, None, False)
    tv, wv = concrete_values(tau), concrete_values(weights)
    if max_delay is None:
        if tv is None:
            raise ValueError(
                "Inside a transformation the delays are not known: pass "
                "`max_delay` (the delay buffer's capacity)."
            )
        max_delay = float(np.max(np.where(wv != 0, tv, 0.0)) if wv is not None else np.max(tv))
    if wv is None:
        raise ValueError("`weights` must be concrete (not traced) to lay out the edges.")
    sources, mask = _edge_table(wv)
    zero_delay = bool(np.any((wv != 0) & (tv == 0))) if tv is not None else True
    return DelayLayout(L, sp, D, float(max_delay), sources, mask, zero_delay)


def _lengths_and_speed(node, lengths, speed, n, dtype):
    L = _square_matrix("lengths", lengths, n, dtype)
    if speed is None:
        raise ValueError("`lengths` needs a conduction `speed` in m/s (e.g. speed=5.0).")
    sp = jnp.asarray(speed, dtype=dtype)
    if jnp.ndim(sp) != 0:
        raise ValueError(f"`speed` must be a scalar in m/s; got shape {jnp.shape(sp)}.")
    spv = concrete_values(sp)
    if spv is not None and not (np.isfinite(spv) and spv > 0):
        raise ValueError(f"`speed` must be a positive number of m/s; got {float(spv)}.")
    if TimeUnit.of(node).seconds is None:
        raise ValueError(
            f"{type(node).__name__} has dimensionless time, so lengths [mm] and speed "
            "[m/s] have no meaning for it; pass `delays=` in its time unit instead."
        )
    return L, sp


def _buffer_for(unit: TimeUnit, lengths, weights, speed, min_speed, max_delay) -> float:
    """The buffer capacity (node time unit) that holds every delay at `min_speed`."""
    if max_delay is not None:
        raise ValueError("Pass either `max_delay` or `min_speed`, not both.")
    v = python_number("min_speed", min_speed, positive=True)
    spv = concrete_values(speed)
    if spv is not None and float(spv) < v * (1 - 1e-12):
        raise ValueError(
            f"`speed` ({float(spv):g} m/s) is below `min_speed` ({v:g} m/s); lower min_speed."
        )
    L, W = concrete_values(lengths), concrete_values(weights)
    if L is None or W is None:
        raise ValueError("`min_speed` needs concrete (not traced) `lengths` and `weights`.")
    longest = float(np.max(np.where(W != 0, L, 0.0)))
    return unit.from_ms(longest / v)  # mm / (m/s) = ms


def checked_steps(steps, source_mask, n_buf: int, dt: float, max_delay: float, unit):
    """Delays in steps, checked at run time (they may be traced, e.g. a swept speed): each
    must lie in [1, n_buf - 1) steps, or the interpolation would read outside the buffer.
    Concrete delays were already checked by `check_step_against_delays`; traced ones raise
    here."""
    used = (source_mask > 0) & (steps > 0)
    unit = unit or "time units"
    steps = eqx.error_if(
        steps,
        jnp.any(used & (steps >= n_buf - 1)),
        f"A conduction delay exceeds the delay buffer sized when the Network was built "
        f"(max_delay={max_delay:.6g} {unit}); it would be clipped. Build the Network "
        "with min_speed=<the slowest speed you will use> or a larger max_delay.",
    )
    return eqx.error_if(
        steps,
        jnp.any(used & (steps < 1 - 1e-6)),
        f"A conduction delay is shorter than dt={dt:g} {unit}; lower dt or raise the delay.",
    )


def check_step_against_delays(tau, weights, dt: float, max_delay: float, unit) -> None:
    """Raise ValueError when `dt` exceeds the smallest non-zero delay, or a delay the buffer
    capacity `max_delay` (concrete delays; traced ones are checked by `checked_steps`)."""
    tau, wv = concrete_values(tau), concrete_values(weights)
    if tau is None or wv is None:
        return
    used = tau[(wv != 0) & (tau > 0)]
    if used.size and used.min() < dt * (1 - 1e-9):
        raise ValueError(
            f"dt = {dt:g} exceeds the smallest non-zero conduction delay ({used.min():.6g} "
            f"{unit or 'time units'}); use dt <= {used.min():.6g}, or raise very "
            "short fibre lengths (e.g. lengths=np.maximum(lengths, 1.0) for 1 mm)."
        )
    if used.size and used.max() > max_delay * (1 + 1e-9):
        raise ValueError(
            f"The largest delay ({used.max():.6g}) exceeds the network's buffer capacity "
            f"max_delay={max_delay:.6g}; rebuild the Network or pass a larger max_delay."
        )


def _square_matrix(name, value, n, dtype):
    """`value` as an (n, n) array like the weights: finite and non-negative."""
    M = jnp.asarray(value, dtype=dtype)
    if M.shape != (n, n):
        raise ValueError(f"`{name}` must have shape {(n, n)} like `weights`; got {M.shape}.")
    _check_matrix(name, M)
    return M


def _check_matrix(name, M):
    check_finite("Network", name, M)
    v = concrete_values(M)
    if v is not None and np.any(v < 0):
        raise ValueError(
            f"`{name}` must be >= 0 (got a minimum of {v.min():.4g}); the sign of an interaction "
            "is set by the coupling and the node model, not by the connectome."
        )


def _edge_table(W: np.ndarray):
    """Row-padded table of incoming edges: sources (n, K) and a 0/1 mask (n, K)."""
    n = W.shape[0]
    rows = [np.flatnonzero(W[i]) for i in range(n)]
    K = max(1, max(len(r) for r in rows))
    src = np.zeros((n, K), dtype=np.int32)
    mask = np.zeros((n, K), dtype=W.dtype)
    for i, r in enumerate(rows):
        src[i, : len(r)] = r
        src[i, len(r) :] = i
        mask[i, : len(r)] = 1.0
    return jnp.asarray(src), jnp.asarray(mask)
