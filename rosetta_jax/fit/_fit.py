"""`fit`: gradient-based parameter fitting with optax, multi-start, constraints, checkpoints."""

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

from .._version import __version__
from ..store import Store, fingerprint
from ._transforms import AbstractTransform, GaussianPrior, Identity


def _as_tuple(x) -> tuple:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _param_names(params: Callable, model, names):
    if isinstance(names, str):
        return (names,)
    if names is not None:
        return tuple(names)
    leaves = _as_tuple(params(model))
    return tuple(f"param_{i}" for i in range(len(leaves)))


@dataclasses.dataclass
class FitResult:
    """The outcome of `fit`.

    Attributes:
        model: the model with the best parameters found (over starts and steps).
        params: the fitted parameter values, by name.
        loss_history: loss per step and start, shape `(steps, n_starts)`.
        best_loss: the lowest loss reached; `best_start` the start that reached it.
        goodness: the objective's report on the fitted model (e.g. R^2 of the log-PSD, peak
            error in Hz, FC correlation).
        starts: the parameter values of every start at its best step.
        meta: settings, versions, and the wall time of each step run (`step_seconds`; the
            first includes compilation).
    """

    model: Any
    params: dict[str, np.ndarray]
    loss_history: np.ndarray
    best_loss: float
    best_start: int
    goodness: dict[str, Any]
    starts: dict[str, np.ndarray]
    objective: Any
    meta: dict[str, Any]

    def plot(self, key=None):
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
        lines = [f"best loss {self.best_loss:.6g} (start {self.best_start})"]
        for k, v in self.params.items():
            v = np.asarray(v)
            lines.append(
                f"  {k} = {v.round(6) if v.size <= 6 else f'{v.size} values, mean {v.mean():.6g}'}"
            )
        for k, v in self.goodness.items():
            if v is not None and np.ndim(v) == 0:
                lines.append(f"  {k}: {float(v):.4g}")
        return "\n".join(lines)


def _apply(model, params, transforms, u):
    values = tuple(t.forward(x) for t, x in zip(transforms, u, strict=True))
    where = lambda m: _as_tuple(params(m))
    return eqx.tree_at(where, model, values)


def _prior_penalty(transforms, priors, u):
    total = 0.0
    for t, p, x in zip(transforms, priors, u, strict=True):
        if p is not None:
            total = total + p.penalty(t.forward(x))
    return total


@eqx.filter_jit
def _step(u, opt_state, step, key, model, params, transforms, priors, objective, optimizer):
    k = jr.fold_in(key, step)

    def loss_one(ui):
        m = _apply(model, params, transforms, ui)
        loss, aux = objective(m, k)
        return loss + _prior_penalty(transforms, priors, ui), aux

    (loss, aux), grads = jax.vmap(jax.value_and_grad(loss_one, has_aux=True))(u)
    # A non-finite loss rejects the step even where its gradient is finite (e.g. a jnp.where
    # that returns NaN): its gradient is made NaN, which `optax.apply_if_finite` rejects.
    ok = jnp.isfinite(loss)
    grads = jax.tree.map(
        lambda g: jnp.where(ok.reshape(ok.shape + (1,) * (g.ndim - 1)), g, jnp.nan), grads
    )
    updates, opt_state = jax.vmap(optimizer.update)(grads, opt_state, u)
    u_new = optax.apply_updates(u, updates)
    return u_new, opt_state, loss, aux


def fit(
    model,
    objective,
    *,
    params: Callable,
    transforms: Sequence[AbstractTransform] | None = None,
    priors: Sequence[GaussianPrior | None] | None = None,
    names: Sequence[str] | None = None,
    optimizer: optax.GradientTransformation | None = None,
    steps: int = 100,
    key: Any = None,
    n_starts: int = 1,
    start_spread: float = 0.3,
    clip_norm: float | None = 1.0,
    checkpoint: str | os.PathLike | None = None,
    checkpoint_every: int = 10,
    resume: bool = True,
    progress: bool = True,
) -> FitResult:
    """Fit model parameters to an objective by gradient descent (optax).

    Args:
        model: the model or network to fit (its other parameters stay fixed).
        objective: a callable `objective(model, key) -> (loss, aux)`, e.g.
            `SpectrumObjective`, `FCObjective`, or your own.
        params: selector of the fitted leaves, e.g. `lambda m: (m.node.p, m.G)`; regional
            (per-node) arrays are fitted element-wise.
        transforms: one per selected leaf: `Positive()`, `Bounded(lo, hi)` or `Identity()`
            (default); the optimiser works on unconstrained values.
        priors: one per leaf, a `GaussianPrior` or None.
        names: names for the leaves in the result (default `param_0`, ...).
        optimizer: any optax optimiser (default `optax.adam(0.05)`); gradient clipping
            (`clip_norm`) is chained before it, and a step whose loss or gradient is NaN/inf is
            rejected (`optax.apply_if_finite`), never applied.
        steps: optimisation steps.
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
            checkpoint and ends exactly where an uninterrupted one would (the same call with
            more `steps` extends it). A checkpoint made from other inputs (model, objective
            and its target data, parameters, transforms, priors, optimiser, key, starts) raises
            `store.StoreMismatchError` naming what differs; `resume=False` discards it.
        progress: show a progress bar.

    Returns:
        A `FitResult`.
    """
    leaves = _as_tuple(params(model))
    n = len(leaves)
    if isinstance(transforms, AbstractTransform):
        transforms = (transforms,)
    if isinstance(priors, GaussianPrior):
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
    if steps < 1 or n_starts < 1:
        raise ValueError("`steps` and `n_starts` must be >= 1.")
    key = jr.key(0) if key is None else key
    optimizer = optax.adam(0.05) if optimizer is None else optimizer
    if not isinstance(optimizer, optax.GradientTransformation):
        raise TypeError(
            "`optimizer` must be an optax optimiser, e.g. optax.adam(0.05); got "
            f"{type(optimizer).__name__}."
        )
    user_optimizer = optimizer
    if clip_norm is not None:
        optimizer = optax.chain(optax.clip_by_global_norm(clip_norm), optimizer)
    optimizer = optax.apply_if_finite(optimizer, max_consecutive_errors=1_000_000)

    u0 = tuple(t.inverse(jnp.asarray(leaf)) for t, leaf in zip(transforms, leaves, strict=True))
    k_starts, k_run = jr.split(key)
    u = tuple(
        jnp.concatenate(
            [
                x[None],
                x[None]
                + start_spread
                * jr.normal(jr.fold_in(k_starts, i), (n_starts - 1, *x.shape), x.dtype),
            ],
            axis=0,
        )
        for i, x in enumerate(u0)
    )
    opt_state = jax.vmap(optimizer.init)(u)
    history = np.full((steps, n_starts), np.nan)
    best_u = jax.tree.map(lambda x: np.asarray(x), u)
    best_loss = np.full(n_starts, np.inf)
    start_step = 0

    ckpt = None
    if checkpoint is not None:
        ckpt = _Checkpoint(
            checkpoint,
            resume,
            {
                "model": model,
                "objective": objective,
                "params": params,
                "names": names,
                "transforms": transforms,
                "priors": priors,
                "optimizer": user_optimizer,
                "key": key,
                "settings": {
                    "n_starts": n_starts,
                    "start_spread": start_spread,
                    "clip_norm": clip_norm,
                },
            },
        )
        state = ckpt.latest((u, opt_state, best_u), steps, n_starts)
        if state is not None:
            (u, opt_state, best_u), start_step, hist, best_loss = state
            history[:start_step] = hist

    bar = _progress(steps, start_step, progress)
    t_start = time.perf_counter()
    step_seconds = []
    for i in range(start_step, steps):
        t_step = time.perf_counter()
        u_new, opt_state, loss, aux = _step(
            u,
            opt_state,
            jnp.asarray(i),
            k_run,
            model,
            params,
            transforms,
            priors,
            objective,
            optimizer,
        )
        loss = np.asarray(loss)
        step_seconds.append(time.perf_counter() - t_step)
        history[i] = loss
        better = np.isfinite(loss) & (loss < best_loss)
        best_loss = np.where(better, loss, best_loss)
        best_u = jax.tree.map(
            lambda b, x, better=better: np.where(
                better.reshape((-1,) + (1,) * (np.ndim(b) - 1)), np.asarray(x), b
            ),
            best_u,
            u,
        )
        u = u_new
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{np.nanmin(loss):.4g}")
        if ckpt is not None and ((i + 1) % checkpoint_every == 0 or i + 1 == steps):
            ckpt.save((u, opt_state, best_u), i + 1, history[: i + 1], best_loss)
    if bar is not None:
        bar.close()

    rejected = int(np.sum(~np.isfinite(history)))
    if not np.any(np.isfinite(best_loss)):
        warnings.warn(
            "No step of any start gave a finite loss (every step was rejected): the "
            "result is the starting point. Check the objective at the start (e.g. an "
            "equilibrium that Newton does not find, a simulation that blows up).",
            RuntimeWarning,
            stacklevel=2,
        )
    b = int(np.nanargmin(best_loss)) if np.any(np.isfinite(best_loss)) else 0
    u_best = tuple(jnp.asarray(x[b]) for x in best_u)
    fitted = _apply(model, params, transforms, u_best)
    values = {
        nm: np.asarray(t.forward(x)) for nm, t, x in zip(names, transforms, u_best, strict=True)
    }
    per_start = {
        nm: np.asarray(jax.vmap(t.forward)(jnp.asarray(x)))
        for nm, t, x in zip(names, transforms, best_u, strict=True)
    }
    goodness = (
        objective.report(fitted, jr.fold_in(k_run, steps))
        if hasattr(objective, "report") and np.any(np.isfinite(best_loss))
        else {}
    )
    meta = {
        "steps": steps,
        "n_starts": n_starts,
        "optimizer": str(optimizer.__class__.__name__),
        "clip_norm": clip_norm,
        "seconds": time.perf_counter() - t_start,
        "rejected_steps": rejected,
        "step_seconds": np.asarray(step_seconds),
        "rosetta_jax": __version__,
        "jax": jax.__version__,
    }
    return FitResult(
        fitted, values, history, float(best_loss[b]), b, goodness, per_start, objective, meta
    )


def _progress(total, initial, enabled):
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover
        return None
    return tqdm(total=total, initial=initial, desc="fit", leave=False)


class _Checkpoint:
    """A fit's checkpoints in a resumable store: `state_<step>.npz` files holding the
    optimiser's state, the best values so far and the loss history, the newest two kept."""

    def __init__(self, path, resume, parts):
        self.store = Store(
            path,
            "fit",
            fingerprint(parts),
            resume=resume,
            what=f"The fit checkpoint in {os.fspath(path)}",
        )

    @staticmethod
    def _name(step: int) -> str:
        return f"state_{step:08d}.npz"

    def save(self, tree, step, history, best_loss):
        leaves = jax.tree.leaves(tree)
        arrays = {f"leaf_{i}": np.asarray(x) for i, x in enumerate(leaves)}
        arrays.update(
            history=np.asarray(history, dtype=np.float64),
            best_loss=np.asarray(best_loss, dtype=np.float64),
        )
        self.store.save(self._name(step), arrays, step=int(step))
        recorded = sorted((e.get("step", 0), n) for n, e in self.store.recorded().items())
        for _, name in recorded[:-2]:  # keep the newest two
            self.store.remove(name)

    def latest(self, like, steps, n_starts):
        """(tree, step, history, best_loss) of the newest intact checkpoint at or before
        `steps`, or None. Damaged ones are skipped with a warning."""
        leaves, treedef = jax.tree.flatten(like)
        entries = sorted(self.store.recorded().items(), key=lambda kv: -kv[1].get("step", 0))
        for name, entry in entries:
            step = int(entry.get("step", 0))
            if step > steps:
                continue
            expect = {f"leaf_{i}": (np.shape(x), np.asarray(x).dtype) for i, x in enumerate(leaves)}
            expect.update(
                history=((step, n_starts), np.float64), best_loss=((n_starts,), np.float64)
            )
            got = self.store.load(name, expect, entry)
            if got is not None:
                tree = jax.tree.unflatten(
                    treedef,
                    [
                        jnp.asarray(got[f"leaf_{i}"])
                        if isinstance(x, jax.Array)
                        else got[f"leaf_{i}"]
                        for i, x in enumerate(leaves)
                    ],
                )
                return tree, step, got["history"], got["best_loss"]
        return None
