"""Spectra of simulated activity: the Welch power spectrum, band power and the spectral peak.

Spectra put frequency where time was, as `scipy.signal.welch` does, so frequency is on
axis 0 by default (see `_signal` for the conventions shared by all signal features).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._validation import concrete_values
from ._checks import (
    _band,
    _check_finite,
    _checked_input,
    _frequency_grid,
    _positive_scalar,
    _real_array,
    _static_int,
)


# Periodic ("DFT-even") general-cosine windows, as scipy.signal.get_window(name, n) builds them:
# w[k] = sum_j (-1)^j a_j cos(2 pi j k / n).
_COSINE_WINDOWS = {
    "hann": (0.5, 0.5),
    "hamming": (0.54, 0.46),
    "blackman": (0.42, 0.50, 0.08),
    "boxcar": (1.0,),
}


def _window(window: Any, nperseg: int, dtype: Any) -> Array:
    """The window samples: a named periodic cosine window or a checked array of `nperseg`."""
    if isinstance(window, str):
        coeffs = _COSINE_WINDOWS.get(window.lower())
        if coeffs is None:
            raise ValueError(
                f"`window`={window!r} is not supported; use one of {sorted(_COSINE_WINDOWS)} "
                "or pass the window samples as an array of length `nperseg`."
            )
        k = np.arange(nperseg)
        w = sum((-1) ** j * a * np.cos(2 * np.pi * j * k / nperseg) for j, a in enumerate(coeffs))
        return jnp.asarray(np.broadcast_to(w, (nperseg,)), dtype=dtype)
    w = _real_array("window", window)
    if w.shape != (nperseg,):
        raise ValueError(f"`window` must have shape (nperseg,) = ({nperseg},); got {w.shape}.")
    _check_finite("window", w)
    return w.astype(dtype)


def _median_bias(n: int) -> float:
    # Bias of the median of n exponential (chi^2_2) periodograms relative to their mean, as
    # scipy.signal.welch corrects it (Allen et al. 2012, appendix B).
    ii_2 = 2 * np.arange(1.0, (n - 1) // 2 + 1)
    return float(1 + np.sum(1.0 / (ii_2 + 1) - 1.0 / ii_2))


@eqx.filter_jit
def _welch(x, fs, win, ax, nperseg, noverlap, nfft, detrend, scaling, average):
    """`welch` on checked arguments: segments, detrending, periodograms, scaling, average."""
    dtype = x.dtype
    n = x.shape[ax]
    step = nperseg - noverlap
    n_seg = (n - nperseg) // step + 1
    idx = np.arange(n_seg)[:, None] * step + np.arange(nperseg)[None, :]
    seg = jnp.moveaxis(x, ax, -1)[..., idx]  # (..., n_seg, nperseg)

    if detrend == "constant":
        seg = seg - jnp.mean(seg, axis=-1, keepdims=True)
    elif detrend == "linear":
        t = np.arange(nperseg) - (nperseg - 1) / 2
        t = jnp.asarray(t, dtype=dtype)
        slope = jnp.sum(seg * t, axis=-1, keepdims=True) / jnp.maximum(jnp.sum(t * t), 1)
        seg = seg - jnp.mean(seg, axis=-1, keepdims=True) - slope * t
    elif callable(detrend):
        seg = detrend(seg)

    spec = jnp.fft.rfft(seg * win, n=nfft, axis=-1)
    # |X|^2 from real and imaginary parts: differentiable at X = 0, unlike jnp.abs.
    power = jnp.real(spec) ** 2 + jnp.imag(spec) ** 2
    if scaling == "density":
        power = power / (fs * jnp.sum(win * win))
    else:
        power = power / jnp.sum(win) ** 2
    one_sided = np.full(nfft // 2 + 1, 2.0)
    one_sided[0] = 1.0
    if nfft % 2 == 0:
        one_sided[-1] = 1.0
    power = power * jnp.asarray(one_sided, dtype=dtype)

    if average == "mean" or n_seg == 1:
        psd = jnp.mean(power, axis=-2)
    else:
        psd = jnp.median(power, axis=-2) / jnp.asarray(_median_bias(n_seg), dtype=dtype)
    freqs = jnp.arange(nfft // 2 + 1, dtype=dtype) * (fs / nfft)
    return freqs, jnp.moveaxis(psd, -1, ax)


def welch(
    x: ArrayLike,
    fs: ArrayLike,
    *,
    nperseg: int | None = None,
    noverlap: int | None = None,
    nfft: int | None = None,
    window: str | ArrayLike = "hann",
    detrend: Literal["constant", "linear", False] | Callable[[Array], Array] = "constant",
    axis: int = 0,
    scaling: Literal["density", "spectrum"] = "density",
    average: Literal["mean", "median"] = "mean",
) -> tuple[Float[Array, " n_freqs"], Float[Array, "*shape"]]:
    """One-sided Welch power spectrum, equal to `scipy.signal.welch` for real input.

    The signal is cut into `n_seg = (n - nperseg) // (nperseg - noverlap) + 1` overlapping
    segments, gathered with one index array. Each segment is detrended, multiplied by the
    window $w$ and Fourier transformed. The periodograms $|X_k|^2$ are scaled, doubled at all
    frequencies except DC (and Nyquist for even `nfft`) and averaged:

    $$P(f_k) = \\frac{2}{f_s \\sum_j w_j^2} \\big\\langle |X_k|^2 \\big\\rangle_{\\text{seg}}
    \\quad (\\text{scaling="density"}).$$

    With `scaling="spectrum"` the factor is $1 / (\\sum_j w_j)^2$ instead. With
    `average="median"` the median is divided by scipy's median bias $b(n_{seg})$.

    Args:
        x: real signal with time along `axis`, e.g. `Solution.observed` of shape
            `(n_times, n_nodes)`, in the signal's unit `[u]`.
        fs: sampling rate [samples per time unit; Hz for signals in seconds], a scalar > 0.
            It may be traced.
        nperseg: samples per segment (static int). Default 256, or the length of an array
            `window`. It must not exceed the signal length.
        noverlap: samples shared by consecutive segments, `0 <= noverlap < nperseg`
            (default `nperseg // 2`).
        nfft: FFT length, `>= nperseg`; segments are zero-padded (default `nperseg`).
        window: `"hann"`, `"hamming"`, `"blackman"` or `"boxcar"` (periodic windows, as
            `scipy.signal.get_window` gives them), or an array of `nperseg` samples.
        detrend: per-segment detrending: `"constant"` (subtract the mean), `"linear"`
            (subtract the least-squares line), `False` (none), or a function applied to the
            segment array of shape `(..., n_seg, nperseg)` (samples on the last axis).
        axis: the time axis of `x`.
        scaling: `"density"` gives [u^2 / Hz]; `"spectrum"` gives the power of each
            frequency bin [u^2].
        average: `"mean"` or `"median"` (robust to transients) over segments.

    Returns:
        `(freqs, psd)`. `freqs` has shape `(nfft // 2 + 1,)` [Hz]. `psd` has the shape of `x`
        with frequency in place of time on `axis`, as scipy returns it: `(n_freqs, n_nodes)`
        for `(n_times, n_nodes)` input, so `band_power` and `peak_frequency` take it with
        their default `axis=0`.

    Raises:
        ValueError: for complex or non-finite `x`, `fs <= 0`, a segment longer than the
            signal, an invalid `noverlap`/`nfft`/`window`/`detrend`/`scaling`/`average`.
    """
    x, ax = _checked_input("x", x, axis, "at least one (time) dimension")
    n = x.shape[ax]
    if nperseg is None:
        nperseg = 256 if isinstance(window, str) else int(np.shape(window)[0])
    nperseg = _static_int("nperseg", nperseg, minimum=1)
    if nperseg > n:
        raise ValueError(
            f"`nperseg`={nperseg} is longer than the signal ({n} samples along axis {ax}); "
            f"pass nperseg <= {n} or a longer signal."
        )
    noverlap = nperseg // 2 if noverlap is None else _static_int("noverlap", noverlap, minimum=0)
    if noverlap >= nperseg:
        raise ValueError(f"`noverlap`={noverlap} must be smaller than `nperseg`={nperseg}.")
    nfft = nperseg if nfft is None else _static_int("nfft", nfft, minimum=1)
    if nfft < nperseg:
        raise ValueError(f"`nfft`={nfft} must be >= `nperseg`={nperseg}.")
    if scaling not in ("density", "spectrum"):
        raise ValueError(f"`scaling` must be 'density' or 'spectrum'; got {scaling!r}.")
    if average not in ("mean", "median"):
        raise ValueError(f"`average` must be 'mean' or 'median'; got {average!r}.")
    if not (detrend is False or detrend in ("constant", "linear") or callable(detrend)):
        raise ValueError(
            f"`detrend` must be 'constant', 'linear', False or a callable; got {detrend!r}."
        )
    dtype = x.dtype
    fs = _positive_scalar("fs", fs, dtype)
    win = _window(window, nperseg, dtype)
    return _welch(x, fs, win, ax, nperseg, noverlap, nfft, detrend, scaling, average)


@eqx.filter_jit
def _band_power(f, p, lo, hi, relative):
    """Exact integral of the piecewise-linear PSD (frequency last) over [lo, hi]."""
    f0, f1 = f[:-1], f[1:]
    p0, p1 = p[..., :-1], p[..., 1:]
    a = jnp.clip(f0, lo, hi)
    b = jnp.clip(f1, lo, hi)
    slope = (p1 - p0) / (f1 - f0)
    pa = p0 + slope * (a - f0)
    pb = p0 + slope * (b - f0)
    power = jnp.sum(0.5 * (b - a) * (pa + pb), axis=-1)
    if relative:
        power = power / jnp.sum(0.5 * (f1 - f0) * (p0 + p1), axis=-1)
    return power


def band_power(
    freqs: ArrayLike, psd: ArrayLike, band: ArrayLike, *, axis: int = 0, relative: bool = False
) -> Float[Array, "*batch"]:
    """Power in a frequency band: the integral of the PSD over `[f_lo, f_hi]`.

    The PSD is taken as linear between grid frequencies and integrated exactly over the band.
    Inside the band this is the trapezoid rule. At the edges the PSD is interpolated linearly,
    so the result is continuous and piecewise smooth in `f_lo` and `f_hi`, with
    $\\partial P / \\partial f_{hi} = \\mathrm{psd}(f_{hi})$. Parts of the band that lie
    outside `freqs` contribute nothing.

    Args:
        freqs: frequency grid, shape `(n_freqs,)`, strictly increasing [Hz].
        psd: power spectral density with frequency along `axis` [u^2/Hz], e.g. `welch`'s output.
        band: `(f_lo, f_hi)` with `f_lo < f_hi` [Hz]; it may be traced (e.g. fitted).
        axis: the frequency axis of `psd`.
        relative: if True, divide by the total power (trapezoid over the whole grid), giving
            a fraction in [0, 1] for a non-negative PSD.

    Returns:
        Band power [u^2], with the shape of `psd` less `axis` (dimensionless if `relative`).

    Raises:
        ValueError: for mismatched shapes, non-increasing `freqs`, `f_lo >= f_hi` or
            non-finite input.
    """
    p, ax = _checked_input("psd", psd, axis, "a frequency axis")
    p = jnp.moveaxis(p, ax, -1)
    f = _frequency_grid(freqs, p.shape[-1], "psd").astype(p.dtype)
    lo, hi = _band(band, p.dtype)
    return _band_power(f, p, lo, hi, relative)


@eqx.filter_jit
def _peak_frequency(f, p, lo, hi, in_band, method, temperature):
    """The in-band peak (frequency last): parabolic vertex of the log-power or softmax mean."""
    n = p.shape[-1]
    logp = jnp.log(jnp.maximum(p, jnp.finfo(p.dtype).tiny))
    if method == "softmax":
        weights = jax.nn.softmax(jnp.where(in_band, logp / temperature, -jnp.inf), axis=-1)
        return jnp.sum(weights * f, axis=-1)

    k = jnp.argmax(jnp.where(in_band, logp, -jnp.inf), axis=-1)
    kc = jnp.clip(k, 1, n - 2)  # center of the three-point stencil

    def at(offset):
        i = kc + offset
        return jnp.take_along_axis(logp, i[..., None], axis=-1)[..., 0], f[i]

    (y0, x0), (y1, x1), (y2, x2) = at(-1), at(0), at(1)
    h0, h2 = x1 - x0, x2 - x1
    d0, d2 = (y0 - y1) / h0, (y2 - y1) / h2
    # y = y1 + b u + a u^2 with u = f - x1, through (-h0, y0) and (h2, y2).
    curv = (d0 + d2) / (h0 + h2)
    concave = curv < 0
    curv_safe = jnp.where(concave, curv, -1.0)
    slope = d2 - curv_safe * h2
    vertex = x1 + jnp.clip(-slope / (2 * curv_safe), -h0, h2)
    peak = jnp.where(concave, vertex, f[k])
    return jnp.clip(peak, lo, hi)


def peak_frequency(
    freqs: Float[ArrayLike, " n_freqs"],
    psd: ArrayLike,
    band: ArrayLike | None = None,
    *,
    axis: int = 0,
    method: Literal["parabolic", "softmax"] = "parabolic",
    temperature: ArrayLike = 0.1,
) -> Float[Array, "*batch"]:
    """Sub-bin frequency of the spectral peak, differentiable with respect to `psd`.

    `method="parabolic"` fits a parabola through the log-power at the arg-max bin $k$
    (restricted to `band`) and its two neighbours and returns its vertex. The fit uses the
    actual, possibly non-uniform, frequencies. The result is exact for a Gaussian peak,
    $\\log P = c - (f - f_0)^2 / 2\\sigma^2$, and within a fraction of a bin for other
    smooth peaks. The index $k$ has no gradient, but the vertex is a smooth function of the
    three powers. If those three are not concave (a flat spectrum), the result is $f_k$. The
    result is clipped to `band`.

    `method="softmax"` returns $\\sum_k f_k\\,\\mathrm{softmax}(\\ln P_k / T)$ over the
    in-band bins, with weights $\\propto P^{1/T}$. It is smooth in every bin. It is biased
    towards the band center when the peak is broad or $T$ is large, and tends to the arg-max
    as $T \\to 0$.

    Args:
        freqs: frequency grid, shape `(n_freqs,)`, strictly increasing [Hz].
        psd: power with frequency along `axis` [u^2/Hz]; must be > 0 near the peak (values
            <= 0 are floored at the smallest positive normal number before the log).
        band: optional `(f_lo, f_hi)` search band [Hz]; it must contain at least one grid
            frequency. Default: the whole grid.
        axis: the frequency axis of `psd`.
        method: `"parabolic"` (default) or `"softmax"`.
        temperature: softmax temperature $T$ in natural-log power units (> 0), used only by
            `method="softmax"`.

    Returns:
        Peak frequency [Hz], with the shape of `psd` less `axis`.

    Raises:
        ValueError: for mismatched shapes, a band containing no grid frequency, an unknown
            `method`, `temperature <= 0` or non-finite input.
    """
    p, ax = _checked_input("psd", psd, axis, "a frequency axis")
    p = jnp.moveaxis(p, ax, -1)
    n = p.shape[-1]
    f = _frequency_grid(freqs, n, "psd").astype(p.dtype)
    if n < 3:
        raise ValueError(f"`psd` needs at least 3 frequencies for a peak; got {n}.")
    if method not in ("parabolic", "softmax"):
        raise ValueError(f"`method` must be 'parabolic' or 'softmax'; got {method!r}.")
    if band is None:
        lo, hi = f[0], f[-1]
    else:
        lo, hi = _band(band, p.dtype)
    in_band = (f >= lo) & (f <= hi)
    ib = concrete_values(in_band)
    if ib is not None and not np.any(ib):
        raise ValueError("`band` contains no frequency of `freqs`; widen it.")

    if method == "softmax":
        temperature = _positive_scalar("temperature", temperature, p.dtype)
    return _peak_frequency(f, p, lo, hi, in_band, method, temperature)
