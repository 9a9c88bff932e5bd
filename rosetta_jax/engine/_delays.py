"""The delay ring buffer of the fixed-step engine: conduction-delayed coupling read with linear
interpolation between steps.

A model with delays (a `Network` with fibre lengths) describes its delayed edges to the engine
with `AbstractModel.delay_edges(dt)`: for each node, the source of every incoming edge, its
weight and its delay in steps. The engine keeps a `DelayBuffer` of the efferent signals of the
last `n_buffer` steps in its scan carry, reads every edge's delayed signal once per step and
hands the model the delayed afferent sums (`AbstractModel.delayed_vector_field`).

Edge $(i, j)$ with delay $\\tau_{ij} = (\\ell + f)\\,dt$ ($\\ell$ integer, $0 \\le f < 1$) needs,
at a stage time $c\\,dt$ inside a step, only its signal samples at lags $\\ell - 1$, $\\ell$ and
$\\ell + 1$ steps, with weights $a = \\max(0, c - f)$, $1 - a - b$ and $b = \\max(0, f - c)$. Each
step reads the sample at lag $\\ell - 1$ of every edge once (one flat gather of shape `(n, K)`,
K = the largest in-degree, padded edges with zero weight); the same sample is the one at lag
$\\ell$ one step later and at $\\ell + 1$ two steps later. So, for stage offsets known in
advance (a fixed-step solver's, learnt by tracing one step), the weighted sums over edges are
taken once per sample and carried as node-sized partial sums: nothing of size `(n, K)` is
carried from step to step. Short rows (`K < _LONG_ROWS`, measured on CPU) read the two samples
of the step-end sum instead of carrying the older share.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array


# Rows (in-degree, padded) at least this long use the carried-partial-sum form of the delayed
# read; shorter ones read both samples (crossover measured between K = 38 and 53 on the 68- and
# 76-region connectomes, see benchmarks/bench_network.py).
_LONG_ROWS = 48


class DelayEdges(eqx.Module):
    """A model's delayed edges, as the engine needs them (`AbstractModel.delay_edges`).

    Attributes:
        sources: `(n, K)` int, the source node of each incoming edge (rows padded).
        weights: `(n, K)`, the edge weights (with the coupling's edge factor), 0 on padding
            and on zero-delay edges (those the model adds itself, undelayed).
        steps: `(n, K)`, the delays in steps, within `[1, n_buffer - 1)`; may be traced (a
            swept or fitted speed).
        n_buffer: slots of the ring buffer (even).
    """

    sources: Array
    weights: Array
    steps: Array
    n_buffer: int = eqx.field(static=True)


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


def _row_sum(x):
    """Sum over the last axis as a vector-matrix product `ones @ x.T`.

    On CPU, XLA emits this form inside one loop fusion with the producer of `x` (e.g. the
    weighting of gathered samples), without materialising `x`; a reduction, or `x @ ones`
    (an Eigen matrix-vector call), costs several times more for these small rows.
    """
    K = x.shape[-1]
    return (jnp.ones(K, dtype=x.dtype) @ x.reshape(-1, K).T).reshape(x.shape[:-1])


class DelayBuffer(eqx.Module):
    """The delay state carried by the engine from step to step.

    Attributes:
        buffer: `(2, n_buffer * n)`: the signals of the last `n_buffer` steps, row-major
            `(n_buffer, n)`, stored twice (one write per step updates both copies), so that
            every read is one gather from the flat view without wrap-around.
        head: int scalar: rows `head` and `head + n_buffer` hold the newest signals.
        weights, frac: `(n, K)`: edge weights and the fractional part $f$ of the delays.
        offset: `(n, K)`: flat buffer index of each edge's sample at lag - 1 steps, less
            `head * n` (the integer part `lag` of the delays clipped to `[1, n_buffer - 2]`,
            so that lags `lag - 1 .. lag + 1` are all in bounds).
        sum_weights: `(R, n, K)`: edge weights of the sums taken of each new sample:
            $w(1 - f)$, $wf$ (step end), then $wa$, $w(1 - a - b)$, $wb$ per stage offset.
        afferent: `(2, n)`: delayed afferent sums at the step's end (slot `head % 2`) and at
            its start (the previous step's end).
        partial: `(n,)`: the $wf$ sum of the newest samples, the next end sum's older share
            (long rows only).
        stage: `(C, n)`: afferent sums at the stage offsets of the coming step.
        stage_sums: `(2, 2, C, n)`: by head parity, the $(1 - a - b)$ and $b$ sums of the last
            two updates, the mid and old shares of `stage`.
        recent: `(2, n, K)`: without known offsets, the samples at lag - 1 and lag, for any
            stage offset.
        offsets: the stage offsets in (0, 1) with precomputed sums; None: unknown, per-edge
            samples kept.
    """

    buffer: Array
    head: Array
    weights: Array
    frac: Array
    offset: Array
    sum_weights: Array
    afferent: Array
    partial: Array
    stage: Array | None
    stage_sums: Array | None
    recent: Array | None
    offsets: tuple[float, ...] | None = eqx.field(static=True)

    @classmethod
    def init(cls, edges: DelayEdges, e0: Array, offsets=None) -> DelayBuffer:
        """The buffer before the run: every past signal equal to the initial one, `e0`.

        Args:
            edges: the model's delayed edges.
            e0: the efferent signals at the initial state, shape `(n,)`.
            offsets: the stage offsets (Python floats in [0, 1]) at which the solver will
                evaluate the vector field within a step, e.g. `(0.0, 1.0)` for Heun; their
                delayed afferent sums are then precomputed once per step. None: any offset,
                from per-edge samples.
        """
        n, n_buf = e0.shape[0], edges.n_buffer
        lag = jnp.clip(jnp.floor(jax.lax.stop_gradient(edges.steps)), 1, n_buf - 2)
        weights, frac = edges.weights, edges.steps - lag
        extra = _extra_offsets(offsets)
        rows_w = [weights * (1 - frac), weights * frac]
        for c in extra or ():
            a, b = jnp.maximum(0.0, c - frac), jnp.maximum(0.0, frac - c)
            rows_w += [weights * a, weights * (1 - a - b), weights * b]
        sum_weights = jnp.stack(rows_w)
        samples = e0[edges.sources]
        sums0 = _row_sum(sum_weights * samples)  # the sums of a constant past
        a0 = sums0[0] + sums0[1]
        stage = stage_sums = None
        if extra:
            stage = jnp.broadcast_to(a0, (len(extra), *a0.shape))
            mid_old = jnp.stack([sums0[3::3], sums0[4::3]])
            stage_sums = jnp.broadcast_to(mid_old, (2, *mid_old.shape))
        recent = None if offsets is not None else jnp.broadcast_to(samples, (2, *samples.shape))
        return cls(
            buffer=jnp.broadcast_to(e0, (2, n_buf, *e0.shape)).reshape(2, -1),
            head=jnp.asarray(0, jnp.int32),
            weights=weights,
            frac=frac,
            offset=(n_buf + 1 - lag.astype(jnp.int32)) * n + edges.sources,
            sum_weights=sum_weights,
            afferent=jnp.stack([a0, a0]),
            partial=sums0[1],
            stage=stage,
            stage_sums=stage_sums,
            recent=recent,
            offsets=extra,
        )

    def update(self, e: Array) -> DelayBuffer:
        """After a step: store the new signals `e`, read each edge's sample at lag - 1 steps
        (one gather), and precompute the afferent sums of the coming step.

        Its end sum (stage offset 1) is the new sample's $w(1 - f)$ share plus the previous
        one's $wf$ share; it is also the start sum (offset 0) of the step after."""
        n, K = self.offset.shape
        n_buf = self.buffer.shape[1] // n
        head = jnp.where(self.head + 1 == n_buf, 0, self.head + 1)
        slot = head % 2
        e = e.astype(self.buffer.dtype)
        buffer = jax.lax.dynamic_update_slice(
            self.buffer, jnp.stack([e, e]), (jnp.zeros_like(head), head * n)
        )
        # Row head + n_buf + 1 - lag holds the sample at lag - 1 steps (in bounds, see offset).
        index = (head * n + self.offset).reshape(-1, 1)
        newest = _gather(buffer.reshape(-1), index).reshape(n, K)
        end, partial, extra = self._new_sums(buffer, index, newest)
        new = dict(
            buffer=buffer,
            head=head,
            afferent=jax.lax.dynamic_update_index_in_dim(self.afferent, end, slot, 0),
            partial=partial,
        )
        if self.offsets:
            # Offset c of the coming step: the new sample's a share, the previous one's
            # (1 - a - b) share and the b share of the one before (slots by head parity).
            mid = jax.lax.dynamic_index_in_dim(self.stage_sums, 1 - slot, keepdims=False)[0]
            old = jax.lax.dynamic_index_in_dim(self.stage_sums, slot, keepdims=False)[1]
            new["stage"] = extra[0::3] + mid + old
            new["stage_sums"] = jax.lax.dynamic_update_index_in_dim(
                self.stage_sums, jnp.stack([extra[1::3], extra[2::3]]), slot, 0
            )
        if self.recent is not None:
            new["recent"] = jax.lax.dynamic_update_index_in_dim(self.recent, newest, slot, 0)
        return eqx.tree_at(
            lambda b: tuple(getattr(b, k) for k in new),
            self,
            tuple(new.values()),
            is_leaf=lambda x: x is None,
        )

    def _new_sums(self, buffer, index, newest):
        """The step-end sum, the carried partial sum and the new sample's stage sums. Long
        rows carry the previous sample's share in `partial` and form all weighted sums of the
        new sample in one fused vector-matrix product; short rows read the previous sample
        again in the same fusion (cheaper on CPU for them)."""
        n, K = self.offset.shape
        if K >= _LONG_ROWS:
            sums = _row_sum(self.sum_weights * newest)  # (R, n)
            return sums[0] + self.partial, sums[1], sums[2:]
        ones = jnp.ones(K, dtype=newest.dtype)
        older = _gather(buffer.reshape(-1), index - n).reshape(n, K)
        end = (self.sum_weights[0] * newest + self.sum_weights[1] * older) @ ones
        extra = ((self.sum_weights[2:] * newest).reshape(-1, K) @ ones).reshape(-1, n)
        return end, self.partial, extra

    def afferent_at(self, offset) -> Array:
        """The delayed afferent sums at `offset` steps after the step's start, shape `(n,)`:
        each edge's signal interpolated linearly at lag `delay / dt - offset`. For the offsets
        0 and 1 and those given to `init` (Python floats), the precomputed sums."""
        static = isinstance(offset, (int, float))
        if static and offset == 0.0:
            return jax.lax.dynamic_index_in_dim(self.afferent, (self.head + 1) % 2, keepdims=False)
        if static and offset == 1.0:
            return jax.lax.dynamic_index_in_dim(self.afferent, self.head % 2, keepdims=False)
        if static and self.offsets and float(offset) in self.offsets:
            return self.stage[self.offsets.index(float(offset))]
        a = jnp.maximum(0.0, offset - self.frac)  # weight towards the newer sample
        c = jnp.maximum(0.0, self.frac - offset)  # weight towards the older sample
        newest, mid, oldest = self._samples(0), self._samples(1), self._samples(2)
        values = mid + a * (newest - mid) + c * (oldest - mid)
        return _row_sum(self.weights * values)

    def _samples(self, back: int) -> Array:
        """Each edge's signal at lag - 1 + `back` steps before the newest row, shape (n, K)."""
        if self.recent is not None and back < 2:
            slot = (self.head + back) % 2
            return jax.lax.dynamic_index_in_dim(self.recent, slot, keepdims=False)
        n = self.afferent.shape[1]
        index = (self.head * n - back * n + self.offset).reshape(-1, 1)
        return _gather(self.buffer.reshape(-1), index).reshape(self.offset.shape)


def _extra_offsets(offsets) -> tuple[float, ...] | None:
    if offsets is None:
        return None
    extra = tuple(sorted({float(c) for c in offsets} - {0.0, 1.0}))
    if any(not 0.0 < c < 1.0 for c in extra):
        raise ValueError(f"Stage offsets must lie in [0, 1]; got {tuple(offsets)}.")
    return extra
