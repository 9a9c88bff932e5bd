"""The optimisation loop of `fit`: a jitted step of every start at once (vmapped), each start's
best values so far, checkpoints and a progress bar."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax


def _as_tuple(x) -> tuple:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


class _Problem(NamedTuple):
    """What `fit` optimises, in the order `_step` takes it: the model, the selector of its
    fitted leaves, their transforms and priors, the objective and the (guarded) optimiser."""

    model: Any
    params: Callable
    transforms: tuple
    priors: tuple
    objective: Any
    optimizer: optax.GradientTransformation


class _Search(NamedTuple):
    """Where the multi-start search stands: unconstrained values `u` and optimiser state per
    start, each start's best values and loss so far, the loss history `(steps, n_starts)` and
    the step to run next."""

    u: tuple
    opt_state: Any
    best_u: tuple
    best_loss: np.ndarray
    history: np.ndarray
    start_step: int

    @classmethod
    def begin(cls, u, optimizer, steps: int, n_starts: int) -> _Search:
        """The search before its first step: the optimiser initialised at every start, no
        best values yet (infinite losses) and an empty (NaN) history of `steps` rows."""
        return cls(
            u,
            jax.vmap(optimizer.init)(u),
            jax.tree.map(lambda x: np.asarray(x), u),
            np.full(n_starts, np.inf),
            np.full((steps, n_starts), np.nan),
            0,
        )


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


def _keep_best(loss, best_loss, best_u, u):
    """Each start's best loss and values after a step that evaluated `u` at `loss` (a
    non-finite loss never counts as better)."""
    better = np.isfinite(loss) & (loss < best_loss)
    best_loss = np.where(better, loss, best_loss)
    best_u = jax.tree.map(
        lambda b, x, better=better: np.where(
            better.reshape((-1,) + (1,) * (np.ndim(b) - 1)), np.asarray(x), b
        ),
        best_u,
        u,
    )
    return best_loss, best_u


def _optimise(search: _Search, problem: _Problem, key, ckpt, every: int, progress: bool):
    """Run the steps from `search.start_step` to the end of its history, step i with the key
    `fold_in(key, i)`, saving to `ckpt` (if any) every `every` steps and at the end. Returns
    the final search and the wall time of each step run [s]."""
    u, opt_state, best_u, best_loss, history, start = search
    steps = history.shape[0]
    bar = _progress(steps, start, progress)
    step_seconds = []
    for i in range(start, steps):
        t_step = time.perf_counter()
        u_new, opt_state, loss, _ = _step(u, opt_state, jnp.asarray(i), key, *problem)
        loss = np.asarray(loss)
        step_seconds.append(time.perf_counter() - t_step)
        history[i] = loss
        best_loss, best_u = _keep_best(loss, best_loss, best_u, u)
        u = u_new
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{np.nanmin(loss):.4g}")
        if ckpt is not None and ((i + 1) % every == 0 or i + 1 == steps):
            ckpt.save((u, opt_state, best_u), i + 1, history[: i + 1], best_loss)
    if bar is not None:
        bar.close()
    return _Search(u, opt_state, best_u, best_loss, history, steps), step_seconds


def _progress(total, initial, enabled):
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover
        return None
    return tqdm(total=total, initial=initial, desc="fit", leave=False)
