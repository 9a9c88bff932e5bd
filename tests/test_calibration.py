"""Calibration of the Laplace credible intervals on synthetic spectra with known parameters and
a known noise level (the small default-run version of benchmarks/bench_calibration.py;
about 40 s on 2 cores).

Each of 40 synthetic recordings is a damped oscillator's spectrum (two Lorentzians; Castaldo
et al. 2026, section 2.2.3) on a power-law background with a measurement floor, written here
in numpy, seen through the noise of an average of 10 periodograms (each frequency
$P\\,\\Gamma(10, 1/10)$, drawn exactly). All 40 are fitted in one regional `fit_spectra` call
(one independent problem per channel) with `fit.LogNormal(n_segments=10)`. The 90 % intervals
of the 200 parameters (5 per recording) should contain the truth about 90 % of the time: with
200 intervals the binomial standard error of the coverage is 0.021, so the accepted range
0.82-0.97 fails a miscalibrated interval (e.g. one 30 % too narrow covers about 0.75).
"""

import numpy as np
import pytest

from rosetta_jax import fit, models


N_SETS, N_SEGMENTS = 40, 10
F = np.arange(2.0, 45.01, 0.5)


def _lorentzians(f, alpha, omega):
    w = 2 * np.pi * f
    return 1 / (alpha**2 + (w - omega) ** 2) + 1 / (alpha**2 + (w + omega) ** 2)


def synthetic_spectra(rng, n):
    """True parameters and noisy spectra `(n_freqs, n)` of `n` recordings."""
    truth = {
        "alpha": rng.uniform(-20.0, -6.0, n),
        "omega": 2 * np.pi * rng.uniform(8.0, 12.0, n),
        "log_gain": rng.uniform(0.3, 0.9, n),
        "exponent": rng.uniform(1.0, 2.0, n),
        "log_floor": rng.uniform(-3.4, -2.6, n),
    }
    s = _lorentzians(F[:, None], truth["alpha"], truth["omega"])
    s = s / s.max(axis=0)
    background = F[:, None] ** -truth["exponent"]
    psd = background * (1 + 10 ** truth["log_gain"] * s) + 10 ** truth["log_floor"]
    noisy = psd * rng.gamma(N_SEGMENTS, 1.0 / N_SEGMENTS, size=psd.shape)
    return truth, noisy


def fit_synthetic(psd, **kw):
    return fit.fit_spectra(
        (F, psd),
        models.DampedOscillator(alpha=-12.0, omega=2 * np.pi * 10.0),
        params=("alpha", "omega"),
        transforms=(fit.Bounded(-40.0, -2.0), fit.Bounded(2 * np.pi * 6, 2 * np.pi * 14)),
        aperiodic="fixed",
        dispersion=False,
        band=None,
        likelihood=fit.LogNormal(n_segments=N_SEGMENTS),
        progress=False,
        **kw,
    )


@pytest.fixture(scope="module")
def calibrated():
    truth, psd = synthetic_spectra(np.random.default_rng(11), N_SETS)
    return truth, fit_synthetic(psd, starts=1)  # one start: the problems are easy


def test_laplace_90_percent_intervals_cover_the_truth(calibrated):
    truth, res = calibrated
    lap = res.laplace
    assert lap.coords == ("alpha", "omega", "log_gain", "exponent", "log_floor")
    inside = np.stack(
        [
            (lap.ci90[:, i, 0] <= truth[c]) & (truth[c] <= lap.ci90[:, i, 1])
            for i, c in enumerate(lap.coords)
        ]
    )
    assert 0.82 <= inside.mean() <= 0.97, inside.mean(axis=1)
    assert np.mean(lap.converged) >= 0.9


@pytest.mark.slow  # a second Laplace program (another start): default-run budget
def test_laplace_errors_shrink_with_more_segments(calibrated):
    # Four times the segments: the log-PSD noise sd falls by about 2 (trigamma(n) ~ 1/n), and
    # so do the standard errors of a well-identified parameter (the peak frequency). The same
    # posterior with the other noise level
    # (the noise level is an array: the compiled program is reused).
    _, res = calibrated
    sigma = [float(fit.LogNormal(n_segments=n).sigma_known()) for n in (10, 40)]
    assert sigma[0] / sigma[1] == pytest.approx(2.0, rel=0.1)
    post = res.posterior.with_likelihood(fit.LogNormal(n_segments=40))
    finer = fit.laplace(post, res.laplace.mode_u)
    ratio = res.laplace.se[:, 1] / finer.se[:, 1]
    # (The mode itself moves a little where the prior or the data's curvature matter, so the
    # ratio is checked over the 40 recordings: its median.)
    assert np.median(ratio) == pytest.approx(sigma[0] / sigma[1], rel=0.05)


def _coverage(lap, truth):
    inside = [
        (lap.ci90[:, i, 0] <= truth[c]) & (truth[c] <= lap.ci90[:, i, 1])
        for i, c in enumerate(lap.coords)
    ]
    return float(np.mean(inside))


def test_importance_corrected_intervals_cover_the_truth_in_float32():
    # float32 throughout (the benchmark's and a user's precision), other recordings, and
    # the priors uniform on the ranges the truths are drawn from (a simulation-based
    # calibration: the exact posterior's 90 % intervals cover 90 % on average): the
    # importance-weighted intervals (`fit.importance`) cover the truth at the nominal rate,
    # with enough effective draws in every recording to correct its intervals.
    import jax

    truth, psd = synthetic_spectra(np.random.default_rng(12), N_SETS)
    ranges = {
        "alpha": (-20.0, -6.0),
        "omega": (2 * np.pi * 8.0, 2 * np.pi * 12.0),
        "log_gain": (0.3, 0.9),
        "exponent": (1.0, 2.0),
        "log_floor": (-3.4, -2.6),
    }
    with jax.enable_x64(False):
        res = fit_synthetic(psd, starts=1, ranges=ranges)
        out = fit.importance(res, key=jax.random.key(0))
    assert out.laplace.mode.dtype == np.float32
    record = out.meta["importance"]
    assert all(record["corrected"]) and np.median(record["ess"]) > 400
    assert 0.82 <= _coverage(out.laplace, truth) <= 0.97
    # The Laplace's own intervals (truncated Gaussians on the ranges) in float32 too; the
    # weighted quantiles moved from them.
    assert 0.82 <= _coverage(res.laplace, truth) <= 0.97
    assert np.median(np.abs(out.laplace.ci90 - res.laplace.ci90)) > 0.0
