"""Bifurcation diagrams: an equilibrium branch with its folds and Hopf points, drawn over the
extrema of the attractors that simulations reach across the parameter range."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import ArrayLike, Float, PyTree

from ..models._base import AbstractModel
from ..units import TimeUnit
from ._continuation import Branch, _set_param, _where, continuation


def bifurcation_diagram(
    model: AbstractModel,
    param: str | Callable[[AbstractModel], Any],
    start: float,
    stop: float,
    *,
    branch: Branch | None = None,
    n_sim: int = 60,
    initial_states: Float[ArrayLike, " k *state_shape"] | None = None,
    t1: float | None = None,
    dt: float | None = None,
    discard: float = 0.5,
    args: PyTree = None,
    ax: Any = None,
) -> tuple[Any, Any, Branch]:
    """Plot a bifurcation diagram: the equilibrium branch (stable solid, unstable dashed), its
    folds and Hopf points, and the extrema of the observable on the attractors reached by
    simulation (limit cycles show as two bands).

    Args:
        model, param, start, stop: as for `continuation`.
        branch: a precomputed `Branch` (default: computed here).
        n_sim: parameter values simulated (one vmapped run per initial state); 0 draws the
            branch alone.
        initial_states: states to start from, shape `(k, *state_shape)`; default the model's
            initial state and a large perturbation of it (to reach coexisting attractors).
        t1, dt: simulation length and step (defaults by time unit: 10 s at 0.1 ms,
            2000 ms at 0.01 ms, 500 units at 0.01).
        discard: fraction of each run discarded as transient.
        args: constant input.
        ax: matplotlib axes to draw in.

    Returns:
        `(fig, ax, branch)`.
    """
    import matplotlib.pyplot as plt

    where = _where(param)
    if branch is None:
        branch = continuation(model, param, start, stop, args=args)
    values, lo_v, hi_v = _attractor_extrema(
        model, where, start, stop, n_sim, initial_states, t1, dt, discard, args
    )
    fig, ax = plt.subplots(figsize=(7, 4)) if ax is None else (ax.figure, ax)
    _draw_branch(ax, model, branch)
    for k in range(lo_v.shape[0]):
        ax.plot(values, lo_v[k], ".", color="tab:blue", ms=3)
        ax.plot(values, hi_v[k], ".", color="tab:red", ms=3)
    _mark_bifurcations(ax, model, branch)
    ax.set_xlabel(branch.param_name)
    ax.set_ylabel("observable")
    ax.set_xlim(min(start, stop), max(start, stop))
    if branch.fold_points or branch.hopf_points:
        ax.legend(fontsize=7, loc="best")
    return fig, ax, branch


def _attractor_extrema(model, where, start, stop, n_sim, initial_states, t1, dt, discard, args):
    """Simulated parameter values and the minimum and maximum of the observable after the
    transient, shape `(k, n_sim)`: one vmapped run per initial state and value."""
    from ..engine import simulate

    dtype = model.initial_state().dtype
    t1_d, dt_d, save = TimeUnit.of(model).default_run
    t1, dt = t1 or t1_d, dt or dt_d
    y_init = model.initial_state()
    if initial_states is None:
        big = jnp.where(y_init == 0, 1.0, y_init) * 3.0
        initial_states = jnp.stack([y_init, big])
    initial_states = jnp.asarray(initial_states, dtype=dtype)
    values = jnp.linspace(start, stop, n_sim, dtype=dtype)

    def extrema(p, y0):
        m = _set_param(model, where, p)
        sol = simulate(
            m, t1=t1, dt=dt, save_every=save, y0=y0, forcing=args, throw=False, save_state=False
        )
        o = sol.observed[int(discard * sol.observed.shape[0]) :]
        return jnp.min(o), jnp.max(o)

    if n_sim > 0:
        run = jax.jit(jax.vmap(jax.vmap(extrema, in_axes=(0, None)), in_axes=(None, 0)))
        lo_v, hi_v = (np.asarray(a) for a in run(values, initial_states))
    else:  # the branch alone
        lo_v = hi_v = np.full((initial_states.shape[0], 0), np.nan)
    return values, lo_v, hi_v


def _draw_branch(ax, model, branch: Branch) -> None:
    """The branch's observable: stable points solid, unstable ones dashed."""
    obs = branch.observe(model)
    obs = obs.reshape(len(branch.param), -1)[:, 0]
    stable = branch.stable
    for mask, style in ((stable, "-"), (~stable, "--")):
        y = np.where(mask, obs, np.nan)
        ax.plot(branch.param, y, style, color="k", lw=1.2)


def _mark_bifurcations(ax, model, branch: Branch) -> None:
    """A marker and a legend entry for each fold (green circle) and Hopf point (purple square)."""
    unit = TimeUnit.of(model).frequency_unit
    marks = [(p, "o", "tab:green", f"fold {p.param:.4g}") for p in branch.fold_points]
    marks += [
        (h, "s", "tab:purple", f"Hopf {h.param:.4g} ({h.frequency_hz:.3g} {unit})")
        for h in branch.hopf_points
    ]
    for point, marker, color, label in marks:
        y = float(jnp.atleast_1d(model.observe(jnp.asarray(point.state)))[0])
        ax.plot(point.param, y, marker, color=color, ms=7, label=label)
