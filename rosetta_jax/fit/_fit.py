"""`fit`: gradient-based parameter fitting with optax, multi-start, constraints, checkpoints.

By job: the multi-start initialisation (`_starts`, here), the checkpoint (`fit/_checkpoint.py`),
the optimisation steps (`fit/_steps.py`) and the `FitResult` assembly (`_result`, here)."""

from __future__ import annotations

import dataclasses
import os
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax
from jaxtyping import Array, Float, PRNGKeyArray, PyTree

from .._version import __version__
from ._checkpoint import _Checkpoint
from ._selectors import as_selector
from ._steps import _as_tuple, _canonical, _optimise, _Problem, _Search
from ._stopping import Plateau, default_optimizer
from ._transforms import AbstractTransform, GaussianPrior, Identity, LogNormalPrior


def _param_names(params: Callable, model, names):
    if isinstance(names, str):
        return (names,)
    if names is not None:
        return tuple(names)
    leaves = _as_tuple(params(model))
    return tuple(f"param_{i}" for i in range(len(leaves)))


class FitResult(eqx.Module):
    """The outcome of `fit`.

    Attributes:
        model: the model with the best parameters found (over starts and steps).
        params: the fitted parameter values, by name.
        loss_history: loss per step run and start, shape `(meta["stopped_at"], n_starts)`:
            the rows of the steps actually run, fewer than `steps` when the fit stopped on a
            plateau (NaN where a step was rejected).
        best_loss: the lowest loss reached; `best_start` the start that reached it.
        goodness: the objective's report on the fitted model (e.g. R^2 of the log-PSD, peak
            error in Hz, FC correlation).
        starts: the parameter values of every start at its best step, shape
            `(n_starts, ...)` each.
        objective: the objective fitted (it draws the target-versus-model figure).
        posterior: the fit's log posterior (`fit.Posterior`: likelihood, priors, model),
            when the fit has one (a spectrum or FC objective with the analytic method and
            a likelihood); else None.
        laplace: the Laplace approximation at the posterior mode (`fit.Laplace`: errors,
            intervals, correlations, identifiability, log-evidence, BIC, AIC), or None.
        mcmc: NUTS samples (an arviz `InferenceData`) once `fit.sample(result)` has run.
        meta: settings (`steps` is the maximum; `stop` the plateau rule's settings or None),
            versions, the wall time of the run (`seconds`) and of each step run
            (`step_seconds`; the first includes compilation; empty for a fit resumed after
            it ended), the number of rejected steps, the number of steps run (`stopped_at`)
            and why the fit ended (`stop_reason`: `"plateau"` or `"max_steps"`).
    """

    model: PyTree
    params: dict[str, np.ndarray]
    loss_history: Float[np.ndarray, "steps n_starts"]
    best_loss: float
    best_start: int
    goodness: dict[str, Any]
    starts: dict[str, np.ndarray]
    objective: Any
    meta: dict[str, Any]
    posterior: Any = None
    laplace: Any = None
    mcmc: Any = None

    def plot(self, key: PRNGKeyArray | None = None):
        """Loss history and the objective's target-versus-model figure."""
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        axes[0].semilogy(self.loss_history)
        axes[0].set_xlabel("step")
        axes[0].set_ylabel("loss")
        axes[0].set_title(f"best loss {self.best_loss:.4g} (start {self.best_start})")
        if hasattr(self.objective, "plot"):
            self.objective.plot(self.model, key, ax=axes[1])
        fig.tight_layout()
        return fig

    def summary(self) -> str:
        """The best loss, the fitted values and the scalar goodness-of-fit measures, as text."""
        lines = [f"best loss {self.best_loss:.6g} (start {self.best_start})"]
        for k, v in self.params.items():
            v = np.asarray(v)
            lines.append(
                f"  {k} = {v.round(6) if v.size <= 6 else f'{v.size} values, mean {v.mean():.6g}'}"
            )
        for k, v in self.goodness.items():
            if v is not None and np.ndim(v) == 0:
                lines.append(f"  {k}: {float(v):.4g}")
        if self.laplace is not None:
            lines.append(self.laplace.summary())
        record = self.meta.get("importance")
        if record is not None:
            lines.append(
                f"importance sampling ({record['draws']} draws): intervals corrected in "
                f"{sum(record['corrected'])} of {len(record['corrected'])} problems, "
                f"median effective sample size {np.median(record['ess']):.0f}"
            )
        if self.mcmc is not None:
            from ._mcmc import diagnostics_line

            lines.append(diagnostics_line(self.mcmc))
        return "\n".join(lines)

    def save(self, path: str | os.PathLike) -> None:
        """Write the result to `path` (a folder): `fit.json` (values, goodness, Laplace
        summary, settings, versions), `fit.npz` (loss history, values, every Laplace array)
        and, after `fit.sample`, `posterior.nc` (the arviz InferenceData, netCDF)."""
        from ._saving import save_result

        save_result(self, path)


def fit(
    model: PyTree,
    objective: Callable[[PyTree, PRNGKeyArray], tuple[Float[Array, ""], dict[str, Any]]],
    *,
    params: Callable[[PyTree], Any] | str | Sequence[str],
    transforms: Sequence[AbstractTransform] | AbstractTransform | None = None,
    priors: Sequence[GaussianPrior | None] | GaussianPrior | None = None,
    names: Sequence[str] | str | None = None,
    optimizer: optax.GradientTransformation | None = None,
    steps: int = 100,
    stop: Plateau | None = Plateau(),  # noqa: B008 (an immutable eqx.Module)
    key: PRNGKeyArray | None = None,
    n_starts: int = 1,
    start_spread: float = 0.3,
    clip_norm: float | None = 1.0,
    checkpoint: str | os.PathLike | None = None,
    checkpoint_every: int = 10,
    resume: bool = True,
    progress: bool = True,
    likelihood: Any = None,
    laplace: bool | None = None,
) -> FitResult:
    """Fit model parameters to an objective by gradient descent (optax).

    The optimisation step is compiled once per structure: a later fit of a model and objective
    of the same structure, with an equal selector and optimiser (a new `lambda` or
    `optax.adam(...)` with the same code and settings counts as equal), reuses it. A single
    start runs without `vmap`, so that a `lax.cond` in the objective (such as the damping test
    of `Linear`) evaluates one branch per step.

    Args:
        model: the model or network to fit (its other parameters stay fixed).
        objective: a callable `objective(model, key) -> (loss, aux)`, e.g.
            `SpectrumObjective`, `FCObjective`, or your own.
        params: selector of the fitted leaves, e.g. `lambda m: (m.node.p, m.G)`, or their
            paths, e.g. `("node.p", "G")`, or `("cortex.C", "cortex.input_scale")` for a
            `MixedNetwork`'s group (paths also name the leaves, unless `names` is given);
            regional (per-node) arrays are fitted element-wise.
        transforms: one per selected leaf: `Positive()`, `Bounded(lo, hi)` or `Identity()`
            (default); the optimiser works on unconstrained values.
        priors: one per leaf, a `GaussianPrior`, a `LogNormalPrior` or None (None: the
            transform's default prior, see `fit.log_prior`).
        names: names for the leaves in the result (default: the paths, or `param_0`, ...).
        optimizer: any optax optimiser (default `default_optimizer(0.05, steps)`: Adam with
            a short warm-up and a cosine decay over `steps`); gradient clipping (`clip_norm`)
            is chained before it, and a step whose loss or gradient is NaN/inf is rejected
            (`optax.apply_if_finite`), never applied.
        steps: the most optimisation steps to run.
        stop: the rule that ends the fit before `steps` once the loss stops improving, a
            `Plateau` (default `Plateau(patience=20, rtol=1e-4, atol=1e-10)`; with several
            starts the fit ends when every start has plateaued); None runs all `steps`.
        key: PRNG key for noise in the objective and the starts (default `jax.random.key(0)`).
            It is split in two: one half draws the extra starts, the other gives step i the
            key `fold_in(half, i)`, so the objective's noise is resampled every step.
        n_starts: number of starting points, optimised in parallel (vmapped); start 0 is the
            model's current values, the others are perturbed by `start_spread` (unconstrained
            scale).
        start_spread: spread of the extra starts.
        clip_norm: global gradient-norm clip (None: none).
        checkpoint: a directory to save progress to every `checkpoint_every` steps (a
            resumable store, `rosetta_jax.store`: `.npz` files without pickle, checksums in a
            manifest). With `resume` an interrupted fit continues from its newest intact
            checkpoint and ends exactly where an uninterrupted one would; a fit that had ended
            on a plateau returns the same result at once. The same call with more `steps`
            extends a fit that ran all its steps, given an explicit `optimizer` (the default
            one's schedule spans `steps`, so with it other `steps` are other inputs). A
            checkpoint made from other inputs (model, objective and its target data,
            parameters, transforms, priors, optimiser, key, starts, `stop`) raises
            `store.StoreMismatchError` naming what differs; `resume=False` discards it.
        progress: show a progress bar.
        likelihood: the recording's noise model (`fit.LogNormal(...)` for spectra,
            `fit.FisherZ(...)` for FC), which defines the fit's posterior and evidence.
        laplace: compute the Laplace approximation at the end (`FitResult.laplace`); default:
            when a `likelihood` is given. Needs a `SpectrumObjective` or `FCObjective` with
            the analytic method `fit.Linear` (the default likelihood then: a fitted noise
            level).

    Returns:
        A `FitResult`.
    """
    params, leaves, transforms, priors, names = _selected(model, params, transforms, priors, names)
    if steps < 1 or n_starts < 1:
        raise ValueError("`steps` and `n_starts` must be >= 1.")
    if stop is not None and not isinstance(stop, Plateau):
        raise TypeError(f"`stop` must be fit.Plateau(...) or None; got {type(stop).__name__}.")
    key = jr.key(0) if key is None else key
    user_optimizer = default_optimizer(0.05, steps) if optimizer is None else optimizer
    # Equal selectors and optimisers (new closures at every call) become the same objects:
    # the compiled step of an earlier fit of the same structure is reused.
    optimizer = _canonical(_guarded(user_optimizer, clip_norm))
    problem = _Problem(model, _canonical(params), transforms, priors, objective, optimizer)
    k_starts, k_run = jr.split(key)
    u = _starts(leaves, transforms, k_starts, n_starts, start_spread)
    search = _Search.begin(u, problem.optimizer, steps, n_starts)
    ckpt = None
    if checkpoint is not None:
        settings = {"n_starts": n_starts, "start_spread": start_spread, "clip_norm": clip_norm}
        ckpt = _Checkpoint.of_fit(
            checkpoint, resume, problem, names, user_optimizer, key, settings, stop
        )
        search = ckpt.resume(search)
    t_start = time.perf_counter()
    search, step_seconds, stopped = _optimise(
        search, problem, stop, k_run, ckpt, checkpoint_every, progress
    )
    run = {
        "steps": steps,
        "clip_norm": clip_norm,
        "stop": None if stop is None else dataclasses.asdict(stop),
        "stop_reason": "plateau" if stopped else "max_steps",
        "step_seconds": np.asarray(step_seconds),
    }
    result = _result(problem, names, search, k_run, run, t_start)
    if laplace or (laplace is None and likelihood is not None):
        from ._inference import with_laplace

        result = with_laplace(result, params, transforms, priors, names, likelihood)
    return result


def _selected(model, params, transforms, priors, names):
    """The selector (`params`, or a `Selection` of the paths it gives), the selected leaves
    with one transform, prior and name each (a bare transform or prior for a single leaf;
    defaults `Identity()`, None and the paths or `param_i`). Raises on an unknown path, a count
    mismatch, a leaf that is not a floating-point array, or an initial value outside its
    constraint."""
    params, names = as_selector(model, params, names)
    leaves = _as_tuple(params(model))
    n = len(leaves)
    if isinstance(transforms, AbstractTransform):
        transforms = (transforms,)
    if isinstance(priors, (GaussianPrior, LogNormalPrior)):
        priors = (priors,)
    transforms = tuple(transforms) if transforms is not None else (Identity(),) * n
    priors = tuple(priors) if priors is not None else (None,) * n
    if len(transforms) != n or len(priors) != n:
        raise ValueError(
            f"`params` selects {n} leaves: give one transform and one prior (or None) per leaf."
        )
    names = _param_names(params, model, names)
    if len(names) != n:
        raise ValueError(f"`names` must name the {n} selected leaves.")
    for name, t, leaf in zip(names, transforms, leaves, strict=True):
        if not eqx.is_inexact_array(leaf):
            raise TypeError(f"`{name}` is not a floating-point array leaf of the model.")
        t.check(name, leaf)
    return params, leaves, transforms, priors, names


def _guarded(optimizer, clip_norm):
    """The optimiser as `fit` runs it: gradient clipping chained before it (unless `clip_norm`
    is None), and a step whose loss or gradient is NaN/inf rejected, never applied."""
    if not isinstance(optimizer, optax.GradientTransformation):
        raise TypeError(
            "`optimizer` must be an optax optimiser, e.g. optax.adam(0.05); got "
            f"{type(optimizer).__name__}."
        )
    if clip_norm is not None:
        optimizer = optax.chain(optax.clip_by_global_norm(clip_norm), optimizer)
    return optax.apply_if_finite(optimizer, max_consecutive_errors=1_000_000)


@eqx.filter_jit  # one program (dispatching its operations one by one compiles each)
def _starts(leaves, transforms, key, n_starts, spread) -> tuple:
    """Multi-start initialisation: per leaf, the unconstrained values of every start, shape
    `(n_starts, *leaf.shape)`; start 0 is the model's own, start i > 0 adds `spread` times a
    normal draw from `fold_in(key, leaf index)`."""
    u0 = tuple(t.inverse(jnp.asarray(leaf)) for t, leaf in zip(transforms, leaves, strict=True))
    return tuple(
        jnp.concatenate(
            [
                x[None],
                x[None] + spread * jr.normal(jr.fold_in(key, i), (n_starts - 1, *x.shape), x.dtype),
            ],
            axis=0,
        )
        for i, x in enumerate(u0)
    )


@eqx.filter_jit  # one program (dispatching its operations one by one compiles each)
def _constrained(transforms, best_u, b) -> tuple[tuple, tuple]:
    """The constrained values of start `b`'s best unconstrained ones, and of every start's."""
    pairs = tuple(zip(transforms, best_u, strict=True))
    return tuple(t.forward(x[b]) for t, x in pairs), tuple(jax.vmap(t.forward)(x) for t, x in pairs)


def _result(problem, names, search, k_run, run, t_start) -> FitResult:
    """The `FitResult`: the model at the best start's best values, every start's best values,
    the objective's report (with the key `fold_in(k_run, n)`, n the steps run), the history of
    the steps run and the run's metadata (`run`: the settings and stop facts to record)."""
    model, params, transforms, _, objective, optimizer = problem
    best_u, best_loss = search.best_u, search.best_loss
    history = search.history[: search.start_step]
    steps, n_starts = history.shape
    rejected = int(np.sum(~np.isfinite(history)))
    if not np.any(np.isfinite(best_loss)):
        warnings.warn(
            "No step of any start gave a finite loss (every step was rejected): the "
            "result is the starting point. Check the objective at the start (e.g. an "
            "equilibrium that Newton does not find, a simulation that blows up).",
            RuntimeWarning,
            stacklevel=3,
        )
    b = int(np.nanargmin(best_loss)) if np.any(np.isfinite(best_loss)) else 0
    best, every = _constrained(transforms, best_u, jnp.asarray(b))
    fitted = eqx.tree_at(lambda m: _as_tuple(params(m)), model, best)
    values = {nm: np.asarray(x) for nm, x in zip(names, best, strict=True)}
    per_start = {nm: np.asarray(x) for nm, x in zip(names, every, strict=True)}
    goodness = (
        objective.report(fitted, jr.fold_in(k_run, steps))
        if hasattr(objective, "report") and np.any(np.isfinite(best_loss))
        else {}
    )
    meta = {
        "steps": run["steps"],
        "n_starts": n_starts,
        "optimizer": str(optimizer.__class__.__name__),
        "clip_norm": run["clip_norm"],
        "stop": run["stop"],
        "seconds": time.perf_counter() - t_start,
        "rejected_steps": rejected,
        "step_seconds": run["step_seconds"],
        "stopped_at": steps,
        "stop_reason": run["stop_reason"],
        "rosetta_jax": __version__,
        "jax": jax.__version__,
    }
    return FitResult(
        fitted, values, history, float(best_loss[b]), b, goodness, per_start, objective, meta
    )
