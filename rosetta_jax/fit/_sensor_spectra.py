"""`fit_spectra` in sensor space: a network's parameters and one observation per sensor fitted
jointly through a lead field.

The network's sensor spectra are its linearised cross-spectra seen through the lead field,
$S(f) = L\\,H(f)\\,D\\,H(f)^* L^T$, each normalised to its peak and seen through that sensor's
own aperiodic background and floor (`fit.Observed`): per sensor a gain, an exponent, a floor
and (with `aperiodic="knee"`) a knee; one dispersion for the network (with `dispersion`).
"""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from ..network import Network
from ._fit import FitResult, fit
from ._least_squares import Leaf, Selection
from ._rungs import rung_parameters
from ._seeds import _seed_exponent
from ._selectors import reject_mixed
from ._spectra_fit import _chosen, _Fitted, _objective
from ._transforms import Bounded


def _network(template) -> Network:
    """The template's one generator, checked to be a `Network`."""
    gens = template.generators
    reject_mixed(gens[0], "fit_spectra")
    if len(gens) != 1 or not isinstance(gens[0], Network):
        kinds = ", ".join(type(g).__name__ for g in gens)
        raise ValueError(
            "In sensor space `node` must be one Network (one node per region), seen through "
            f"`lead_field`; got {len(gens)} generator(s): {kinds}."
        )
    return gens[0]


def _lead_gain(lead_field, n_regions: int, n_sensors: int) -> np.ndarray:
    """The gain matrix of `lead_field` (a `LeadField` or an array), checked against the
    network's regions and the target's channels."""
    gain = np.asarray(getattr(lead_field, "gain", lead_field), dtype=float)
    if gain.ndim != 2 or gain.shape[1] != n_regions:
        raise ValueError(
            f"`lead_field` must be (n_sensors, n_regions) with one column per region of the "
            f"network ({n_regions}); got shape {gain.shape}."
        )
    if gain.shape[0] != n_sensors:
        raise ValueError(
            f"`lead_field` has {gain.shape[0]} sensors (rows) but the target has {n_sensors} "
            "channels: give one target spectrum per sensor."
        )
    if not np.all(np.isfinite(gain)):
        raise ValueError("`lead_field` has non-finite entries.")
    return gain


def _path(net: Network, name: str) -> tuple[str, ...]:
    """Where a fitted name lives in the network: `"node.<field>"` a node field, a name of an
    array field of the network (e.g. the coupling gain `"G"`) that field, any other name the
    node's field."""
    if name.startswith("node."):
        field = name[len("node.") :]
        if hasattr(net.node, field):
            return ("node", field)
    elif name in {f.name for f in dataclasses.fields(net)}:
        if eqx.is_inexact_array(getattr(net, name)):
            return (name,)
    elif hasattr(net.node, name):
        return ("node", name)
    raise ValueError(
        f"`params`: neither the Network nor its {type(net.node).__name__} node has a fitted "
        f"parameter {name!r} (name a node field that the Network shadows 'node.<name>')."
    )


def _network_fields(net: Network, params, transforms):
    """Names, selectors and transforms of the network's fitted fields: `params` with their
    `transforms`, or by default the coupling gain G and the node's rung parameters (a node
    field named like a network field, e.g. Wendling's G, as `"node.<name>"`)."""
    if params is None:
        fields = {f.name for f in dataclasses.fields(net)}
        chosen = {"G": Bounded(0.0, 10.0 * max(float(jnp.max(net.G)), 1.0))}
        for k, t in rung_parameters(net.node).items():
            chosen[f"node.{k}" if k in fields else k] = t
    else:
        chosen = _chosen(params, transforms)
    names, sels, trs = [], [], []
    for name, t in chosen.items():
        names.append(name)
        sels.append(Leaf(("generators", 0, *_path(net, name))))
        trs.append(t)
    return names, sels, trs


def _observation(template, freqs, psd):
    """The observation's starting values, one per sensor (the gain, floor and knee of the
    template; the exponent from each sensor's log-log slope), and the fitted fields: per
    sensor the gain, exponent, floor and knee (with a knee), and the network's dispersion
    (when averaged over time scales)."""
    n_s = psd.shape[1]
    fields = {
        "log_gain": (Leaf(("log_gain", 0)), Bounded(-3.0, 3.0), template.log_gain[0]),
        "exponent": (Leaf(("exponent",)), Bounded(0.05, 6.0), _seed_exponent(freqs, psd)),
        "log_floor": (Leaf(("log_floor",)), Bounded(-12.0, 2.0), template.log_floor),
    }
    if template.fit_knee:
        fields["knee"] = (Leaf(("knee",)), Bounded(0.0, 40.0), template.knee)
    starts = tuple(
        jnp.asarray(np.broadcast_to(np.asarray(v, dtype=float), (n_s,)))
        for _, _, v in fields.values()
    )
    obs = eqx.tree_at(lambda m: tuple(s(m) for s, _, _ in fields.values()), template, starts)
    if template.dispersion_nodes > 1:
        fields["dispersion"] = (Leaf(("dispersion",)), Bounded(0.0, 0.6), None)
    names = list(fields)
    return obs, names, [s for s, _, _ in fields.values()], [t for _, t, _ in fields.values()]


def _sensor_fit(target, template, params, transforms, settings, run, lead_field) -> FitResult:
    """Sensor space: the network's parameters (default: G and the node's rung parameters,
    shared by all regions) and one observation per sensor, fitted jointly by `fit` (Adam),
    from `settings["starts"]` starting points. An uncoupled network (G = 0) starts at
    G = 0.1."""
    net = _network(template)
    gain = _lead_gain(lead_field, net.n_nodes, target.n_channels)
    freqs, psd = np.asarray(target.freqs), np.asarray(target.psd)
    if params is None and float(jnp.max(net.G)) <= 0.0:
        template = eqx.tree_at(lambda m: m.generators[0].G, template, jnp.asarray(0.1))
    names, sels, trs = _network_fields(net, params, transforms)
    obs, obs_names, obs_sels, obs_trs = _observation(template, freqs, psd)
    fitted = _Fitted(tuple(names + obs_names), tuple(sels + obs_sels), tuple(trs + obs_trs))
    objective = _objective(target, settings, regional=False, lead_field=gain)
    return fit(
        obs,
        objective,
        params=Selection(fitted.selectors),
        transforms=fitted.transforms,
        names=fitted.names,
        n_starts=settings["starts"],
        start_spread=settings["spread"],
        **run,
    )
