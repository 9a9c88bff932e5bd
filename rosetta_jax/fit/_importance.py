"""Importance-sampling correction of the Laplace approximation (`fit.importance`).

The Laplace Gaussian (`fit/_laplace.py`) is centred on the posterior's mode with the curvature
there; where the posterior is skewed or heavier-tailed, its intervals are too narrow. Here
draws from a Student-t with the Gaussian's centre and scale (heavier tails than the
posterior's, so that the weights stay bounded) are weighted by the exact posterior density
over the proposal's, and the credible intervals become the weighted draws' quantiles
(self-normalised importance sampling; the weights truncated at $\\bar w\\sqrt N$, Ionides
2008, J. Comput. Graph. Stat. 17:295). The effective sample size of the weights is also a
diagnostic of the Laplace itself (Vehtari et al. 2024, JMLR 25:72, for the Pareto-smoothed
variant): close to the number of draws where the Gaussian is the posterior, small where it is
far from it (a skewed, bounded or multimodal posterior; there `fit.sample` is the answer).

Simulation-based calibration (`benchmarks/bench_calibration.py`, damped oscillator, 400 sets,
5 parameters): the Laplace's 90 % intervals held the truth in 86 % of cases, corrected in 90 %.
"""

from __future__ import annotations

import dataclasses
import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import gammaln

from ._probit import probit_coordinates


def importance(
    result,
    draws: int = 2000,
    *,
    key=None,
    df: float = 5.0,
    min_ess: float = 100.0,
    batch_size: int = 250,
):
    """`result` with its Laplace intervals corrected by importance sampling.

    Every problem (region) gets `draws` draws from a Student-t (`df` degrees of freedom) with
    the Laplace Gaussian's centre and covariance in its coordinates; their weights are the
    exact posterior density over the proposal's. Where the weights' effective sample size
    is at least `min_ess`, `laplace.ci90` and `laplace.ci95` become the weighted draws'
    quantiles; elsewhere the Gaussian's intervals stay (with a warning: the posterior is far
    from Gaussian there; use `fit.sample`). The mode, standard errors and Laplace evidence are
    unchanged. `result.meta["importance"]` records, per problem, the effective sample size,
    whether the intervals were corrected and the importance-sampling log-evidence (an
    estimate of the same quantity as the Laplace log-evidence, reliable where the effective
    sample size is large).

    Args:
        result: a `FitResult` with a Laplace approximation (a fit with a `likelihood`).
        draws: draws per problem.
        key: a JAX PRNG key (default `jax.random.key(0)`).
        df: the Student-t proposal's degrees of freedom (> 2).
        min_ess: the least effective sample size at which intervals are corrected.
        batch_size: draws evaluated at once per problem (memory).

    Example:
        >>> res = fit.importance(fit.fit_spectra(target))
        >>> res.meta["importance"]["ess"]
    """
    post, lap = result.posterior, result.laplace
    if post is None or lap is None:
        raise ValueError(
            "`result` has no Laplace approximation: fit with a likelihood (e.g. "
            "`likelihood=fit.LogNormal(n_segments=...)`) and `laplace=True`."
        )
    if not (isinstance(draws, int | np.integer) and draws >= 100):
        raise ValueError(f"`draws` must be an integer >= 100; got {draws!r}.")
    if not df > 2:
        raise ValueError(f"`df` must be > 2 (a proposal with finite variance); got {df}.")
    key = jax.random.key(0) if key is None else key
    est = reweight(post, lap, int(draws), key, float(df), int(batch_size))
    use = est["ess"] >= min_ess
    pick = lambda new, old: np.where(use[:, None, None], new, old)
    laplace = dataclasses.replace(
        lap, ci90=pick(est["ci90"], lap.ci90), ci95=pick(est["ci95"], lap.ci95)
    )
    if not use.all():
        names = lap.labels or tuple(str(i) for i in range(len(use)))
        low = [names[i] for i in np.flatnonzero(~use)]
        warnings.warn(
            f"Importance sampling: effective sample size below {min_ess:g} in {len(low)} of "
            f"{len(use)} problems ({', '.join(low[:8])}{', ...' if len(low) > 8 else ''}): "
            "the posterior is far from the Laplace Gaussian there, whose intervals are "
            "kept; sample it with `fit.sample`.",
            stacklevel=2,
        )
    record = {
        "draws": int(draws),
        "df": float(df),
        "min_ess": float(min_ess),
        "ess": est["ess"].tolist(),
        "corrected": use.tolist(),
        "log_evidence": est["log_evidence"].tolist(),
    }
    return dataclasses.replace(result, laplace=laplace, meta=dict(result.meta, importance=record))


def reweight(posterior, approx, draws: int, key, df: float, batch_size: int = 250) -> dict:
    """Weighted Student-t draws around the Laplace Gaussian `approx` of `posterior`, per
    problem: the truncated weights' effective sample size, the 90 % and 95 % intervals
    (natural units, `(n_problems, dim, 2)`) and the importance-sampling log-evidence."""
    view = probit_coordinates(posterior.anchored())
    keys = jax.random.split(key, posterior.n_problems)
    mode, cov = jnp.asarray(approx.mode_v), jnp.asarray(approx.cov_v)
    log_w, theta = _draws(view, mode, cov, keys, draws, df, batch_size)
    log_w, theta = np.asarray(log_w, np.float64), np.asarray(theta, np.float64)
    log_w = np.where(np.isfinite(log_w), log_w, -np.inf)
    top = np.max(log_w, axis=1, keepdims=True)
    raw = np.exp(log_w - np.where(np.isfinite(top), top, 0.0))
    with np.errstate(divide="ignore"):
        log_evidence = np.log(np.mean(raw, axis=1)) + top[:, 0]
    w = np.minimum(raw, np.mean(raw, axis=1, keepdims=True) * np.sqrt(draws))
    total = np.sum(w, axis=1, keepdims=True)
    w = w / np.where(total > 0, total, 1.0)
    ess = np.where(total[:, 0] > 0, 1.0 / np.sum(w**2, axis=1), 0.0)
    q = _weighted_quantiles(theta, w, (0.025, 0.05, 0.95, 0.975))
    return {
        "ess": ess,
        "ci90": np.stack([q[1], q[2]], axis=-1),
        "ci95": np.stack([q[0], q[3]], axis=-1),
        "log_evidence": log_evidence,
    }


@eqx.filter_jit
def _draws(view, mode, cov, keys, draws: int, df: float, batch_size: int):
    """Log importance weights `(n_problems, draws)` and the draws in natural units
    `(n_problems, draws, dim)`."""

    def one(m, c, key, part):
        d = m.shape[0]
        evals, evecs = jnp.linalg.eigh(0.5 * (c + c.T))
        evals = jnp.maximum(evals, 1e-12 * jnp.max(evals))
        k1, k2 = jax.random.split(key)
        z = jax.random.normal(k1, (draws, d), m.dtype)
        g = jax.random.gamma(k2, df / 2, (draws, 1), m.dtype) / (df / 2)
        x = z / jnp.sqrt(g)
        v = m + (x * jnp.sqrt(evals)) @ evecs.T
        log_q = (
            gammaln((df + d) / 2)
            - gammaln(df / 2)
            - 0.5 * d * jnp.log(df * jnp.pi)
            - 0.5 * jnp.sum(jnp.log(evals))
            - 0.5 * (df + d) * jnp.log1p(jnp.sum(x**2, axis=1) / df)
        )

        def at(vv):
            return view.log_prob(vv, part), view.natural(vv, part)

        log_p, theta = jax.lax.map(at, v, batch_size=min(batch_size, draws))
        return log_p - log_q, theta

    return view.over(one, mode, cov, keys)


def _weighted_quantiles(x, w, probs):
    """Quantiles `probs` of the draws `x` `(n, draws, dim)` with normalised weights `w`
    `(n, draws)`: for each, the first sorted draw whose cumulative weight reaches it;
    a list of `(n, dim)` arrays."""
    order = np.argsort(x, axis=1)
    xs = np.take_along_axis(x, order, axis=1)
    cdf = np.cumsum(np.take_along_axis(np.broadcast_to(w[..., None], x.shape), order, 1), 1)
    last = x.shape[1] - 1
    out = []
    for p in probs:
        i = np.minimum(np.sum(cdf < p, axis=1), last)
        out.append(np.take_along_axis(xs, i[:, None], axis=1)[:, 0])
    return out
