"""Likelihoods, priors and the Laplace approximation against independent references: scipy's
densities, numerical integration (quadrature, a grid over the posterior written in numpy) and
Monte Carlo.

The grid reference: a damped oscillator driven by complex white noise has the spectrum
$S(\\omega) \\propto 1/(\\alpha^2 + (\\omega - \\omega_0)^2) + 1/(\\alpha^2 + (\\omega +
\\omega_0)^2)$ (two Lorentzians; Castaldo et al. 2026, section 2.2.3), written here in numpy,
with the log-normal likelihood (scale integrated out) and uniform priors written out too.
"""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate
import scipy.special
import scipy.stats

from rosetta_jax import fit, models, noise
from rosetta_jax.fit._likelihoods import gaussian_pointwise


# ---- priors ------------------------------------------------------------------------------


def test_uniform_prior_on_bounded_is_a_logistic_density_in_u():
    u = np.linspace(-6, 6, 13)
    got = [float(fit.log_prior(fit.Bounded(-3.0, 5.0), None, jnp.asarray(x))) for x in u]
    np.testing.assert_allclose(got, scipy.stats.logistic.logpdf(u), rtol=1e-12, atol=1e-12)


def test_positive_default_prior_is_log_normal_with_sd_two():
    u = np.linspace(-5, 5, 11)
    got = [float(fit.log_prior(fit.Positive(3.0), None, jnp.asarray(x))) for x in u]
    np.testing.assert_allclose(got, scipy.stats.norm.logpdf(u, 0.0, 2.0), rtol=1e-12)


@pytest.mark.parametrize(
    "transform, prior",
    [
        (fit.Bounded(0.0, 4.0), fit.GaussianPrior(1.0, 1.5)),
        (fit.Positive(2.0), fit.GaussianPrior(1.0, 1.5)),
        (fit.Bounded(0.5, 4.0), fit.LogNormalPrior(1.0, 0.7)),
        (fit.Identity(), fit.GaussianPrior(-2.0, 0.5)),
    ],
)
def test_truncated_priors_integrate_to_one_in_u(transform, prior):
    dens = lambda x: float(jnp.exp(fit.log_prior(transform, prior, jnp.asarray(x))))
    total, _ = scipy.integrate.quad(dens, -40, 40, limit=400)
    assert total == pytest.approx(1.0, abs=1e-7)


def test_gaussian_prior_on_bounded_matches_scipy_truncnorm():
    t, p = fit.Bounded(0.0, 4.0), fit.GaussianPrior(1.0, 1.5)
    u = np.linspace(-3, 3, 7)
    theta = 4.0 / (1 + np.exp(-u))
    log_jac = np.log(4.0) + np.log(1 / (1 + np.exp(-u))) + np.log(1 / (1 + np.exp(u)))
    ref = scipy.stats.truncnorm.logpdf(theta, -1 / 1.5, 3 / 1.5, loc=1.0, scale=1.5) + log_jac
    got = [float(fit.log_prior(t, p, jnp.asarray(x))) for x in u]
    np.testing.assert_allclose(got, ref, rtol=1e-10)


# ---- likelihoods -------------------------------------------------------------------------


def test_free_scale_likelihood_is_the_gaussian_with_its_mean_integrated_out():
    # A channel's unknown log-scale c (flat prior): the likelihood of the centred residuals
    # equals log of the integral over c of prod N(d_f - c; 0, sigma^2).
    rng = np.random.default_rng(1)
    d, sigma = rng.normal(0.3, 0.1, 12), 0.08
    integrand = lambda c: np.prod(scipy.stats.norm.pdf(d - c, 0.0, sigma))
    ref = np.log(scipy.integrate.quad(integrand, -2, 3, points=[d.mean()], limit=200)[0])
    r = jnp.asarray(d - d.mean())[:, None]
    got = float(jnp.sum(gaussian_pointwise(r, jnp.asarray(sigma), True)))
    assert got == pytest.approx(ref, rel=1e-9)


def test_log_normal_noise_level_from_averaged_periodograms():
    # Monte Carlo: a periodogram bin of Gaussian noise is P * chi2(2)/2; the average of n is
    # P * Gamma(n, 1/n): the sd of its log10 is sqrt(trigamma(n)) / ln 10.
    rng = np.random.default_rng(2)
    for n in (4, 16):
        avg = rng.chisquare(2, size=(200_000, n)).mean(axis=1) / 2
        sd = np.std(np.log10(avg))
        assert fit.LogNormal(n_segments=n).sigma_known() == pytest.approx(sd, rel=0.01)


def test_fisher_z_noise_level_from_time_points():
    # Monte Carlo: the Fisher z of a correlation from n Gaussian samples has sd 1/sqrt(n-3).
    rng = np.random.default_rng(3)
    n, rho = 50, 0.4
    cov = [[1, rho], [rho, 1]]
    x = rng.multivariate_normal([0, 0], cov, size=(20_000, n))
    xc = x - x.mean(axis=1, keepdims=True)
    r = np.sum(xc[..., 0] * xc[..., 1], 1) / np.sqrt(
        np.sum(xc[..., 0] ** 2, 1) * np.sum(xc[..., 1] ** 2, 1)
    )
    sd = np.std(np.arctanh(r))
    assert fit.FisherZ(n_timepoints=n).sigma_known() == pytest.approx(sd, rel=0.03)


def test_likelihood_settings_are_checked():
    with pytest.raises(ValueError, match="not both"):
        fit.LogNormal(n_segments=4, sigma=0.1)
    with pytest.raises(ValueError, match="n_timepoints"):
        fit.FisherZ(n_timepoints=2)
    with pytest.raises(ValueError, match="sigma_range"):
        fit.LogNormal(sigma_range=(1.0, 0.5))


# ---- the Laplace approximation against a grid over the posterior --------------------------

SIGMA = 0.05
BOUNDS = {"alpha": (-40.0, -2.0), "omega": (2 * np.pi * 5, 2 * np.pi * 15)}


def _lorentzians(f, alpha, omega):
    w = 2 * np.pi * f
    return 1 / (alpha**2 + (w - omega) ** 2) + 1 / (alpha**2 + (w + omega) ** 2)


def _data():
    f = np.linspace(2.0, 40.0, 77)
    rng = np.random.default_rng(4)
    psd = _lorentzians(f, -9.0, 2 * np.pi * 10.3) * 10 ** rng.normal(0, SIGMA, f.size)
    return f, psd


def _grid_posterior(f, psd, n=161, half_width=7.0, centre=None, scale=None, sigma=None):
    """log posterior on a grid over the Laplace's coordinates, written in numpy: for a
    uniform prior on (low, high), v with theta = low + (high - low) Phi(v), where the prior is
    a standard normal (noise level `sigma`, default SIGMA)."""
    sigma = SIGMA if sigma is None else sigma
    lo = np.array([BOUNDS["alpha"][0], BOUNDS["omega"][0]])
    hi = np.array([BOUNDS["alpha"][1], BOUNDS["omega"][1]])
    axes = [centre[i] + np.linspace(-half_width, half_width, n) * scale[i] for i in range(2)]
    U = np.stack(np.meshgrid(*axes, indexing="ij"), -1)
    theta = lo + (hi - lo) * scipy.special.ndtr(U)
    model = _lorentzians(f[None, None], theta[..., :1], theta[..., 1:])
    d = np.log10(psd)[None, None] - np.log10(model)
    r = d - d.mean(-1, keepdims=True)
    m = f.size
    loglik = -0.5 * np.sum(r**2, -1) / sigma**2
    loglik -= (m - 1) * (np.log(sigma) + 0.5 * np.log(2 * np.pi)) + 0.5 * np.log(m)
    logprior = np.sum(scipy.stats.norm.logpdf(U), -1)
    return axes, U, theta, loglik + logprior


@pytest.fixture(scope="module")
def laplace_fit():
    f, psd = _data()
    objective = fit.SpectrumObjective(
        fit.SpectrumTarget(f, psd), noise.Additive(1.0), method=fit.Linear(min_damping=0.01)
    )
    return fit.fit(
        models.DampedOscillator(alpha=-12.0, omega=2 * np.pi * 9.5),
        objective,
        params=lambda m: (m.alpha, m.omega),
        transforms=(fit.Bounded(*BOUNDS["alpha"]), fit.Bounded(*BOUNDS["omega"])),
        names=("alpha", "omega"),
        steps=150,
        progress=False,
        likelihood=fit.LogNormal(sigma=SIGMA),
    )


def test_laplace_matches_a_grid_over_the_posterior(laplace_fit):
    lap = laplace_fit.laplace
    assert lap.coords == ("alpha", "omega") and lap.mode.shape == (1, 2)
    assert bool(lap.converged[0])
    f, psd = _data()
    sd_v = np.sqrt(np.diag(lap.cov_v[0]))
    axes, U, theta, lp = _grid_posterior(f, psd, centre=lap.mode_v[0], scale=sd_v)
    du = np.prod([a[1] - a[0] for a in axes])
    log_z = scipy.special.logsumexp(lp) + np.log(du)
    w = np.exp(lp - lp.max())
    w /= w.sum()
    mean = np.einsum("ij,ijk->k", w, theta)
    sd = np.sqrt(np.einsum("ij,ijk->k", w, (theta - mean) ** 2))
    # The grid's mode (in v) is the Laplace mode; the posterior is close to Gaussian here, so
    # the evidence agrees to a few hundredths and the moments to a few per cent of an sd.
    i = np.unravel_index(np.argmax(lp), lp.shape)
    np.testing.assert_allclose(lap.mode_v[0], U[i], atol=0.1 * sd_v.max())
    assert lap.log_evidence[0] == pytest.approx(log_z, abs=0.05)
    np.testing.assert_allclose(lap.mode[0], mean, atol=0.1 * sd.max())
    np.testing.assert_allclose(lap.se[0], sd, rtol=0.06)
    # 90 % interval: the grid's marginal quantiles.
    for k in range(2):
        order = np.argsort(theta[..., k], axis=None)
        cdf = np.cumsum(w.reshape(-1)[order])
        q = np.interp([0.05, 0.95], cdf, theta[..., k].reshape(-1)[order])
        np.testing.assert_allclose(lap.ci90[0, k], q, atol=0.08 * sd[k])


def _grid_quantiles(theta, lp, probs):
    """Marginal quantiles `probs` of each coordinate of a grid posterior, `(dim, len(probs))`."""
    w = np.exp(lp - lp.max()).reshape(-1)
    w /= w.sum()
    out = []
    for k in range(theta.shape[-1]):
        order = np.argsort(theta[..., k], axis=None)
        out.append(np.interp(probs, np.cumsum(w[order]), theta[..., k].reshape(-1)[order]))
    return np.array(out)


def test_importance_sampling_corrects_the_laplace_of_a_skewed_posterior(laplace_fit, tmp_path):
    # With a noise level of 0.8 decades the posterior is wide and skewed: the Laplace's 90 %
    # interval for alpha misses the grid's lower quantile by a fifth of its width; the
    # importance-weighted draws recover the grid's quantiles and evidence.
    import dataclasses

    post = laplace_fit.posterior.with_likelihood(fit.LogNormal(sigma=0.8))
    lap = fit.laplace(post, laplace_fit.laplace.mode_u)
    res = dataclasses.replace(laplace_fit, posterior=post, laplace=lap)
    out = fit.importance(res, draws=4000, key=jax.random.key(1))
    f, psd = _data()
    sd_v = np.sqrt(np.diag(lap.cov_v[0]))
    axes, _, theta, lp = _grid_posterior(
        f, psd, n=301, half_width=8.0, centre=lap.mode_v[0], scale=sd_v, sigma=0.8
    )
    q = _grid_quantiles(theta, lp, [0.05, 0.95, 0.025, 0.975])
    width = q[:, 1] - q[:, 0]
    assert np.max(np.abs(lap.ci90[0] - q[:, :2]) / width[:, None]) > 0.15
    np.testing.assert_allclose(out.laplace.ci90[0], q[:, :2], atol=0.04 * width.min())
    np.testing.assert_allclose(out.laplace.ci95[0], q[:, 2:], atol=0.06 * width.min())
    record = out.meta["importance"]
    assert record["corrected"] == [True] and record["ess"][0] > 2000
    assert "intervals corrected in 1 of 1 problems" in out.summary()
    out.save(tmp_path / "fit")
    saved = json.loads((tmp_path / "fit" / "fit.json").read_text())
    assert saved["meta"]["importance"]["ess"] == pytest.approx(record["ess"])
    log_z = scipy.special.logsumexp(lp) + np.log(np.prod([a[1] - a[0] for a in axes]))
    assert record["log_evidence"][0] == pytest.approx(log_z, abs=0.03)
    assert abs(lap.log_evidence[0] - log_z) > 0.05
    np.testing.assert_array_equal(out.laplace.mode, lap.mode)
    # Below `min_ess` the Gaussian's intervals stay, with a warning.
    with pytest.warns(UserWarning, match="effective sample size below"):
        kept = fit.importance(res, draws=4000, min_ess=1e9)
    np.testing.assert_array_equal(kept.laplace.ci90, lap.ci90)
    with pytest.raises(ValueError, match="`draws`"):
        fit.importance(res, draws=10)
    with pytest.raises(ValueError, match="`df`"):
        fit.importance(res, df=1.0)
    with pytest.raises(ValueError, match="no Laplace"):
        fit.importance(dataclasses.replace(res, laplace=None))


def _numpy_log_posterior_parts(f, psd, u):
    """The residuals (mean removed) and the log prior at one point u of the Laplace's
    coordinates (probits of the uniform priors), in numpy."""
    lo = np.array([BOUNDS["alpha"][0], BOUNDS["omega"][0]])
    hi = np.array([BOUNDS["alpha"][1], BOUNDS["omega"][1]])
    theta = lo + (hi - lo) * scipy.special.ndtr(u)
    d = np.log10(psd) - np.log10(_lorentzians(f, theta[0], theta[1]))
    return d - d.mean(), np.sum(scipy.stats.norm.logpdf(u))


@pytest.mark.parametrize("curvature", ["expected", "observed"])
def test_laplace_precision_matches_numpy_derivatives(laplace_fit, curvature):
    # At the mode: "observed" is the log posterior's negative Hessian (numpy, 4th-order
    # central differences); "expected" is J^T J / sigma^2 from the residuals' Jacobian
    # (central differences) plus the prior's curvature, 1 in the probit coordinates v.
    f, psd = _data()
    u0 = laplace_fit.laplace.mode_u[0]
    lap = fit.laplace(laplace_fit.posterior, u0[None], curvature=curvature)
    u = lap.mode_v[0]

    def lp(v):
        r, prior = _numpy_log_posterior_parts(f, psd, v)
        return -0.5 * np.sum(r**2) / SIGMA**2 + prior

    h, eye = 1e-3, np.eye(2)
    if curvature == "observed":
        stencil = [(-2, -1 / 12), (-1, 4 / 3), (0, -5 / 2), (1, 4 / 3), (2, -1 / 12)]
        diag = [sum(c * lp(u + a * h * eye[i]) for a, c in stencil) / h**2 for i in range(2)]
        ref = -(np.diag(diag) + _mixed(lp, u, h))
    else:
        J = np.stack(
            [
                (_numpy_log_posterior_parts(f, psd, u + h * eye[i])[0]
                 - _numpy_log_posterior_parts(f, psd, u - h * eye[i])[0]) / (2 * h)
                for i in range(2)
            ], axis=1,
        )  # fmt: skip
        ref = J.T @ J / SIGMA**2 + np.eye(2)
    got = np.linalg.inv(lap.cov_v[0])
    np.testing.assert_allclose(got, ref, rtol=2e-4 * 10 ** (curvature == "observed"))


def test_laplace_of_a_parameter_the_data_leave_to_its_uniform_prior(laplace_fit):
    # With noise far above the signal the posterior is the prior: uniform on each Bounded
    # range, a standard normal in the Laplace's probit coordinate, so the Laplace is exact:
    # the 90 % interval holds the middle 90 % of the range, the evidence is the likelihood
    # of the data alone, and draws mapped to u follow the logistic-transformed uniform.
    post = laplace_fit.posterior.with_likelihood(fit.LogNormal(sigma=1e4))
    lap = fit.laplace(post, laplace_fit.laplace.mode_u)
    lo = np.array([BOUNDS["alpha"][0], BOUNDS["omega"][0]])
    hi = np.array([BOUNDS["alpha"][1], BOUNDS["omega"][1]])
    np.testing.assert_allclose(lap.ci90[0, :, 0], lo + 0.05 * (hi - lo), rtol=1e-3)
    np.testing.assert_allclose(lap.ci90[0, :, 1], lo + 0.95 * (hi - lo), rtol=1e-3)
    np.testing.assert_allclose(lap.se[0], (hi - lo) * scipy.stats.norm.pdf(0), rtol=1e-3)
    f, psd = _data()
    r = np.log10(psd) - np.log10(psd).mean()
    m = f.size
    loglik = -0.5 * np.sum(r**2) / 1e8 - (m - 1) * (np.log(1e4) + 0.5 * np.log(2 * np.pi))
    assert lap.log_evidence[0] == pytest.approx(loglik - 0.5 * np.log(m), abs=1e-3)
    u = lap.draws_u(0, np.random.default_rng(0).normal(size=(4000, 2)))
    x = scipy.special.expit(u)  # uniform on (0, 1) in each coordinate
    assert scipy.stats.kstest(x[:, 0], "uniform").pvalue > 1e-3
    np.testing.assert_allclose(
        np.quantile(x, [0.05, 0.95], axis=0), [[0.05] * 2, [0.95] * 2], atol=0.02
    )


def _mixed(lp, u, h):
    """Off-diagonal second derivatives of `lp` (central differences, 2 x 2)."""
    e0, e1 = np.array([h, 0.0]), np.array([0.0, h])
    d = (lp(u + e0 + e1) - lp(u + e0 - e1) - lp(u - e0 + e1) + lp(u - e0 - e1)) / (4 * h * h)
    return np.array([[0.0, d], [d, 0.0]])


def test_information_criteria_and_summary(laplace_fit):
    lap = laplace_fit.laplace
    n, k = lap.n_points, lap.k
    assert (n, k) == (77, 2)
    assert lap.bic[0] == pytest.approx(-2 * lap.log_likelihood[0] + k * np.log(n))
    assert lap.aic[0] == pytest.approx(-2 * lap.log_likelihood[0] + 2 * k)
    corr = lap.correlation[0]
    np.testing.assert_allclose(np.diag(corr), 1.0, rtol=1e-10)
    assert np.all(lap.contraction[0] > 0.9)  # both well identified by 77 points
    assert lap.unidentified() == []
    text = laplace_fit.summary()
    assert "log-evidence" in text and "95 % CI" in text


def test_posterior_needs_the_analytic_method():
    f, psd = _data()
    objective = fit.SpectrumObjective(
        fit.SpectrumTarget(f, psd), noise.Additive(1.0), method=fit.Simulated(t1=1.0)
    )
    with pytest.raises(TypeError, match="fit.Linear"):
        fit.Posterior(
            models.DampedOscillator(), objective, lambda m: (m.alpha,), (fit.Identity(),),
            (None,), ("alpha",),
        )  # fmt: skip


@pytest.mark.slow  # a second Laplace compilation (about 15 s)
def test_an_unconstrained_parameter_without_prior_has_no_evidence(laplace_fit):
    post = fit.Posterior(
        laplace_fit.model,
        laplace_fit.objective,
        lambda m: (m.alpha,),
        (fit.Identity(),),
        (None,),
        ("alpha",),
        fit.LogNormal(sigma=SIGMA),
    )
    lap = fit.laplace(post)
    assert np.isnan(lap.log_evidence[0]) and np.isfinite(lap.se[0, 0])
    assert jax.numpy.isfinite(lap.bic[0])


def test_precision_eigenvalues_of_a_sloppy_model_stay_accurate_in_float32():
    # A sloppy model's information spans eight decades; from a float32 Laplace step the
    # eigenvalues of the assembled precision R^T R + P are lost below about 1e-7 of the
    # largest (its entries are rounded), those from the singular values of the stacked square
    # root [R; P^1/2] are not. Reference: numpy float64 from the exact matrices.
    from rosetta_jax.fit._laplace_statistics import _eigen

    rng = np.random.default_rng(3)
    q, _ = np.linalg.qr(rng.normal(size=(87, 9)))
    o, _ = np.linalg.qr(rng.normal(size=(9, 9)))
    root = q @ np.diag(np.logspace(-1.0, 4.0, 9)) @ o.T
    prior = np.diag(rng.uniform(0.5, 2.0, 9))
    ref = np.linalg.eigvalsh(root.T @ root + prior)
    f32 = lambda a: np.asarray(np.float32(a), np.float64)[None]  # one problem, rounded
    w, v = _eigen(f32(root.T @ root + prior), f32(prior), f32(root))
    np.testing.assert_allclose(np.sort(w[0]), ref, rtol=2e-3)
    np.testing.assert_allclose(v[0].T @ v[0], np.eye(9), atol=1e-10)
    # Without a square root (the observed curvature) the precision's own eigenvalues; the
    # assembled matrix's smallest are off by more than the stacked root's.
    w, _ = _eigen(f32(root.T @ root + prior), f32(prior), np.zeros((1, 0, 9)))
    np.testing.assert_allclose(np.sort(w[0])[-3:], ref[-3:], rtol=1e-4)
    assert np.abs(np.sort(w[0])[0] / ref[0] - 1) > 2e-3


@pytest.mark.parametrize("case", ["one channel", "regional", "regional, one value shared"])
def test_information_rows_match_the_residuals_shapes(case):
    # `information_rows` counts the expected information's square-root rows from the shapes
    # alone: one per data point, one for the noise level, one per damping ratio (one per
    # channel where a regional fit is one problem). Reference: the residual's own shapes.
    f, psd = _data()
    n = 1 if case == "one channel" else 3
    target = fit.SpectrumTarget(f, np.tile(psd[:, None], (1, n)) if n > 1 else psd)
    objective = fit.SpectrumObjective(
        target, noise.Additive(1.0), method=fit.Linear(min_damping=0.01), regional=n > 1
    )
    alpha = -12.0 if case != "regional" else np.full(n, -12.0)
    m = models.DampedOscillator(alpha=alpha, omega=np.full(n, 60.0) if n > 1 else 60.0)
    post = fit.Posterior(
        m, objective, lambda m: (m.alpha, m.omega), (fit.Identity(), fit.Identity()),
        (None, None), ("alpha", "omega"), fit.LogNormal(),
    )  # fmt: skip
    assert post.batched == (case == "regional")

    def both(v, part):
        r, zeta = post.residual(v, part)
        return jnp.zeros(r.size + 1 + zeta.size), jnp.zeros(post.information_rows(part))

    ref, rows = jax.eval_shape(lambda u: post.over(both, u), post.initial())
    walls = n if case == "regional, one value shared" else 1
    assert rows.shape == ref.shape == (post.n_problems, post.n_points + 1 + walls)


def test_nuts_starts_below_the_floor_are_moved_towards_the_mode(monkeypatch):
    # `_start` keeps a start whose log density is finite and above the floor, moves the others
    # a quarter of the way from the mode, and those still below it to the mode. A stand-in
    # density: a standard Gaussian with a flat cliff (-1e6) for x > 2 and nothing (-inf) for
    # x < -3.
    from types import SimpleNamespace

    import rosetta_jax.fit._mcmc as mcmc

    def init(posterior, idx, u):
        u = np.asarray(u)
        lp = -0.5 * np.sum(u**2, axis=-1)
        lp = np.where(u[..., 0] > 2, -1e6, np.where(u[..., 0] < -3, -np.inf, lp))
        return SimpleNamespace(position=jnp.asarray(u), logdensity=jnp.asarray(lp))

    monkeypatch.setattr(mcmc, "_init", init)
    u0 = jnp.asarray([[[1.0, 0.5], [4.0, 0.0], [-3.5, 1.0], [40.0, 0.0]]])
    state = mcmc._start(None, [0], u0, jnp.zeros((1, 2)), np.array([-30.0]))
    want = [[1.0, 0.5], [1.0, 0.0], [-0.875, 0.25], [0.0, 0.0]]
    np.testing.assert_allclose(np.asarray(state.position)[0], want)


def test_an_anchored_posterior_follows_each_channels_equilibrium_from_its_fitted_values():
    # `Posterior.anchored` (used by NUTS and importance sampling) stores each channel's
    # equilibrium at the fitted values, one per channel of a regional fit: each must be a
    # stable equilibrium of that channel's Jansen-Rit (numpy roots of the reduced equation,
    # tests/helpers.py), and the log density there is unchanged. Affine generators (damped
    # oscillators) need no anchor.
    from test_dynamics import _jr_equilibria

    f = np.linspace(2.0, 40.0, 39)
    p = np.array([20.0, 60.0])
    obs = fit.Observed(models.JansenRit(p=p), dispersion_nodes=1)
    target = fit.SpectrumTarget(f, np.ones((f.size, 2)))
    objective = fit.SpectrumObjective(
        target, noise.Additive(1.0), method=fit.Linear(min_damping=0.01), regional=True
    )
    post = fit.Posterior(
        obs, objective, lambda m: (m.generators[0].p,), (fit.Identity(),), (None,), ("p",),
        fit.LogNormal(),
    )  # fmt: skip
    anchored = post.anchored()
    y = np.asarray(anchored.model.anchors[0][1])
    assert y.shape == (2, 6)
    for i in range(2):
        states = [s for s, ev in _jr_equilibria(p[i]) if np.all(ev.real < 0)]
        err = min(np.max(np.abs(y[i] - s) / (1 + np.abs(s))) for s in states)
        assert err < 1e-9
    u = post.initial()
    lp = lambda q: q.over(lambda v, part: q.log_prob(v, part), u)
    np.testing.assert_allclose(lp(anchored), lp(post), rtol=1e-12)
    oscillator = fit.Posterior(
        fit.Observed(models.DampedOscillator(), dispersion_nodes=1),
        fit.SpectrumObjective(fit.SpectrumTarget(f, np.ones(f.size)), noise.Additive(1.0)),
        lambda m: (m.exponent,), (fit.Identity(),), (None,), ("exponent",), fit.LogNormal(),
    )  # fmt: skip
    assert oscillator.anchored() is oscillator
