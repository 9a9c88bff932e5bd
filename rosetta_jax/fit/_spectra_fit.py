"""`fit_spectra`: any recorded spectra in one call, one node per region (source space) or a
network through a lead field (sensor space), with the aperiodic observation model; and
`fit_cohort`: many subjects in one compiled call.

A regional fit is a batch of independent small problems: every region is fitted by its own
node, from `starts` starting points each, all at once (regions x starts nodes, vmapped) by
Levenberg-Marquardt (`fit/_least_squares.py`; or Adam through `fit`); each keeps its best start.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import PRNGKeyArray

from .. import models
from .._network_base import AbstractNetwork
from .._version import __version__
from ..models._base import AbstractModel
from ..noise import Additive
from ._fit import FitResult
from ._least_squares import Leaf, Selection
from ._methods import Linear
from ._objectives import SpectrumObjective
from ._observed import Observed
from ._regional import (
    _warn_failed_channels,
    adam_starts,
    lm_starts,
    take_best,
)
from ._rungs import rung_parameters, with_ranges
from ._seeds import _starts_model
from ._selectors import reject_mixed
from ._stopping import Plateau, default_optimizer
from ._targets import SpectrumTarget
from ._transforms import AbstractTransform, Bounded


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
    selectors: tuple[Leaf, ...] = eqx.field(static=True)
    transforms: tuple[AbstractTransform, ...]

    def select(self, m):
        return tuple(s(m) for s in self.selectors)


def _chosen(params, transforms) -> dict[str, AbstractTransform]:
    """The user's fitted fields (names) paired with their transforms."""
    if transforms is None or len(transforms) != len(params):
        raise ValueError("`params` (field names) needs one transform each in `transforms`.")
    return dict(zip(params, transforms, strict=True))


def _generator_fields(gens, params, transforms, f_hi, defaults):
    """Names, selectors and transforms of the generators' fitted fields (`defaults`: the
    default generators, whose second one ranges from 12 Hz to the top of the band)."""
    names, sels, trs = [], [], []
    for g, gen in enumerate(gens):
        chosen = rung_parameters(gen) if params is None else _chosen(params, transforms)
        if defaults and g > 0:
            # A second oscillator covers beta to the top of the band (a gamma bump too).
            chosen["omega"] = Bounded(2 * np.pi * 12.0, 2 * np.pi * max(1.1 * f_hi, 30.0))
        for k, t in chosen.items():
            if not hasattr(gen, k):
                raise ValueError(f"`params`: {type(gen).__name__} has no parameter {k!r}.")
            names.append(k if len(gens) == 1 else f"gen{g}.{k}")
            sels.append(Leaf(("generators", g, k)))
            trs.append(t)
    return names, sels, trs


def _source_space_only(lowpass, ranges) -> None:
    """Reject the settings a sensor-space fit does not take."""
    if ranges or lowpass == "fit":
        raise ValueError(
            "`ranges` and `lowpass='fit'` are for source-space fits; in sensor space leave "
            "`ranges` None and give the recording's cutoff in Hz (fixed) or None."
        )


def _fitted(
    observed: Observed, params, transforms, f_hi, fit_lowpass, defaults, ranges=None
) -> _Fitted:
    """The default fitted leaves: each generator's rung parameters (or `params` with their
    `transforms`), its gain, and the observation's exponent, knee, floor, dispersion and
    (`fit_lowpass`) the recording's low-pass cutoff; `f_hi` [Hz] is the top fitted
    frequency; `defaults`: the generators are `default_generators()`; `ranges`: the user's
    ranges by coordinate name (`with_ranges`)."""
    names, sels, trs = _generator_fields(observed.generators, params, transforms, f_hi, defaults)
    for g in range(len(observed.generators)):
        names.append(f"log_gain{g}" if len(observed.generators) > 1 else "log_gain")
        sels.append(Leaf(("log_gain", g)))
        trs.append(Bounded(-3.0, 3.0))
    obs = {"exponent": Bounded(0.05, 6.0), "log_floor": Bounded(-12.0, 2.0)}
    if observed.fit_knee:
        obs["knee"] = Bounded(0.0, 40.0)
    if observed.dispersion_nodes > 1:
        obs["dispersion"] = Bounded(0.0, 0.6)
    if fit_lowpass:
        obs["lowpass"] = Bounded(0.5 * f_hi, 3.0 * f_hi)
    for k, t in obs.items():
        names.append(k)
        sels.append(Leaf((k,)))
        trs.append(t)
    return _Fitted(tuple(names), tuple(sels), with_ranges(names, trs, ranges))


def _observed(node, aperiodic, dispersion, lowpass, f_hi) -> Observed:
    """The `Observed` template from `node` (an `Observed`, with the `lowpass` cutoff if given;
    models; None: the alpha + beta damped oscillators); a fitted low-pass starts below `f_hi`."""
    reject_mixed(node, "fit_spectra")  # before Observed searches its equilibria
    if aperiodic not in ("knee", "fixed", None):
        raise ValueError(f"`aperiodic` must be 'knee', 'fixed' or None; got {aperiodic!r}.")
    number = not isinstance(lowpass, (str, bool)) and np.ndim(lowpass) == 0
    if not (lowpass is None or lowpass == "fit" or number):
        raise ValueError(f"`lowpass` must be None, 'fit' or a cutoff in Hz; got {lowpass!r}.")
    cutoff = False if lowpass is None else 0.95 * f_hi if lowpass == "fit" else float(lowpass)
    if isinstance(node, Observed):
        if cutoff is False:
            return node
        if not node.lowpass_order:
            raise ValueError(
                "`lowpass`: this Observed has no low-pass filter; build it with "
                "Observed(..., lowpass=<cutoff in Hz>) or leave `lowpass` None."
            )
        return eqx.tree_at(lambda m: m.lowpass, node, jnp.asarray(cutoff, dtype=float))
    gens = default_generators() if node is None else node
    return Observed(
        gens,
        knee=5.0 if aperiodic == "knee" else False,
        background=aperiodic is not None,
        dispersion_nodes=5 if dispersion else 1,
        log_gain=0.5,
        lowpass=cutoff,
    )


def _regional_fit(target, template, fitted, settings, run) -> FitResult:
    """Fit one node per channel of `target`, `settings["starts"]` starts each (one vmapped
    problem of channels x starts nodes), and keep each channel's best start."""
    n_ch, k = target.n_channels, settings["starts"]
    f, psd = np.asarray(target.freqs), np.asarray(target.psd)
    k_starts, k_fit = jr.split(run.pop("key"))
    model = _starts_model(template, fitted, f, psd, k, settings["spread"], k_starts)
    t0 = time.perf_counter()
    if settings["solver"] == "lm":
        objective = _objective(target, settings, regional=True)
        model, history, best, meta = lm_starts(objective, template, fitted, model, settings, run)
    else:
        tiled = SpectrumTarget(f, np.tile(psd, (1, k)))
        objective = _objective(tiled, settings, regional=True)
        model, history, best, meta = adam_starts(objective, fitted, model, settings, run, k_fit)
    final = take_best(model, fitted, best, n_ch, k)
    final_objective = _objective(target, settings, regional=True)
    loss, _ = final_objective(final)
    values = {
        n: np.asarray(leaf) for n, leaf in zip(fitted.names, fitted.select(final), strict=True)
    }
    starts = {
        n: np.asarray(leaf).reshape(k, n_ch)
        for n, leaf in zip(fitted.names, fitted.select(model), strict=True)
    }
    meta = dict(
        meta,
        starts_per_region=k,
        best_start_per_region=best,
        solver=settings["solver"],
        seconds=time.perf_counter() - t0,
        rosetta_jax=__version__,
        jax=jax.__version__,
    )
    result = FitResult(
        model=final,
        params=values,
        loss_history=history,
        best_loss=float(loss),
        best_start=0,
        goodness=final_objective.report(final),
        starts=starts,
        objective=final_objective,
        meta=meta,
    )
    _warn_failed_channels(result, target)
    if not settings["laplace"]:
        return result
    from ._inference import with_laplace

    selection = Selection(fitted.selectors)
    return with_laplace(
        result, selection, fitted.transforms, None, fitted.names, settings["likelihood"]
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


def _settings(
    peak_weight,
    peak_band,
    min_damping,
    starts,
    start_spread,
    solver,
    learning_rate,
    likelihood=None,
    laplace=True,
) -> dict:
    """The objective's, the solver's and the multi-start's settings of `fit_spectra`,
    checked."""
    if int(starts) < 1:
        raise ValueError("`starts` must be >= 1.")
    if solver not in ("lm", "adam"):
        raise ValueError(f"`solver` must be 'lm' or 'adam'; got {solver!r}.")
    return dict(
        solver=solver,
        learning_rate=float(learning_rate),
        band=None,
        peak_weight=float(peak_weight),
        peak_band=peak_band,
        min_damping=float(min_damping),
        stability=1.0,
        starts=int(starts),
        spread=float(start_spread),
        likelihood=likelihood,
        laplace=bool(laplace),
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
    lowpass: float | str | None = None,
    band: tuple[float, float] | None = (2.0, 45.0),
    peak_weight: float = 0.2,
    peak_band: tuple[float, float] = (7.0, 14.0),
    starts: int = 4,
    start_spread: float = 0.7,
    min_damping: float = 0.02,
    solver: str = "lm",
    steps: int | None = None,
    learning_rate: float = 0.05,
    checkpoint: str | os.PathLike | None = None,
    progress: bool = True,
    key: PRNGKeyArray | None = None,
    likelihood: Any = None,
    laplace: bool = True,
    ranges: Mapping[str, tuple[float, float]] | None = None,
) -> FitResult:
    """Fit recorded power spectra with a rung of the ladder seen through an aperiodic
    background, in one call.

    Source space (no `lead_field`): every channel (region) is fitted by its own node and its
    own observation parameters, independently, `starts` starting points each (all regions
    and starts solved together, vmapped, by Levenberg-Marquardt); each region keeps its best
    start. Sensor
    space: `node` is a `Network` (one node per region) whose spectra are seen through
    `lead_field` (sensors x regions); its parameters and one observation per sensor are
    fitted jointly.

    The observed spectrum is $L(f)[A(f)(1 + \\sum_g 10^{\\gamma_g}\\hat S_g(f)) + 10^{\\phi}]$:
    the aperiodic background $A(f) = 1/(f_k^\\chi + f^\\chi)$ (specparam's, with a knee
    frequency $f_k$), the generators' normalised linearised spectra $\\hat S_g$ (averaged
    over a spread of time scales), a measurement floor and, optionally, the recording's
    low-pass filter $L$ (see `fit.Observed`). Shapes are
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
        lowpass: the recording's low-pass filter: None (none; the default), a cutoff [Hz]
            (fixed), or "fit" (its cutoff fitted per region, between half and three times the
            top of `band`). Spectra that fall steeply at the top of the band (a recording
            low-passed there, as source-reconstructed MEG often is) need it.
        band: frequencies fitted [Hz]; peak_weight, peak_band: the alpha-peak term.
        starts: starting points per region; start_spread: their spread (unconstrained).
        min_damping: the fit keeps every mode's damping ratio above this value.
        solver: "lm" (Levenberg-Marquardt, the default: each region's problem is small) or
            "adam" (Adam with `fit`'s default schedule and `learning_rate`, stopped early on
            a plateau). Sensor-space fits use Adam.
        steps: the most solver steps (default 40 for "lm", 500 for "adam"); the fit ends
            earlier once every region has converged (or on a plateau).
        learning_rate, checkpoint, progress, key: as for `fit`.
        likelihood: the noise model of the spectra, `fit.LogNormal(n_segments=...)` (the
            number of averaged segments sets the noise level); default `fit.LogNormal()`,
            its noise level fitted per region.
        laplace: compute the Laplace approximation (`FitResult.laplace`: errors, credible
            intervals, correlations, identifiability, log-evidence, BIC, AIC per region);
            `FitResult.posterior` then holds the log posterior for `fit.sample` (NUTS).
        ranges: the range of any fitted coordinate, by name (as in `FitResult.params`, e.g.
            `{"exponent": (0.5, 3.0), "gen0.omega": (50.0, 75.0)}`, natural units): the fit
            keeps it there and its prior is uniform on it (source-space fits).

    Returns:
        A `FitResult`: `params` one value per region (source space), `goodness` the R^2 of
        the log-PSD (`r2_log_psd`) and the alpha-peak error [Hz] per region.
    """
    tgt = as_target(target, band)
    terms = (peak_weight, peak_band, min_damping)
    bayes = (likelihood, laplace)
    settings = _settings(*terms, starts, start_spread, solver, learning_rate, *bayes)
    adam = solver == "adam" or lead_field is not None
    steps = (500 if adam else 40) if steps is None else int(steps)
    if steps < 1:
        raise ValueError("`steps` must be >= 1.")
    key = jr.key(0) if key is None else key
    run = dict(steps=steps, checkpoint=checkpoint, progress=progress, key=key)
    f_hi = float(np.asarray(tgt.freqs)[-1])
    template = _observed(node, aperiodic, dispersion, lowpass, f_hi)
    if lead_field is not None:
        _source_space_only(lowpass, ranges)
        run.update(
            optimizer=default_optimizer(learning_rate, steps),
            stop=Plateau(patience=60, rtol=1e-5),
            likelihood=likelihood,
            laplace=laplace,
        )
        from ._sensor_spectra import _sensor_fit

        return _sensor_fit(tgt, template, params, transforms, settings, run, lead_field)
    if any(isinstance(g, AbstractNetwork) for g in template.generators):
        raise ValueError(
            "A Network is fitted in sensor space: pass `lead_field` (sensors x regions); for "
            "source-space regional spectra pass a single node model."
        )
    defaults = node is None and params is None
    fitted = _fitted(template, params, transforms, f_hi, lowpass == "fit", defaults, ranges)
    return _regional_fit(tgt, template, fitted, settings, run)
