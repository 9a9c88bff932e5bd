"""Starting points of a regional spectral fit: data-driven seeds (the aperiodic slope, the
alpha peak, the highest peaks of the flattened spectrum) and the multi-start spread around
them."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from .. import models
from ..analysis._spectra import peak_frequency
from ._transforms import Bounded


_ALPHA_BAND = (6.0, 14.0)


def _seed_exponent(freqs, psd) -> np.ndarray:
    """Per channel, minus the log-log slope of the spectrum (a start for the exponent)."""
    x = np.log10(freqs)
    y = np.log10(psd)
    slope = np.polyfit(x, y, 1)[0]
    return np.clip(-slope, 0.3, 4.0)


def _flat_peaks(freqs, psd, band, n) -> np.ndarray:
    """Per channel, the frequencies [Hz] of the `n` highest local maxima within `band` of the
    spectrum flattened by its log-log line (the highest repeated when there are fewer; the
    band's highest point when there is none), shape `(n, n_channels)`."""
    x, y = np.log10(freqs), np.log10(psd)
    slope, intercept = np.polyfit(x, y, 1)
    flat = y - (slope * x[:, None] + intercept)
    inside = ((freqs >= band[0]) & (freqs <= band[1]))[:, None]
    peak = np.zeros_like(flat, dtype=bool)
    peak[1:-1] = (flat[1:-1] >= flat[:-2]) & (flat[1:-1] >= flat[2:])
    score = np.where(peak & inside, flat, -np.inf)
    order = np.argsort(-score, axis=0)[:n]
    valid = np.take_along_axis(score, order, axis=0) > -np.inf
    first = np.where(valid[0], order[0], np.argmax(np.where(inside, flat, -np.inf), axis=0))
    return np.asarray(freqs)[np.where(valid, order, first[None])]


def _seed_omega(freqs, psd, gen, t, n_starts, alpha) -> np.ndarray | None:
    """Starting angular frequencies of a damped-oscillator generator, clipped to its fitted
    range `t`: the alpha generator (`alpha`) starts at each channel's alpha peak (7-14 Hz,
    parabolic), shape `(n_channels,)`; another at the highest peaks of the flattened spectrum
    within its range, one per start, shape `(n_starts, n_channels)`."""
    if not isinstance(gen, models.DampedOscillator):
        return None
    lo, hi = float(t.low) / (2 * np.pi), float(t.high) / (2 * np.pi)
    band = _ALPHA_BAND if alpha else (max(lo, 13.0), hi)
    band = (max(band[0], freqs[0]), min(band[1], freqs[-2]))
    if band[1] - band[0] < 2 * (freqs[1] - freqs[0]):
        return None
    if alpha:
        peak = np.asarray(peak_frequency(freqs, psd, band, axis=0))
    else:
        peak = _flat_peaks(freqs, psd, band, n_starts)
    return np.clip(2 * np.pi * peak, float(t.low) * 1.01, float(t.high) * 0.99)


def _seeds(template, fitted, freqs, psd, n_starts) -> dict[str, np.ndarray]:
    """Data-driven starts by fitted name: the aperiodic exponent (log-log slope) and the
    damped-oscillator generators' frequencies (the first below 14 Hz at the alpha peak)."""
    seeds = {"exponent": _seed_exponent(freqs, psd)}
    transforms = dict(zip(fitted.names, fitted.transforms, strict=True))
    alpha_done = False
    for g, gen in enumerate(template.generators):
        name = f"gen{g}.omega" if len(template.generators) > 1 else "omega"
        if name not in transforms or not isinstance(gen, models.DampedOscillator):
            continue
        alpha = not alpha_done and float(np.mean(np.abs(gen.omega))) < 2 * np.pi * 14.0
        w = _seed_omega(freqs, psd, gen, transforms[name], n_starts, alpha)
        alpha_done = alpha_done or alpha
        if w is not None:
            seeds[name] = w
    return seeds


def _starts_model(template, fitted, freqs, psd, n_starts, spread, key):
    """The regional model of every region x start: leaves of shape `(n_starts * n_ch,)`
    (start-major). Start 0 begins at the data-driven seeds (`_seeds`) or the template's
    values; the others add `spread` times a normal draw in the unconstrained space (a seed
    given per start is used as it is by starts 0 and 1)."""
    n_ch = psd.shape[1]
    seeds = _seeds(template, fitted, freqs, psd, n_starts)
    values = []
    for i, (name, sel, t) in enumerate(
        zip(fitted.names, fitted.selectors, fitted.transforms, strict=True)
    ):
        x0 = seeds.get(name, np.asarray(sel(template), dtype=float))
        x0 = np.broadcast_to(x0 if np.ndim(x0) == 2 else x0[None], (n_starts, n_ch))
        if isinstance(t, Bounded):  # a seed outside a narrowed range starts at its edge
            pad = 1e-3 * (t.high - t.low)
            x0 = np.clip(x0, t.low + pad, t.high - pad)
        u0 = np.asarray(t.inverse(jnp.asarray(x0, dtype=float)))
        noise = spread * np.asarray(jr.normal(jr.fold_in(key, i), (n_starts, n_ch)))
        noise[: 2 if np.ndim(seeds.get(name)) == 2 else 1] = 0.0
        values.append(t.forward(jnp.asarray((u0 + noise).reshape(-1))))
    return eqx.tree_at(fitted.select, template, tuple(values))
