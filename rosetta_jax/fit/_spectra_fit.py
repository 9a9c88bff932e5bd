"""`fit_spectra`: any recorded spectra in one call, one node per region (source space) or a
network through a lead field (sensor space), with the aperiodic observation model; and
`fit_cohort`: many subjects in one compiled call.

A regional fit is a batch of independent small problems: every region is fitted by its own
node, from `starts` starting points each, all in one vmapped, jitted optimiser step (regions x
starts nodes at once); each region then keeps its best start.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import PRNGKeyArray

from .. import models
from ..analysis._spectra import peak_frequency
from ..models._base import AbstractModel
from ..network import Network
from ..noise import Additive
from ._fit import FitResult, fit
from ._methods import Linear
from ._objectives import SpectrumObjective
from ._observed import Observed
from ._rungs import rung_parameters
from ._stopping import Plateau, default_optimizer
from ._targets import SpectrumTarget
from ._transforms import AbstractTransform, Bounded


_ALPHA_BAND = (6.0, 14.0)
_BETA_BAND = (14.0, 35.0)


def default_generators() -> tuple[models.DampedOscillator, models.DampedOscillator]:
    """The minimal regional model: an alpha and a beta generator, each a damped oscillator
    (the linearisation of any rung at a focus; time in seconds): 10 Hz and 20 Hz, damping
    rates 12 and 20 1/s."""
    return (
        models.DampedOscillator(alpha=-12.0, omega=2 * np.pi * 10.0),
        models.DampedOscillator(alpha=-20.0, omega=2 * np.pi * 20.0),
    )


def as_target(target: Any, band: tuple[float, float] | None = None) -> SpectrumTarget:
    """A `SpectrumTarget` from what `fit_spectra` accepts: a `SpectrumTarget`, a tuple
    `(freqs, psd)`, an MNE `Spectrum`/`Raw`, or a path to a `.fif`, `.npz` or `.csv` file (see
    `interop.spectrum_target`), restricted to `band` [Hz]."""
    from ..interop import spectrum_target

    if isinstance(target, SpectrumTarget):
        if band is None:
            return target
        f = np.asarray(target.freqs)
        keep = (f >= band[0]) & (f <= band[1])
        if keep.sum() < 5:
            raise ValueError(f"`band` {band} keeps fewer than 5 of the target's frequencies.")
        return SpectrumTarget(f[keep], np.asarray(target.psd)[keep], target.labels)
    lo, hi = (0.0, np.inf) if band is None else band
    return spectrum_target(target, fmin=lo, fmax=hi)


class _Fitted(eqx.Module):
    """The fitted leaves of an `Observed`: names, selectors and transforms."""

    names: tuple[str, ...] = eqx.field(static=True)
    selectors: tuple[Callable, ...] = eqx.field(static=True)
    transforms: tuple[AbstractTransform, ...]

    def select(self, m):
        return tuple(s(m) for s in self.selectors)


def _chosen(params, transforms) -> dict[str, AbstractTransform]:
    """The user's fitted fields (names) paired with their transforms."""
    if transforms is None or len(transforms) != len(params):
        raise ValueError("`params` (field names) needs one transform each in `transforms`.")
    return dict(zip(params, transforms, strict=True))


def _generator_fields(gens, params, transforms):
    """Names, selectors and transforms of the generators' fitted fields."""
    names, sels, trs = [], [], []
    for g, gen in enumerate(gens):
        chosen = rung_parameters(gen) if params is None else _chosen(params, transforms)
        for k, t in chosen.items():
            if not hasattr(gen, k):
                raise ValueError(f"`params`: {type(gen).__name__} has no parameter {k!r}.")
            names.append(k if len(gens) == 1 else f"gen{g}.{k}")
            sels.append(lambda m, g=g, k=k: getattr(m.generators[g], k))
            trs.append(t)
    return names, sels, trs


def _fitted(observed: Observed, params, transforms) -> _Fitted:
    """The default fitted leaves: each generator's rung parameters (or `params` with their
    `transforms`), its gain, and the observation's exponent, knee, floor and dispersion."""
    names, sels, trs = _generator_fields(observed.generators, params, transforms)
    for g in range(len(observed.generators)):
        names.append(f"log_gain{g}" if len(observed.generators) > 1 else "log_gain")
        sels.append(lambda m, g=g: m.log_gain[g])
        trs.append(Bounded(-3.0, 3.0))
    obs = {"exponent": Bounded(0.05, 6.0), "log_floor": Bounded(-12.0, 2.0)}
    if observed.fit_knee:
        obs["knee"] = Bounded(0.0, 40.0)
    if observed.dispersion_nodes > 1:
        obs["dispersion"] = Bounded(0.0, 0.6)
    for k, t in obs.items():
        names.append(k)
        sels.append(lambda m, k=k: getattr(m, k))
        trs.append(t)
    return _Fitted(tuple(names), tuple(sels), tuple(trs))


def _seed_exponent(freqs, psd) -> np.ndarray:
    """Per channel, minus the log-log slope of the spectrum (a start for the exponent)."""
    x = np.log10(freqs)
    y = np.log10(psd)
    slope = np.polyfit(x, y, 1)[0]
    return np.clip(-slope, 0.3, 4.0)


def _seed_omega(freqs, psd, gen) -> np.ndarray | None:
    """Per channel, 2 pi times the spectral peak in the band of a damped-oscillator
    generator's own frequency (alpha 6-14 Hz, beta 14-35 Hz), clipped to its fitted range."""
    if not isinstance(gen, models.DampedOscillator):
        return None
    f0 = float(np.mean(np.abs(gen.omega))) / (2 * np.pi)
    band = _ALPHA_BAND if f0 < _ALPHA_BAND[1] else _BETA_BAND
    band = (max(band[0], freqs[0]), min(band[1], freqs[-1]))
    if band[1] - band[0] < 2 * (freqs[1] - freqs[0]):
        return None
    peak = np.asarray(peak_frequency(freqs, psd, band, axis=0))
    t = rung_parameters(gen)["omega"]
    return np.clip(2 * np.pi * peak, float(t.low) * 1.01, float(t.high) * 0.99)


def _starts_model(template, fitted, freqs, psd, n_starts, spread, key):
    """The regional model of every region x start: leaves of shape `(n_starts * n_ch,)`
    (start-major). Start 0 begins at the data-driven seeds (aperiodic slope, peak
    frequencies) or the template's values; the others add `spread` times a normal draw in the
    unconstrained space."""
    n_ch = psd.shape[1]
    seeds = {"exponent": _seed_exponent(freqs, psd)}
    for g, gen in enumerate(template.generators):
        w = _seed_omega(freqs, psd, gen)
        if w is not None:
            seeds[f"gen{g}.omega" if len(template.generators) > 1 else "omega"] = w
    values = []
    for i, (name, sel, t) in enumerate(
        zip(fitted.names, fitted.selectors, fitted.transforms, strict=True)
    ):
        x0 = np.broadcast_to(seeds.get(name, np.asarray(sel(template), dtype=float)), (n_ch,))
        u0 = np.asarray(t.inverse(jnp.asarray(x0, dtype=float)))
        noise = spread * np.asarray(jr.normal(jr.fold_in(key, i), (n_starts - 1, n_ch)))
        u = np.concatenate([u0[None], u0[None] + noise]).reshape(-1)
        values.append(t.forward(jnp.asarray(u)))
    return eqx.tree_at(fitted.select, template, tuple(values))


def _observed(node, aperiodic, dispersion) -> Observed:
    """The `Observed` template from what `node` is: an `Observed` (used as it is), a model or
    a sequence of models (generators), or None (the alpha + beta damped oscillators)."""
    if aperiodic not in ("knee", "fixed", None):
        raise ValueError(f"`aperiodic` must be 'knee', 'fixed' or None; got {aperiodic!r}.")
    if isinstance(node, Observed):
        return node
    gens = default_generators() if node is None else node
    return Observed(
        gens,
        knee=5.0 if aperiodic == "knee" else False,
        background=aperiodic is not None,
        dispersion_nodes=5 if dispersion else 1,
        log_gain=0.5,
    )


def _best_per_channel(objective, model, n_ch, n_starts, min_damping):
    """Index (per channel) of the start with the least loss among the stable ones."""
    losses = np.asarray(objective.channel_losses(model)).reshape(n_starts, n_ch)
    zeta = objective.report(model)["damping_ratio"]
    if np.ndim(zeta) == 1:
        unstable = np.asarray(zeta).reshape(n_starts, n_ch) < min_damping
        losses = np.where(unstable, losses + 1e6, losses)
    return np.argmin(np.where(np.isfinite(losses), losses, np.inf), axis=0)


def _take(model, fitted: _Fitted, best, n_ch, n_starts):
    """The model whose fitted leaves hold, per channel, the values of its best start."""
    picked = tuple(
        jnp.asarray(np.asarray(leaf).reshape(n_starts, n_ch)[best, np.arange(n_ch)])
        for leaf in fitted.select(model)
    )
    return eqx.tree_at(fitted.select, model, picked)


def _regional_fit(target, template, fitted, settings, run) -> FitResult:
    """Fit one node per channel of `target`, `settings["starts"]` starts each (one vmapped
    problem of channels x starts nodes), and keep each channel's best start."""
    n_ch, k = target.n_channels, settings["starts"]
    f, psd = np.asarray(target.freqs), np.asarray(target.psd)
    k_starts, k_fit = jr.split(run.pop("key"))
    model = _starts_model(template, fitted, f, psd, k, settings["spread"], k_starts)
    tiled = SpectrumTarget(f, np.tile(psd, (1, k)))
    objective = _objective(tiled, settings, regional=True)
    raw = fit(
        model,
        objective,
        params=fitted.select,
        transforms=fitted.transforms,
        names=fitted.names,
        key=k_fit,
        **run,
    )
    best = _best_per_channel(objective, raw.model, n_ch, k, settings["min_damping"])
    final = _take(raw.model, fitted, best, n_ch, k)
    final_objective = _objective(target, settings, regional=True)
    loss, _ = final_objective(final)
    values = {
        n: np.asarray(leaf) for n, leaf in zip(fitted.names, fitted.select(final), strict=True)
    }
    starts = {n: np.asarray(v).reshape(k, n_ch) for n, v in raw.params.items()}
    meta = dict(raw.meta, starts_per_region=k, best_start_per_region=best)
    return FitResult(
        model=final,
        params=values,
        loss_history=raw.loss_history,
        best_loss=float(loss),
        best_start=0,
        goodness=final_objective.report(final),
        starts=starts,
        objective=final_objective,
        meta=meta,
    )


def _objective(target, settings, regional, lead_field=None) -> SpectrumObjective:
    method = Linear(min_damping=settings["min_damping"], stability_weight=settings["stability"])
    return SpectrumObjective(
        target,
        Additive(1.0),
        method=method,
        band=settings["band"],
        peak_weight=settings["peak_weight"],
        peak_band=settings["peak_band"],
        regional=regional,
        lead_field=lead_field,
    )


def _settings(peak_weight, peak_band, min_damping, starts, start_spread) -> dict:
    """The objective's and the multi-start's settings of `fit_spectra`, checked."""
    if int(starts) < 1:
        raise ValueError("`starts` must be >= 1.")
    return dict(
        band=None,
        peak_weight=float(peak_weight),
        peak_band=peak_band,
        min_damping=float(min_damping),
        stability=1.0,
        starts=int(starts),
        spread=float(start_spread),
    )


def fit_spectra(
    target: Any,
    node: AbstractModel | Sequence[AbstractModel] | Observed | None = None,
    *,
    lead_field: Any = None,
    params: Sequence[str] | None = None,
    transforms: Sequence[AbstractTransform] | None = None,
    aperiodic: str | None = "knee",
    dispersion: bool = True,
    band: tuple[float, float] | None = (2.0, 45.0),
    peak_weight: float = 0.2,
    peak_band: tuple[float, float] = (7.0, 14.0),
    starts: int = 4,
    start_spread: float = 0.7,
    min_damping: float = 0.02,
    steps: int = 500,
    learning_rate: float = 0.05,
    checkpoint: str | os.PathLike | None = None,
    progress: bool = True,
    key: PRNGKeyArray | None = None,
) -> FitResult:
    """Fit recorded power spectra with a rung of the ladder seen through an aperiodic
    background, in one call.

    Source space (no `lead_field`): every channel (region) is fitted by its own node and its
    own observation parameters, independently, `starts` starting points each (all regions
    and starts in one vmapped optimiser step); each region keeps its best start. Sensor
    space: `node` is a `Network` (one node per region) whose spectra are seen through
    `lead_field` (sensors x regions); its parameters and one observation per sensor are
    fitted jointly.

    The observed spectrum is $A(f)(1 + \\sum_g 10^{\\gamma_g}\\hat S_g(f)) + 10^{\\phi}$:
    the aperiodic background $A(f) = 1/(f_k^\\chi + f^\\chi)$ (specparam's, with a knee
    frequency $f_k$), the generators' normalised linearised spectra $\\hat S_g$ (averaged
    over a spread of time scales) and a measurement floor (see `fit.Observed`). Shapes are
    compared on a log scale (the overall scale is free), with a term on the alpha-peak
    frequency.

    Args:
        target: the recording: a `SpectrumTarget`; a tuple `(freqs, psd)` with psd shaped
            `(n_freqs, n_channels)`; an MNE `Spectrum` or `Raw`; or a path to a `.fif`, a
            `.npz` (arrays `freqs` and `psd` or `amplitude`, channels x freqs or freqs x
            channels) or a `.csv` (first column frequencies [Hz], one column per channel).
        node: the generator(s): a model (e.g. `models.JansenRit(p=20.0)`), a sequence of
            models whose spectra add, an `Observed`, or a `Network` with `lead_field`.
            Default: an alpha and a beta damped oscillator (`default_generators()`).
        lead_field: a `LeadField` or gain matrix (sensors x regions) for sensor spectra.
        params, transforms: the generators' fitted fields (names) and their transforms;
            default `rung_parameters(node)` (physiological ranges per rung).
        aperiodic: "knee" (default), "fixed" (no knee: a pure power law) or None (no
            background: the generators' response only).
        dispersion: average each generator over a spread of time scales (fitted).
        band: frequencies fitted [Hz]; peak_weight, peak_band: the alpha-peak term.
        starts: starting points per region; start_spread: their spread (unconstrained).
        min_damping: the fit keeps every mode's damping ratio above this value.
        steps, learning_rate, checkpoint, progress, key: as for `fit` (Adam with the default
            schedule, stopped early on a plateau).

    Returns:
        A `FitResult`: `params` one value per region (source space), `goodness` the R^2 of
        the log-PSD (`r2_log_psd`) and the alpha-peak error [Hz] per region.
    """
    tgt = as_target(target, band)
    settings = _settings(peak_weight, peak_band, min_damping, starts, start_spread)
    run = dict(
        steps=steps,
        optimizer=default_optimizer(learning_rate, steps),
        stop=Plateau(patience=60, rtol=1e-5),
        checkpoint=checkpoint,
        progress=progress,
        key=jr.key(0) if key is None else key,
    )
    template = _observed(node, aperiodic, dispersion)
    if lead_field is not None:
        return _sensor_fit(tgt, template, params, transforms, settings, run, lead_field)
    if any(isinstance(g, Network) for g in template.generators):
        raise ValueError(
            "A Network is fitted in sensor space: pass `lead_field` (sensors x regions); for "
            "source-space regional spectra pass a single node model."
        )
    fitted = _fitted(template, params, transforms)
    return _regional_fit(tgt, template, fitted, settings, run)


def _sensor_fit(target, template, params, transforms, settings, run, lead_field) -> FitResult:
    """Sensor space: the network's parameters (default: G and the node's rung parameters,
    shared by all regions) and one observation per sensor, fitted jointly."""
    net = template.generators[0]
    if len(template.generators) != 1 or not isinstance(net, Network):
        raise ValueError("In sensor space `node` must be one Network (one node per region).")
    n_s = target.n_channels
    if params is None:
        chosen = {"G": Bounded(0.0, 10.0 * max(float(jnp.max(net.G)), 1.0))}
        chosen.update(rung_parameters(net.node))
    else:
        chosen = _chosen(params, transforms)
    names, sels, trs = [], [], []
    for k, t in chosen.items():
        owner = (lambda m: m.generators[0]) if k == "G" else (lambda m: m.generators[0].node)
        names.append(k)
        sels.append(lambda m, k=k, owner=owner: getattr(owner(m), k))
        trs.append(t)
    per_sensor = {"log_gain": Bounded(-3.0, 3.0), "exponent": Bounded(0.05, 6.0)}
    per_sensor["log_floor"] = Bounded(-12.0, 2.0)
    obs = eqx.tree_at(
        lambda m: (m.log_gain[0], m.exponent, m.log_floor),
        template,
        tuple(jnp.full(n_s, float(v)) for v in (template.log_gain[0], 1.5, -6.0)),
    )
    for k, t in per_sensor.items():
        names.append(k)
        sels.append(
            (lambda m: m.log_gain[0]) if k == "log_gain" else (lambda m, k=k: getattr(m, k))
        )
        trs.append(t)
    fitted = _Fitted(tuple(names), tuple(sels), tuple(trs))
    objective = _objective(target, settings, regional=False, lead_field=lead_field)
    return fit(
        obs,
        objective,
        params=fitted.select,
        transforms=fitted.transforms,
        names=fitted.names,
        **run,
    )
