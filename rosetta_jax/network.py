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

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from ._network_base import AbstractNetwork, block_diagonal, per_node, per_node_array
from ._network_layout import (
    check_node,
    check_regional,
    checked_coupling,
    checked_gain,
    checked_weights,
    delay_layout,
)
from ._validation import is_concrete
from .connectome import (
    AbstractNormalization,
    normalize_weights,
    spectral_radius,
)
from .coupling import AbstractCoupling, Additive, Diffusive, Sine
from .models._base import AbstractModel
from .models.oscillators import DampedOscillator, HarmonicOscillator, Kuramoto, StuartLandau


if TYPE_CHECKING:
    from ._mixed_network import MixedNetwork


def default_coupling(node: AbstractModel) -> AbstractCoupling:
    """The coupling form of the node's rung (see the module docstring)."""
    if isinstance(node, (HarmonicOscillator, DampedOscillator, StuartLandau)):
        return Diffusive()
    if isinstance(node, Kuramoto):
        return Sine()
    return Additive()


class Network(AbstractNetwork):
    """A network of identical (or regionally varied) nodes coupled through a connectome.

    Conventions: docs/models.md#network-coupling-conventions

    A `Network` is itself a model: `simulate(network, ...)` works as for a single node, with
    state shape `(n_nodes, n_states)` and observable shape `(n_nodes,)`.

    For nodes that are not all the same model (groups of regions, each group one model of the
    ladder with its own state size and time unit, coupled through one connectome), use
    `Network.mixed(groups, weights, ...)`, which returns a `MixedNetwork`.

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
    weights: Float[Array, " n n"]
    G: Float[Array, ""]
    lengths: Float[Array, " n n"] | None
    speed: Float[Array, ""] | None
    delays: Float[Array, " n n"] | None
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
        weights: Float[ArrayLike, " n n"],
        *,
        lengths: Float[ArrayLike, " n n"] | None = None,
        speed: Float[ArrayLike, ""] | None = None,
        delays: Float[ArrayLike, " n n"] | None = None,
        G: Float[ArrayLike, ""] = 1.0,
        coupling: AbstractCoupling | None = None,
        normalize: AbstractNormalization | str | None = "max_eigenvalue",
        max_delay: float | None = None,
        min_speed: float | None = None,
    ):
        check_node(node, AbstractModel, AbstractNetwork)
        W, self.normalize = checked_weights(weights, normalize)
        self.weights = normalize_weights(W, self.normalize)
        self.G = checked_gain(G)
        self.node = node
        check_regional(node, self.weights.shape[0])
        self.coupling = checked_coupling(default_coupling(node) if coupling is None else coupling)
        layout = delay_layout(node, self.weights, lengths, speed, delays, max_delay, min_speed)
        self.lengths, self.speed, self.delays = layout.lengths, layout.speed, layout.delays
        self.max_delay, self.zero_delay_edges = layout.max_delay, layout.zero_delay_edges
        self.sources, self.source_mask = layout.sources, layout.source_mask

    # ------------------------------------------------------------------ model interface

    # The node's class attributes, seen through the network.
    state_names = property(lambda self: tuple(self.node.state_names))  # type: ignore[assignment]
    time_unit = property(lambda self: self.node.time_unit)  # type: ignore[assignment]
    complex_input = property(lambda self: self.node.complex_input)  # type: ignore[assignment]
    rhythm_band = property(lambda self: self.node.rhythm_band)  # type: ignore[assignment]
    noise_enters_as_drive = property(lambda self: self.node.noise_enters_as_drive)  # type: ignore[assignment]

    def input_shape(self):
        return (self.n_nodes, *self._node_input_shape())

    def _node_input_shape(self):
        out = jax.eval_shape(self._per_node(lambda m: jnp.zeros(m.input_shape())), self.node)
        return tuple(out.shape[1:])

    def initial_state(self):
        return self._per_node(lambda m: m.initial_state())(self.node)

    def observe(self, y):
        return self._per_node(lambda m, yi: m.observe(yi), 0)(self.node, y)

    def efferent(self, y):
        return self._per_node(lambda m, yi: self.coupling.efferent(m, yi), 0)(self.node, y)

    def admissible(self, y):
        return jnp.all(self._per_node(lambda m, yi: m.admissible(yi), 0)(self.node, y))

    def input_gain(self, y):
        """Block diagonal: node $i$'s noise enters node $i$'s state through its own gain;
        shape `(n, n_states, n, *node_noise_shape)`."""
        return block_diagonal(self._per_node(lambda m, yi: m.input_gain(yi), 0)(self.node, y))

    def apply_input_gain(self, y, xi):
        return self._per_node(lambda m, yi, xii: m.apply_input_gain(yi, xii), 0, 0)(
            self.node, y, xi
        )

    # ------------------------------------------------------------------ internals

    def _per_node(self, fn, *axes):
        return per_node(self.node, self.n_nodes, fn, *axes)

    def _edge_factor(self):
        return self.coupling.edge_factor(self.n_nodes)

    def _drift(self, t, y, afferent, args, e_now):
        return self._node_fields(t, y, self._input(y, afferent, args, e_now))

    def _input(self, y, afferent, args, e_now):
        u = self.coupling(afferent, e_now, self.weights, self.G)
        if args is not None:
            u = u + per_node_array(jnp.asarray(args), self.n_nodes)
        return u

    def _node_fields(self, t, y, u):
        """Each node's drift given its input `u` (one value per node, or per node input)."""
        shape = (self.n_nodes, *self._node_input_shape())
        u = jnp.broadcast_to(per_node_array(u, self.n_nodes, len(shape)), shape)
        return self._per_node(lambda m, yi, ui: m.vector_field(t, yi, ui), 0, 0)(self.node, y, u)

    @staticmethod
    def mixed(
        groups: Mapping[str, Any],
        weights: Float[ArrayLike, " n n"],
        *,
        lengths: Float[ArrayLike, " n n"] | None = None,
        speed: Float[ArrayLike, ""] | None = None,
        delays: Float[ArrayLike, " n n"] | None = None,
        G: Float[ArrayLike, ""] = 1.0,
        normalize: AbstractNormalization | str | None = "max_eigenvalue",
        max_delay: float | None = None,
        min_speed: float | None = None,
        time_unit: str | None = None,
    ) -> MixedNetwork:
        """A network whose nodes are not all the same model: a `MixedNetwork` (see there)."""
        from ._mixed_network import MixedNetwork

        return MixedNetwork(
            groups,
            weights,
            lengths=lengths,
            speed=speed,
            delays=delays,
            G=G,
            normalize=normalize,
            max_delay=max_delay,
            min_speed=min_speed,
            time_unit=time_unit,
        )


__all__ = ["Network", "default_coupling", "normalize_weights", "spectral_radius", "is_concrete"]
