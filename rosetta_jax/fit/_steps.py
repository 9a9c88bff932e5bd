"""The optimisation loop of `fit`: a jitted step of every start at once (vmapped), each start's
best values so far, the stopping rule, checkpoints and a progress bar."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax

from .._fingerprint import fingerprint
from ._stopping import Plateau, _PlateauState


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
    start, each start's best values and loss so far, the loss history `(steps, n_starts)`
    (filled up to `start_step`), the step to run next and the plateau rule's state."""

    u: tuple
    opt_state: Any
    best_u: tuple
    best_loss: np.ndarray
    history: np.ndarray
    start_step: int
    plateau: _PlateauState

    @classmethod
    def begin(cls, u, optimizer, steps: int, n_starts: int) -> _Search:
        """The search before its first step: the optimiser initialised at every start, no
        best values yet (infinite losses), an empty (NaN) history of `steps` rows and the
        plateau rule's initial state (kept, unused, when the fit has no rule)."""
        return cls(
            u,
            _init(optimizer, u),
            jax.tree.map(lambda x: np.asarray(x), u),
            np.full(n_starts, np.inf),
            np.full((steps, n_starts), np.nan),
            0,
            _PlateauState.begin(n_starts),
        )


@eqx.filter_jit
def _init(optimizer, u):
    """The optimiser's state at every start."""
    return jax.vmap(optimizer.init)(u)


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

    (loss, aux), grads = _per_start(jax.value_and_grad(loss_one, has_aux=True), u)
    # A non-finite loss rejects the step even where its gradient is finite (e.g. a jnp.where
    # that returns NaN): its gradient is made NaN, which `optax.apply_if_finite` rejects.
    ok = jnp.isfinite(loss)
    grads = jax.tree.map(
        lambda g: jnp.where(ok.reshape(ok.shape + (1,) * (g.ndim - 1)), g, jnp.nan), grads
    )
    updates, opt_state = jax.vmap(optimizer.update)(grads, opt_state, u)
    u_new = optax.apply_updates(u, updates)
    return u_new, opt_state, loss, aux


def _per_start(f: Callable, u: tuple):
    """`f` of every start's values (the leading axis of each leaf of `u`): vmapped, or a plain
    call for a single start, so that a `lax.cond` in the objective runs one branch (under
    `vmap` with a batched predicate both branches run)."""
    if jax.tree.leaves(u)[0].shape[0] > 1:
        return jax.vmap(f)(u)
    out = f(jax.tree.map(lambda x: x[0], u))
    return jax.tree.map(lambda x: x[None], out)


def _canonical(obj):
    """`obj`, or an earlier object with the same fingerprint (code, closed-over values, static
    fields, array values: `store.fingerprint`). The jitted step takes the selector and the
    optimiser as static arguments, compared by identity for functions: handing it the earlier
    equal object lets fits of the same structure reuse its compilation (a selector or an
    optax optimiser is a new closure at every call). An object that cannot be fingerprinted
    is returned as it is."""
    try:
        digest = fingerprint({"static": obj}).digest
    except TypeError:
        return obj
    seen = _CANONICAL.setdefault(digest, obj)
    _CANONICAL.move_to_end(digest)
    while len(_CANONICAL) > _CANONICAL_SIZE:
        _CANONICAL.popitem(last=False)
    return seen


_CANONICAL: OrderedDict[str, Any] = OrderedDict()  # fingerprint digest -> first such object
_CANONICAL_SIZE = 64


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


def _optimise(
    search: _Search, problem: _Problem, stop: Plateau | None, key, ckpt, every: int, progress: bool
):
    """Run the steps from `search.start_step` until `stop` finds every start on a plateau or
    the history is full, step i with the key `fold_in(key, i)`, saving to `ckpt` (if any)
    every `every` steps and at the last step run. A search that had stopped (resumed from its last
    checkpoint) runs no step. Returns the final search (its `start_step`: the steps run),
    the wall time of each step run [s] and whether `stop` ended it."""
    u, opt_state, best_u, best_loss, history, i, plateau = search
    steps = history.shape[0]
    done = stop is not None and stop.done(plateau)
    bar = None if done else _progress(steps, i, progress)
    step_seconds = []
    try:
        while i < steps and not done:
            t_step = time.perf_counter()
            u_new, opt_state, loss, _ = _step(u, opt_state, jnp.asarray(i), key, *problem)
            loss = np.asarray(loss)
            step_seconds.append(time.perf_counter() - t_step)
            history[i] = loss
            best_loss, best_u = _keep_best(loss, best_loss, best_u, u)
            if stop is not None:
                plateau = stop.update(plateau, loss)
                done = stop.done(plateau)
            u, i = u_new, i + 1
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{np.nanmin(loss):.4g}")
            if ckpt is not None and (i % every == 0 or i == steps or done):
                ckpt.save((u, opt_state, best_u), i, history[:i], best_loss, plateau)
        if bar is not None and done:
            bar.total = i  # stopped early: the bar ends full
            bar.refresh()
    finally:
        if bar is not None:
            bar.close()
    return _Search(u, opt_state, best_u, best_loss, history, i, plateau), step_seconds, done


def _progress(total, initial, enabled):
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover
        return None
    return tqdm(total=total, initial=initial, desc="fit", leave=False)
