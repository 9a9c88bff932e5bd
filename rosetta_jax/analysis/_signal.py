"""Signal features of simulated activity: spectra, connectivity, phase synchrony, entrainment.

Every function is pure JAX, so it runs under `jax.jit`, `jax.vmap` and `jax.grad`. Windows
are gathered with one index array: there is no Python loop over samples or windows. The output
keeps the dtype of the input (float32 in, float32 out). Time runs along `axis=0` by default, as
in `Solution.observed` of shape `(n_times, n_nodes)`. Spectra put frequency where time was,
as `scipy.signal.welch` does, so frequency is also on axis 0 by default.

Bad input raises `ValueError` at trace time and names the argument: wrong shapes, a
non-positive sampling rate, windows longer than the signal. NaN or inf in the data also raises
`ValueError`, but only when the data are concrete; inside `jit` or `vmap` the values are not
known, so they are not checked.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Complex, Float

from .._validation import concrete_values


_HIGHEST = jax.lax.Precision.HIGHEST

# Periodic ("DFT-even") general-cosine windows, as scipy.signal.get_window(name, n) builds them:
# w[k] = sum_j (-1)^j a_j cos(2 pi j k / n).
_COSINE_WINDOWS = {
    "hann": (0.5, 0.5),
    "hamming": (0.54, 0.46),
    "blackman": (0.42, 0.50, 0.08),
    "boxcar": (1.0,),
}


# --------------------------------------------------------------------------------------------
# Input checks (trace-time; value checks only for concrete inputs)
# --------------------------------------------------------------------------------------------


def _real_array(name: str, x: Any) -> Array:
    """`x` as a real floating JAX array (integers and bools become the default float)."""
    try:
        arr = jnp.asarray(x)
    except TypeError as err:
        raise ValueError(f"`{name}` must be an array of numbers; got {type(x).__name__}.") from err
    if jnp.issubdtype(arr.dtype, jnp.complexfloating):
        raise ValueError(f"`{name}` must be real-valued; got dtype {arr.dtype}.")
    if not jnp.issubdtype(arr.dtype, jnp.floating):
        arr = arr.astype(jnp.result_type(float))
    return arr


def _check_finite(name: str, x: Any) -> None:
    v = concrete_values(x)
    if v is not None and np.issubdtype(v.dtype, np.inexact) and not np.all(np.isfinite(v)):
        n_bad = int(np.sum(~np.isfinite(v)))
        raise ValueError(
            f"`{name}` contains {n_bad} NaN or inf value(s); the analysis needs finite data "
            "(check the simulation for divergence, or drop the bad samples)."
        )


def _checked_input(name: str, x: Any, axis: Any, what: str) -> tuple[Array, int]:
    """`x` as a finite real array with at least one dimension, and `axis` normalised.
    `what` names the axis in the error for a scalar (e.g. "a time axis")."""
    arr = _real_array(name, x)
    if arr.ndim == 0:
        raise ValueError(f"`{name}` must have {what}; got a scalar.")
    ax = _normalise_axis(name, arr.ndim, axis)
    _check_finite(name, arr)
    return arr, ax


def _normalise_axis(name: str, ndim: int, axis: Any) -> int:
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise ValueError(f"`axis` must be an int; got {axis!r}.")
    if not -ndim <= axis < ndim:
        raise ValueError(f"`axis`={axis} is out of range for `{name}` with {ndim} dimension(s).")
    return int(axis) % ndim


def _static_int(name: str, value: Any, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"`{name}` must be a Python int (it fixes array shapes); got {value!r}.")
    if value < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}; got {value}.")
    return int(value)


def _positive_scalar(name: str, value: Any, dtype: Any) -> Array:
    arr = jnp.asarray(value)
    if arr.ndim != 0:
        raise ValueError(
            f"`{name}` must be a scalar; got shape {arr.shape}. Use jax.vmap to sweep it."
        )
    v = concrete_values(arr)
    if v is not None and not (np.isfinite(v) and v > 0):
        raise ValueError(f"`{name}` must be a finite number > 0; got {v.item()!r}.")
    return arr.astype(dtype)


def _frequency_grid(freqs: Any, n: int, psd_name: str) -> Array:
    f = _real_array("freqs", freqs)
    if f.ndim != 1:
        raise ValueError(f"`freqs` must be 1-D; got shape {f.shape}.")
    if f.shape[0] != n:
        raise ValueError(
            f"`freqs` has {f.shape[0]} entries but `{psd_name}` has {n} along the frequency axis."
        )
    if n < 2:
        raise ValueError(f"`freqs` needs at least 2 frequencies; got {n}.")
    v = concrete_values(f)
    if v is not None:
        _check_finite("freqs", v)
        if np.any(np.diff(v) <= 0):
            raise ValueError("`freqs` must be strictly increasing.")
    return f


def _band(band: Any, dtype: Any) -> tuple[Array, Array]:
    b = jnp.asarray(band)
    if b.shape != (2,):
        raise ValueError(f"`band` must be a pair (f_lo, f_hi); got shape {b.shape}.")
    v = concrete_values(b)
    if v is not None:
        _check_finite("band", v)
        if not v[0] < v[1]:
            raise ValueError(f"`band` must satisfy f_lo < f_hi; got {tuple(v.tolist())}.")
    b = b.astype(dtype)
    return b[0], b[1]


def _time_grid(ts: Any, n: int, x_name: str) -> Array:
    t = _real_array("ts", ts)
    if t.ndim != 1:
        raise ValueError(f"`ts` must be 1-D; got shape {t.shape}.")
    if t.shape[0] != n:
        raise ValueError(
            f"`ts` has {t.shape[0]} entries but `{x_name}` has {n} samples along `axis`."
        )
    v = concrete_values(t)
    if v is not None:
        _check_finite("ts", v)
        if np.any(np.diff(v) <= 0):
            raise ValueError("`ts` must be strictly increasing (uniformly sampled times).")
    return t


# --------------------------------------------------------------------------------------------
# Spectra
# --------------------------------------------------------------------------------------------


def _window(window: Any, nperseg: int, dtype: Any) -> Array:
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
) -> tuple[Float[Array, " freqs"], Float[Array, "*shape"]]:
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
    freqs: ArrayLike,
    psd: ArrayLike,
    band: ArrayLike,
    *,
    axis: int = 0,
    relative: bool = False,
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
    freqs: ArrayLike,
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


# --------------------------------------------------------------------------------------------
# Functional connectivity
# --------------------------------------------------------------------------------------------


@eqx.filter_jit
def _corrcoef_columns(x: Array) -> Array:
    xc = x - jnp.mean(x, axis=0)
    cov = jnp.matmul(xc.T, xc, precision=_HIGHEST)
    sd = jnp.sqrt(jnp.diagonal(cov))
    corr = jnp.clip(cov / sd[:, None] / sd[None, :], -1.0, 1.0)
    return jnp.where(jnp.eye(x.shape[1], dtype=bool), jnp.ones((), corr.dtype), corr)


def _check_not_constant(name: str, x: Array, what: str) -> None:
    v = concrete_values(x)
    if v is not None and np.any(np.ptp(v, axis=0) == 0):
        raise ValueError(
            f"`{name}` has a constant {what}; its correlation is undefined (0/0). Drop it or "
            "check the simulation (a node at a fixed point has no fluctuations)."
        )


def functional_connectivity(x: ArrayLike, *, axis: int = 0) -> Float[Array, "nodes nodes"]:
    """Functional connectivity: the Pearson correlation matrix between nodes.

    $FC_{ij} = \\mathrm{cov}(x_i, x_j) / (\\sigma_i \\sigma_j)$ over time, equal to
    `np.corrcoef(x, rowvar=(axis == 1))`. The diagonal is set to exactly 1 and the entries
    are clipped to [-1, 1].

    Args:
        x: 2-D signal, time along `axis` and nodes along the other axis, e.g.
            `Solution.observed` of shape `(n_times, n_nodes)`. A constant node gives NaN
            under `jit` and raises when `x` is concrete.
        axis: the time axis (0 or 1).

    Returns:
        The correlation matrix, shape `(n_nodes, n_nodes)`, dimensionless.

    Raises:
        ValueError: if `x` is not 2-D, has fewer than 2 time samples, or (when concrete)
            holds NaN/inf or a constant node.
    """
    x = _real_array("x", x)
    if x.ndim != 2:
        raise ValueError(
            f"`x` must be 2-D (time and nodes); got shape {x.shape}. Use jax.vmap for batches."
        )
    ax = _normalise_axis("x", 2, axis)
    x = jnp.moveaxis(x, ax, 0)
    if x.shape[0] < 2:
        raise ValueError(f"`x` needs at least 2 time samples; got {x.shape[0]}.")
    _check_finite("x", x)
    _check_not_constant("x", x, "node (column along time)")
    return _corrcoef_columns(x)


@eqx.filter_jit
def _fcd(x, window, step):
    n, n_nodes = x.shape
    n_win = (n - window) // step + 1
    idx = np.arange(n_win)[:, None] * step + np.arange(window)[None, :]
    fcs = jax.vmap(_corrcoef_columns)(x[idx])  # (n_win, n_nodes, n_nodes)
    iu, ju = np.triu_indices(n_nodes, k=1)
    triangles = fcs[:, iu, ju]  # (n_win, n_pairs)
    return _corrcoef_columns(triangles.T)


def fcd(x: ArrayLike, window: int, step: int, *, axis: int = 0) -> Float[Array, "windows windows"]:
    """Functional connectivity dynamics: the similarity of sliding-window FC matrices.

    The signal is cut into `n_windows = (n_times - window) // step + 1` windows, gathered
    with one index array. For each window, the FC (Pearson correlation between nodes) is
    computed and its upper triangle $v_w$ (above the diagonal) is taken. The result is
    $FCD_{uv} = \\mathrm{corr}(v_u, v_v)$, as in Hansen et al. (2015), NeuroImage
    105:525–535.

    Args:
        x: 2-D signal, time along `axis`, at least 3 nodes.
        window: samples per window (static int, `2 <= window <= n_times`).
        step: shift between consecutive windows in samples (static int, >= 1).
        axis: the time axis (0 or 1).

    Returns:
        The FCD matrix, shape `(n_windows, n_windows)`, with unit diagonal. An entry is NaN
        when a window has a constant node or a constant FC triangle (not checked under
        `jit`).

    Raises:
        ValueError: for a non-2-D `x`, fewer than 3 nodes, bad `window`/`step`, or
            non-finite concrete input.
    """
    x = _real_array("x", x)
    if x.ndim != 2:
        raise ValueError(
            f"`x` must be 2-D (time and nodes); got shape {x.shape}. Use jax.vmap for batches."
        )
    ax = _normalise_axis("x", 2, axis)
    x = jnp.moveaxis(x, ax, 0)
    n, n_nodes = x.shape
    if n_nodes < 3:
        raise ValueError(
            f"`x` needs at least 3 nodes for FCD (FC triangles of >= 3 entries); got {n_nodes}."
        )
    window = _static_int("window", window, minimum=2)
    step = _static_int("step", step, minimum=1)
    if window > n:
        raise ValueError(f"`window`={window} is longer than the signal ({n} samples).")
    _check_finite("x", x)

    return _fcd(x, window, step)


# --------------------------------------------------------------------------------------------
# Phase synchrony
# --------------------------------------------------------------------------------------------


def order_parameter(theta: ArrayLike, axis: int = -1) -> Complex[Array, "*batch"]:
    """Complex Kuramoto order parameter $Z = \\langle e^{i\\theta_j} \\rangle_j$.

    $R = |Z| \\in [0, 1]$ measures phase coherence (1 means all phases equal) and
    $\\psi = \\arg Z$ is the mean phase. Use `jnp.abs(order_parameter(theta))` for $R$. It is
    a real function and so can be differentiated.

    Args:
        theta: phases [rad]; for `(n_times, n_nodes)` phases the default `axis=-1` averages
            over nodes and gives $Z(t)$.
        axis: the axis to average over (the oscillators).

    Returns:
        $Z$, complex (complex64 for float32 input), with the shape of `theta` less `axis`.

    Raises:
        ValueError: for a scalar, complex or (when concrete) non-finite `theta`.
    """
    theta, ax = _checked_input("theta", theta, axis, "at least one dimension")
    return jnp.mean(jax.lax.complex(jnp.cos(theta), jnp.sin(theta)), axis=ax)


def _plv(dphi: Array, axis: int) -> Array:
    c = jnp.mean(jnp.cos(dphi), axis=axis)
    s = jnp.mean(jnp.sin(dphi), axis=axis)
    return jnp.sqrt(c * c + s * s)


def phase_locking_value(
    phase_a: ArrayLike, phase_b: ArrayLike, axis: int = 0
) -> Float[Array, "*batch"]:
    """Phase-locking value $\\mathrm{PLV} = |\\langle e^{i(\\phi_a - \\phi_b)} \\rangle_t|$.

    It is 1 for a constant phase difference and tends to 0 for unrelated phases (Lachaux et
    al. 1999, Hum. Brain Mapp. 8:194–208).

    Args:
        phase_a: phases [rad], time along `axis` (e.g. from `analytic_phase`).
        phase_b: phases [rad], broadcastable against `phase_a`.
        axis: the time axis (after broadcasting).

    Returns:
        PLV in [0, 1], with the broadcast shape less `axis`.

    Raises:
        ValueError: for shapes that do not broadcast, complex or non-finite phases.
    """
    a = _real_array("phase_a", phase_a)
    b = _real_array("phase_b", phase_b)
    try:
        shape = jnp.broadcast_shapes(a.shape, b.shape)
    except ValueError as err:
        raise ValueError(
            f"`phase_a` {a.shape} and `phase_b` {b.shape} must have broadcastable shapes."
        ) from err
    if len(shape) == 0:
        raise ValueError("the phases must have a time axis; got scalars.")
    ax = _normalise_axis("phase_a - phase_b", len(shape), axis)
    _check_finite("phase_a", a)
    _check_finite("phase_b", b)
    return _plv(a - b, ax)


@eqx.filter_jit
def _analytic_signal(x, ax):
    n = x.shape[ax]
    h = np.zeros(n)
    h[0] = 1.0
    if n % 2 == 0:
        h[n // 2] = 1.0
        h[1 : n // 2] = 2.0
    else:
        h[1 : (n + 1) // 2] = 2.0
    h_shape = [1] * x.ndim
    h_shape[ax] = n
    spec = jnp.fft.fft(x, axis=ax)
    return jnp.fft.ifft(spec * jnp.asarray(h.reshape(h_shape), dtype=x.dtype), axis=ax)


def analytic_signal(x: ArrayLike, axis: int = 0) -> Complex[Array, "*batch"]:
    """Analytic signal $x + i\\,\\mathcal{H}[x]$ via the FFT, equal to `scipy.signal.hilbert`.

    The negative frequencies are zeroed and the positive ones doubled. The transform assumes
    the signal is periodic, so expect edge effects over about one period at each end. Remove
    the mean first if only the oscillation matters.

    Args:
        x: real signal, time along `axis`, uniformly sampled.
        axis: the time axis.

    Returns:
        The complex analytic signal, same shape as `x`. Its modulus is the amplitude
        envelope.

    Raises:
        ValueError: for a scalar, complex or (when concrete) non-finite `x`.
    """
    x, ax = _checked_input("x", x, axis, "a time axis")
    return _analytic_signal(x, ax)


def analytic_phase(x: ArrayLike, axis: int = 0) -> Float[Array, "*batch"]:
    """Instantaneous phase from the Hilbert transform: `np.angle(scipy.signal.hilbert(x))`.

    Args:
        x: real signal, time along `axis`, uniformly sampled. Remove its mean first; a DC
            offset distorts the phase. See `analytic_signal` for edge effects.
        axis: the time axis.

    Returns:
        Phase in $(-\\pi, \\pi]$ [rad], same shape and real dtype as `x`.

    Raises:
        ValueError: for a scalar, complex or (when concrete) non-finite `x`.
    """
    return jnp.angle(analytic_signal(x, axis=axis))


# --------------------------------------------------------------------------------------------
# Entrainment by periodic forcing
# --------------------------------------------------------------------------------------------


def _trimmed_input(x: Any, ts: Any, axis: int, trim: Any) -> tuple[Array, Array, int]:
    """Validated signal (time first), times and the number of samples dropped at each end."""
    x, ax = _checked_input("x", x, axis, "a time axis")
    x = jnp.moveaxis(x, ax, 0)
    n = x.shape[0]
    t = _time_grid(ts, n, "x").astype(x.dtype)
    if isinstance(trim, bool) or not isinstance(trim, (int, float)) or not 0 <= trim < 0.5:
        raise ValueError(f"`trim` must be a Python float in [0, 0.5); got {trim!r}.")
    cut = int(math.floor(trim * n))
    if n - 2 * cut < 2:
        raise ValueError(f"`x` has too few samples ({n}) to keep any after trim={trim}.")
    return x, t, cut


def _trimmed_phase(x: Array, t: Array, cut: int) -> tuple[Array, Array]:
    n = x.shape[0]
    phase = jnp.angle(_analytic_signal(x - jnp.mean(x, axis=0), 0))
    return phase[cut : n - cut], t[cut : n - cut]


@eqx.filter_jit
def _entrainment(x, t, f_d, cut):
    phase, t = _trimmed_phase(x, t, cut)
    drive = (2 * jnp.pi) * f_d * t
    return _plv(phase - drive.reshape(drive.shape + (1,) * (phase.ndim - 1)), 0)


@eqx.filter_jit
def _mean_frequency(x, t, cut):
    phase, t = _trimmed_phase(x, t, cut)
    phi = jnp.unwrap(phase, axis=0)
    tc = t - jnp.mean(t)
    tc = tc.reshape(tc.shape + (1,) * (phi.ndim - 1))
    slope = jnp.sum(tc * (phi - jnp.mean(phi, axis=0)), axis=0) / jnp.sum(tc * tc)
    return slope / (2 * jnp.pi)


def entrainment(
    x: ArrayLike,
    ts: ArrayLike,
    drive_frequency: ArrayLike,
    *,
    axis: int = 0,
    trim: float = 0.1,
) -> Float[Array, "*batch"]:
    """Entrainment by a periodic drive: the PLV between the signal phase and the drive phase.

    $E = |\\langle e^{i(\\phi(t) - 2\\pi f_d t)} \\rangle_t|$, where $\\phi$ is the
    analytic phase of the demeaned signal. $E = 1$ means 1:1 phase locking to the drive.
    Near 0 means no locking, for example a detuned oscillator that drifts through all phase
    differences. All inputs may be traced, so an Arnold-tongue map is a `jax.vmap` over
    drive frequency and amplitude of (simulate, then `entrainment`).

    Args:
        x: real signal, time along `axis`, uniformly sampled, e.g. `Solution.observed`.
        ts: sample times, shape `(n_times,)` [s], e.g. `Solution.ts`.
        drive_frequency: drive frequency $f_d$ [Hz], a scalar.
        axis: the time axis of `x`.
        trim: fraction of samples dropped at each end before averaging, against Hilbert
            edge effects (static, in [0, 0.5)).

    Returns:
        $E \\in [0, 1]$, with the shape of `x` less `axis` (one value per node).

    Raises:
        ValueError: for mismatched `ts`, a non-scalar or non-positive `drive_frequency`, a
            bad `trim`, or non-finite concrete input.
    """
    x, t, cut = _trimmed_input(x, ts, axis, trim)
    f_d = _positive_scalar("drive_frequency", drive_frequency, x.dtype)
    return _entrainment(x, t, f_d, cut)


def mean_frequency(
    x: ArrayLike, ts: ArrayLike, *, axis: int = 0, trim: float = 0.1
) -> Float[Array, "*batch"]:
    """Mean oscillation frequency from the slope of the unwrapped analytic phase.

    $\\bar f = \\frac{1}{2\\pi} \\frac{d\\phi}{dt}$, with the slope fitted by least squares
    to the unwrapped phase of the demeaned signal. This is well defined for an oscillation
    that goes round its phase once per cycle. It is not a good measure for broadband noise.

    Args:
        x: real signal, time along `axis`, uniformly sampled and well above the Nyquist
            limit for its frequency.
        ts: sample times, shape `(n_times,)` [s].
        axis: the time axis of `x`.
        trim: fraction of samples dropped at each end (see `entrainment`).

    Returns:
        Mean frequency [Hz], with the shape of `x` less `axis`.

    Raises:
        ValueError: as `entrainment`.
    """
    x, t, cut = _trimmed_input(x, ts, axis, trim)
    return _mean_frequency(x, t, cut)


def frequency_ratio(
    x: ArrayLike,
    ts: ArrayLike,
    drive_frequency: ArrayLike,
    *,
    axis: int = 0,
    trim: float = 0.1,
) -> Float[Array, "*batch"]:
    """Ratio of the signal's mean frequency to the drive frequency, $\\bar f / f_d$.

    Inside a 1:1 Arnold tongue the ratio is 1. Plateaus at other rationals p/q show p:q
    locking (the devil's staircase).

    Args:
        x: real signal, time along `axis`.
        ts: sample times, shape `(n_times,)` [s].
        drive_frequency: drive frequency $f_d$ [Hz], a scalar > 0.
        axis: the time axis of `x`.
        trim: fraction of samples dropped at each end (see `entrainment`).

    Returns:
        The dimensionless ratio, with the shape of `x` less `axis`.

    Raises:
        ValueError: as `entrainment`.
    """
    x, t, cut = _trimmed_input(x, ts, axis, trim)
    f_d = _positive_scalar("drive_frequency", drive_frequency, x.dtype)
    return _mean_frequency(x, t, cut) / f_d
