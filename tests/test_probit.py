"""The credible intervals of uniform-prior parameters (`fit/_probit.py`) against
scipy's truncated normal: the exact posterior of a Gaussian likelihood on a bounded range."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize
import scipy.special
import scipy.stats

from rosetta_jax.fit._probit import (
    box_interval_points,
    log_normal_cdf,
    spd_inverse,
    truncated_normal_quantile,
)


PROBS = np.array([0.025, 0.05, 0.5, 0.95, 0.975])


@pytest.mark.parametrize("x64", [True, False])
def test_spd_inverse_matches_numpy(x64):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(7, 7))
    a = x @ x.T + 0.5 * np.eye(7)
    with jax.enable_x64(x64):
        dtype = jnp.float64 if x64 else jnp.float32
        got = np.asarray(spd_inverse(jnp.asarray(a, dtype)))
        indefinite = np.asarray(spd_inverse(jnp.asarray(np.diag([1.0, -1.0, 2.0]), dtype)))
    ref = np.linalg.inv(a)
    np.testing.assert_allclose(got, ref, atol=(1e-12 if x64 else 1e-4) * np.abs(ref).max())
    assert np.all(np.isnan(indefinite))


def test_log_normal_cdf_matches_scipy():
    # Both branches: log of the one-erfc CDF above -10, the asymptotic series below.
    x = np.concatenate([np.linspace(-1000.0, -10.0, 200), np.linspace(-10.0, 8.0, 200)])
    with jax.enable_x64(True):
        got = np.asarray(log_normal_cdf(jnp.asarray(x)))
    np.testing.assert_allclose(got, scipy.special.log_ndtr(x), rtol=1e-12, atol=2e-6)
    with jax.enable_x64(False):
        got32 = np.asarray(log_normal_cdf(jnp.asarray(x, jnp.float32)))
    np.testing.assert_allclose(got32, scipy.special.log_ndtr(x), rtol=2e-6, atol=2e-6)


@pytest.mark.parametrize("x64", [True, False])
@pytest.mark.parametrize(
    ("mean", "sd"),
    [
        (0.5, 0.1),
        (0.02, 0.2),
        (0.97, 0.05),
        (-0.4, 0.2),
        (1.8, 0.3),
        (0.3, 50.0),
        (-3.0, 0.5),
        (-40.0, 0.5),
        (30.0, 0.4),
    ],  # fmt: skip
)
def test_truncated_normal_quantiles_match_scipy(mean, sd, x64):
    # Inside, near a bound, beyond either bound (the mass piled at one end), nearly flat, and
    # so far beyond a bound (80 and 72 sds) that the truncated mass underflows.
    ref = scipy.stats.truncnorm.ppf(PROBS, -mean / sd, (1 - mean) / sd, loc=mean, scale=sd)
    with jax.enable_x64(x64):
        dtype = jnp.float64 if x64 else jnp.float32
        got = truncated_normal_quantile(jnp.asarray(mean, dtype), jnp.asarray(sd, dtype), PROBS)
        assert got.dtype == dtype
    np.testing.assert_allclose(np.asarray(got), ref, atol=1e-9 if x64 else 2e-5)


def _probit_posterior(r_hat, h):
    """A likelihood Gaussian in the fractions r = Phi(v) of two ranges (mean `r_hat`,
    diagonal precision `h`), uniform priors: the log posterior in v and its mode."""

    def log_post(v):
        r = scipy.stats.norm.cdf(v)
        return -0.5 * np.sum(h * (r - r_hat) ** 2) - 0.5 * np.sum(v**2)

    v = scipy.optimize.minimize(lambda x: -log_post(x), np.zeros(2), tol=1e-14).x
    return log_post, v


@pytest.mark.parametrize("curvature", ["expected", "observed"])
def test_box_intervals_are_the_truncated_likelihood(curvature):
    # The likelihood's maximum lies near one bound for the first parameter and beyond the
    # other for the second: the exact marginals are the truncated normals, which the
    # intervals recover from the probit mode alone (its gradient and curvature).
    r_hat, h = np.array([0.06, 1.1]), np.array([1 / 0.15**2, 1 / 0.2**2])
    log_post, v = _probit_posterior(r_hat, h)
    slope = scipy.stats.norm.pdf(v)
    grad = -slope * h * (scipy.stats.norm.cdf(v) - r_hat) - v
    precision = np.diag(slope**2 * h + 1.0)
    if curvature == "observed":  # the exact negative Hessian, by central differences
        eps, eye = 1e-4, np.eye(2)
        at = lambda i, j, a, b: log_post(v + eps * (a * eye[i] + b * eye[j]))
        second = lambda i, j: at(i, j, 1, 1) - at(i, j, 1, -1) - at(i, j, -1, 1) + at(i, j, -1, -1)
        precision = -np.array([[second(i, j) for j in range(2)] for i in range(2)]) / (4 * eps**2)
    with jax.enable_x64(True):
        points = box_interval_points(
            jnp.asarray(v), jnp.asarray(grad), jnp.asarray(precision), jnp.eye(2),
            np.array([True, True]), PROBS, curvature,
        )  # fmt: skip
    got = scipy.stats.norm.cdf(np.asarray(points))
    sd = 1 / np.sqrt(h)
    ref = scipy.stats.truncnorm.ppf(PROBS[:, None], -r_hat / sd, (1 - r_hat) / sd, r_hat, sd)
    # (1e-5: the weak flat precision, 1e-4 against 25-44, and the finite differences.)
    np.testing.assert_allclose(got, ref, atol=1e-5)
    # A coordinate without a uniform prior is left to the Gaussian of v (NaN here).
    with jax.enable_x64(True):
        mixed = box_interval_points(
            jnp.asarray(v), jnp.asarray(grad), jnp.asarray(precision), jnp.eye(2),
            np.array([True, False]), PROBS, curvature,
        )  # fmt: skip
    assert np.all(np.isnan(np.asarray(mixed)[:, 1])) and np.all(np.isfinite(mixed[:, 0]))
