"""Whole-brain networks: any model of the ladder as node, coupled through a connectome.

$$\\dot y_i = f(y_i;\\ \\theta_i,\\ u_i(t)),\\qquad
u_i(t) = \\mathrm{coupling}\\Big(\\sum_j C_{ij}\\, e_j(t - \\tau_{ij})\\Big) + F_i(t) +
\\eta_i(t),$$

where $e_j$ is node $j$'s efferent signal, $C$ the (normalised) connectome, $\\tau_{ij}$ the
conduction delays (fibre length / speed), $F$ the forcing and $\\eta$ the noise, all entering the
node's input channel. Nodes are vmapped: node parameters are scalars (shared) or arrays of shape
`(n_nodes,)` (regional).

Reference: Castaldo et al. (2026), the roadmap table of coupled node equations (section 1)
and the network form of each rung: sections 2.1.4 (Kuramoto), 2.2.2 (damped oscillator),
3.2 (Stuart-Landau), 5.3 (Wilson-Cowan), 6.1 (NMM1), 7.1 (NMM2). Conventions and the paper's
inconsistencies: docs/models.md#network-coupling-conventions.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from ._validation import check_finite, concrete_values, is_concrete, python_number
from .connectome import (
    AbstractNormalization,
    as_normalization,
    normalize_weights,
    spectral_radius,
)
from .coupling import AbstractCoupling, Additive, Diffusive, Sine
from .models._base import AbstractModel
from .models.oscillators import DampedOscillator, HarmonicOscillator, Kuramoto, StuartLandau
from .units import TimeUnit


def default_coupling(node: AbstractModel) -> AbstractCoupling:
    """The coupling form of the node's rung (see the module docstring)."""
    if isinstance(node, (HarmonicOscillator, DampedOscillator, StuartLandau)):
        return Diffusive()
    if isinstance(node, Kuramoto):
        return Sine()
    return Additive()


class DelayHistory(eqx.Module):
    """The delay state carried by the engine (see `Network.history_update`).

    Edge $(i, j)$ with delay $\\tau_{ij} = (\\ell + f)\\,dt$ ($\\ell$ integer, $0 \\le f < 1$)
    needs, at a stage time $c\\,dt$ inside a step, only its signal samples at lags $\\ell - 1$,
    $\\ell$ and $\\ell + 1$ steps, with weights $a = \\max(0, c - f)$, $1 - a - b$ and
    $b = \\max(0, f - c)$. Each step reads the sample at lag $\\ell - 1$ of every edge once
    (one flat gather of shape `(n, K)`, K = the largest in-degree, padded edges with zero
    weight); the same sample is the one at lag $\\ell$ one step later and at $\\ell + 1$ two
    steps later. So, for stage offsets known in advance (a fixed-step solver's), the weighted
    sums over edges are taken once per sample and carried as node-sized partial sums: nothing
    of size (n, K) is carried from step to step.
    """

    buffer: Array  # (2, n_buf n): the signals of the last n_buf steps, row-major (n_buf, n),
    # stored twice (one write per step updates both copies), so that every
    # read is one gather from the flat (2 n_buf n,) view without wrap-around
    head: Array  # int scalar: rows head and head + n_buf hold the newest signals
    weights: Array  # (n, K): edge weights (times the coupling's edge factor), 0 on padding
    frac: Array  # (n, K): fractional part f of the delays in steps (differentiable)
    offset: Array  # (n, K): flat buffer index of each edge's sample at lag - 1 steps, less
    # head * n (from the integer part `lag` of the delays, clipped to
    # [1, n_buf - 2], so that lags lag - 1 .. lag + 1 are all in bounds)
    sum_weights: Array  # (R, n, K): edge weights of the sums taken of each new sample:
    # w (1 - f), w f (step end), then w a, w (1 - a - b), w b per offset
    # in `offsets`
    afferent: Array  # (2, n): delayed afferent sums at the step's end (slot head % 2) and at
    # its start (the other slot: the previous step's end), updated in place
    partial: Array  # (n,): the w f sum of the newest samples, the next end sum's older share
    # (long rows only, see `Network.history_update`)
    stage: Array | None  # (C, n): afferent sums at the `offsets` of the coming step
    stage_sums: Array | None  # (2, 2, C, n): by head parity, the (1 - a - b) and b sums of
    # the last two updates, the mid and old shares of `stage`
    recent: Array | None  # (2, n, K): without known offsets, the samples at lag - 1 (slot
    # head % 2) and at lag (other slot), for any stage offset
    offsets: tuple[float, ...] | None = eqx.field(static=True)  # stage offsets in (0, 1)
    # with precomputed sums; None: unknown (traced), per-edge samples kept

    @property
    def afferent_start(self) -> Array:
        return jax.lax.dynamic_index_in_dim(self.afferent, (self.head + 1) % 2, keepdims=False)

    @property
    def afferent_end(self) -> Array:
        return jax.lax.dynamic_index_in_dim(self.afferent, self.head % 2, keepdims=False)

    def samples(self, back: int) -> Array:
        """Each edge's signal at lag - 1 + `back` steps before the newest row, shape (n, K)."""
        if self.recent is not None and back < 2:
            slot = (self.head + back) % 2
            return jax.lax.dynamic_index_in_dim(self.recent, slot, keepdims=False)
        n = self.afferent.shape[1]
        index = (self.head * n - back * n + self.offset).reshape(-1, 1)
        return _gather(self.buffer.reshape(-1), index).reshape(self.offset.shape)


def _gather(flat: Array, index: Array) -> Array:
    """`flat[index[:, 0]]` for indices promised in bounds: no clamping or negative-index
    handling per element and step."""
    return jax.lax.gather(
        flat,
        index,
        jax.lax.GatherDimensionNumbers(
            offset_dims=(), collapsed_slice_dims=(0,), start_index_map=(0,)
        ),
        slice_sizes=(1,),
        mode=jax.lax.GatherScatterMode.PROMISE_IN_BOUNDS,
    )


# Rows (in-degree, padded) at least this long use the carried-partial-sum form of the delayed
# read; shorter ones read both samples (see `Network.history_update`).
_LONG_ROWS = 48


def _row_sum(x):
    """Sum over the last axis as a vector-matrix product `ones @ x.T`.

    On CPU, XLA emits this form inside one loop fusion with the producer of `x` (e.g. the
    weighting of gathered samples), without materialising `x`; a reduction, or `x @ ones`
    (an Eigen matrix-vector call), costs several times more for these small rows.
    """
    K = x.shape[-1]
    return (jnp.ones(K, dtype=x.dtype) @ x.reshape(-1, K).T).reshape(x.shape[:-1])


class Network(AbstractModel):
    """A network of identical (or regionally varied) nodes coupled through a connectome.

    Conventions: docs/models.md#network-coupling-conventions

    A `Network` is itself a model: `simulate(network, ...)` works as for a single node, with
    state shape `(n_nodes, n_states)` and observable shape `(n_nodes,)`.

    Args:
        node: any model of `rosetta_jax.models`. Its parameters may be scalars or arrays of
            shape `(n_nodes,)` (regional values).
        weights: connectome $C_{ij}$ (target $i$, source $j$), shape `(n, n)`, >= 0.
        lengths: fibre lengths [mm], shape `(n, n)`, >= 0; delays are `lengths / speed`.
        speed: conduction speed [m/s] (> 0), needed with `lengths`.
        delays: delays in the node's time unit, shape `(n, n)`, instead of lengths and speed
            (for dimensionless models).
        G: global coupling gain (an array leaf: differentiable, vmappable).
        coupling: a `rosetta_jax.coupling` object; default the node rung's form (`Diffusive`
            for the oscillators, `Sine` for Kuramoto, `Additive` otherwise).
        normalize: a normalisation of `rosetta_jax.connectome`: `MaxEigenvalue()` (the default,
            $C / \\lambda_{max}$), `RowSum()`, `MaxWeight()`, or None; or their names
            `"max_eigenvalue"`, `"row"`, `"max"`.
        max_delay: capacity of the delay buffer in the node's time unit (default: the largest
            delay). Set it larger to fit slower speeds without rebuilding the network.
        min_speed: the slowest conduction speed [m/s] the network will be run with (with
            `lengths`): sizes the delay buffer for it, so that a speed changed later (under
            `vmap`, `sweep` or `grad`) never needs more. A run whose delays exceed the buffer
            is an error, never clipped.

    Raises:
        ValueError: weights not square, negative or NaN; lengths of the wrong shape, negative or
            NaN; lengths without a speed; a non-positive speed; regional parameters whose length
            is not `n_nodes`; an unknown normalisation.
    """

    node: AbstractModel
    weights: Array
    G: Array
    lengths: Array | None
    speed: Array | None
    delays: Array | None
    coupling: AbstractCoupling
    sources: Array | None
    source_mask: Array | None
    normalize: AbstractNormalization | None = eqx.field(static=True)
    max_delay: float = eqx.field(static=True)
    zero_delay_edges: bool = eqx.field(static=True)

    positive_params: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        node: AbstractModel,
        weights: Any,
        *,
        lengths: Any = None,
        speed: Any = None,
        delays: Any = None,
        G: Any = 1.0,
        coupling: AbstractCoupling | None = None,
        normalize: AbstractNormalization | str | None = "max_eigenvalue",
        max_delay: float | None = None,
        min_speed: float | None = None,
    ):
        if not isinstance(node, AbstractModel) or isinstance(node, Network):
            raise TypeError(
                "`node` must be a single-node model of rosetta_jax.models; got "
                f"{type(node).__name__}."
            )
        W = jnp.asarray(weights)
        if W.ndim != 2 or W.shape[0] != W.shape[1] or W.shape[0] < 1:
            raise ValueError(f"`weights` must be a square (n, n) matrix; got shape {W.shape}.")
        n = W.shape[0]
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
        self.weights = normalize_weights(W, normalize)
        self.normalize = normalize
        self.G = jnp.asarray(G)
        check_finite("Network", "G", self.G)
        if jnp.ndim(self.G) != 0:
            raise ValueError(f"`G` must be a scalar; got shape {jnp.shape(self.G)}.")
        self.node = node
        _check_regional(node, n)
        self.coupling = default_coupling(node) if coupling is None else coupling
        if not isinstance(self.coupling, AbstractCoupling):
            raise TypeError(
                "`coupling` must be a rosetta_jax.coupling object (Additive(), "
                f"Diffusive(), Sine()); got {type(self.coupling).__name__}."
            )

        # Delays: lengths / speed, or explicit.
        self.lengths = self.speed = self.delays = None
        if delays is not None and lengths is not None:
            raise ValueError("Pass either `lengths` (with `speed`) or `delays`, not both.")
        if lengths is not None:
            L = _square_matrix("lengths", lengths, n, self.weights.dtype)
            if speed is None:
                raise ValueError("`lengths` needs a conduction `speed` in m/s (e.g. speed=5.0).")
            sp = jnp.asarray(speed, dtype=self.weights.dtype)
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
            self.lengths, self.speed = L, sp
            if min_speed is not None:
                max_delay = self._buffer_for(min_speed, max_delay, spv)
        elif speed is not None:
            raise ValueError("`speed` was given without `lengths`.")
        elif min_speed is not None:
            raise ValueError(
                "`min_speed` sizes the buffer for `lengths` [mm]; pass lengths and "
                "speed, or `max_delay` with `delays`."
            )
        if delays is not None:
            self.delays = _square_matrix("delays", delays, n, self.weights.dtype)

        tau = self.delay_matrix()
        self.zero_delay_edges = False
        if tau is None:
            self.max_delay = 0.0
            self.sources = self.source_mask = None
        else:
            tv, wv = concrete_values(tau), concrete_values(self.weights)
            if max_delay is None:
                if tv is None:
                    raise ValueError(
                        "Inside a transformation the delays are not known: pass "
                        "`max_delay` (the delay buffer's capacity)."
                    )
                max_delay = (
                    float(np.max(np.where(wv != 0, tv, 0.0)))
                    if wv is not None
                    else float(np.max(tv))
                )
            self.max_delay = float(max_delay)
            if wv is None:
                raise ValueError("`weights` must be concrete (not traced) to lay out the edges.")
            self.sources, self.source_mask = _edge_table(wv)
            self.zero_delay_edges = bool(np.any((wv != 0) & (tv == 0))) if tv is not None else True

    def _buffer_for(self, min_speed, max_delay, speed) -> float:
        """The buffer capacity (node time unit) that holds every delay at `min_speed`."""
        if max_delay is not None:
            raise ValueError("Pass either `max_delay` or `min_speed`, not both.")
        v = python_number("min_speed", min_speed, positive=True)
        if speed is not None and float(speed) < v * (1 - 1e-12):
            raise ValueError(
                f"`speed` ({float(speed):g} m/s) is below `min_speed` ({v:g} m/s); lower min_speed."
            )
        L, W = concrete_values(self.lengths), concrete_values(self.weights)
        if L is None or W is None:
            raise ValueError("`min_speed` needs concrete (not traced) `lengths` and `weights`.")
        longest = float(np.max(np.where(W != 0, L, 0.0)))
        return TimeUnit.of(self.node).from_ms(longest / v)  # mm / (m/s) = ms

    # ------------------------------------------------------------------ model interface

    @property
    def n_nodes(self) -> int:
        return self.weights.shape[0]

    @property
    def state_names(self) -> tuple[str, ...]:  # type: ignore[override]
        return tuple(self.node.state_names)

    @property
    def time_unit(self) -> str | None:  # type: ignore[override]
        return self.node.time_unit

    @property
    def complex_input(self) -> bool:  # type: ignore[override]
        return self.node.complex_input

    @property
    def rhythm_band(self) -> tuple[float, float] | None:  # type: ignore[override]
        return self.node.rhythm_band

    @property
    def has_delays(self) -> bool:
        return self.max_delay > 0

    def input_shape(self):
        return (self.n_nodes, *self._node_input_shape())

    def _node_input_shape(self):
        out = jax.eval_shape(self._per_node(lambda m: jnp.zeros(m.input_shape())), self.node)
        return tuple(out.shape[1:])

    def delay_matrix(self) -> Array | None:
        """Conduction delays $\\tau_{ij}$ in the node's time unit, or None."""
        if self.delays is not None:
            return self.delays
        if self.lengths is None:
            return None
        return TimeUnit.of(self.node).from_ms(self.lengths / self.speed)  # mm / (m/s) = ms

    def initial_state(self):
        return self._per_node(lambda m: m.initial_state())(self.node)

    def observe(self, y):
        return self._per_node(lambda m, yi: m.observe(yi), 0)(self.node, y)

    def efferent(self, y):
        return self._per_node(lambda m, yi: self.coupling.efferent(m, yi), 0)(self.node, y)

    def admissible(self, y):
        return jnp.all(self._per_node(lambda m, yi: m.admissible(yi), 0)(self.node, y))

    def vector_field(self, t, y, args):
        return self.noisy_vector_field(t, y, args, None)

    def input_gain(self, y):
        """Block diagonal: node $i$'s noise enters node $i$'s state through its own gain;
        shape `(n, n_states, n, *node_noise_shape)`."""
        g = self._per_node(lambda m, yi: m.input_gain(yi), 0)(self.node, y)  # (n, s, *k)
        eye = jnp.eye(self.n_nodes, dtype=g.dtype)
        return jnp.einsum("is...,ij->isj...", g, eye)

    def apply_input_gain(self, y, xi):
        return self._per_node(lambda m, yi, xii: m.apply_input_gain(yi, xii), 0, 0)(
            self.node, y, xi
        )

    def noisy_vector_field(self, t, y, args, xi):
        e_now = self.efferent(y)
        afferent = self._effective_weights() @ e_now
        return self._node_fields(t, y, self._input(y, afferent, args, e_now), xi)

    # ------------------------------------------------------------------ delays (engine hooks)

    def history_length(self, dt: float) -> int:
        """Slots of the delay ring buffer for step `dt` (0 without delays)."""
        if not self.has_delays:
            return 0
        slots = int(math.ceil(self.max_delay / dt - 1e-9)) + 2
        return slots + slots % 2  # even: `DelayHistory.afferent`'s slots alternate with head

    def history_init(self, y0, dt: float, offsets=None) -> DelayHistory:
        """The delay history before the run: every past signal equal to the initial one.

        Args:
            y0: initial state, shape `(n_nodes, n_states)`.
            dt: the step.
            offsets: the stage offsets (Python floats in [0, 1]) at which the solver will
                evaluate the vector field within a step, e.g. `(0.0, 1.0)` for Heun; their
                delayed afferent sums are then precomputed once per step. None (default):
                any offset, from per-edge samples.
        """
        n_buf = self.history_length(dt)
        rows = jnp.arange(self.n_nodes)[:, None]
        steps = self._checked_steps(self.delay_matrix()[rows, self.sources] / dt, n_buf, dt)
        lag = jnp.clip(jnp.floor(jax.lax.stop_gradient(steps)), 1, n_buf - 2)
        weights = self._effective_weights()[rows, self.sources] * self.source_mask
        weights = jnp.where(steps > 0, weights, 0.0)  # zero-delay edges: see _instantaneous
        frac = steps - lag
        extra = None
        if offsets is not None:
            extra = tuple(sorted({float(c) for c in offsets} - {0.0, 1.0}))
            if any(not 0.0 < c < 1.0 for c in extra):
                raise ValueError(f"Stage offsets must lie in [0, 1]; got {tuple(offsets)}.")
        rows_w = [weights * (1 - frac), weights * frac]
        for c in extra or ():
            a, b = jnp.maximum(0.0, c - frac), jnp.maximum(0.0, frac - c)
            rows_w += [weights * a, weights * (1 - a - b), weights * b]
        sum_weights = jnp.stack(rows_w)
        e0 = self.efferent(y0)
        samples = e0[self.sources]
        sums0 = _row_sum(sum_weights * samples)  # the sums of a constant past
        a0 = sums0[0] + sums0[1]
        stage = stage_sums = None
        if extra:
            stage = jnp.broadcast_to(a0, (len(extra), *a0.shape))
            mid_old = jnp.stack([sums0[3::3], sums0[4::3]])
            stage_sums = jnp.broadcast_to(mid_old, (2, *mid_old.shape))
        return DelayHistory(
            buffer=jnp.broadcast_to(e0, (2, n_buf, *e0.shape)).reshape(2, -1),
            head=jnp.asarray(0, jnp.int32),
            weights=weights,
            frac=frac,
            offset=(n_buf + 1 - lag.astype(jnp.int32)) * self.n_nodes + self.sources,
            sum_weights=sum_weights,
            afferent=jnp.stack([a0, a0]),
            partial=sums0[1],
            stage=stage,
            stage_sums=stage_sums,
            recent=None if offsets is not None else jnp.broadcast_to(samples, (2, *samples.shape)),
            offsets=extra,
        )

    def history_update(self, history: DelayHistory, y) -> DelayHistory:
        """After a step: store the new signals, read each edge's sample at lag - 1 steps
        (one gather), and precompute the afferent sums of the coming step.

        Its end sum (stage offset 1) is the new sample's w (1 - f) share plus the previous
        one's w f share; it is also the start sum (offset 0) of the step after. With long
        rows (K >= `_LONG_ROWS`) the previous share is carried in `partial` and all weighted
        sums of the new sample are one vector-matrix product fused with the weighting; with
        short rows, reading the previous sample again in the same fusion is cheaper on CPU
        (measured on the 68- and 76-region connectomes, see benchmarks/bench_network.py).
        """
        h = history
        n, K = h.offset.shape
        n_buf = h.buffer.shape[1] // n
        head = jnp.where(h.head + 1 == n_buf, 0, h.head + 1)
        slot = head % 2
        e = self.efferent(y).astype(h.buffer.dtype)
        buffer = jax.lax.dynamic_update_slice(
            h.buffer, jnp.stack([e, e]), (jnp.zeros_like(head), head * n)
        )
        # Row head + n_buf + 1 - lag holds the sample at lag - 1 steps (in bounds, see offset).
        index = (head * n + h.offset).reshape(-1, 1)
        newest = _gather(buffer.reshape(-1), index).reshape(n, K)
        if K >= _LONG_ROWS:
            sums = _row_sum(h.sum_weights * newest)  # (R, n)
            end, partial, extra = sums[0] + h.partial, sums[1], sums[2:]
        else:  # `partial` unused
            ones = jnp.ones(K, dtype=newest.dtype)
            older = _gather(buffer.reshape(-1), index - n).reshape(n, K)
            end = (h.sum_weights[0] * newest + h.sum_weights[1] * older) @ ones
            partial = h.partial
            extra = ((h.sum_weights[2:] * newest).reshape(-1, K) @ ones).reshape(-1, n)
        afferent = jax.lax.dynamic_update_index_in_dim(h.afferent, end, slot, 0)
        new = dict(buffer=buffer, head=head, afferent=afferent, partial=partial)
        if h.offsets:
            # Offset c of the coming step: the new sample's a share, the previous one's
            # (1 - a - b) share and the b share of the one before (slots by head parity).
            mid = jax.lax.dynamic_index_in_dim(h.stage_sums, 1 - slot, keepdims=False)[0]
            old = jax.lax.dynamic_index_in_dim(h.stage_sums, slot, keepdims=False)[1]
            new["stage"] = extra[0::3] + mid + old
            new["stage_sums"] = jax.lax.dynamic_update_index_in_dim(
                h.stage_sums, jnp.stack([extra[1::3], extra[2::3]]), slot, 0
            )
        if h.recent is not None:
            new["recent"] = jax.lax.dynamic_update_index_in_dim(h.recent, newest, slot, 0)
        return eqx.tree_at(
            lambda h: tuple(getattr(h, k) for k in new),
            h,
            tuple(new.values()),
            is_leaf=lambda x: x is None,
        )

    def _checked_steps(self, steps, n_buf, dt):
        """Delays in steps, checked at run time (they may be traced, e.g. a swept speed): each
        must lie in [1, n_buf - 1) steps, or the interpolation would read outside the buffer.
        Concrete delays were already checked by `check_delays`; traced ones raise here."""
        used = (self.source_mask > 0) & (steps > 0)
        unit = self.time_unit or "time units"
        steps = eqx.error_if(
            steps,
            jnp.any(used & (steps >= n_buf - 1)),
            f"A conduction delay exceeds the delay buffer sized when the Network was built "
            f"(max_delay={self.max_delay:.6g} {unit}); it would be clipped. Build the Network "
            "with min_speed=<the slowest speed you will use> or a larger max_delay.",
        )
        return eqx.error_if(
            steps,
            jnp.any(used & (steps < 1 - 1e-6)),
            f"A conduction delay is shorter than dt={dt:g} {unit}; lower dt or raise the delay.",
        )

    def check_delays(self, dt: float) -> None:
        """Raise ValueError when `dt` exceeds the smallest non-zero delay or the buffer."""
        tau, wv = concrete_values(self.delay_matrix()), concrete_values(self.weights)
        if tau is None or wv is None:
            return
        used = tau[(wv != 0) & (tau > 0)]
        if used.size and used.min() < dt * (1 - 1e-9):
            raise ValueError(
                f"dt = {dt:g} exceeds the smallest non-zero conduction delay ({used.min():.6g} "
                f"{self.time_unit or 'time units'}); use dt <= {used.min():.6g}, or raise very "
                "short fibre lengths (e.g. lengths=np.maximum(lengths, 1.0) for 1 mm)."
            )
        if used.size and used.max() > self.max_delay * (1 + 1e-9):
            raise ValueError(
                f"The largest delay ({used.max():.6g}) exceeds the network's buffer capacity "
                f"max_delay={self.max_delay:.6g}; rebuild the Network or pass a larger max_delay."
            )

    def delayed_vector_field(self, t, y, args, xi, history: DelayHistory, offset):
        """Vector field with delayed coupling at `offset` steps after the step's start.

        Each edge's delayed signal is the linear interpolation of its window at lag
        `delay/dt - offset`. For the offsets 0 and 1 and those given to `history_init`
        (Python floats), the precomputed sums are used.
        """
        h = history
        static = isinstance(offset, (int, float))
        if static and offset == 0.0:
            afferent = h.afferent_start
        elif static and offset == 1.0:
            afferent = h.afferent_end
        elif static and h.offsets and float(offset) in h.offsets:
            afferent = h.stage[h.offsets.index(float(offset))]
        else:
            a = jnp.maximum(0.0, offset - h.frac)  # weight towards the newer sample
            c = jnp.maximum(0.0, h.frac - offset)  # weight towards the older sample
            newest, mid, oldest = h.samples(0), h.samples(1), h.samples(2)
            values = mid + a * (newest - mid) + c * (oldest - mid)
            afferent = _row_sum(h.weights * values)
        e_now = self.efferent(y)
        if self._has_zero_delays:
            afferent = afferent + self._instantaneous_weights() @ e_now
        return self._node_fields(t, y, self._input(y, afferent, args, e_now), xi)

    # ------------------------------------------------------------------ internals

    def _per_node(self, fn, *axes):
        node_axes = jax.tree.map(lambda p: 0 if jnp.ndim(p) == 1 else None, self.node)
        return jax.vmap(fn, in_axes=(node_axes, *axes), axis_size=self.n_nodes)

    def _effective_weights(self):
        factor = self.coupling.edge_factor(self.n_nodes)
        return self.weights if factor is None else self.weights * factor

    @property
    def _has_zero_delays(self) -> bool:
        return self.zero_delay_edges

    def _instantaneous_weights(self):
        """Weights of the edges with zero delay (lengths 0): they see the current state."""
        return jnp.where(self.delay_matrix() == 0, self._effective_weights(), 0.0)

    def _input(self, y, afferent, args, e_now):
        u = self.coupling(afferent, e_now, self.weights, self.G)
        if args is not None:
            u = u + _per_node_array(jnp.asarray(args), self.n_nodes)
        return u

    def _node_fields(self, t, y, u, xi):
        shape = (self.n_nodes, *self._node_input_shape())
        u = jnp.broadcast_to(_per_node_array(u, self.n_nodes, len(shape)), shape)
        if xi is None:
            return self._per_node(lambda m, yi, ui: m.vector_field(t, yi, ui), 0, 0)(
                self.node, y, u
            )
        return self._per_node(lambda m, yi, ui, xii: m.noisy_vector_field(t, yi, ui, xii), 0, 0, 0)(
            self.node, y, u, xi
        )


def _per_node_array(u, n, ndim=None):
    """Give a per-node vector `(n,)` trailing singleton axes so it broadcasts over node inputs."""
    u = jnp.asarray(u)
    if ndim is not None and u.ndim == 1 and u.shape[0] == n and ndim > 1:
        return u.reshape((n,) + (1,) * (ndim - 1))
    return u


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


def _check_regional(node, n):
    for path, leaf in jax.tree_util.tree_flatten_with_path(node)[0]:
        if not eqx.is_array(leaf):
            continue
        name = jax.tree_util.keystr(path).lstrip(".")
        if jnp.ndim(leaf) > 1 or (jnp.ndim(leaf) == 1 and jnp.shape(leaf)[0] != n):
            raise ValueError(
                f"Node parameter `{name}` has shape {jnp.shape(leaf)}; in a network of {n} nodes "
                f"a parameter is a scalar (shared) or has shape ({n},) (one value per region)."
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


__all__ = ["Network", "default_coupling", "normalize_weights", "spectral_radius", "is_concrete"]
