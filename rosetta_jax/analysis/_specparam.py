"""Parametric spectrum fit: an aperiodic $1/f$-like component plus Gaussian peaks.

This is the model of specparam (formerly FOOOF; Donoghue et al. 2020, Nat. Neurosci.
23:1655–1665), fitted in pure JAX with a fixed number of peaks and fixed iteration counts.
There is no data-dependent Python control flow, so the fit runs under `jit`, `vmap` (over
channels) and `grad`.
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._validation import concrete_values
from ._checks import _checked_input, _frequency_grid, _static_int
from ._specparam_model import (
    _N_AP,
    _aperiodic,
    _levenberg_marquardt,
    _model,
    _robust_aperiodic,
    _seed_peaks,
)


class SpectrumFit(eqx.Module):
    """The result of `fit_spectrum` or `fit_aperiodic`: a parametric model of a power spectrum.

    The model, in log10 power (Donoghue et al. 2020), is

    $$\\log_{10} P(f) = b - \\log_{10}(k + f^{\\chi})
      + \\sum_{j} a_j \\exp\\!\\Big(-\\frac{(f - c_j)^2}{2 w_j^2}\\Big).$$

    With a batch of spectra every field gains the batch shape in front.

    Attributes:
        offset: $b$ [log10(u^2/Hz)].
        knee: $k$ [Hz^chi]; exactly 0 when the knee was not fitted. The knee frequency is
            $k^{1/\\chi}$ [Hz].
        exponent: $\\chi$ (dimensionless); the slope is $-\\chi$ in log-log coordinates.
        peaks: shape `(n_peaks, 3)`, one row per peak, sorted by frequency. The columns are
            center $c_j$ [Hz], power $a_j$ [log10 units above the aperiodic component, >= 0]
            and width $w_j$ [Hz], the Gaussian standard deviation (specparam's bandwidth is
            $2 w_j$). A peak the data do not support ends with power near 0.
        r_squared: $1 - SS_{res}/SS_{tot}$ of the fit in log10 power over the fitted points.
        error: root-mean-square residual over the fitted points [log10 units].
        fitted: the full model $\\log_{10} P(f)$ at every input frequency, shape `(n_freqs,)`
            (NaN at $f \\le 0$).
        aperiodic: the aperiodic part $b - \\log_{10}(k + f^{\\chi})$, shape `(n_freqs,)`
            (NaN at $f \\le 0$).
    """

    offset: Float[Array, "*batch"]
    knee: Float[Array, "*batch"]
    exponent: Float[Array, "*batch"]
    peaks: Float[Array, "*batch n_peaks 3"]
    r_squared: Float[Array, "*batch"]
    error: Float[Array, "*batch"]
    fitted: Float[Array, "*batch freqs"]
    aperiodic: Float[Array, "*batch freqs"]

    @property
    def peak_center(self) -> Float[Array, "*batch n_peaks"]:
        """Peak center frequencies $c_j$ [Hz]."""
        return self.peaks[..., 0]

    @property
    def peak_power(self) -> Float[Array, "*batch n_peaks"]:
        """Peak heights $a_j$ above the aperiodic component [log10 units]."""
        return self.peaks[..., 1]

    @property
    def peak_width(self) -> Float[Array, "*batch n_peaks"]:
        """Peak standard deviations $w_j$ [Hz]."""
        return self.peaks[..., 2]


# --------------------------------------------------------------------------------------------
# One spectrum
# --------------------------------------------------------------------------------------------


@eqx.filter_jit
def _fit_one(
    freqs: Array,
    logp: Array,
    valid: Array,
    width_limits: Array,
    n_peaks: int,
    knee: bool,
    n_iterations: int,
    aperiodic_only: bool,
) -> SpectrumFit:
    """Fit one spectrum: log10 power `logp` on `freqs`, fitted where `valid`."""
    dtype = logp.dtype
    w = valid.astype(dtype)
    f = jnp.where(valid, freqs, 1.0)  # safe values where not fitted (f <= 0 or out of range)
    y = jnp.where(valid, logp, 0.0)
    fmin = jnp.min(jnp.where(valid, freqs, jnp.inf))
    fmax = jnp.max(jnp.where(valid, freqs, -jnp.inf))

    ap = _robust_aperiodic(f, y, w, fmin, fmax, knee, n_iterations)
    if aperiodic_only:
        theta = ap
    else:
        bounds = (fmin, fmax, width_limits[0], width_limits[1])
        theta = _fit_peaks(f, y, w, ap, bounds, n_peaks, knee, n_iterations)
    return _spectrum_fit(theta, freqs, f, y, w)


def _fit_peaks(f, y, w, ap, bounds, n_peaks, knee, n_iterations) -> Array:
    """All parameters refined jointly from the aperiodic fit `ap` and greedy peak seeds.

    `bounds` is `(fmin, fmax, wmin, wmax)`: the projection keeps the centers in the fitted
    range, the widths in the width limits, and the knee and peak powers >= 0."""
    fmin, fmax, wmin, wmax = bounds
    seeds = _seed_peaks(f, y - _aperiodic(ap, f), w, n_peaks, wmin, wmax)
    theta = jnp.concatenate([ap, seeds])
    free = jnp.ones_like(theta).at[1].set(1.0 if knee else 0.0)

    def project(th):
        pk = th[_N_AP:].reshape(-1, 3)
        pk = jnp.stack(
            [
                jnp.clip(pk[:, 0], fmin, fmax),
                jnp.maximum(pk[:, 1], 0.0),
                jnp.clip(pk[:, 2], wmin, wmax),
            ],
            axis=1,
        )
        return jnp.concatenate([th[:_N_AP].at[1].set(jnp.maximum(th[1], 0.0)), pk.ravel()])

    return _levenberg_marquardt(
        lambda th: jnp.sqrt(w) * (_model(th, f) - y), theta, free, project, n_iterations
    )


def _spectrum_fit(theta, freqs, f, y, w) -> SpectrumFit:
    """The `SpectrumFit` of parameters theta: sorted peaks, goodness of fit and the curves."""
    peaks = theta[_N_AP:].reshape(-1, 3)
    peaks = peaks[jnp.argsort(peaks[:, 0])]
    resid = w * (_model(theta, f) - y)
    n_fit = jnp.sum(w)
    y_mean = jnp.sum(w * y) / n_fit
    ss_res = jnp.sum(resid * resid)
    ss_tot = jnp.sum(w * (y - y_mean) ** 2)
    # The curves are defined at f > 0 only (0**chi has no finite derivative in chi).
    positive = freqs > 0
    f_pos = jnp.where(positive, freqs, 1.0)
    fitted = jnp.where(positive, _model(theta, f_pos), jnp.nan)
    aperiodic = jnp.where(positive, _aperiodic(theta, f_pos), jnp.nan)
    return SpectrumFit(
        offset=theta[0],
        knee=theta[1],
        exponent=theta[2],
        peaks=peaks,
        r_squared=1 - ss_res / ss_tot,
        error=jnp.sqrt(ss_res / n_fit),
        fitted=fitted,
        aperiodic=aperiodic,
    )


# --------------------------------------------------------------------------------------------
# Inputs and batches
# --------------------------------------------------------------------------------------------


def _fit(
    freqs: Any,
    psd: Any,
    n_peaks: int,
    knee: bool,
    freq_range: Any,
    peak_width_limits: Any,
    axis: int,
    n_iterations: int,
    aperiodic_only: bool = False,
) -> SpectrumFit:
    """Check the inputs of `fit_spectrum` / `fit_aperiodic` and fit every spectrum of the
    batch."""
    p, ax = _checked_input("psd", psd, axis, "a frequency axis")
    p = jnp.moveaxis(p, ax, -1)
    f = _frequency_grid(freqs, p.shape[-1], "psd").astype(p.dtype)
    if not isinstance(knee, bool):
        raise ValueError(f"`knee` must be a Python bool (it fixes the model); got {knee!r}.")
    n_peaks = _static_int("n_peaks", n_peaks, minimum=0)
    n_iterations = _static_int("n_iterations", n_iterations, minimum=1)
    valid = _fitted_points(f, p, freq_range, n_peaks)
    logp = jnp.log10(jnp.where(valid, p, 1.0))
    limits = _width_limits(f, valid, peak_width_limits, p.dtype)

    batch = logp.shape[:-1]
    logp = logp.reshape(-1, logp.shape[-1])
    valid = valid.reshape(logp.shape)
    limits = jnp.broadcast_to(limits, batch + (2,)).reshape(-1, 2)

    def one(lp, vd, lim):
        return _fit_one(f, lp, vd, lim, n_peaks, knee, n_iterations, aperiodic_only)

    res = jax.vmap(one)(logp, valid, limits)
    return jax.tree.map(lambda a: a.reshape(batch + a.shape[1:]), res)


def _fitted_points(f: Array, p: Array, freq_range: Any, n_peaks: int) -> Array:
    """The mask of fitted points: f > 0, inside `freq_range` and positive power (checked when
    concrete; under jit non-positive power is left out of the fit)."""
    valid = f > 0
    if freq_range is not None:
        fr = jnp.asarray(freq_range)
        if fr.shape != (2,):
            raise ValueError(f"`freq_range` must be a pair (f_lo, f_hi); got shape {fr.shape}.")
        fr_v = concrete_values(fr)
        if fr_v is not None and not fr_v[0] < fr_v[1]:
            raise ValueError(f"`freq_range` must satisfy f_lo < f_hi; got {tuple(fr_v.tolist())}.")
        fr = fr.astype(p.dtype)
        valid = valid & (f >= fr[0]) & (f <= fr[1])
    n_params = _N_AP + 3 * n_peaks
    valid_v = concrete_values(valid)
    if valid_v is not None and int(valid_v.sum()) <= n_params:
        raise ValueError(
            f"only {int(valid_v.sum())} frequencies are > 0 and inside `freq_range`, too few "
            f"for {n_params} parameters; widen `freq_range` or lower `n_peaks`."
        )
    p_v = concrete_values(p)
    if p_v is not None and valid_v is not None and np.any(p_v[..., valid_v] <= 0):
        raise ValueError(
            "`psd` must be > 0 at the fitted frequencies (the model is fitted to log10 power)."
        )
    # Under jit non-positive power cannot be caught; those points are left out of the fit.
    return valid & (p > 0)


def _width_limits(f: Array, valid: Array, peak_width_limits: Any, dtype: Any) -> Array:
    """`(w_min, w_max)` per spectrum [Hz]; by default one grid spacing to a sixth of the
    fitted range."""
    if peak_width_limits is None:
        f_in = jnp.where(valid, f, jnp.nan)
        span = jnp.nanmax(f_in, axis=-1) - jnp.nanmin(f_in, axis=-1)
        spacing = span / jnp.maximum(jnp.sum(valid, axis=-1) - 1, 1)
        return jnp.stack([spacing, span / 6], axis=-1)
    limits = jnp.asarray(peak_width_limits)
    if limits.shape != (2,):
        raise ValueError(
            f"`peak_width_limits` must be a pair (w_min, w_max); got shape {limits.shape}."
        )
    lv = concrete_values(limits)
    if lv is not None and not 0 < lv[0] < lv[1]:
        raise ValueError(
            f"`peak_width_limits` must satisfy 0 < w_min < w_max; got {tuple(lv.tolist())}."
        )
    return jnp.broadcast_to(limits.astype(dtype), valid.shape[:-1] + (2,))


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def fit_spectrum(
    freqs: Float[ArrayLike, " n_freqs"],
    psd: ArrayLike,
    *,
    n_peaks: int = 1,
    knee: bool = False,
    freq_range: ArrayLike | None = None,
    peak_width_limits: ArrayLike | None = None,
    axis: int = 0,
    n_iterations: int = 60,
) -> SpectrumFit:
    """Fit the specparam model (aperiodic component plus `n_peaks` Gaussian peaks) to a spectrum.

    The model is the one documented on `SpectrumFit`, fitted in log10 power by least squares
    (Donoghue et al. 2020, Nat. Neurosci. 23:1655–1665). The initialisation is robust:

    1. The aperiodic part is fitted to the points that the peaks do not lift (see
       `fit_aperiodic`).
    2. `n_peaks` peaks are seeded greedily from the maxima of the residual spectrum. Each
       seed's width comes from the half-height crossing, and the Gaussian is subtracted
       before the next seed.
    3. All parameters are refined jointly by projected Levenberg–Marquardt for
       `n_iterations` steps. The projection keeps knee >= 0, peak power >= 0, centers in the
       fitted range and widths in `peak_width_limits`.

    The number of peaks and of iterations is fixed, and no Python branch depends on the data,
    so the fit runs under `jax.jit`, `jax.vmap` and `jax.grad`. Unlike specparam, peaks are
    never dropped: a peak the spectrum lacks ends with power near 0, or fits a noise bump.
    Choose `n_peaks` as the number of peaks you expect.

    Args:
        freqs: frequency grid, shape `(n_freqs,)`, strictly increasing [Hz]. Only $f > 0$ is
            fitted.
        psd: power (linear, not log) with frequency along `axis` [u^2/Hz], e.g. `welch`'s
            output. Other axes are batch axes (channels), fitted independently.
        n_peaks: number of Gaussian peaks (static int >= 0).
        knee: fit the knee $k$ (True) or fix it at 0 (False, a straight line in log-log).
        freq_range: optional `(f_lo, f_hi)` [Hz] to fit; it may be traced.
        peak_width_limits: `(w_min, w_max)` bounds on the peak standard deviation [Hz].
            Default: one grid spacing to a sixth of the fitted range.
        axis: the frequency axis of `psd`.
        n_iterations: Levenberg–Marquardt steps per fit (static int).

    Returns:
        A `SpectrumFit`. Its fields have the batch shape of `psd` (its shape less `axis`) in
        front; its curves have frequency last.

    Raises:
        ValueError: for mismatched shapes, non-increasing `freqs`, non-finite or
            non-positive power at fitted frequencies, too few points for the parameters, or
            bad `n_peaks`/`knee`/`freq_range`/`peak_width_limits`/`n_iterations`.
    """
    return _fit(freqs, psd, n_peaks, knee, freq_range, peak_width_limits, axis, n_iterations)


def fit_aperiodic(
    freqs: Float[ArrayLike, " n_freqs"],
    psd: ArrayLike,
    *,
    knee: bool = False,
    freq_range: ArrayLike | None = None,
    axis: int = 0,
    n_iterations: int = 60,
) -> SpectrumFit:
    """Robust fit of the aperiodic component alone, ignoring the points lifted by peaks.

    The aperiodic model $\\log_{10} P = b - \\log_{10}(k + f^{\\chi})$ is fitted:

    1. to all points;
    2. three times to the half of the points with the lowest residual under the previous
       fit, which removes the peaks (in noise this biases the offset low);
    3. twice to the points whose residual is at most 2.5 robust standard deviations
       (1.4826 MAD) above the median residual, which brings back every point consistent with
       noise and removes the bias.

    Without a knee each fit is a closed-form weighted line fit in log-log coordinates. With a
    knee each is a Levenberg–Marquardt fit started from 6 knee values (0, and knee
    frequencies spread log-uniformly across the range), keeping the best.

    This is the initialisation of `fit_spectrum`. On its own it is exact for a spectrum
    without peaks. With peaks it is approximate: the tails of the peaks, and peaks near a
    knee (where a bend and a peak shoulder look alike), bias it. Use `fit_spectrum` with
    the expected number of peaks for unbiased parameters.

    Args:
        freqs: frequency grid, shape `(n_freqs,)`, strictly increasing [Hz].
        psd: linear power with frequency along `axis` [u^2/Hz]; other axes are batch axes.
        knee: fit the knee (True) or fix it at 0 (False).
        freq_range: optional `(f_lo, f_hi)` [Hz] to fit.
        axis: the frequency axis of `psd`.
        n_iterations: Levenberg–Marquardt steps per knee fit (static int).

    Returns:
        A `SpectrumFit` with `peaks` of shape `(*batch, 0, 3)`. Its `r_squared`, `error`
        and `fitted` are measured over all fitted points, peaks included.

    Raises:
        ValueError: as `fit_spectrum`.
    """
    return _fit(freqs, psd, 0, knee, freq_range, None, axis, n_iterations, aperiodic_only=True)
