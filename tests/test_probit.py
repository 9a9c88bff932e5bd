"""The credible intervals of uniform-prior parameters (`fit/_probit.py`) against
scipy's truncated normal: the exact posterior of a Gaussian likelihood on a bounded range."""

from types import SimpleNamespace

import numpy as np
import pytest
import scipy.optimize
import scipy.special
import scipy.stats

from rosetta_jax import fit
from rosetta_jax.fit._probit import PROBS as ENDS, box_interval_fractions, box_intervals


PROBS = np.array([0.025, 0.05, 0.5, 0.95, 0.975])


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
    got = box_interval_fractions(v, grad, precision, np.eye(2), [True, True], PROBS, curvature)
    sd = 1 / np.sqrt(h)
    ref = scipy.stats.truncnorm.ppf(PROBS[:, None], -r_hat / sd, (1 - r_hat) / sd, r_hat, sd)
    # (1e-5: the weak flat precision, 1e-4 against 25-44, and the finite differences.)
    np.testing.assert_allclose(got, ref, atol=1e-5)
    # Inputs in float32 (as a float32 Laplace step gives them): the same to float32's rounding.
    f32 = [np.float32(x) for x in (v, grad, precision)]
    got32 = box_interval_fractions(*f32, np.eye(2), [True, True], PROBS, curvature)
    np.testing.assert_allclose(got32, ref, atol=2e-5)
    # A coordinate without a uniform prior is left to the Gaussian of v (NaN here); batched
    # problems, one of them not proper (NaN there: its ends come from the Gaussian of v).
    mixed = box_interval_fractions(v, grad, precision, np.eye(2), [True, False], PROBS, curvature)
    assert np.all(np.isnan(mixed[:, 1])) and np.all(np.isfinite(mixed[:, 0]))
    bad = np.stack([precision, -np.eye(2)])
    both = box_interval_fractions(np.stack([v, v]), np.stack([grad, grad]), bad, np.eye(2),
                                  [True, True], PROBS, curvature)  # fmt: skip
    np.testing.assert_allclose(both[0], got, atol=1e-12)
    assert np.all(np.isnan(both[1]))


def test_prior_only_intervals_are_the_uniform_quantiles_in_natural_units():
    # Data that teach nothing (the precision is the prior's alone): every uniform-prior
    # parameter's interval is the middle of its range, a fitted noise level's in its log; a
    # range far above exp's float64 limit (C of Jansen-Rit runs to 1350) must not overflow.
    sigma_lo, sigma_hi = 1e-3, 10.0
    post = SimpleNamespace(
        transforms=(fit.Bounded(100.0, 1350.0), fit.Bounded(-1.0, 1.0), fit.Positive()),
        priors=(None, None, fit.GaussianPrior(0.0, 1.0)),
        shapes=((), (), ()),
        batched=False,
        n_problems=1,
        likelihood=SimpleNamespace(fitted_sigma=True),
        sigma_transform=fit.Bounded(np.log(sigma_lo), np.log(sigma_hi)),
    )
    v = np.array([[0.3, -1.2, 0.5, 0.1]])
    grad = -v * np.array([1.0, 1.0, 0.0, 1.0])  # the standard normal priors' gradient
    eye = np.eye(4)[None]
    ends = box_intervals(post, v, grad, eye, eye, "expected")[0]
    q = np.asarray(ENDS)
    np.testing.assert_allclose(ends[:, 0], 100.0 + 1250.0 * q, rtol=1e-4)
    np.testing.assert_allclose(ends[:, 1], -1.0 + 2.0 * q, atol=1e-4)
    assert np.all(np.isnan(ends[:, 2]))  # not a uniform prior: the Gaussian's ends
    log_ends = np.log(sigma_lo) + np.log(sigma_hi / sigma_lo) * q
    np.testing.assert_allclose(np.log(ends[:, 3]), log_ends, atol=1e-3)
