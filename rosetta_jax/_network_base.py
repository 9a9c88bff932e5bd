"""What every network shares, whatever its nodes: the connectome, the conduction delays and the
engine hooks that read them (`Network`, one model for every node; `MixedNetwork`, groups of
nodes of different models).

A network computes the afferent sums $a_i = \\sum_j C_{ij} e_j(t - \\tau_{ij})$ of the nodes'
efferent signals, turns them into each node's input (`_input`, the coupling) and evaluates each
node's drift given that input (`_node_fields`); the concrete networks say how.
"""

from __future__ import annotations

import abc
import math

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ._network_layout import check_step_against_delays, checked_steps
from .engine._delays import DelayEdges
from .models._base import AbstractModel
from .units import TimeUnit


class AbstractNetwork(AbstractModel):
    """A model made of nodes coupled through a connectome (with optional delays).

    Subclasses hold the connectome and delay fields below and say how the nodes send and
    receive: `efferent(y)` (one signal per node), `_edge_factor()`, `_drift(...)`, and its two
    halves `_input(...)` (the coupling) and `_node_fields(...)` (the nodes given their input;
    the linearised analyses take them apart).
    """

    weights: eqx.AbstractVar[Float[Array, " n n"]]
    G: eqx.AbstractVar[Float[Array, ""]]
    lengths: eqx.AbstractVar[Float[Array, " n n"] | None]
    speed: eqx.AbstractVar[Float[Array, ""] | None]
    delays: eqx.AbstractVar[Float[Array, " n n"] | None]
    sources: eqx.AbstractVar[Array | None]
    source_mask: eqx.AbstractVar[Array | None]
    max_delay: eqx.AbstractVar[float]
    zero_delay_edges: eqx.AbstractVar[bool]

    @abc.abstractmethod
    def _edge_factor(self) -> Array | None:
        """A factor on the weights (per edge, or per target row), or None."""

    @abc.abstractmethod
    def _drift(self, t, y, afferent, args, e_now):
        """The nodes' drift given their afferent sums, their own current signals `e_now` and
        the external drive `args` (the same as `_node_fields(t, y, _input(...))`)."""

    @abc.abstractmethod
    def _input(self, y, afferent, args, e_now):
        """Each node's input from its afferent sum, its own current signal and the external
        drive `args`, shape `(n,)` (or `(n, *node_input)` where the drive has that shape)."""

    @abc.abstractmethod
    def _node_fields(self, t, y, u):
        """Each node's drift given its input `u` (one value per node, or per node input)."""

    @property
    def n_nodes(self) -> int:
        return self.weights.shape[0]

    @property
    def has_delays(self) -> bool:
        return self.max_delay > 0

    def delay_matrix(self) -> Float[Array, " n n"] | None:
        """Conduction delays $\\tau_{ij}$ in the network's time unit, or None."""
        if self.delays is not None:
            return self.delays
        if self.lengths is None:
            return None
        return TimeUnit.of(self).from_ms(self.lengths / self.speed)  # mm / (m/s) = ms

    def vector_field(self, t, y, args):
        e_now = self.efferent(y)
        return self._drift(t, y, self._effective_weights() @ e_now, args, e_now)

    # ------------------------------------------------------------------ delays (engine hooks)

    def history_length(self, dt: float) -> int:
        """Slots of the delay ring buffer for step `dt` (0 without delays)."""
        if not self.has_delays:
            return 0
        slots = int(math.ceil(self.max_delay / dt - 1e-9)) + 2
        return slots + slots % 2  # even: `DelayBuffer.afferent`'s slots alternate with head

    def delay_edges(self, dt: float) -> DelayEdges | None:
        """The delayed edges for the engine's ring buffer: sources, weights (with the
        coupling's edge factor; zero-delay edges are added undelayed by
        `delayed_vector_field`) and delays in steps, checked to fit the buffer."""
        if not self.has_delays:
            return None
        n_buf = self.history_length(dt)
        rows = jnp.arange(self.n_nodes)[:, None]
        steps = self.delay_matrix()[rows, self.sources] / dt
        steps = checked_steps(steps, self.source_mask, n_buf, dt, self.max_delay, self.time_unit)
        weights = self._effective_weights()[rows, self.sources] * self.source_mask
        weights = jnp.where(steps > 0, weights, 0.0)  # zero-delay edges: see _instantaneous
        return DelayEdges(self.sources, weights, steps, n_buf)

    def check_delays(self, dt: float) -> None:
        """Raise ValueError when `dt` exceeds the smallest non-zero delay or the buffer."""
        check_step_against_delays(
            self.delay_matrix(), self.weights, dt, self.max_delay, self.time_unit
        )

    def delayed_vector_field(self, t, y, args, afferent):
        """The drift with the delayed afferent sums `afferent` (shape `(n,)`, from the engine's
        `DelayBuffer`), plus the undelayed ones of zero-delay edges."""
        e_now = self.efferent(y)
        if self.zero_delay_edges:
            afferent = afferent + self._instantaneous_weights() @ e_now
        return self._drift(t, y, afferent, args, e_now)

    # ------------------------------------------------------------------ internals

    def _effective_weights(self):
        factor = self._edge_factor()
        return self.weights if factor is None else self.weights * factor

    def _instantaneous_weights(self):
        """Weights of the edges with zero delay (lengths 0): they see the current state."""
        return jnp.where(self.delay_matrix() == 0, self._effective_weights(), 0.0)


def per_node(model, n: int, fn, *axes):
    """`fn(model, *args)` vmapped over `n` nodes: axis 0 of the regional parameters of `model`
    (shape `(n,)`), shared for the scalar ones, and `axes` for the other arguments."""
    node_axes = jax.tree.map(lambda p: 0 if jnp.ndim(p) == 1 else None, model)
    return jax.vmap(fn, in_axes=(node_axes, *axes), axis_size=n)


def per_node_array(u, n, ndim=None):
    """Give a per-node vector `(n,)` trailing singleton axes so it broadcasts over node inputs."""
    u = jnp.asarray(u)
    if ndim is not None and u.ndim == 1 and u.shape[0] == n and ndim > 1:
        return u.reshape((n,) + (1,) * (ndim - 1))
    return u


def block_diagonal(gains: Array) -> Array:
    """Per-node gains `(n, s, *k)` as the network's input gain `(n, s, n, *k)`: node $i$'s noise
    enters node $i$'s state only."""
    eye = jnp.eye(gains.shape[0], dtype=gains.dtype)
    return jnp.einsum("is...,ij->isj...", gains, eye)
