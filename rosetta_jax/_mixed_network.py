"""Mixed-model networks: groups of regions, each group one model of the ladder (with its own
state size and time unit), coupled through one connectome.

Node $i$ of group $g$ (model $f_g$, coupling $c_g$, time scale $T_g$) follows

$$\\dot y_i = \\frac{1}{T_g}\\, f_g\\Big(y_i;\\ \\theta_i,\\ k^{in}_i\\big[c_g(a_i, e_i) + F_i(t) +
\\eta_i(t)\\big]\\Big),\\qquad e_j = k^{out}_j\\,\\epsilon_{g(j)}(y_j),\\qquad
a_i = \\sum_j C_{ij}\\, e_j(t - \\tau_{ij}),$$

where $\\epsilon_g$ is the group's efferent signal (its coupling's `efferent`), $k^{out}$ and
$k^{in}$ the group's `efferent_scale` and `input_scale`, $C$ the normalised connectome,
$\\tau_{ij}$ the conduction delays, $F$ the forcing and $\\eta$ the noise: every rung's input
channel receives the coupling from the other nodes alongside the external drive (Castaldo et al.
2026, arXiv:2512.10982, section 1, and the network form of each rung: sections 2.1.4, 2.2.2, 3.2,
5.3, 6.1, 7.1). The laminar NMM couples generators of different kinds in the same way inside
one column (an alpha generator gating a gamma one; Castaldo et al. 2026, section 6.2;
Sanchez-Todo et al., NeuroImage 270:119938, 2023). The connectome sums one kind of signal:
real (rates, activities) or, when every group sends one, complex (the oscillators' $z$,
Kuramoto's $e^{i\\theta}$).

**Time.** The network runs in one time unit (`time_unit`): that of its groups, or the one
given. $T_g$ is the duration of one of group $g$'s time units in the network's unit: 1e-3 for
a model in ms in a network in s (so its drift is multiplied by 1000), 1000 for a model in s in
a network in ms, the group's `time_scale` for a dimensionless model. Delays, forcing times,
`t1` and `dt` are in the network's unit.

**Inputs and noise.** Forcing and noise are in the common signal's unit and reach each node
through $k^{in}$, like the coupling. A forcing $F(t)$ is, for group $g$, the drive
$k^{in} F(T_g t_g)$ of the model in its own time $t_g = t / T_g$. White noise `Additive(sigma)`
(intensity $\\sigma^2$ per network time unit) equals, for group $g$, white noise of amplitude
$\\sigma_g = k^{in}\\sigma/\\sqrt{T_g}$ in the model's own time (so a separate run of a model in
ms with `Additive(s)` matches `sigma = s * sqrt(1e-3) / k_in` in a network in s);
Ornstein-Uhlenbeck noise `(sigma, tau)` equals the model's own with standard deviation
$k^{in}\\sigma$ and correlation time $\\tau/T_g$. Per-node `sigma` arrays give per-group noise.
The network's per-node input is the groups' common input shape, or a scalar when each group's
input is one value (Kuramoto's `(1,)` with the scalar ones); its white noise has the groups'
common noise shape, else a flat vector of the longest, each group using its first entries.
Where complex-input groups (the planar oscillators) are mixed with real-input ones, the network
takes a real forcing and real coloured noise (acting on the oscillators' $x$) and gives the
oscillators complex white noise (each part of intensity $\\sigma^2/2$, as for an oscillator
alone).

**State.** Shape `(n_nodes, S)` in region order, S the largest group state size: node $i$ of
group $g$ uses the first $s_g$ columns, laid out as its model's `state_names`. The other
(padding) columns relax as $\\dot y = -y$: zero from the default initial state, they stay zero,
and the Jacobian stays non-singular (fixed points, linearised spectra; each padding column adds
an uncoupled, unobserved eigenvalue $-1$ per network time unit). `state_names` are the groups'
when they all agree, else `("s0", "s1", ...)`; `group_states(y)` gives each group's states.

**Speed.** Groups of contiguous (or evenly spaced) regions are read with slices, others with
gathers. Two Jansen-Rit groups run at about 1.2x the time of the same homogeneous `Network`
(68 regions, delays, noise; `benchmarks/bench_mixed.py`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import fields
from typing import Any, ClassVar

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from ._mixed_groups import (
    GroupLayout,
    NodeGroup,
    along as _along,
    as_groups,
    band_span,
    check_cover,
    group_layout,
    network_unit,
    take as _take,
    with_time_scales,
)
from ._network_base import AbstractNetwork, block_diagonal, per_node, per_node_array
from ._network_layout import checked_gain, checked_weights, delay_layout
from ._paths import check_group_names, describe
from .connectome import AbstractNormalization, normalize_weights
from .units import TimeUnit


class MixedNetwork(AbstractNetwork):
    """A network whose nodes are not all the same model (see the module docstring).

    Built by `Network.mixed` (same arguments). A model in its own right: `simulate` runs it
    with state shape `(n_nodes, S)` and observable shape `(n_nodes,)`, each group's canonical
    observable; delays, noise, forcing, both engines and gradients work as for `Network`.
    Each group is vmapped over its nodes.

    Parameter paths: a group is an attribute by its name and forwards its model's parameters
    (`net.cortex.C`, `eqx.tree_at(lambda m: m.cortex.C, net, v)`), so `sweep` and `fit.fit(...,
    params=("cortex.C", "cortex.input_scale", "G"))` name them `"<group>.<name>"` beside the
    network's `"G"` and `"speed"`; group names are plain names, not attributes of the network.

    Args:
        groups: a dict name -> `NodeGroup(model, nodes, ...)`, `(model, nodes)` or
            `(model, nodes, {options})` with the `NodeGroup` keyword options. Every region
            (row of `weights`) belongs to exactly one group.
        weights, lengths, speed, delays, G, normalize, max_delay, min_speed: as for `Network`,
            with delays (and `max_delay`) in the network's time unit.
        time_unit: the network's time unit, `"s"` or `"ms"`; default the groups' common unit
            (None when all are dimensionless). Needed when groups in s and ms are mixed.

    Raises:
        ValueError: regions in no group or in several, out of range; regional parameters or
            scales whose length is not their group's size; groups in different time units
            without `time_unit`; a dimensionless model in a network with a time unit without
            `time_scale`; complex and real coupling signals mixed; the errors of `Network`.
        TypeError: `groups` not a dict of groups; a group whose model is not a single-node model.
    """

    groups: tuple[NodeGroup, ...]
    weights: Float[Array, " n n"]
    G: Float[Array, ""]
    lengths: Float[Array, " n n"] | None
    speed: Float[Array, ""] | None
    delays: Float[Array, " n n"] | None
    sources: Array | None
    source_mask: Array | None
    names: tuple[str, ...] = eqx.field(static=True)
    layout: GroupLayout = eqx.field(static=True)
    unit: str | None = eqx.field(static=True)
    normalize: AbstractNormalization | None = eqx.field(static=True)
    max_delay: float = eqx.field(static=True)
    zero_delay_edges: bool = eqx.field(static=True)

    positive_params: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
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
    ):
        names, parts = as_groups(groups)
        check_group_names(names, {*dir(MixedNetwork), *(f.name for f in fields(MixedNetwork))})
        W, self.normalize = checked_weights(weights, normalize)
        self.weights = normalize_weights(W, self.normalize)
        self.G = checked_gain(G)
        check_cover(names, parts, self.weights.shape[0])
        self.unit = network_unit(names, parts, time_unit)
        self.names = names
        self.groups = with_time_scales(names, parts, self.unit)
        self.layout = group_layout(names, self.groups)
        layout = delay_layout(self, self.weights, lengths, speed, delays, max_delay, min_speed)
        self.lengths, self.speed, self.delays = layout.lengths, layout.speed, layout.delays
        self.max_delay, self.zero_delay_edges = layout.max_delay, layout.zero_delay_edges
        self.sources, self.source_mask = layout.sources, layout.source_mask

    # ------------------------------------------------------------------ model interface

    time_unit = property(lambda self: self.unit)  # type: ignore[assignment]

    @property
    def state_names(self) -> tuple[str, ...]:  # type: ignore[override]
        names = {tuple(g.model.state_names) for g in self.groups}
        if len(names) == 1:
            return names.pop()
        return tuple(f"s{k}" for k in range(self.layout.width))

    @property
    def complex_input(self) -> bool:  # type: ignore[override]
        """True when every group takes a complex drive (then forcing and noise are complex)."""
        return all(g.model.complex_input for g in self.groups)

    @property
    def noise_enters_as_drive(self) -> bool:  # type: ignore[override]
        return all(g.model.noise_enters_as_drive for g in self.groups)

    @property
    def rhythm_band(self) -> tuple[float, float] | None:  # type: ignore[override]
        """The span of the groups' bands, in the network's frequency unit (None if any group
        has none)."""
        return band_span(self.groups, TimeUnit.of(self).hz_factor)

    def __getattr__(self, name: str):
        # Reached only when ordinary lookup fails: a group by its name, so that parameter
        # paths ("cortex.C") and `eqx.tree_at(lambda m: m.cortex.C, ...)` address it.
        names, groups = self.__dict__.get("names"), self.__dict__.get("groups")
        if names is None or groups is None or name.startswith("_"):  # __init__ runs
            raise AttributeError(name)
        if name in names:
            return groups[names.index(name)]
        raise AttributeError(f"MixedNetwork has no attribute or group {name!r}; {describe(self)}.")

    def group(self, name: str) -> NodeGroup:
        """The group called `name`."""
        if name not in self.names:
            raise KeyError(f"No group named {name!r}; the groups are {self.names}.")
        return self.groups[self.names.index(name)]

    def group_states(self, y: Float[Array, "*batch n S"]) -> dict[str, Array]:
        """Each group's states without the padding: name -> `(*batch, n_g, s_g)`, rows in the
        order of the group's `nodes` (e.g. `net.group_states(sol.ys)`)."""
        y = jnp.asarray(y)
        return {
            name: jnp.take(y, np.asarray(g.nodes), axis=-2)[..., :s]
            for name, g, s in zip(self.names, self.groups, self.layout.sizes, strict=True)
        }

    def state_mask(self) -> np.ndarray:
        """Boolean `(n_nodes, S)`: True for the state entries of the nodes' models, False for
        the padding (e.g. to leave the padding's eigenvalues out of an analysis)."""
        mask = np.zeros((self.n_nodes, self.layout.width), dtype=bool)
        for g, s in zip(self.groups, self.layout.sizes, strict=True):
            mask[np.asarray(g.nodes), :s] = True
        return mask

    def input_shape(self):
        return (self.n_nodes, *self.layout.in_shape)

    def noise_shape(self):
        return (self.n_nodes, *self.layout.noise_shape)

    def initial_state(self):
        parts = [self._vmap(g, lambda m: m.initial_state())(g.model) for g in self.groups]
        width = self.layout.width
        return self._assemble(
            [self._pad(p, jnp.zeros((p.shape[0], width - p.shape[1]), p.dtype)) for p in parts]
        )

    def observe(self, y):
        return self._each(
            y, lambda g, yg: self._vmap(g, lambda m, yi: m.observe(yi), 0)(g.model, yg)
        )

    def efferent(self, y):
        def signal(g, yg):
            e = self._vmap(g, g.coupling.efferent, 0)(g.model, yg)
            return g.efferent_scale * e

        return self._each(y, signal)

    def admissible(self, y):
        ok = lambda g, yg: self._vmap(g, lambda m, yi: m.admissible(yi), 0)(g.model, yg)
        return jnp.all(self._each(y, ok))

    def input_gain(self, y):
        """Block diagonal: node $i$'s noise enters node $i$'s state only, through its model's
        gain times $k^{in}/T_g$; shape `(n, S, n, *noise)` (`noise` the per-node shape of
        `noise_shape()`)."""
        k = math.prod(self.layout.noise_shape)
        parts = []
        for i, (g, rows) in enumerate(zip(self.groups, self._split(y), strict=True)):
            yg = rows[:, : self.layout.sizes[i]]
            gain = self._vmap(g, lambda m, yi: m.input_gain(yi), 0)(g.model, yg)
            gain = gain * _along(self._noise_factor(i), gain.ndim)
            gain = gain.reshape(*gain.shape[:2], -1)  # one trailing axis of noise components
            gain = jnp.pad(gain, ((0, 0), (0, self.layout.width - gain.shape[1]), (0, 0)))
            gain = jnp.pad(gain, ((0, 0), (0, 0), (0, k - gain.shape[2])))
            parts.append(gain.reshape(*gain.shape[:2], *self.layout.noise_shape))
        return block_diagonal(self._assemble(parts))

    def apply_input_gain(self, y, xi):
        parts = []
        for i, (g, rows, x) in enumerate(
            zip(self.groups, self._split(y), self._split(xi), strict=True)
        ):
            x = self._group_noise(i, x)
            x = x * _along(self._noise_factor(i), x.ndim)
            f = self._vmap(g, lambda m, yi, xx: m.apply_input_gain(yi, xx), 0, 0)(
                g.model, rows[:, : self.layout.sizes[i]], x
            )
            parts.append(self._pad(f, jnp.zeros_like(rows[:, f.shape[1] :])))
        return self._assemble(parts)

    # ------------------------------------------------------------------ internals

    def _vmap(self, g: NodeGroup, fn, *axes):
        return per_node(g.model, len(g.nodes), fn, *axes)

    def _each(self, y, fn):
        """`fn(group, states)` for each group (one value per node), in region order."""
        parts = zip(self.groups, self._split(y), self.layout.sizes, strict=True)
        return self._assemble([fn(g, rows[:, :s]) for g, rows, s in parts])

    def _split(self, x):
        """`x` (leading axis: the regions) as each group's rows in the order of its `nodes`:
        slices for contiguous groups, else gathers (measured faster than one gather into the
        groups' order followed by slices)."""
        return [_take(x, g.nodes) for g in self.groups]

    def _assemble(self, parts):
        """Per-group arrays (rows in the groups' order) as one array in region order."""
        out = parts[0] if len(parts) == 1 else jnp.concatenate(parts, axis=0)
        return out if self.layout.order is None else out[np.asarray(self.layout.order)]

    def _pad(self, f, fill):
        """A group's `(n_g, s_g)` array widened to the network's S columns with `fill`."""
        return f if f.shape[1] == self.layout.width else jnp.concatenate([f, fill], axis=1)

    def _noise_factor(self, i: int):
        """$k^{in}/T_g$ for group `i`, and $1/\\sqrt2$ for a complex input whose parts the
        engine drew at full intensity (complex and real inputs mixed)."""
        g = self.groups[i]
        factor = g.input_scale / g.time_scale
        halve = g.model.complex_input and not self.complex_input
        return factor / math.sqrt(2.0) if halve else factor

    def _group_noise(self, i: int, xi):
        """The network's noise samples `(n_g, *noise)` of group `i`'s nodes, shaped as the
        group's model takes them."""
        shape = self.layout.noise_shapes[i]
        if shape == self.layout.noise_shape:
            return xi
        n_g = xi.shape[0]
        return xi.reshape(n_g, -1)[:, : math.prod(shape)].reshape(n_g, *shape)

    def _edge_factor(self):
        n = self.n_nodes
        factors = [g.coupling.edge_factor(n) for g in self.groups]
        if all(f is None for f in factors):
            return None
        rows = [
            jnp.ones((len(g.nodes), n))
            if f is None
            else self._split(jnp.broadcast_to(f, (n, n)))[i]
            for i, (g, f) in enumerate(zip(self.groups, factors, strict=True))
        ]
        return self._assemble(rows)

    def _drift(self, t, y, afferent, args, e_now):
        # Each group's input straight from its rows of the afferent sums: no network-wide
        # input vector that every group would slice again (one fused loop fewer per stage).
        split = zip(
            self._split(y), self._couplings(afferent, e_now), self._split_input(args), strict=True
        )
        return self._assemble(
            [
                self._group_field(i, t, rows, u if a is None else u + a)
                for i, (rows, u, a) in enumerate(split)
            ]
        )

    def _input(self, y, afferent, args, e_now):
        u = self._assemble(self._couplings(afferent, e_now))
        return u if args is None else u + per_node_array(jnp.asarray(args), self.n_nodes)

    def _node_fields(self, t, y, u):
        """Each group's drift (in the network's time) given the common input `u` (one value
        per node, or per node input), widened with the padding's relaxation."""
        split = zip(self._split(y), self._split_input(u), strict=True)
        return self._assemble([self._group_field(i, t, *parts) for i, parts in enumerate(split)])

    def _couplings(self, afferent, e_now):
        """Each group's coupling output, `(n_g, *input_shape)`."""
        parts = zip(
            self.groups,
            self._split(afferent),
            self._split(e_now),
            self._split(self.weights),  # rows used by the diffusive coupling only
            strict=True,
        )
        return [
            self._per_node_input(g.coupling(a, e, w, self.G), len(g.nodes)) for g, a, e, w in parts
        ]

    def _split_input(self, u):
        """`u` (None, a scalar, one value per node or per node input) as each group's
        `(n_g, *input_shape)` rows (None for None)."""
        if u is None:
            return [None] * len(self.groups)
        return self._split(self._per_node_input(u))

    def _per_node_input(self, u, n=None):
        """`u` (a scalar, one value per node, or per node input) as `(n, *input_shape)`."""
        n, shape = self.n_nodes if n is None else n, self.layout.in_shape
        return jnp.broadcast_to(per_node_array(u, n, 1 + len(shape)), (n, *shape))

    def _group_field(self, i: int, t, rows, u):
        """Group `i`'s drift given its nodes' rows of the state and common input `u`,
        `(n_g, *input_shape)`."""
        g = self.groups[i]
        u = u.reshape(len(g.nodes), *self.layout.in_shapes[i])
        u = u * _along(g.input_scale, u.ndim)
        if jnp.iscomplexobj(u) and not g.model.complex_input:
            u = jnp.real(u)  # real-input groups of a complex network (Kuramoto's Sine)
        rate = 1 / g.time_scale  # one division per call, not per element
        tg = t * rate  # the model's own time
        f = self._vmap(g, lambda m, yi, ui: m.vector_field(tg, yi, ui), 0, 0)(
            g.model, rows[:, : self.layout.sizes[i]], u
        )
        return self._pad(f * rate, -rows[:, f.shape[1] :])
