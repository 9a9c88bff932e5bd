"""Equilibria of any model: Jacobians, fixed points and their stability, and pseudo-arclength
continuation of equilibrium branches with fold and Hopf detection.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array

from .._validation import is_concrete
from ..models._base import AbstractModel
from ..units import TimeUnit


# ----------------------------------------------------------------------------- helpers


def to_float64(tree):
    """Cast the floating-point arrays of a pytree to float64 (call inside jax.enable_x64)."""

    def cast(x):
        if eqx.is_inexact_array(x):
            return x.astype(jnp.complex128 if jnp.iscomplexobj(x) else jnp.float64)
        return x

    return jax.tree.map(cast, tree)


def in_float64(fn):
    """Run an equilibrium analysis in float64 whatever the global precision: Newton and
    continuation need it (float32 residuals of stiff models are far above any useful tolerance).
    The model and array arguments are cast; results come back as float64 numpy arrays."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with jax.enable_x64(True):
            args = tuple(
                to_float64(a) if isinstance(a, (eqx.Module, jax.Array, np.ndarray)) else a
                for a in args
            )
            kwargs = {
                k: to_float64(v) if isinstance(v, (eqx.Module, jax.Array, np.ndarray)) else v
                for k, v in kwargs.items()
            }
            out = fn(*args, **kwargs)
            # Hand back numpy arrays: float64 JAX arrays would warn when used in float32 mode.
            return jax.tree.map(lambda x: np.asarray(x) if isinstance(x, jax.Array) else x, out)

    return wrapper


def _flat_field(model, args=None, t=0.0):
    """The vector field as a function of the flattened state."""
    shape = model.initial_state().shape

    def f(x):
        return model.vector_field(t, x.reshape(shape), args).reshape(-1)

    return f, shape


def jacobian(model: AbstractModel, y, args=None, t: float = 0.0) -> Array:
    """Jacobian $\\partial f / \\partial y$ of a model's vector field at state `y` (autodiff).

    For a network the state is flattened node by node: the result has shape
    `(n_nodes * n_states, n_nodes * n_states)` (delays are ignored: see `linear_spectrum`).
    """
    f, _ = _flat_field(model, args, t)
    return jax.jacfwd(f)(jnp.asarray(y).reshape(-1))


def classify(eigenvalues, tol: float = 1e-9) -> str:
    """Name an equilibrium from its eigenvalues: stable/unstable node or focus, saddle..."""
    ev = np.asarray(eigenvalues)
    re, im = ev.real, ev.imag
    if np.all(re < -tol):
        return "stable focus" if np.any(np.abs(im) > tol) else "stable node"
    if np.all(re > tol):
        return "unstable focus" if np.any(np.abs(im) > tol) else "unstable node"
    if np.any(np.abs(re) <= tol):
        return "non-hyperbolic"
    lead = ev[np.argmax(re)]
    if abs(lead.imag) > tol and np.sum(re > tol) == 2:
        return "saddle-focus"
    return "saddle"


class FixedPoint(NamedTuple):
    """An equilibrium: its state, eigenvalues, stability and type."""

    state: np.ndarray
    eigenvalues: np.ndarray
    stable: bool
    kind: str


def _set_param(model, where, value):
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
    return param if isinstance(param, str) else "parameter"


@eqx.filter_jit
def _newton(model, y0, args, iterations=60, early_stop=False):
    """Damped Newton on f(y) = 0 from one start; returns (y, residual norm).

    With `early_stop` the iteration ends once the residual or the step is at rounding level (a
    `while_loop`: for searches outside differentiated code; inside it, a fixed number of
    iterations compiles to faster code)."""
    f, shape = _flat_field(model, args)
    x = y0.reshape(-1)
    eps = jnp.finfo(x.dtype).eps

    def step(x):
        J = jax.jacfwd(f)(x)
        r = f(x)
        dx = jnp.linalg.solve(J, -r)
        # A singular Jacobian (a fold, a symmetric network) falls back to least squares.
        dx = jnp.where(jnp.all(jnp.isfinite(dx)), dx, jnp.linalg.lstsq(J, -r)[0])
        # Backtracking by halving, written without data-dependent Python control flow.
        scales = 0.5 ** jnp.arange(8)
        norms = jax.vmap(lambda s: jnp.linalg.norm(f(x + s * dx)))(scales)
        best = jnp.argmax(norms < jnp.linalg.norm(r))  # first improving scale (0 if none)
        s = jnp.where(jnp.any(norms < jnp.linalg.norm(r)), scales[best], scales[-1])
        ok = jnp.all(jnp.isfinite(x + s * dx))
        return jnp.where(ok, x + s * dx, x), jnp.where(ok, jnp.linalg.norm(s * dx), 0.0)

    if not early_stop:
        x = jax.lax.fori_loop(0, iterations, lambda _, x: step(x)[0], x)
        return x.reshape(shape), jnp.linalg.norm(f(x))

    def body(carry):
        i, x, _, _ = carry
        x_new, size = step(x)
        return i + 1, x_new, jnp.linalg.norm(f(x_new)), size

    def cond(carry):
        i, x, res, size = carry
        tiny = 1e3 * eps * (1.0 + jnp.linalg.norm(x))
        return (i < iterations) & (res > tiny) & (size > 1e-2 * tiny)

    r0 = jnp.linalg.norm(f(x))
    _, x, res, _ = jax.lax.while_loop(cond, body, (0, x, r0, jnp.asarray(jnp.inf, x.dtype)))
    return x.reshape(shape), res


@in_float64
def fixed_points(
    model: AbstractModel,
    *,
    starts: Any = None,
    n_starts: int | None = None,
    key: Any = None,
    args: Any = None,
    tol: float = 1e-8,
    t1: float | None = None,
    dt: float | None = None,
) -> list[FixedPoint]:
    """Equilibria of a model found by Newton's method from many starting states.

    Args:
        model: any model (a network without delays too).
        starts: starting states, shape `(k, *state_shape)`. Default: states visited by a short
            deterministic simulation from `initial_state()`, plus random perturbations of them.
        n_starts: number of default starts (each generates three: a visited state, a
            perturbation of it and a random state in the visited box); default 128 for up to 20
            state variables, 16 for larger systems.
        key: PRNG key for the default perturbations (default `jax.random.key(0)`).
        args: constant input to the model.
        tol: residual norm below which a point counts as an equilibrium.
        t1, dt: length and step of the exploratory simulation (default: about 100 of the
            model's time constants, from its Jacobian at the initial state).

    Returns:
        The distinct equilibria, each a `FixedPoint(state, eigenvalues, stable, kind)`, sorted
        by their first state variable.
    """
    y_init = model.initial_state()
    if starts is None:
        n_starts = n_starts or (128 if y_init.size <= 20 else 16)
        starts = _default_starts(model, n_starts, key, args, t1, dt)
    starts = jnp.asarray(starts, dtype=y_init.dtype)
    if starts.shape[1:] != y_init.shape:
        raise ValueError(
            f"`starts` must have shape (k, {', '.join(map(str, y_init.shape))}); got "
            f"{starts.shape}."
        )
    newton = lambda y: _newton(model, y, args, early_stop=True)
    # Large systems run the starts one after another: a batched dense solve of a few hundred
    # states is no faster on CPU, and batching them can stall XLA's CPU runtime.
    ys, res = jax.vmap(newton)(starts) if y_init.size <= 64 else jax.lax.map(newton, starts)
    ys, res = np.asarray(ys), np.asarray(res)
    found: list[FixedPoint] = []
    scale = np.maximum(np.abs(ys).max(axis=0), 1e-12)
    for y, r in zip(ys, res, strict=True):
        if not np.isfinite(r) or r > tol or not bool(model.admissible(jnp.asarray(y))):
            continue
        if any(np.all(np.abs(y - fp.state) <= 1e-6 * scale + 1e-9) for fp in found):
            continue
        ev = np.linalg.eigvals(np.asarray(jacobian(model, y, args)))
        ev = ev[np.argsort(-ev.real)]
        found.append(FixedPoint(y, ev, bool(np.all(ev.real < 0)), classify(ev)))
    return sorted(found, key=lambda fp: float(fp.state.reshape(-1)[0]))


def _default_starts(model, n, key, args, t1, dt):
    from .._simulate import simulate

    y0 = model.initial_state()
    if dt is None or t1 is None:
        ev = np.linalg.eigvals(np.asarray(jacobian(model, y0, args)))
        rate = float(np.max(np.abs(ev))) if np.all(np.isfinite(ev)) else 1.0
        slow = float(np.min(np.abs(ev[np.abs(ev) > 1e-12]))) if np.any(np.abs(ev) > 1e-12) else 1.0
        dt = dt or 0.05 / max(rate, 1e-9)
        t1 = t1 or min(200.0 / max(slow, 1e-9), 2e5 * dt)
    n_steps = max(int(round(t1 / dt)), n)
    save = max(n_steps // n, 1)
    sol = simulate(
        model, t1=save * n * dt, dt=dt, save_every=save, throw=False, forcing=args, solver=None
    )
    path = jnp.asarray(sol.ys)
    path = jnp.where(jnp.isfinite(path), path, y0)
    key = jr.key(0) if key is None else key
    k1, k2 = jr.split(key)
    scale = jnp.maximum(jnp.abs(path).max(axis=0), 1e-3)
    jitter = path + 0.3 * scale * jr.normal(k1, path.shape, path.dtype)
    # Also a coarse box around the visited region (finds states the run did not visit).
    box = jnp.maximum(scale, 1.0) * jr.uniform(k2, path.shape, path.dtype, -2.0, 2.0)
    return jnp.concatenate([y0[None], path, jitter, box])


# ----------------------------------------------------------------------------- continuation


class SpecialPoint(NamedTuple):
    """A bifurcation on an equilibrium branch."""

    kind: str  # "fold" or "hopf"
    param: float  # parameter value
    state: np.ndarray  # equilibrium state there
    eigenvalues: np.ndarray
    frequency_hz: float | None  # Hopf frequency (Hz with a time unit, else cycles per unit time)


@dataclasses.dataclass(frozen=True)
class Branch:
    """An equilibrium branch traced by `continuation`.

    Attributes:
        param_name: the continued parameter.
        param: parameter values along the branch, shape `(m,)`.
        states: equilibria, shape `(m, *state_shape)`.
        eigenvalues: Jacobian eigenvalues, shape `(m, n)`, sorted by decreasing real part.
        stable: whether each point is stable, shape `(m,)`.
        fold_points, hopf_points: the located bifurcations (`SpecialPoint`s).
    """

    param_name: str
    param: np.ndarray
    states: np.ndarray
    eigenvalues: np.ndarray
    stable: np.ndarray
    fold_points: tuple
    hopf_points: tuple
    time_unit: str | None

    def observe(self, model) -> np.ndarray:
        """The model's observable along the branch."""
        return np.asarray(jax.vmap(model.observe)(jnp.asarray(self.states)))

    def summary(self) -> str:
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


@eqx.filter_jit
def _corrector(model, where, x_pred, tangent, args, scale, iterations: int = 12):
    """Newton on [f(y, p) = 0; tangent . (x - x_pred) = 0] for x = (y, p) / scale."""
    shape = model.initial_state().shape

    def F(x):
        xt = x * scale
        m = eqx.tree_at(where, model, xt[-1])
        fy = m.vector_field(0.0, xt[:-1].reshape(shape), args).reshape(-1)
        return jnp.concatenate([fy, jnp.dot(tangent, x - x_pred)[None]])

    def body(_, x):
        dx = jnp.linalg.solve(jax.jacfwd(F)(x), -F(x))
        return x + dx

    x = jax.lax.fori_loop(0, iterations, body, x_pred)
    return x, jnp.linalg.norm(F(x))


@eqx.filter_jit
def _tangent(model, where, x, args, scale):
    """Unit null vector of the (n, n+1) Jacobian [f_y, f_p] at x = (y, p) / scale."""
    shape = model.initial_state().shape

    def f(x):
        xt = x * scale
        m = eqx.tree_at(where, model, xt[-1])
        return m.vector_field(0.0, xt[:-1].reshape(shape), args).reshape(-1)

    J = jax.jacfwd(f)(x)
    # The last right-singular vector spans the null space of a full-rank (n, n+1) matrix.
    v = jnp.linalg.svd(J, full_matrices=True)[2][-1]
    return v / jnp.linalg.norm(v)


@eqx.filter_jit
def _eigs(model, where, x, args, scale):
    shape = model.initial_state().shape
    xt = x * scale
    m = eqx.tree_at(where, model, xt[-1])
    J = jacobian(m, xt[:-1].reshape(shape), args)
    return jnp.linalg.eigvals(J), jnp.linalg.det(J)


@in_float64
def continuation(
    model: AbstractModel,
    param,
    start: float,
    stop: float,
    *,
    y0: Any = None,
    args: Any = None,
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
    shape = y_start.shape
    # Work in scaled coordinates: each state variable by its size, the parameter by the range,
    # so that the arclength treats them alike.
    sizes = [np.abs(np.asarray(y_start).reshape(-1))]
    sizes += [
        np.abs(fp.state.reshape(-1))
        for fp in fixed_points(_set_param(model, where, stop), args=args)
    ]
    ys = np.max(np.stack(sizes), axis=0)
    scale = np.concatenate([np.maximum(ys, max(1e-2 * ys.max(), 1e-9)), [abs(span)]])
    scale = jnp.asarray(scale, dtype=y_start.dtype)
    ds = ds or 1.0 / 200.0
    ds_min = ds_min or ds * 1e-7
    ds_max = ds_max or ds * 5.0
    x = jnp.concatenate([y_start.reshape(-1), jnp.asarray([start], y_start.dtype)]) / scale
    v = _tangent(m0, where, x, args, scale)
    if float(v[-1]) * span < 0:
        v = -v
    points, tangents = [np.asarray(x)], [np.asarray(v)]
    lo, hi = min(start, stop), max(start, stop)
    while len(points) < max_points:
        x_new, r = _corrector(model, where, x + ds * v, v, args, scale)
        ok = bool(jnp.isfinite(r)) and float(r) < tol * max(1.0, float(jnp.max(jnp.abs(x_new))))
        if ok:
            v_new = _tangent(model, where, x_new, args, scale)
            if float(jnp.dot(v_new, v)) < 0:
                v_new = -v_new
            # Reject steps that jump too far or turn too sharply (curvature control).
            ok = float(jnp.linalg.norm(x_new - x)) < 2 * ds and float(jnp.dot(v_new, v)) > 0.98
        if not ok:
            ds *= 0.5
            if ds < ds_min:
                break
            continue
        x, v = x_new, v_new
        points.append(np.asarray(x))
        tangents.append(np.asarray(v))
        ds = min(ds * 1.3, ds_max)
        p = float(x[-1] * scale[-1])
        if p < lo - 1e-12 * abs(span) or p > hi + 1e-12 * abs(span):
            break

    X = np.stack(points)
    eig_det = [_eigs(model, where, jnp.asarray(xp), args, scale) for xp in X]
    eigs = np.stack([np.asarray(e) for e, _ in eig_det])
    eigs = np.take_along_axis(eigs, np.argsort(-eigs.real, axis=1), axis=1)
    dets = np.array([float(d) for _, d in eig_det])

    folds, hopfs = [], []
    for k in range(len(X) - 1):
        if np.sign(dets[k]) != np.sign(dets[k + 1]) and dets[k] != 0:
            folds.append(_locate(model, where, X[k], X[k + 1], args, "fold", locate_tol, scale))
        pair_k, pair_k1 = _complex_lead(eigs[k]), _complex_lead(eigs[k + 1])
        if (
            pair_k is not None
            and pair_k1 is not None
            and np.sign(pair_k.real) != np.sign(pair_k1.real)
        ):
            hopfs.append(_locate(model, where, X[k], X[k + 1], args, "hopf", locate_tol, scale))
    hz = TimeUnit.of(model).hz_factor
    sc = np.asarray(scale)
    folds = [_special(model, where, xp, args, "fold", None, shape, scale) for xp in folds]
    hopfs = [_special(model, where, xp, args, "hopf", hz, shape, scale) for xp in hopfs]
    # A jump of the leading complex pair (another pair taking over) is not a crossing.
    hopfs = [
        h
        for h in hopfs
        if abs(_complex_lead(h.eigenvalues).real)
        < 1e-6 * max(1.0, abs(_complex_lead(h.eigenvalues).imag))
    ]
    X = X * sc
    inside = (X[:, -1] >= lo - 1e-12 * abs(span)) & (X[:, -1] <= hi + 1e-12 * abs(span))
    X, eigs = X[inside], eigs[inside]
    keep = lambda pts: tuple(p for p in pts if lo <= p.param <= hi)
    return Branch(
        param_name=_param_label(param),
        param=X[:, -1],
        states=X[:, :-1].reshape(-1, *shape),
        eigenvalues=eigs,
        stable=np.all(eigs.real < 0, axis=1),
        fold_points=keep(folds),
        hopf_points=keep(hopfs),
        time_unit=model.time_unit,
    )


def _complex_lead(ev, tol=1e-8):
    """The complex eigenvalue (positive imaginary part) with the largest real part, if any."""
    c = ev[ev.imag > tol * max(1.0, float(np.max(np.abs(ev))))]
    return None if c.size == 0 else c[np.argmax(c.real)]


def _test_value(model, where, x, args, kind, scale):
    e, d = _eigs(model, where, jnp.asarray(x), args, scale)
    if kind == "fold":
        return float(d)
    lead = _complex_lead(np.asarray(e))
    return np.nan if lead is None else float(lead.real)


def _locate(model, where, xa, xb, args, kind, rtol, scale):
    """Bisection along the chord between two branch points (scaled coordinates) for the zero of
    the test function, each trial point corrected back onto the branch."""
    ga = _test_value(model, where, xa, args, kind, scale)
    length = float(np.linalg.norm(xb - xa))
    direction = jnp.asarray((xb - xa) / max(length, 1e-300))
    s_lo, s_hi = 0.0, length
    x_lo, x_hi = jnp.asarray(xa), jnp.asarray(xb)
    for _ in range(200):
        s_mid = 0.5 * (s_lo + s_hi)
        x_mid, r = _corrector(
            model, where, jnp.asarray(xa) + s_mid * direction, direction, args, scale
        )
        g = _test_value(model, where, np.asarray(x_mid), args, kind, scale)
        if not np.isfinite(g) or not bool(jnp.isfinite(r)):
            break
        if np.sign(g) == np.sign(ga):
            s_lo, x_lo = s_mid, x_mid
        else:
            s_hi, x_hi = s_mid, x_mid
        # Parameter (scaled by the range) known to rtol, and the bracket tight in arclength.
        if abs(float(x_hi[-1] - x_lo[-1])) < rtol and s_hi - s_lo < 1e-9:
            break
    return np.asarray(0.5 * (x_lo + x_hi))


def _special(model, where, x, args, kind, hz, shape, scale):
    e, _ = _eigs(model, where, jnp.asarray(x), args, scale)
    e = np.asarray(e)
    e = e[np.argsort(-e.real)]
    freq = None
    if kind == "hopf":
        lead = _complex_lead(e)
        freq = abs(float(lead.imag)) / (2 * math.pi) * hz
    xt = np.asarray(x) * np.asarray(scale)
    return SpecialPoint(kind, float(xt[-1]), xt[:-1].reshape(shape), e, freq)


# ----------------------------------------------------------------------------- diagram


def bifurcation_diagram(
    model: AbstractModel,
    param,
    start: float,
    stop: float,
    *,
    branch: Branch | None = None,
    n_sim: int = 60,
    initial_states: Any = None,
    t1: float | None = None,
    dt: float | None = None,
    discard: float = 0.5,
    args: Any = None,
    ax=None,
):
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

    from .._simulate import simulate

    where = _where(param)
    if branch is None:
        branch = continuation(model, param, start, stop, args=args)
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

    fig, ax = plt.subplots(figsize=(7, 4)) if ax is None else (ax.figure, ax)
    obs = branch.observe(model)
    obs = obs.reshape(len(branch.param), -1)[:, 0]
    stable = branch.stable
    for mask, style in ((stable, "-"), (~stable, "--")):
        y = np.where(mask, obs, np.nan)
        ax.plot(branch.param, y, style, color="k", lw=1.2)
    for k in range(initial_states.shape[0]):
        ax.plot(values, lo_v[k], ".", color="tab:blue", ms=3)
        ax.plot(values, hi_v[k], ".", color="tab:red", ms=3)
    unit = TimeUnit.of(model).frequency_unit
    for fpt in branch.fold_points:
        ax.plot(
            fpt.param,
            float(jnp.atleast_1d(model.observe(jnp.asarray(fpt.state)))[0]),
            "o",
            color="tab:green",
            ms=7,
            label=f"fold {fpt.param:.4g}",
        )
    for h in branch.hopf_points:
        ax.plot(
            h.param,
            float(jnp.atleast_1d(model.observe(jnp.asarray(h.state)))[0]),
            "s",
            color="tab:purple",
            ms=7,
            label=f"Hopf {h.param:.4g} ({h.frequency_hz:.3g} {unit})",
        )
    ax.set_xlabel(branch.param_name)
    ax.set_ylabel("observable")
    ax.set_xlim(min(start, stop), max(start, stop))
    if branch.fold_points or branch.hopf_points:
        ax.legend(fontsize=7, loc="best")
    return fig, ax, branch


def equilibrium(
    model: AbstractModel, y_guess, args=None, iterations: int = 40, *, tol: float | None = None
) -> Array:
    """A differentiable equilibrium: Newton from `y_guess`, with exact parameter gradients.

    Newton runs on stopped gradients; one final Newton step carries them, which gives
    $dy^*/d\\theta = -J^{-1}\\,\\partial f/\\partial\\theta$ (the implicit function theorem) at the
    equilibrium. jit-, vmap- and grad-safe; in the model's own precision.

    The result is checked: the last Newton step must be below `tol` relative to the state
    (default $10\\sqrt{\\epsilon}$: 1.5e-7 in float64, 3.5e-3 in float32). When it is not (Newton
    did not converge from `y_guess`, or the Jacobian is singular), a concrete call raises and
    a traced one (inside a fit or a sensitivity analysis) returns NaN, so that the loss is NaN
    and the fitting step is rejected rather than taken at a point that is not an equilibrium.

    Args:
        model: a model (or a network without delays).
        y_guess: a state near the wanted equilibrium.
        args: constant input.
        iterations: Newton iterations.
        tol: relative size of the last Newton step below which the point is accepted.

    Raises:
        ValueError: (concrete inputs) when Newton did not converge.
    """
    shape = model.initial_state().shape
    frozen = jax.lax.stop_gradient(model)
    y, _ = _newton(frozen, jax.lax.stop_gradient(jnp.asarray(y_guess)), args, iterations)
    f = lambda x: model.vector_field(0.0, x.reshape(shape), args).reshape(-1)
    x = jax.lax.stop_gradient(y.reshape(-1))
    J = jax.lax.stop_gradient(jax.jacfwd(f)(x))
    step = jnp.linalg.solve(J, f(x))
    tol = 10.0 * math.sqrt(float(jnp.finfo(x.dtype).eps)) if tol is None else float(tol)
    size = jnp.linalg.norm(jax.lax.stop_gradient(step))
    ok = size <= tol * (1.0 + jnp.linalg.norm(x))  # False for NaN too
    if is_concrete(ok):
        if not bool(ok):
            res = float(jnp.linalg.norm(f(x)))
            raise ValueError(
                f"Newton did not converge to an equilibrium of {type(model).__name__} from "
                f"`y_guess` (last step {float(size):.3g}, residual |f| = {res:.3g}): the point "
                "is not an equilibrium. Start closer, e.g. y_guess=analysis.stable_equilibrium("
                "model), or check that the model has an equilibrium at these parameters."
            )
        return (x - step).reshape(shape)
    return jnp.where(ok, x - step, jnp.nan).reshape(shape)


def stable_equilibrium(model: AbstractModel, args=None, **kwargs) -> Array:
    """The least-damped stable equilibrium of a model (found by `fixed_points`).

    Noise around this state is the rhythm a linearised spectrum describes: for Jansen-Rit at
    moderate input, the upper-branch alpha focus rather than the strongly damped low-activity
    node. Use it as the `y_guess` of `fit.Linear(...)`, the analytic method of the objectives.

    Args:
        model: any model (a network without delays too); args, kwargs: as for `fixed_points`.

    Returns:
        The state, shaped like `model.initial_state()`.

    Raises:
        ValueError: when the model has no stable equilibrium at its parameters.
    """
    fps = [fp for fp in fixed_points(model, args=args, **kwargs) if fp.stable]
    if not fps:
        raise ValueError(
            f"{type(model).__name__} has no stable equilibrium at its parameters "
            "(it oscillates or diverges); move it below its bifurcation, e.g. "
            "JansenRit(p=20)."
        )
    return jnp.asarray(max(fps, key=lambda fp: float(np.max(fp.eigenvalues.real))).state)
