"""The groups of a `MixedNetwork`: `NodeGroup` (a model and the regions it covers) and the checks
and static layout the network builds from its groups (coverage of the regions, time units, the
state width and the shapes of inputs and noise)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from ._network_base import AbstractNetwork, per_node
from ._network_layout import check_node, check_regional, checked_coupling
from ._paths import group_text
from ._validation import check_finite, check_positive, concrete_values
from .coupling import AbstractCoupling
from .models._base import AbstractModel
from .network import default_coupling
from .units import TimeUnit


_OPTIONS = ("efferent_scale", "input_scale", "coupling", "time_scale")


class NodeGroup(eqx.Module):
    """One group of a `MixedNetwork`: a model of the ladder and the regions it covers.

    Args:
        model: a single-node model of `rosetta_jax.models`. Its parameters are scalars (shared
            by the group) or arrays with one value per node of the group, in the order of
            `nodes`.
        nodes: the region indices (rows of the connectome) the group covers.
        efferent_scale: $k^{out}$, from the group's efferent signal (its coupling's `efferent`,
            e.g. a Jansen-Rit rate in 1/s) to the network's common coupling signal; a scalar or
            one value per node of the group. An array leaf (differentiable).
        input_scale: $k^{in}$, from the common signal (coupling, forcing and noise) to the
            group's input channel (e.g. 1/s of Jansen-Rit's $p$ per unit of common signal);
            a scalar or one value per node. An array leaf (differentiable).
        coupling: a `rosetta_jax.coupling` object; default the rung's form
            (`network.default_coupling(model)`).
        time_scale: the duration of one time unit of a dimensionless model (Wilson-Cowan, the
            oscillators, Kuramoto) in the network's time unit, e.g. 0.01 in a network in s for
            a model whose unit time is 10 ms; required for a dimensionless model in a network
            with a time unit, default 1 among dimensionless models. Models in s or ms are
            converted to the network's unit automatically (leave it None). A positive scalar.

    Raises:
        TypeError: `model` is not a single-node model; `nodes` not integers; a bad `coupling`.
        ValueError: empty or repeated `nodes`, negative indices; a regional parameter or scale
            whose length is not the group's size; a non-positive `time_scale`.
    """

    model: AbstractModel
    nodes: tuple[int, ...] = eqx.field(static=True)
    efferent_scale: Float[Array, "*group"]
    input_scale: Float[Array, "*group"]
    coupling: AbstractCoupling
    time_scale: Float[Array, ""] | None

    def __init__(
        self,
        model: AbstractModel,
        nodes: Any,
        *,
        efferent_scale: Float[ArrayLike, "*group"] = 1.0,
        input_scale: Float[ArrayLike, "*group"] = 1.0,
        coupling: AbstractCoupling | None = None,
        time_scale: Float[ArrayLike, ""] | None = None,
    ):
        check_node(model, AbstractModel, AbstractNetwork, "model")
        self.model = model
        self.nodes = _indices(nodes)
        n = len(self.nodes)
        check_regional(model, n, f"{type(model).__name__} parameter", "a group")
        self.efferent_scale = _group_scale("efferent_scale", efferent_scale, n)
        self.input_scale = _group_scale("input_scale", input_scale, n)
        self.coupling = checked_coupling(default_coupling(model) if coupling is None else coupling)
        self.time_scale = None if time_scale is None else _time_scale(time_scale)

    def __getattr__(self, name: str):
        # Reached only when ordinary lookup fails: a parameter of the group's model, so that
        # the paths "cortex.C" of `sweep` and `fit` (and `eqx.tree_at`) read and edit it.
        model = self.__dict__.get("model")  # None while __init__ runs
        if model is None or name.startswith("_"):
            raise AttributeError(name)
        if name in {f.name for f in dataclasses.fields(model)}:  # not only arrays: tree_at
            return getattr(model, name)
        raise AttributeError(f"The group has no parameter {name!r}; name {group_text(self)}.")


def _indices(nodes) -> tuple[int, ...]:
    idx = np.asarray(nodes)
    if idx.ndim != 1 or idx.size == 0 or not np.issubdtype(idx.dtype, np.integer):
        raise TypeError(
            "`nodes` must be a non-empty sequence of integer region indices (rows of the "
            f"connectome), e.g. range(0, 34); got {nodes!r}."
        )
    if np.any(idx < 0):
        raise ValueError(f"`nodes` must be >= 0 (region indices); got {_listed(idx[idx < 0])}.")
    values, counts = np.unique(idx, return_counts=True)
    if np.any(counts > 1):
        raise ValueError(f"`nodes` lists regions {_listed(values[counts > 1])} more than once.")
    return tuple(int(i) for i in idx)


def _group_scale(name: str, value, n: int) -> Array:
    v = jnp.asarray(value)
    if not jnp.issubdtype(v.dtype, jnp.inexact):
        v = v.astype(jnp.result_type(float))
    check_finite("NodeGroup", name, v)
    if v.ndim > 1 or (v.ndim == 1 and v.shape[0] != n):
        raise ValueError(
            f"`{name}` must be a scalar or have one value per node of the group, shape ({n},); "
            f"got shape {v.shape}."
        )
    return v


def _time_scale(value) -> Array:
    v = jnp.asarray(value, dtype=jnp.result_type(float))
    if v.ndim != 0:
        raise ValueError(f"`time_scale` must be a scalar; got shape {v.shape}.")
    check_finite("NodeGroup", "time_scale", v)
    check_positive("NodeGroup", "time_scale", v, "a duration")
    return v


def _listed(values, limit: int = 12) -> str:
    values = [int(v) for v in values]
    more = f" and {len(values) - limit} more" if len(values) > limit else ""
    return f"{values[:limit]}{more}"


# ---------------------------------------------------------------------- the network's groups


def as_groups(groups) -> tuple[tuple[str, ...], tuple[NodeGroup, ...]]:
    """The names and `NodeGroup`s of the `groups` argument (a dict name -> group)."""
    if not isinstance(groups, Mapping) or not groups:
        raise TypeError(
            "`groups` must be a non-empty dict {name: group}, each group NodeGroup(model, "
            f"nodes, ...), (model, nodes) or (model, nodes, {{options}}); got {type(groups)}."
        )
    names, out = [], []
    for name, spec in groups.items():
        if not isinstance(name, str):
            raise TypeError(f"`groups` keys must be group names (str); got {name!r}.")
        try:
            out.append(_as_group(spec))
        except (TypeError, ValueError) as err:
            raise type(err)(f"groups[{name!r}]: {err}") from None
        names.append(name)
    return tuple(names), tuple(out)


def _as_group(spec) -> NodeGroup:
    if isinstance(spec, NodeGroup):
        return spec
    if isinstance(spec, tuple) and len(spec) in (2, 3):
        options = spec[2] if len(spec) == 3 else {}
        if not isinstance(options, Mapping) or not set(options) <= set(_OPTIONS):
            raise TypeError(f"the options of a group are a dict with keys among {_OPTIONS}.")
        return NodeGroup(spec[0], spec[1], **options)
    raise TypeError(
        "a group is NodeGroup(model, nodes, ...), (model, nodes) or (model, nodes, {options}); "
        f"got {type(spec).__name__}."
    )


def check_cover(names, groups, n: int) -> None:
    """Every region of the connectome belongs to exactly one group."""
    for name, g in zip(names, groups, strict=True):
        bad = [i for i in g.nodes if i >= n]
        if bad:
            raise ValueError(
                f"groups[{name!r}].nodes: regions {_listed(bad)} are out of range for a "
                f"connectome (`weights`) of {n} regions (indices 0 to {n - 1})."
            )
    owners: dict[int, list[str]] = {}
    for name, g in zip(names, groups, strict=True):
        for i in g.nodes:
            owners.setdefault(i, []).append(name)
    shared = {i: o for i, o in sorted(owners.items()) if len(o) > 1}
    if shared:
        where = "; ".join(f"{i}: {o}" for i, o in list(shared.items())[:8])
        raise ValueError(
            f"`groups` must cover every region exactly once; regions {_listed(shared)} are in "
            f"more than one group ({where}). Remove them from all groups but one."
        )
    missing = sorted(set(range(n)) - set(owners))
    if missing:
        raise ValueError(
            f"`groups` must cover every region of the connectome exactly once; regions "
            f"{_listed(missing)} are in no group. Add them to a group."
        )


def network_unit(names, groups, time_unit) -> str | None:
    """The network's time unit: `time_unit`, or the groups' common one (None: dimensionless)."""
    if time_unit is not None:
        if time_unit not in ("s", "ms"):
            raise ValueError(
                f"`time_unit` must be 's' or 'ms' (None: the groups' common unit); got "
                f"{time_unit!r}."
            )
        return time_unit
    by_unit: dict[str, list[str]] = {}
    for name, g in zip(names, groups, strict=True):
        if g.model.time_unit is not None:
            by_unit.setdefault(g.model.time_unit, []).append(name)
    if len(by_unit) > 1:
        which = "; ".join(f"{u}: {v}" for u, v in sorted(by_unit.items()))
        raise ValueError(
            f"The groups run in different time units ({which}); pass time_unit='s' or "
            "time_unit='ms' to choose the network's: the other groups are converted to it."
        )
    return next(iter(by_unit), None)


def with_time_scales(names, groups, unit) -> tuple[NodeGroup, ...]:
    """The groups with their `time_scale` set: the duration of one of the model's time units
    in the network's unit (1 s = 1000 ms; dimensionless models: as given, default 1 among
    dimensionless models)."""
    net = TimeUnit.of(unit)
    out = []
    for name, g in zip(names, groups, strict=True):
        own, model = TimeUnit.of(g.model), type(g.model).__name__
        if own.seconds is not None:
            scale = _converted(name, g, own, net)
        elif g.time_scale is not None:
            scale = g.time_scale
        elif net.seconds is None:
            scale = jnp.asarray(1.0, dtype=jnp.result_type(float))
        else:
            raise ValueError(
                f"groups[{name!r}]: {model} has dimensionless time but the network runs in "
                f"{unit}: pass `time_scale`, the duration of one of its time units in {unit} "
                f"(e.g. (model, nodes, {{'time_scale': 0.01}}) or NodeGroup(..., time_scale=0.01))."
            )
        out.append(dataclasses.replace(g, time_scale=scale))
    return tuple(out)


def _converted(name, g: NodeGroup, own: TimeUnit, net: TimeUnit):
    """The time scale of a model in s or ms: its unit in the network's. A group that already
    holds it (taken from a built network) keeps it; any other value is an error."""
    auto = own.seconds / net.seconds
    given = None if g.time_scale is None else concrete_values(g.time_scale)
    if g.time_scale is not None and given is not None and not np.isclose(given, auto):
        raise ValueError(
            f"groups[{name!r}]: `time_scale` is for dimensionless models; "
            f"{type(g.model).__name__} runs in {own.name}, converted to the network's unit "
            f"({net.name}) automatically: leave time_scale=None (got {float(given):g}; one "
            f"{own.name} is {auto:g} {net.name})."
        )
    return g.time_scale if g.time_scale is not None else jnp.asarray(auto, jnp.result_type(float))


@dataclasses.dataclass(frozen=True)
class GroupLayout:
    """Static facts of a mixed network's groups.

    Attributes:
        sizes: each group's state size $s_g$.
        in_shapes, noise_shapes: each group's per-node input and white-noise shapes.
        in_shape, noise_shape: the network's per-node input and noise shapes.
        order: the row of region i in the groups' stacked order (an inverse permutation), or
            None when the groups list the regions in order.
    """

    sizes: tuple[int, ...]
    in_shapes: tuple[tuple[int, ...], ...]
    noise_shapes: tuple[tuple[int, ...], ...]
    in_shape: tuple[int, ...]
    noise_shape: tuple[int, ...]
    order: tuple[int, ...] | None

    @property
    def width(self) -> int:
        """$S$, the network's state width: the largest group state size."""
        return max(self.sizes)


def group_layout(names, groups) -> GroupLayout:
    """The static layout of `groups` (see `GroupLayout`), with the checks it needs."""
    facts = [_group_facts(g) for g in groups]
    sizes, ins, noises, complex_signal = (list(f) for f in zip(*facts, strict=True))
    if any(complex_signal) and not all(complex_signal):
        cplx = [n for n, c in zip(names, complex_signal, strict=True) if c]
        raise ValueError(
            f"Groups {cplx} send a complex signal (oscillators, Kuramoto) and the others a real "
            "one; the connectome sums one kind. Give those groups a real signal, e.g. "
            "coupling=coupling.Diffusive(signal=lambda m, y: y[0])."
        )
    stacked = [i for g in groups for i in g.nodes]
    order = None if stacked == sorted(stacked) else tuple(int(k) for k in np.argsort(stacked))
    in_shape, noise_shape = _common_shapes(names, groups, ins, noises)
    return GroupLayout(tuple(sizes), tuple(ins), tuple(noises), in_shape, noise_shape, order)


def _group_facts(g: NodeGroup) -> tuple[int, tuple[int, ...], tuple[int, ...], bool]:
    """A group's state size, per-node input and noise shapes, and whether its coupling signal
    is complex (found by tracing abstractly)."""
    shape = lambda fn, *args: jax.eval_shape(per_node(g.model, len(g.nodes), fn), *args)
    state = shape(lambda m: m.initial_state(), g.model)
    in_shape = tuple(shape(lambda m: jnp.zeros(m.input_shape()), g.model).shape[1:])
    noise_shape = tuple(shape(lambda m: jnp.zeros(m.noise_shape()), g.model).shape[1:])
    signal = jax.eval_shape(per_node(g.model, len(g.nodes), g.coupling.efferent, 0), g.model, state)
    kind = jnp.result_type(signal.dtype, g.efferent_scale.dtype)
    return state.shape[1], in_shape, noise_shape, bool(jnp.issubdtype(kind, jnp.complexfloating))


def _common_shapes(names, groups, ins, noises):
    """The network's per-node input shape (the groups' common one, or a scalar when each
    group's input is a single value) and white-noise shape (the groups' common one; else the
    input shape for real inputs, or a flat vector of the longest group's noise, of which
    each group uses the first entries)."""
    if len(set(ins)) == 1:
        in_shape = ins[0]
    elif all(int(np.prod(s)) == 1 for s in ins):
        in_shape = ()
    else:
        shapes = ", ".join(f"{n}: {s}" for n, s in zip(names, ins, strict=True))
        raise ValueError(f"The groups take inputs of incompatible shapes per node ({shapes}).")
    if len(set(noises)) == 1:
        return in_shape, noises[0]
    if not any(g.model.complex_input for g in groups):
        return in_shape, in_shape
    return in_shape, (max(int(np.prod(s)) for s in noises),)


def band_span(groups, hz_factor: float) -> tuple[float, float] | None:
    """The span of the groups' rhythm bands in the network's frequency unit (`hz_factor`:
    its unit's Hz factor), or None when a group has none (or a traced time scale)."""
    lows, highs = [], []
    for g in groups:
        band, factor = g.model.rhythm_band, 1.0  # models in s or ms: bands in Hz
        if band is not None and g.model.time_unit is None:
            # Cycles per model time unit -> per network time unit -> the reported unit.
            ts = concrete_values(g.time_scale)
            factor = None if ts is None else hz_factor / float(ts)
        if band is None or factor is None:
            return None
        lows.append(band[0] * factor)
        highs.append(band[1] * factor)
    return min(lows), max(highs)


# ---------------------------------------------------------------------- row helpers


def take(x, nodes: tuple[int, ...]):
    """The rows `nodes` of `x` (static): a slice when they are evenly spaced (contiguous, or
    e.g. the even regions of an atlas that alternates hemispheres), else a gather."""
    first, step = nodes[0], (nodes[1] - nodes[0] if len(nodes) > 1 else 1)
    if step > 0 and nodes == tuple(range(first, nodes[-1] + 1, step)):
        return x[first : nodes[-1] + 1 : step]
    return x[np.asarray(nodes)]


def along(scale, ndim: int):
    """A per-node scale `(n_g,)` with trailing axes to broadcast over `ndim`-dimensional
    per-node arrays (a scalar as it is)."""
    scale = jnp.asarray(scale)
    return scale.reshape(scale.shape + (1,) * (ndim - 1)) if scale.ndim == 1 else scale
