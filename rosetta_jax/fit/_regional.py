"""The solvers of a regional spectral fit: every channel x start at once, by
Levenberg-Marquardt (`fit/_least_squares.py`) or by Adam (`fit`), and each channel's best
start."""

from __future__ import annotations

import warnings

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from ..analysis._spectra import peak_frequency
from ._fit import fit
from ._least_squares import Residuals, solve
from ._stopping import Plateau, default_optimizer


def lm_starts(objective, template, fitted, model, settings, run):
    """Levenberg-Marquardt on every channel x start: the fitted model of all of them, the
    loss history per start (mean over channels), each channel's best stable start and the
    run's facts."""
    target = objective.target
    n_ch, k = target.n_channels, settings["starts"]
    f, psd = np.asarray(target.freqs), np.asarray(target.psd)
    residuals = Residuals(
        template,
        fitted.selectors,
        fitted.transforms,
        objective.method,
        objective.noise,
        jnp.asarray(f),
        jnp.asarray(objective._mask()),
        settings["peak_weight"],
        settings["peak_band"],
    )
    leaves = zip(fitted.transforms, fitted.select(model), strict=True)
    u0 = np.stack([np.asarray(t.inverse(x)) for t, x in leaves], axis=-1)
    peak = np.asarray(peak_frequency(f, psd, settings["peak_band"], axis=0))
    args = (jnp.asarray(np.log10(np.tile(psd, (1, k))).T), jnp.asarray(np.tile(peak, k)))
    parts = {"target": target, "template": template, "fitted": fitted, "settings": settings}
    u, history, steps_run, r = solve(
        residuals,
        u0,
        args,
        steps=run["steps"],
        checkpoint=run["checkpoint"],
        fingerprint_parts=dict(parts, u0=u0),
        progress=run["progress"],
    )
    losses = history[-1].reshape(k, n_ch)
    if objective.method.stability_weight:
        unstable = r[:, -1].reshape(k, n_ch) > 0
        losses = np.where(unstable, losses + 1e6, losses)
    best = np.argmin(np.where(np.isfinite(losses), losses, np.inf), axis=0)
    values = tuple(jnp.asarray(t.forward(u[:, i])) for i, t in enumerate(fitted.transforms))
    meta = {"steps": run["steps"], "stopped_at": steps_run, "optimizer": "LevenbergMarquardt"}
    meta["stop_reason"] = "converged" if steps_run < run["steps"] else "max_steps"
    history = history.reshape(-1, k, n_ch).mean(axis=2)
    return eqx.tree_at(fitted.select, model, values), history, best, meta


def adam_starts(objective, fitted, model, settings, run, key):
    """Adam (through `fit`, the default schedule, stopped on a plateau) on every channel x
    start: as `lm_starts`; `objective` is the regional objective of the target tiled
    `starts` times."""
    n_ch = objective.target.n_channels // settings["starts"]
    k = settings["starts"]
    raw = fit(
        model,
        objective,
        params=fitted.select,
        transforms=fitted.transforms,
        names=fitted.names,
        steps=run["steps"],
        optimizer=default_optimizer(settings["learning_rate"], run["steps"]),
        stop=Plateau(patience=60, rtol=1e-5),
        checkpoint=run["checkpoint"],
        progress=run["progress"],
        key=key,
    )
    best = _best_per_channel(objective, raw.model, n_ch, k, settings["min_damping"])
    return raw.model, raw.loss_history, best, raw.meta


def _best_per_channel(objective, model, n_ch, n_starts, min_damping):
    """Index (per channel) of the start with the least loss among the stable ones."""
    losses = np.asarray(objective.channel_losses(model)).reshape(n_starts, n_ch)
    zeta = objective.report(model)["damping_ratio"]
    if np.ndim(zeta) == 1:
        unstable = np.asarray(zeta).reshape(n_starts, n_ch) < min_damping
        losses = np.where(unstable, losses + 1e6, losses)
    return np.argmin(np.where(np.isfinite(losses), losses, np.inf), axis=0)


def take_best(model, fitted, best, n_ch, n_starts):
    """The model whose fitted leaves hold, per channel, the values of its best start."""
    picked = tuple(
        jnp.asarray(np.asarray(leaf).reshape(n_starts, n_ch)[best, np.arange(n_ch)])
        for leaf in fitted.select(model)
    )
    return eqx.tree_at(fitted.select, model, picked)


def _warn_failed_channels(result, target) -> None:
    """Warn about (and record in `meta`) channels whose best start has no finite model
    spectrum: no stable focus was found for them, so their goodness and Laplace are NaN."""
    bad = np.flatnonzero(~np.isfinite(result.goodness["r2_log_psd"]))
    if not bad.size:
        return
    names = [str(target.labels[i]) if target.labels is not None else int(i) for i in bad]
    result.meta["failed_channels"] = [int(i) for i in bad]
    warnings.warn(
        f"{bad.size} of {target.n_channels} channel(s) have no finite model spectrum at their "
        f"best start (no stable equilibrium found): {names[:10]}{' ...' if bad.size > 10 else ''}"
        "; their goodness and Laplace values are NaN. Try more `starts`, a wider "
        "`start_spread` or another node template.",
        RuntimeWarning,
        stacklevel=3,
    )
