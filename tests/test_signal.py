"""Signal features: spectra, band power, peaks, specparam fit, FC/FCD, phase and entrainment.

Oracles: scipy.signal (welch, hilbert), numpy (corrcoef, loops), scipy.optimize.curve_fit,
closed forms (Gaussian peaks, sinusoid power, Adler locking condition) and central
differences for gradients.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate
import scipy.optimize
import scipy.signal

from rosetta_jax.analysis._signal import (
    analytic_phase,
    analytic_signal,
    band_power,
    entrainment,
    fcd,
    frequency_ratio,
    functional_connectivity,
    mean_frequency,
    order_parameter,
    peak_frequency,
    phase_locking_value,
    welch,
)
from rosetta_jax.analysis._specparam import SpectrumFit, fit_aperiodic, fit_spectrum


def _rng(seed=0):
    return np.random.default_rng(seed)


def _signal(n=1200, channels=3, seed=0):
    """Noise, a 12 Hz sine and a linear trend per channel at fs = 200 Hz."""
    rng = _rng(seed)
    t = np.arange(n) / 200.0
    x = rng.standard_normal((n, channels))
    x += np.sin(2 * np.pi * 12.0 * t)[:, None] * np.arange(1, channels + 1)
    x += np.linspace(0.0, 2.0, n)[:, None]
    return x


def _close_to_scipy(ours, ref, rtol=1e-6):
    ours = np.asarray(ours)
    assert ours.shape == ref.shape
    # Bins that are zero up to round-off (DC after detrending) get an absolute tolerance.
    np.testing.assert_allclose(ours, ref, rtol=rtol, atol=1e-12 * np.max(np.abs(ref)))


# ------------------------------------------------------------------------------------------
# welch
# ------------------------------------------------------------------------------------------

WELCH_CASES = [
    dict(),
    dict(nperseg=100, noverlap=30, detrend="linear"),
    dict(nperseg=128, noverlap=0, window="hamming", detrend=False),
    dict(nperseg=101, window="boxcar", scaling="spectrum"),
    dict(nperseg=64, noverlap=63, average="median"),
    dict(nperseg=90, window="hamming", average="median", detrend="linear"),
    dict(nperseg=64, nfft=100, window="blackman"),
    dict(nperseg=1200, detrend="linear"),  # a single segment
]


@pytest.mark.parametrize(
    "kwargs, layout",
    [(kw, "axis0") for kw in WELCH_CASES]
    + [(kw, "3d") for kw in WELCH_CASES[:5]]
    + [(WELCH_CASES[0], "1d"), (WELCH_CASES[1], "axis1"), (WELCH_CASES[5], "axis1")],
)
def test_welch_matches_scipy(kwargs, layout):
    x = _signal()
    if layout == "1d":
        x, axis = x[:, 0], 0
    elif layout == "axis0":
        axis = 0
    elif layout == "axis1":
        x, axis = x.T, 1
    else:
        x, axis = np.stack([x, 2 * x[::-1]], axis=0), 1  # (2, n_times, 3)
    f, p = welch(x, 200.0, axis=axis, **kwargs)
    f_ref, p_ref = scipy.signal.welch(x, 200.0, axis=axis, **kwargs)
    np.testing.assert_allclose(f, f_ref, rtol=1e-12)
    _close_to_scipy(p, p_ref)
    assert p.dtype == jnp.float64


def test_welch_array_window_and_callable_detrend():
    x = _signal()
    win = scipy.signal.get_window("hann", 128)
    f1, p1 = welch(x, 200.0, window=jnp.asarray(win), detrend=False)  # nperseg from window
    _, p2 = welch(x, 200.0, nperseg=128, detrend=lambda s: s)
    _, p_ref = scipy.signal.welch(x, 200.0, nperseg=128, axis=0, detrend=False)
    _close_to_scipy(p1, p_ref)
    _close_to_scipy(p2, p_ref)


def test_welch_float32_and_sine_power():
    fs, a, f0 = 256.0, 3.0, 32.0  # f0 on a bin: the Hann main lobe is +-2 bins
    t = np.arange(4096) / fs
    x = (a * np.sin(2 * np.pi * f0 * t)).astype(np.float32)
    f, p = welch(x, fs, nperseg=256)
    assert f.dtype == p.dtype == jnp.float32
    _, p_ref = scipy.signal.welch(x.astype(np.float64), fs, nperseg=256)
    np.testing.assert_allclose(p, p_ref, rtol=2e-4, atol=1e-6 * p_ref.max())
    # The density integrates to the sine's power a^2 / 2.
    f64, p64 = welch(x.astype(np.float64), fs, nperseg=256)
    np.testing.assert_allclose(band_power(f64, p64, (f0 - 4, f0 + 4)), a**2 / 2, rtol=1e-6)


def test_welch_jit_vmap_grad():
    x = jnp.asarray(_signal(n=512))
    f, p = welch(x, 200.0, nperseg=128)
    run = jax.jit(functools.partial(welch, nperseg=128))
    np.testing.assert_allclose(run(x, 200.0)[1], p, rtol=1e-12)
    # vmap over channels equals the multi-channel call (frequency on axis 0 there).
    p_v = jax.vmap(lambda xi: welch(xi, 200.0, nperseg=128)[1], in_axes=1)(x)
    np.testing.assert_allclose(p_v, p.T, rtol=1e-12)
    # Gradient w.r.t. the sine amplitude of the alpha-band power, against central differences.
    t = jnp.arange(512) / 200.0
    noise = x[:, 0]

    def alpha(amp, fs):
        sig = noise + amp * jnp.sin(2 * jnp.pi * 10.0 * t)
        ff, pp = welch(sig, fs, nperseg=128)
        return band_power(ff, pp, (8.0, 12.0))

    g = jax.grad(alpha, argnums=(0, 1))(1.5, 200.0)
    h = 1e-5
    fd_amp = (alpha(1.5 + h, 200.0) - alpha(1.5 - h, 200.0)) / (2 * h)
    fd_fs = (alpha(1.5, 200.0 + h) - alpha(1.5, 200.0 - h)) / (2 * h)
    np.testing.assert_allclose(g[0], fd_amp, rtol=1e-6)
    np.testing.assert_allclose(g[1], fd_fs, rtol=1e-5)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(nperseg=2000), "`nperseg`=2000 is longer"),
        (dict(fs=0.0), "`fs` must be a finite number > 0"),
        (dict(fs=-1.0), "`fs`"),
        (dict(noverlap=256), "`noverlap`"),
        (dict(nfft=100), "`nfft`"),
        (dict(window="kaiser"), "`window`"),
        (dict(window=np.ones(10), nperseg=20), "`window` must have shape"),
        (dict(detrend="quadratic"), "`detrend`"),
        (dict(scaling="psd"), "`scaling`"),
        (dict(average="max"), "`average`"),
        (dict(axis=2), "`axis`=2 is out of range"),
        (dict(nperseg=12.5), "`nperseg` must be a Python int"),
    ],
)
def test_welch_errors(kwargs, match):
    x = _signal(n=1000)
    fs = kwargs.pop("fs", 200.0)
    with pytest.raises(ValueError, match=match):
        welch(x, fs, **kwargs)


def test_welch_rejects_nan_and_complex():
    x = _signal(n=1000)
    x[10, 1] = np.nan
    with pytest.raises(ValueError, match="`x` contains 1 NaN"):
        welch(x, 200.0)
    with pytest.raises(ValueError, match="`x` must be real"):
        welch(np.ones(300) * 1j, 200.0)
    # Under jit the values are unknown: no error, NaN propagates.
    assert np.isnan(jax.jit(welch)(jnp.asarray(x), 200.0)[1]).any()


# ------------------------------------------------------------------------------------------
# band_power
# ------------------------------------------------------------------------------------------


def test_band_power_trapezoid_and_interpolated_edges():
    rng = _rng(1)
    f = np.linspace(0.0, 50.0, 101)  # 0.5 Hz grid
    psd = rng.uniform(0.5, 2.0, size=(101, 4))
    # Edges on the grid: plain trapezoid over the bins inside.
    inside = (f >= 8.0) & (f <= 13.0)
    ref = scipy.integrate.trapezoid(psd[inside], f[inside], axis=0)
    np.testing.assert_allclose(band_power(f, psd, (8.0, 13.0)), ref, rtol=1e-12)
    # Edges between bins: the integral of the linear interpolant (exact on a refined grid).
    lo, hi = 8.2, 12.7
    grid = np.sort(np.concatenate([[lo, hi], f[(f > lo) & (f < hi)]]))
    ref = [scipy.integrate.trapezoid(np.interp(grid, f, psd[:, j]), grid) for j in range(4)]
    np.testing.assert_allclose(band_power(f, psd, (lo, hi)), ref, rtol=1e-12)
    # Frequency on another axis.
    np.testing.assert_allclose(band_power(f, psd.T, (lo, hi), axis=1), ref, rtol=1e-12)
    # Relative power of a partition of the grid sums to one.
    rel = sum(band_power(f, psd, b, relative=True) for b in [(0, 4.1), (4.1, 30.3), (30.3, 50)])
    np.testing.assert_allclose(rel, 1.0, rtol=1e-12)


def test_band_power_is_smooth_in_the_edges():
    f = jnp.linspace(0.0, 50.0, 101)
    psd = 1.0 / (1.0 + f) + jnp.exp(-((f - 10.0) ** 2) / 8.0)
    g_lo, g_hi = jax.grad(lambda b: band_power(f, psd, b))(jnp.array([8.3, 12.6]))
    np.testing.assert_allclose(g_lo, -np.interp(8.3, f, psd), rtol=1e-12)
    np.testing.assert_allclose(g_hi, np.interp(12.6, f, psd), rtol=1e-12)
    jitted = jax.jit(band_power)(f, psd, jnp.array([8.3, 12.6]))
    np.testing.assert_allclose(jitted, band_power(f, psd, (8.3, 12.6)), rtol=1e-14)


@pytest.mark.parametrize(
    "args, match",
    [
        ((np.linspace(0, 1, 5), np.ones(5), (0.6, 0.2)), "f_lo < f_hi"),
        ((np.linspace(0, 1, 5), np.ones(6), (0.1, 0.2)), "`freqs` has 5 entries"),
        ((np.array([0, 1, 1, 2.0]), np.ones(4), (0.1, 0.2)), "strictly increasing"),
        ((np.linspace(0, 1, 5), np.ones(5), (0.1, 0.2, 0.3)), "`band` must be a pair"),
        ((np.linspace(0, 1, 5), np.full(5, np.nan), (0.1, 0.2)), "`psd` contains 5 NaN"),
    ],
)
def test_band_power_errors(args, match):
    with pytest.raises(ValueError, match=match):
        band_power(*args)


# ------------------------------------------------------------------------------------------
# peak_frequency
# ------------------------------------------------------------------------------------------


def test_peak_frequency_gaussian_and_lorentzian_between_bins():
    df = 0.5
    f = np.arange(0.0, 60.0 + df / 2, df)
    f0s = 20.0 + df * np.linspace(0.0, 0.5, 6)
    gauss = np.exp(-((f[:, None] - f0s) ** 2) / (2 * 1.5**2))
    # A Gaussian is a parabola in log power: recovered exactly.
    np.testing.assert_allclose(peak_frequency(f, gauss), f0s, atol=1e-9)
    # On a 1/f background and for a Lorentzian (half-width 4 bins): within 1% of a bin.
    with_bg = gauss + 0.05 / (1.0 + f[:, None])
    assert np.max(np.abs(peak_frequency(f, with_bg) - f0s)) < 0.01 * df
    lorentz = 1.0 / (1.0 + ((f[:, None] - f0s) / (4 * df)) ** 2)
    assert np.max(np.abs(peak_frequency(f, lorentz) - f0s)) < 0.01 * df
    # Non-uniform grid: still exact for a Gaussian.
    fn = np.sort(_rng(2).uniform(0.0, 40.0, 300))
    pn = np.exp(-((fn - 17.123) ** 2) / (2 * 2.0**2))
    np.testing.assert_allclose(peak_frequency(fn, pn), 17.123, atol=1e-9)


def test_peak_frequency_band_axis_and_softmax():
    f = np.arange(0.0, 60.25, 0.25)
    two = 2.0 * np.exp(-((f - 10.3) ** 2) / 2.0) + np.exp(-((f - 21.7) ** 2) / 4.5)
    np.testing.assert_allclose(peak_frequency(f, two), 10.3, atol=1e-9)
    np.testing.assert_allclose(peak_frequency(f, two, (15.0, 30.0)), 21.7, atol=1e-6)
    stacked = np.stack([two, two[::-1]], axis=1)  # (n_freqs, 2)
    np.testing.assert_allclose(
        peak_frequency(f, stacked.T, axis=1), peak_frequency(f, stacked), atol=1e-12
    )
    # Soft-argmax of a sampled Gaussian: weights P^(1/T) form a Gaussian of variance
    # sigma^2 T, whose sampled mean is its center up to exp(-2 pi^2 sigma^2 T / df^2).
    gauss = np.exp(-((f - 23.37) ** 2) / (2 * 2.0**2))
    soft = peak_frequency(f, gauss, (5.0, 45.0), method="softmax", temperature=1.0)
    np.testing.assert_allclose(soft, 23.37, atol=1e-9)


@pytest.mark.parametrize("method", ["parabolic", "softmax"])
def test_peak_frequency_gradients(method):
    f = jnp.arange(0.0, 40.25, 0.25)

    def spectrum(center):
        return jnp.exp(-((f - center) ** 2) / (2 * 1.5**2)) + 0.1 / (1.0 + f)

    kw = dict(band=(4.0, 30.0), method=method, temperature=0.5)
    peak = lambda c: peak_frequency(f, spectrum(c), **kw)
    g = jax.grad(peak)(12.37)
    h = 1e-5
    assert np.isfinite(g)
    np.testing.assert_allclose(g, (peak(12.37 + h) - peak(12.37 - h)) / (2 * h), rtol=1e-6)
    assert 0.9 < g < 1.1  # the estimate follows the true center
    # Gradient w.r.t. the whole PSD array, against central differences on a few entries.
    psd = spectrum(12.37)
    gp = jax.grad(lambda p: peak_frequency(f, p, **kw))(psd)
    assert np.all(np.isfinite(gp))
    for i in [47, 49, 50, 52, 60]:
        e = jnp.zeros_like(psd).at[i].set(h)
        fd = (peak_frequency(f, psd + e, **kw) - peak_frequency(f, psd - e, **kw)) / (2 * h)
        np.testing.assert_allclose(gp[i], fd, rtol=1e-5, atol=1e-9)


def test_peak_frequency_errors():
    f = np.linspace(0, 10, 11)
    with pytest.raises(ValueError, match="`band` contains no frequency"):
        peak_frequency(f, np.ones(11), (3.2, 3.8))
    with pytest.raises(ValueError, match="`method`"):
        peak_frequency(f, np.ones(11), method="argmax")
    with pytest.raises(ValueError, match="`temperature`"):
        peak_frequency(f, np.ones(11), method="softmax", temperature=0.0)


# ------------------------------------------------------------------------------------------
# specparam-style fit
# ------------------------------------------------------------------------------------------

FREQS = np.arange(1.0, 50.25, 0.25)
PEAKS = np.array([[10.0, 0.6, 1.5], [22.0, 0.4, 2.5]])


def _log_spectrum(offset, knee, exponent, peaks=PEAKS, f=FREQS):
    y = offset - np.log10(knee + f**exponent)
    for c, a, w in peaks:
        y = y + a * np.exp(-((f - c) ** 2) / (2 * w**2))
    return y


def _full_model(f, offset, knee, exponent, *peaks):
    return _log_spectrum(offset, knee, exponent, np.reshape(peaks, (-1, 3)), f)


@pytest.mark.parametrize("knee", [0.0, 20.0])
def test_fit_spectrum_recovers_noiseless_and_noisy(knee):
    exponent = 2.0 if knee else 1.5
    y = _log_spectrum(1.0, knee, exponent)
    fit = fit_spectrum(FREQS, 10**y, n_peaks=2, knee=bool(knee))
    assert isinstance(fit, SpectrumFit)
    truth = [1.0, knee, exponent]
    np.testing.assert_allclose([fit.offset, fit.knee, fit.exponent], truth, rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(fit.peaks, PEAKS, rtol=1e-3)
    np.testing.assert_allclose(fit.fitted, y, atol=1e-6)
    np.testing.assert_allclose(fit.r_squared, 1.0, atol=1e-9)

    noisy = y + 0.03 * _rng(3).standard_normal(FREQS.size)
    fit = fit_spectrum(FREQS, 10**noisy, n_peaks=2, knee=bool(knee))
    np.testing.assert_allclose(fit.exponent, exponent, rtol=0.03)
    np.testing.assert_allclose(fit.offset, 1.0, rtol=0.05)
    if knee:  # the knee frequency k^(1/chi) is the well-determined quantity
        np.testing.assert_allclose(
            fit.knee ** (1 / fit.exponent), knee ** (1 / exponent), rtol=0.05
        )
    np.testing.assert_allclose(fit.peak_center, PEAKS[:, 0], rtol=0.01)
    np.testing.assert_allclose(fit.peak_power, PEAKS[:, 1], rtol=0.05)
    np.testing.assert_allclose(fit.peak_width, PEAKS[:, 2], rtol=0.05)
    assert 0.99 < fit.r_squared < 1.0
    np.testing.assert_allclose(fit.error, 0.03, rtol=0.2)
    # Same least-squares minimum as scipy's curve_fit started at the truth.
    p0 = [1.0, knee, exponent, *PEAKS.ravel()]
    if knee:
        ref, _ = scipy.optimize.curve_fit(_full_model, FREQS, noisy, p0=p0)
    else:
        ref, _ = scipy.optimize.curve_fit(
            lambda f, o, e, *pk: _full_model(f, o, 0.0, e, *pk), FREQS, noisy, p0=p0[:1] + p0[2:]
        )
        ref = np.insert(ref, 1, 0.0)
    np.testing.assert_allclose(fit.exponent, ref[2], rtol=1e-5)
    np.testing.assert_allclose(fit.peaks.ravel(), ref[3:], rtol=1e-4)


@pytest.mark.parametrize("knee", [0.0, 50.0])
def test_aperiodic_fits_match_curve_fit(knee):
    exponent = 2.5 if knee else 1.2
    y = _log_spectrum(0.5, knee, exponent, peaks=[])
    # Noiseless and without peaks, the robust aperiodic fit is exact.
    exact = fit_aperiodic(FREQS, 10**y, knee=bool(knee))
    assert exact.peaks.shape == (0, 3)
    np.testing.assert_allclose(
        [exact.offset, exact.knee, exact.exponent], [0.5, knee, exponent], rtol=1e-6, atol=1e-9
    )
    # In noise, fit_spectrum without peaks is the least-squares fit over all points: the
    # minimum scipy's curve_fit finds.
    noisy = y + 0.05 * _rng(4).standard_normal(FREQS.size)
    fit = fit_spectrum(FREQS, 10**noisy, n_peaks=0, knee=bool(knee))
    if knee:
        model = lambda f, o, k, e: o - np.log10(k + f**e)
        ref, _ = scipy.optimize.curve_fit(model, FREQS, noisy, p0=[0.5, knee, exponent])
    else:
        model = lambda f, o, e: o - e * np.log10(f)
        ref, _ = scipy.optimize.curve_fit(model, FREQS, noisy, p0=[0.5, exponent])
        ref = np.insert(ref, 1, 0.0)
    np.testing.assert_allclose([fit.offset, fit.knee, fit.exponent], ref, rtol=1e-6, atol=1e-9)
    # The robust fit (which clips outliers) stays within a few % of the truth.
    robust = fit_aperiodic(FREQS, 10**noisy, knee=bool(knee))
    np.testing.assert_allclose(robust.exponent, exponent, rtol=0.03)
    if not knee:
        # With peaks, the robust fit ignores them: the slope stays near the truth.
        with_peaks = fit_aperiodic(FREQS, 10 ** _log_spectrum(1.0, 0.0, 1.5))
        np.testing.assert_allclose(with_peaks.exponent, 1.5, rtol=0.01)


@pytest.mark.slow  # 20-30 s: default-run budget (the calibration test runs there)
def test_fit_spectrum_batches_over_channels_and_freq_range():
    exps = np.array([1.0, 1.5, 2.0])
    logs = np.stack([_log_spectrum(1.0, 0.0, e) for e in exps], axis=1)  # (n_freqs, 3)
    psd = 10**logs
    fit = fit_spectrum(FREQS, psd, n_peaks=2)
    assert fit.exponent.shape == (3,) and fit.peaks.shape == (3, 2, 3)
    assert fit.fitted.shape == (3, FREQS.size)
    np.testing.assert_allclose(fit.exponent, exps, rtol=1e-6)
    # The same with frequency last, and under jit + vmap.
    fit_t = fit_spectrum(FREQS, psd.T, n_peaks=2, axis=1)
    np.testing.assert_allclose(fit_t.peaks, fit.peaks, rtol=1e-10)
    fit_v = jax.jit(jax.vmap(lambda p: fit_spectrum(FREQS, p, n_peaks=2), in_axes=1))(psd)
    np.testing.assert_allclose(fit_v.exponent, fit.exponent, rtol=1e-10)
    # A frequency range keeps only the first peak; the knee-free fit is then exact on it.
    single = 10 ** _log_spectrum(1.0, 0.0, 1.5, peaks=PEAKS[:1])
    fit_r = fit_spectrum(FREQS, single, n_peaks=1, freq_range=(2.0, 18.0))
    np.testing.assert_allclose(fit_r.peaks[0], PEAKS[0], rtol=1e-6)


def test_fit_spectrum_gradient_through_the_fit():
    # For a noiseless spectrum the fitted exponent equals the true one, so d fit / d truth = 1.
    def fitted_exponent(exponent):
        logp = 1.0 - jnp.log10(FREQS**exponent) + 0.6 * jnp.exp(-((FREQS - 10.0) ** 2) / 4.5)
        return fit_spectrum(FREQS, 10**logp, n_peaks=1).exponent

    g = jax.grad(fitted_exponent)(1.5)
    np.testing.assert_allclose(g, 1.0, rtol=1e-6)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(psd=-np.ones(FREQS.size)), "`psd` must be > 0"),
        (dict(n_peaks=-1), "`n_peaks` must be >= 0"),
        (dict(knee=1), "`knee` must be a Python bool"),
        (dict(freq_range=(30.0, 10.0)), "`freq_range` must satisfy"),
        (dict(freq_range=(10.0, 11.0), n_peaks=2), "too few"),
        (dict(peak_width_limits=(2.0, 1.0)), "`peak_width_limits`"),
        (dict(psd=np.ones(7)), "`freqs` has"),
    ],
)
def test_fit_spectrum_errors(kwargs, match):
    psd = kwargs.pop("psd", 10 ** _log_spectrum(1.0, 0.0, 1.5))
    with pytest.raises(ValueError, match=match):
        fit_spectrum(FREQS, psd, **kwargs)


# ------------------------------------------------------------------------------------------
# Functional connectivity
# ------------------------------------------------------------------------------------------


def test_functional_connectivity_matches_corrcoef():
    rng = _rng(5)
    x = rng.standard_normal((500, 6)) @ rng.standard_normal((6, 6))
    fc = functional_connectivity(x)
    np.testing.assert_allclose(fc, np.corrcoef(x, rowvar=False), atol=1e-10)
    assert np.all(np.diag(fc) == 1.0)
    np.testing.assert_allclose(functional_connectivity(x.T, axis=1), fc, atol=1e-14)
    np.testing.assert_allclose(jax.jit(functional_connectivity)(x), fc, atol=1e-14)
    g = jax.grad(lambda y: functional_connectivity(y)[0, 1])(jnp.asarray(x))
    assert np.all(np.isfinite(g))


def test_fcd_matches_numpy_loop():
    rng = _rng(6)
    x = rng.standard_normal((300, 5)) + np.sin(np.arange(300) / 20.0)[:, None] * rng.uniform(
        0, 2, 5
    )
    window, step = 60, 15
    mats = []
    for s in range(0, 300 - window + 1, step):
        c = np.corrcoef(x[s : s + window], rowvar=False)
        mats.append(c[np.triu_indices(5, k=1)])
    ref = np.corrcoef(np.array(mats))
    out = fcd(x, window, step)
    assert out.shape == ref.shape == (17, 17)
    np.testing.assert_allclose(out, ref, atol=1e-10)
    np.testing.assert_allclose(fcd(x.T, window, step, axis=1), ref, atol=1e-10)
    jitted = jax.jit(fcd, static_argnums=(1, 2))(jnp.asarray(x), window, step)
    np.testing.assert_allclose(jitted, ref, atol=1e-10)


def test_connectivity_errors():
    x = _rng(7).standard_normal((100, 4))
    with pytest.raises(ValueError, match="`x` must be 2-D"):
        functional_connectivity(x[:, 0])
    x_const = x.copy()
    x_const[:, 2] = 1.0
    with pytest.raises(ValueError, match="constant"):
        functional_connectivity(x_const)
    with pytest.raises(ValueError, match="`window`=200 is longer"):
        fcd(x, 200, 10)
    with pytest.raises(ValueError, match="at least 3 nodes"):
        fcd(x[:, :2], 20, 10)
    with pytest.raises(ValueError, match="`step` must be >= 1"):
        fcd(x, 20, 0)


# ------------------------------------------------------------------------------------------
# Phase synchrony
# ------------------------------------------------------------------------------------------


def test_order_parameter_and_plv():
    rng = _rng(8)
    theta = rng.uniform(-np.pi, np.pi, (200, 7))
    z = order_parameter(theta)
    np.testing.assert_allclose(z, np.mean(np.exp(1j * theta), axis=-1), atol=1e-14)
    assert z.shape == (200,) and jnp.iscomplexobj(z)
    # Closed forms: equal phases give R = 1; evenly spread phases give R = 0.
    np.testing.assert_allclose(jnp.abs(order_parameter(np.full(5, 0.3))), 1.0, atol=1e-14)
    np.testing.assert_allclose(order_parameter(2 * np.pi * np.arange(8) / 8), 0.0, atol=1e-14)
    assert order_parameter(theta.astype(np.float32)).dtype == jnp.complex64

    a, b = theta[:, :3], theta[:, 3:6]
    ref = np.abs(np.mean(np.exp(1j * (a - b)), axis=0))
    np.testing.assert_allclose(phase_locking_value(a, b), ref, atol=1e-14)
    np.testing.assert_allclose(phase_locking_value(a, a + 1.234), 1.0, atol=1e-14)
    with pytest.raises(ValueError, match="broadcastable"):
        phase_locking_value(a, theta)


@pytest.mark.parametrize("n", [500, 501])
def test_analytic_phase_matches_scipy_hilbert(n):
    x = _signal(n=n)
    np.testing.assert_allclose(analytic_signal(x), scipy.signal.hilbert(x, axis=0), atol=1e-12)
    ref = np.angle(scipy.signal.hilbert(x.T, axis=1))
    np.testing.assert_allclose(analytic_phase(x.T, axis=1), ref, atol=1e-12)
    assert analytic_phase(x.astype(np.float32)).dtype == jnp.float32


# ------------------------------------------------------------------------------------------
# Entrainment
# ------------------------------------------------------------------------------------------

FS = 500.0
TS = np.arange(0.0, 20.0, 1 / FS)


def test_entrainment_of_sinusoids():
    locked = np.cos(2 * np.pi * 8.0 * TS + 0.7)
    detuned = np.cos(2 * np.pi * 8.5 * TS)
    x = np.stack([locked, detuned], axis=1)
    e = entrainment(x, TS, 8.0)
    assert e[0] > 0.999
    assert e[1] < 0.05
    np.testing.assert_allclose(mean_frequency(x, TS), [8.0, 8.5], rtol=1e-4)
    np.testing.assert_allclose(frequency_ratio(x, TS, 8.0), [1.0, 8.5 / 8.0], rtol=1e-4)
    np.testing.assert_allclose(entrainment(x.T, TS, 8.0, axis=1), e, atol=1e-14)


def _adler_grid(omega, drive, strength):
    """Forced phase oscillators, RK4 in numpy, vectorised over a parameter grid.

    d theta / dt = 2 pi omega + A sin(2 pi Omega t - theta); the phase difference obeys
    Adler's equation, which locks iff |2 pi (Omega - omega)| < A.
    """
    dt = 1 / FS

    def rhs(t, th):
        return 2 * np.pi * omega + strength * np.sin(2 * np.pi * drive * t - th)

    theta = np.zeros(np.broadcast(drive, strength).shape)
    out = np.empty((TS.size,) + theta.shape)
    for i, t in enumerate(TS):
        out[i] = theta
        k1 = rhs(t, theta)
        k2 = rhs(t + dt / 2, theta + dt / 2 * k1)
        k3 = rhs(t + dt / 2, theta + dt / 2 * k2)
        k4 = rhs(t + dt, theta + dt * k3)
        theta = theta + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return np.cos(out)


def test_entrainment_of_forced_phase_oscillator_is_an_arnold_tongue():
    omega = 10.0  # natural frequency [Hz]
    drives = np.array([9.2, 9.6, 10.3, 10.8, 11.5, 13.0])  # [Hz], none on a tongue edge
    strengths = 2 * np.pi * np.array([0.5, 1.0, 2.0])  # A [rad/s]; locks iff |dOmega| < A/2pi
    D, A = np.meshgrid(drives, strengths, indexing="ij")
    x = _adler_grid(omega, D, A)  # (n_times, 6, 3)

    # An Arnold-tongue map is a vmap over the drive grid.
    tongue = jax.jit(jax.vmap(jax.vmap(entrainment, in_axes=(1, None, 0)), in_axes=(1, None, 0)))(
        x, TS, D
    )
    ratio = jax.vmap(jax.vmap(frequency_ratio, in_axes=(1, None, 0)), in_axes=(1, None, 0))(
        x, TS, D
    )
    detuning = 2 * np.pi * (D - omega)
    inside = np.abs(detuning) < A
    assert inside.sum() >= 5 and (~inside).sum() >= 5
    assert np.all(tongue[inside] > 0.95)
    np.testing.assert_allclose(ratio[inside], 1.0, atol=1e-3)
    # Outside, the time-averaged PLV of Adler's equation is (|d| - sqrt(d^2 - A^2)) / A.
    slip = np.sqrt(np.maximum(detuning**2 - A**2, 0.0))
    np.testing.assert_allclose(tongue[~inside], ((np.abs(detuning) - slip) / A)[~inside], atol=0.05)
    assert np.all(tongue[~inside] < 0.5)
    # Outside, the mean frequency follows the closed form Omega - sgn(d) sqrt(d^2 - A^2) / 2pi.
    beat = np.sign(detuning) * slip / (2 * np.pi)
    np.testing.assert_allclose((ratio * D)[~inside], (D - beat)[~inside], rtol=5e-3)
    # Gradient w.r.t. the drive frequency is finite.
    g = jax.grad(entrainment, argnums=2)(jnp.asarray(x[:, 2, 2]), TS, 10.3)
    assert np.isfinite(g)


def test_entrainment_errors():
    x = np.cos(TS)
    with pytest.raises(ValueError, match="`ts` has"):
        entrainment(x, TS[:-1], 1.0)
    with pytest.raises(ValueError, match="`drive_frequency` must be a finite number > 0"):
        entrainment(x, TS, -1.0)
    with pytest.raises(ValueError, match="`drive_frequency` must be a scalar"):
        entrainment(x, TS, np.ones(2))
    with pytest.raises(ValueError, match="`ts` must be strictly increasing"):
        mean_frequency(x, TS[::-1])
    with pytest.raises(ValueError, match="`trim`"):
        mean_frequency(x, TS, trim=0.5)
