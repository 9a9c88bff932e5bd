"""Pseudo-arclength continuation of equilibrium branches: the parameter path and its scaled
coordinates, the predictor-corrector tracing, and the `Branch` it returns (the folds and Hopf
points on it are found by `_bifurcations`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import ArrayLike, Bool, Float, Inexact, PyTree

from ..models._base import AbstractModel
from ._arclength import _corrector, _tangent
from ._bifurcations import SpecialPoint, bifurcations, branch_spectra
from ._dynamics import _newton, fixed_points
from ._precision import in_float64


class Branch(eqx.Module):
    """An equilibrium branch traced by `continuation`.

    Attributes:
        param_name: the continued parameter.
        param: parameter values along the branch, shape `(m,)`.
        states: equilibria, shape `(m, *state_shape)`.
        eigenvalues: Jacobian eigenvalues, shape `(m, n)`, sorted by decreasing real part.
        stable: whether each point is stable, shape `(m,)`.
        fold_points, hopf_points: the located bifurcations (`SpecialPoint`s).
        time_unit: the model's time unit (None for a dimensionless model), which names the
            unit of the Hopf frequencies.
    """

    param_name: str
    param: Float[np.ndarray, " m"]
    states: Float[np.ndarray, " m *state_shape"]
    eigenvalues: Inexact[np.ndarray, "m n"]
    stable: Bool[np.ndarray, " m"]
    fold_points: tuple[SpecialPoint, ...]
    hopf_points: tuple[SpecialPoint, ...]
    time_unit: str | None

    def observe(self, model: AbstractModel) -> np.ndarray:
        """The model's observable along the branch."""
        return np.asarray(jax.vmap(model.observe)(jnp.asarray(self.states)))

    def summary(self) -> str:
        """The branch's range and its bifurcations, one line each."""
        lines = [
            f"branch in {self.param_name}: {len(self.param)} points, "
            f"{self.param.min():.6g} .. {self.param.max():.6g}"
        ]
        for p in self.fold_points:
            lines.append(f"  fold at {self.param_name} = {p.param:.8g}")
        for p in self.hopf_points:
            lines.append(
                f"  Hopf at {self.param_name} = {p.param:.8g}, "
                f"{p.frequency_hz:.6g} {'Hz' if self.time_unit else 'cycles/unit'}"
            )
        return "\n".join(lines)


# ----------------------------------------------------------------------------- parameter path


def _set_param(model, where, value):
    """The model with the selected parameter set to `value` (in the default float dtype)."""
    return eqx.tree_at(where, model, jnp.asarray(value, dtype=jnp.result_type(float)))


def _where(param) -> Callable:
    """A selector from a parameter name ('p', 'node.p') or a callable (lambda m: m.p)."""
    if callable(param):
        return param
    if not isinstance(param, str) or not param:
        raise TypeError(
            "`param` must be a parameter name such as 'p' or 'node.G', or a "
            "selector such as lambda m: m.p."
        )
    parts = param.split(".")

    def where(m):
        for p in parts:
            m = getattr(m, p)
        return m

    return where


def _param_label(param) -> str:
    """The parameter's name for messages and labels."""
    return param if isinstance(param, str) else "parameter"


def _starting_equilibrium(m0, param, start, y0, args):
    """The equilibrium at `start`: Newton from `y0`, by default the most stable fixed point."""
    if y0 is None:
        fps = fixed_points(m0, args=args)
        if not fps:
            raise ValueError(f"No equilibrium found at {_param_label(param)} = {start}; pass y0.")
        y0 = min(fps, key=lambda fp: float(np.max(fp.eigenvalues.real))).state
    y_start, res = _newton(m0, jnp.asarray(y0, dtype=jnp.result_type(float)), args)
    if not float(res) < 1e-6:
        raise ValueError(
            f"Newton did not converge to an equilibrium at {_param_label(param)} = "
            f"{start} from y0 (residual {float(res):.3g}); pass a closer y0."
        )
    return y_start


def _coordinate_scale(model, where, y_start, stop, span, args):
    """Scale of the coordinates x = (y, p) / scale: each state variable by its size at the two
    ends of the range, the parameter by the range, so that the arclength treats them alike."""
    sizes = [np.abs(np.asarray(y_start).reshape(-1))]
    sizes += [
        np.abs(fp.state.reshape(-1))
        for fp in fixed_points(_set_param(model, where, stop), args=args)
    ]
    ys = np.max(np.stack(sizes), axis=0)
    scale = np.concatenate([np.maximum(ys, max(1e-2 * ys.max(), 1e-9)), [abs(span)]])
    return jnp.asarray(scale, dtype=y_start.dtype)


# ----------------------------------------------------------------------------- tracing


def _step(model, where, x, v, ds, args, scale, tol):
    """One predictor-corrector step of arclength `ds` from x along the tangent v: the new point
    and tangent, or None when the step is rejected."""
    x_new, r = _corrector(model, where, x + ds * v, v, args, scale)
    if not (bool(jnp.isfinite(r)) and float(r) < tol * max(1.0, float(jnp.max(jnp.abs(x_new))))):
        return None
    v_new = _tangent(model, where, x_new, args, scale)
    if float(jnp.dot(v_new, v)) < 0:
        v_new = -v_new
    # Reject steps that jump too far or turn too sharply (curvature control).
    if float(jnp.linalg.norm(x_new - x)) < 2 * ds and float(jnp.dot(v_new, v)) > 0.98:
        return x_new, v_new
    return None


def _trace(model, m0, where, y_start, start, stop, args, scale, steps, max_points, tol):
    """The scaled branch points, shape `(m, n + 1)`, from the equilibrium at `start` until the
    branch leaves the range, the step falls below `ds_min` or `max_points` are reached.

    `steps` is `(ds, ds_min, ds_max)`: a rejected step is halved, an accepted one grows."""
    ds, ds_min, ds_max = steps
    span = float(stop - start)
    x = jnp.concatenate([y_start.reshape(-1), jnp.asarray([start], y_start.dtype)]) / scale
    v = _tangent(m0, where, x, args, scale)
    if float(v[-1]) * span < 0:
        v = -v
    points = [np.asarray(x)]
    lo, hi = min(start, stop), max(start, stop)
    while len(points) < max_points:
        stepped = _step(model, where, x, v, ds, args, scale, tol)
        if stepped is None:
            ds *= 0.5
            if ds < ds_min:
                break
            continue
        x, v = stepped
        points.append(np.asarray(x))
        ds = min(ds * 1.3, ds_max)
        p = float(x[-1] * scale[-1])
        if p < lo - 1e-12 * abs(span) or p > hi + 1e-12 * abs(span):
            break
    return np.stack(points)


# ----------------------------------------------------------------------------- continuation


@in_float64
def continuation(
    model: AbstractModel,
    param: str | Callable[[AbstractModel], Any],
    start: float,
    stop: float,
    *,
    y0: Float[ArrayLike, "*state_shape"] | None = None,
    args: PyTree = None,
    ds: float | None = None,
    ds_min: float | None = None,
    ds_max: float | None = None,
    max_points: int = 5000,
    tol: float = 1e-9,
    locate_tol: float = 1e-9,
) -> Branch:
    """Pseudo-arclength continuation of the equilibria of `model` as `param` goes from `start`
    to `stop`, with fold and Hopf points located.

    Folds are sign changes of $\\det J$ along the branch; Hopf points are zero crossings of the
    real part of a complex-conjugate pair (with the pair complex on both sides, so neutral
    saddles, real pairs $\\pm\\lambda$, are not reported). Each is located by bisection along the
    branch's arclength until the parameter is known to `locate_tol` (relative to the range).

    Args:
        model: a model (or a network without delays).
        param: a parameter name (`"p"`, `"node.G"`) or a selector (`lambda m: m.p`).
        start, stop: the parameter range; continuation starts at `start`.
        y0: a state near the equilibrium at `start` (default: a fixed point found from
            `initial_state()`, the most stable one when there are several).
        args: constant input to the model.
        ds, ds_min, ds_max: arclength step in scaled coordinates (each state variable by its
            size at `start`, the parameter by the range; default 1/200) and its bounds.
        max_points: maximum number of branch points.
        tol: corrector residual accepted.
        locate_tol: relative precision of the located bifurcation parameters.

    Returns:
        A `Branch` with the points and its `fold_points` and `hopf_points`.
    """
    where = _where(param)
    span = float(stop - start)
    if span == 0:
        raise ValueError("`start` and `stop` must differ.")
    m0 = _set_param(model, where, start)
    y_start = _starting_equilibrium(m0, param, start, y0, args)
    scale = _coordinate_scale(model, where, y_start, stop, span, args)
    ds = ds or 1.0 / 200.0
    steps = (ds, ds_min or ds * 1e-7, ds_max or ds * 5.0)
    X = _trace(model, m0, where, y_start, start, stop, args, scale, steps, max_points, tol)
    eigs, dets = branch_spectra(model, where, X, args, scale)
    shape = y_start.shape
    folds, hopfs = bifurcations(model, where, X, eigs, dets, args, scale, shape, locate_tol)
    return _branch(model, param, X * np.asarray(scale), eigs, folds, hopfs, start, stop)


def _branch(model, param, X, eigs, folds, hopfs, start, stop) -> Branch:
    """The `Branch` of the (unscaled) points X and the bifurcations inside [start, stop]."""
    lo, hi = min(start, stop), max(start, stop)
    margin = 1e-12 * abs(float(stop - start))
    inside = (X[:, -1] >= lo - margin) & (X[:, -1] <= hi + margin)
    X, eigs = X[inside], eigs[inside]
    keep = lambda pts: tuple(p for p in pts if lo <= p.param <= hi)
    return Branch(
        param_name=_param_label(param),
        param=X[:, -1],
        states=X[:, :-1].reshape(-1, *model.initial_state().shape),
        eigenvalues=eigs,
        stable=np.all(eigs.real < 0, axis=1),
        fold_points=keep(folds),
        hopf_points=keep(hopfs),
        time_unit=model.time_unit,
    )
