"""NUTS sampling of a fit's posterior (blackjax) and its diagnostics (arviz); the figures are in
`fit/_mcmc_plots.py`.

`sample(result)` draws from the posterior of a `FitResult` that has one (`fit_spectra`, or
`fit` with a `likelihood`) with the No-U-Turn sampler (Hoffman & Gelman 2014, JMLR 15:1593) in
the Laplace approximation's unconstrained coordinates (a uniform prior's probit, where a
posterior pressed against a bound has a Gaussian tail rather than the logistic coordinate's
exponential one: on a MEG region, max R-hat 1.023 and min tail ESS 124 against 1.046 and 18,
`benchmarks/bench_nuts.py`); the draws are stored in the fit's own unconstrained coordinates.
The chains start from the Laplace approximation, dispersed 1.5-fold;
the metric (inverse mass matrix) starts as the Laplace covariance and is re-estimated from the
chains' draws in doubling windows of the warm-up (as Stan's); the step size is tuned by dual
averaging. Chains, and in a regional fit the channels, run side by side (vmapped) in compiled
chunks. The draws come back as an arviz `InferenceData` (`FitResult.mcmc`, see `sample`).
"""

from __future__ import annotations

import dataclasses
import functools

import blackjax
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from blackjax.adaptation.step_size import dual_averaging_adaptation

from .._xla import cpu_jit
from ._mcmc_adaptation import _chunk_length, _refined, _restarted, _windows
from ._objectives import SpectrumObjective
from ._saving import (
    diagnostics as diagnostics,
    diagnostics_line as diagnostics_line,
    inference_data,
)


_SPREAD = 1.5  # dispersion of the chains' starting points relative to the Laplace spread
_TRACE = ("u", "lp", "diverging", "acceptance_rate", "energy", "n_steps", "tree_depth")
_TRACE = (*_TRACE, "step_size")


def _require(result):
    if result.posterior is None:
        raise ValueError(
            "This result has no posterior: fit with a likelihood / laplace=True first (a "
            "spectrum or FC objective with fit.Linear, e.g. likelihood=fit.LogNormal(...))."
        )
    return result.posterior


def _selected(posterior, idx):
    """The parts of problems `idx` (a leading problem axis where parts differ) and their
    batch axes; every part shared (axes None) in a fit that is one problem."""
    part, axes = posterior.parts()
    take = lambda a, x: x if a is None else jnp.take(x, jnp.asarray(idx), axis=0)
    return jax.tree.map(take, axes, part, is_leaf=lambda a: a is None), axes


def _over(posterior, idx, fn, *arrays):
    """`fn(*arrays, part)` for every problem of `idx` (the arrays' leading axis)."""
    part, axes = _selected(posterior, idx)
    return jax.vmap(fn, in_axes=(0,) * len(arrays) + (axes,))(*arrays, part)


def _logdensity(posterior, part):
    def logdensity(u):
        lp = posterior.log_prob(u, part)
        return jnp.where(jnp.isfinite(lp), lp, -jnp.inf)

    return logdensity


@cpu_jit
def _init(posterior, idx, u):
    """The sampler's states (position, log density, its gradient) at `u` `(problems, chains,
    dim)`."""

    def one(u, part):
        return jax.vmap(lambda v: blackjax.mcmc.hmc.init(v, _logdensity(posterior, part)))(u)

    return _over(posterior, idx, one, u)


def _start(posterior, idx, u0, mode, floor):
    """The initial states; a start whose log density is not finite or below `floor` (per
    problem: far below the mode's, e.g. on the flat side of a stability wall, where a chain
    has no gradient to follow back) moved a quarter of the way from the mode, then to the
    mode itself (one compiled program, run three times at most)."""
    state = _init(posterior, idx, jnp.asarray(u0))
    for u_next in (
        mode[:, None] + 0.25 * (u0 - mode[:, None]),
        np.broadcast_to(mode[:, None], u0.shape),
    ):
        lp = np.asarray(state.logdensity)
        bad = ~(np.isfinite(lp) & (lp >= floor[:, None]))
        if not bad.any():
            break
        u = np.where(bad[..., None], u_next, np.asarray(state.position))
        state = _init(posterior, idx, jnp.asarray(u))
    return state


@cpu_jit
def _chunk(posterior, idx, carry, inv_mass, keys, adapt, length: int, target, depth: int):
    """`length` NUTS transitions of every chain of every problem from the carried states;
    while `adapt`, the step size follows dual averaging, else the carried one. The program
    holds the model's gradient once (the sampler's integrator): starts are made by `_init`
    and the draws' derived values by `_derived`."""
    kernel = blackjax.mcmc.nuts.build_kernel()
    da_update = dual_averaging_adaptation(target)[1]

    def one(carry, inv_mass, keys, part):
        logdensity = _logdensity(posterior, part)

        def step(carry, key):
            state, da, eps = carry
            h = jnp.where(adapt, jnp.exp(da.log_step_size), eps)
            state, info = kernel(key, state, logdensity, h, inv_mass, depth)
            rate = jnp.nan_to_num(info.acceptance_rate)
            da = jax.tree.map(lambda a, b: jnp.where(adapt, a, b), da_update(da, rate), da)
            stats = (info.is_divergent, rate, info.energy, info.num_integration_steps)
            stats = (*stats, info.num_trajectory_expansions, h)
            out = dict(zip(_TRACE, (state.position, state.logdensity, *stats), strict=True))
            return (state, da, eps), out

        def chain(carry, key):
            return jax.lax.scan(step, carry, jr.split(key, length))

        return jax.vmap(chain)(carry, keys)

    return _over(posterior, idx, one, carry, inv_mass, keys)


@cpu_jit
def _derived(posterior, idx, u):
    """Each draw's natural values and pointwise log-likelihood, `u` `(problems, chains,
    draws, dim)`."""

    def one(u, part):
        f = lambda v: (posterior.natural(v, part), posterior.pointwise(v, part))
        return jax.vmap(jax.vmap(f))(u)

    return _over(posterior, idx, one, u)


@functools.partial(jax.jit, static_argnums=2)
def _keys(key, i, shape):
    """The keys `shape` of chunk `i`."""
    return jr.split(jr.fold_in(key, i), shape)


def _run(posterior, idx, carry, cov, key, cfg):
    """Warm-up (step size by dual averaging, restarted whenever the metric is re-estimated)
    and sampling, in chunks; returns the sampling trace (numpy, `(problems, chains, draws,
    ...)`)."""
    from tqdm.auto import tqdm

    length = cfg["chunk"]
    n_warm, n_draw = -(-cfg["warmup"] // length), -(-cfg["draws"] // length)
    windows = _windows(n_warm)
    shape = (len(idx), cfg["chains"])
    bar = tqdm(total=n_warm + n_draw, desc="NUTS warm-up", disable=not cfg["progress"])
    warm, kept = [], []
    for i in range(n_warm + n_draw):
        if i in windows:
            cov = _refined(cov, np.concatenate(warm[windows[i] :], axis=2))
            carry = (carry[0], _restarted(carry[1].log_step_size), carry[2])
        if i == n_warm:
            eps = jnp.exp(carry[1].log_step_size_avg) if n_warm else carry[2]
            carry = (carry[0], carry[1], eps)
            bar.set_description("NUTS sampling")
        keys = _keys(key, i, shape)
        carry = jax.tree.map(lambda x: jnp.asarray(x, dtype=x.dtype), carry)  # not weak
        args = (cfg["chunk"], cfg["target_accept"], cfg["max_tree_depth"])
        adapt = jnp.asarray(i < n_warm)
        carry, out = _chunk(posterior, idx, carry, jnp.asarray(cov), keys, adapt, *args)
        (warm if i < n_warm else kept).append(jax.device_get(out["u"] if i < n_warm else out))
        bar.update()
    bar.close()
    out = {k: np.concatenate([o[k] for o in kept], axis=2) for k in kept[0]}
    # The draws' derived values chunk by chunk (one program; bounded memory), then trimmed.
    derived = [_derived(posterior, idx, jnp.asarray(o["u"])) for o in kept]
    pieces = zip(*jax.device_get(derived), strict=True)
    natural, loglik = (np.concatenate(x, axis=2) for x in pieces)
    out = dict(out, natural=natural, loglik=loglik)
    return {k: v[:, :, : cfg["draws"]] for k, v in out.items()}


def sample(
    result,
    *,
    chains: int = 4,
    draws: int = 1000,
    warmup: int = 500,
    problems=None,
    key=None,
    progress: bool = True,
    target_accept: float = 0.8,
    max_tree_depth: int = 10,
):
    """Draw from a fit's posterior with NUTS (blackjax) and attach the draws to the result.

    Args:
        result: a `FitResult` with a posterior (a fit with a `likelihood`, or `fit_spectra`).
        chains: independent chains per problem (at least 2 for R-hat).
        draws: kept draws per chain; warmup: adaptation draws per chain (discarded).
        problems: in a regional fit, the indices of the channels to sample (default all);
            each channel is an independent posterior.
        key: PRNG key (default `jax.random.key(0)`).
        progress: show a progress bar over chunks of draws.
        target_accept: the acceptance rate the step size is tuned to (0.8; raise it, e.g.
            to 0.95, when there are divergences).
        max_tree_depth: the most trajectory doublings per draw (2^depth gradient steps).

    Returns:
        The result with `mcmc` set: an arviz `InferenceData` with groups `posterior` (one
        variable per fitted parameter, natural units, dims chain, draw [, channel]),
        `unconstrained_posterior`, `log_likelihood` (`y`, per data point), `sample_stats`,
        `observed_data` and `constant_data` (frequencies [Hz] of a spectral fit).

    Raises:
        ValueError: the result has no posterior, or an argument is out of range.
    """
    from ._laplace import laplace
    from ._probit import probit_coordinates, probit_mask

    posterior = _require(result)
    if min(chains, draws) < 1 or warmup < 0 or not 0 < target_accept < 1:
        raise ValueError("Need chains >= 1, draws >= 1, warmup >= 0, 0 < target_accept < 1.")
    idx = _problem_indices(posterior, problems)
    approx = result.laplace if result.laplace is not None else laplace(posterior)
    key = jr.key(0) if key is None else key
    k_init, k_run = jr.split(key)
    # Sampled in the Laplace's coordinates v (a uniform prior's probit: a posterior pressed
    # against a bound has a Gaussian tail there, an exponential one in the logistic u), from
    # and preconditioned by its Gaussian; the draws are stored in u.
    sampled = probit_coordinates(posterior.anchored())
    # (numpy on the host: eager jnp operations would each compile a program.)
    mode, cov = np.asarray(approx.mode_v[idx]), np.asarray(approx.cov_v[idx])
    chol = np.linalg.cholesky(cov + 1e-12 * np.eye(posterior.dim))
    z = np.asarray(jr.normal(k_init, (len(idx), chains, posterior.dim), mode.dtype))
    u0 = (mode[:, None] + _SPREAD * np.einsum("pij,pcj->pci", chol, z)).astype(mode.dtype)
    cfg = dict(chains=chains, draws=draws, warmup=warmup, target_accept=float(target_accept))
    cfg.update(max_tree_depth=int(max_tree_depth), chunk=_chunk_length(warmup, draws))
    cfg.update(progress=progress, key_data=np.asarray(jr.key_data(key)).reshape(-1))
    step0 = np.full((len(idx), chains), posterior.dim**-0.25, mode.dtype)
    da = _restarted(np.log(step0))
    # A start more than 10 per coordinate below the mode's log density is moved closer.
    floor = np.asarray(approx.log_likelihood + approx.log_prior)[idx] - 10.0 * (posterior.dim + 1)
    floor = np.where(np.isfinite(floor), floor, -np.inf)
    state = _start(sampled, idx, u0, mode, floor)
    trace = _run(sampled, idx, (state, da, step0), cov, k_run, cfg)
    trace["u"] = np.asarray(_to_u(trace["u"], probit_mask(posterior)))
    draws = {k: np.moveaxis(v, 0, 2) for k, v in trace.items()}  # (chain, draw, problem, ...)
    data = np.asarray(_selected(posterior, idx)[0][3]).reshape(len(idx), -1)
    idata = inference_data(posterior, idx, draws, data, cfg)
    return dataclasses.replace(result, mcmc=idata)


@jax.jit
def _to_u(v, mask):
    """`to_u` as one compiled program."""
    from ._probit import to_u

    return to_u(v, mask)


def _problem_indices(posterior, problems) -> list[int]:
    n = posterior.n_problems
    idx = list(range(n)) if problems is None else [int(p) for p in np.atleast_1d(problems)]
    if not idx or len(set(idx)) != len(idx) or not all(0 <= p < n for p in idx):
        raise ValueError(f"`problems` must be distinct indices in 0..{n - 1}; got {problems}.")
    return idx


def _draws_u(result, problem: int, n: int, key):
    """Unconstrained draws `(n, dim)` of one problem, from NUTS when it sampled the problem
    (all its draws when `n` is None), else from the Laplace Gaussian; and their source."""
    from ._laplace import laplace

    idata, posterior = result.mcmc, result.posterior
    done = [] if idata is None else list(np.atleast_1d(idata.posterior.attrs["problems"]))
    if problem in done:
        u = np.asarray(idata.unconstrained_posterior["u"])
        u = u.reshape(-1, *u.shape[2:])
        u = u[:, done.index(problem)] if posterior.batched else u
        if n is not None and n < u.shape[0]:
            u = u[np.asarray(jr.choice(key, u.shape[0], (n,), replace=False))]
        return u, "NUTS"
    approx = result.laplace if result.laplace is not None else laplace(posterior)
    z = np.asarray(jr.normal(key, (2000 if n is None else n, posterior.dim)))
    return approx.draws_u(problem, z), "Laplace"


@eqx.filter_jit
def _predict_jit(posterior, problem, u, key):
    """Predictions (likelihood space), replicated data (with noise) and natural values of
    draws `u` `(n, dim)` of one problem (`problem`: its index, an array of one), and its data."""

    def one(u, part):
        pred = jax.vmap(lambda v: posterior.predict(v, part)[0])(u)
        sigma = jax.vmap(posterior.sigma)(u).reshape((-1,) + (1,) * (pred.ndim - 1))
        noise = sigma * jr.normal(key, pred.shape, pred.dtype)
        if isinstance(posterior.objective, SpectrumObjective) and posterior.objective.normalize:
            noise = noise - noise.mean(axis=1, keepdims=True)
        nat = jax.vmap(lambda v: posterior.natural(v, part))(u)
        return pred, pred + noise, nat, part[3]

    return jax.tree.map(lambda x: x[0], _over(posterior, problem, one, u[None]))


def _predict(posterior, problem: int, u, key=None):
    """`_predict_jit` as numpy, the draws padded to a multiple of 256 (one program each)."""
    n = len(u)
    u = np.concatenate([u, np.repeat(u[:1], -n % 256, axis=0)])
    key = jr.key(0) if key is None else key
    out = _predict_jit(posterior, jnp.asarray([problem]), jnp.asarray(u), key)
    return [np.asarray(a)[:n] for a in out[:3]] + [np.asarray(out[3])]


def posterior_predictive(result, *, n: int = 200, problem: int = 0, key=None) -> dict:
    """The model's predictions for `n` posterior draws (NUTS draws when `fit.sample` has run
    for this problem, else draws from the Laplace approximation).

    Args:
        result: a `FitResult` with a posterior; n: number of draws (at most NUTS's all).
        problem: the channel, in a regional fit (else 0); key: PRNG key.

    Returns:
        A dict of numpy arrays: `prediction` `(n, ...)` in the likelihood's space (log10 PSD
        in the band, each channel's mean removed when its scale is free, `(n, n_freqs,
        n_channels)`; or Fisher-z FC, `(n, n_pairs)`), `replicate` (predictions plus the
        likelihood's noise: replicated data), their 5/50/95 % quantiles (`q05`, `q50`, `q95`,
        `replicate_q05`, `replicate_q95`), `data` (the recording in the same space), `source`
        ("NUTS" or "Laplace"). Spectra add `freqs` [Hz], `psd_data` (the recorded PSD in the
        band) and `psd`, `psd_q05`, `psd_q50`, `psd_q95`: the model's PSD in the recording's
        units (each channel's free scale set to the data's mean log level).
    """
    posterior = _require(result)
    _problem_indices(posterior, [problem])
    k_draw, k_noise = jr.split(jr.key(1) if key is None else key)
    u, source = _draws_u(result, problem, n, k_draw)
    pred, rep, _, data = _predict(posterior, problem, u, k_noise)
    q = lambda x, p: np.quantile(x, p, axis=0)
    out = dict(source=source, prediction=pred, replicate=rep, data=data)
    out.update(q05=q(pred, 0.05), q50=q(pred, 0.5), q95=q(pred, 0.95))
    out.update(replicate_q05=q(rep, 0.05), replicate_q95=q(rep, 0.95))
    objective = posterior.objective
    if isinstance(objective, SpectrumObjective):
        band = list(posterior.band_index)
        cols = [problem] if posterior.batched else slice(None)
        psd_data = np.asarray(objective.target.psd)[band][:, cols]
        level = np.mean(np.log10(psd_data), axis=0) if objective.normalize else 0.0
        psd = 10.0 ** (pred + level)
        out.update(freqs=np.asarray(objective.target.freqs)[band], psd=psd, psd_data=psd_data)
        out.update(psd_q05=q(psd, 0.05), psd_q50=q(psd, 0.5), psd_q95=q(psd, 0.95))
    return out


def __getattr__(name: str):
    """The posterior plots live in `fit/_mcmc_plots.py`."""
    if name in ("plot_corner", "plot_predictive"):
        from . import _mcmc_plots

        return getattr(_mcmc_plots, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
