"""Equilibria of any model: Jacobians, Newton's method, fixed points and their stability, and
the differentiable equilibrium used by fits.

Continuation of equilibrium branches lives in `_continuation` (with fold and Hopf detection in
`_bifurcations`), the bifurcation diagram in `_diagram`.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Inexact, PRNGKeyArray, PyTree

from .._validation import is_concrete
from ..models._base import AbstractModel
from ._precision import in_float64


def _flat_field(model, args=None, t=0.0):
    """The vector field as a function of the flattened state."""
    shape = model.initial_state().shape

    def f(x):
        return model.vector_field(t, x.reshape(shape), args).reshape(-1)

    return f, shape


def jacobian(
    model: AbstractModel, y: ArrayLike, args: PyTree = None, t: float = 0.0
) -> Float[Array, "n_state n_state"]:
    """Jacobian $\\partial f / \\partial y$ of a model's vector field at state `y` (autodiff).

    For a network the state is flattened node by node: the result has shape
    `(n_nodes * n_states, n_nodes * n_states)` (delays are ignored: see `linear_spectrum`).
    """
    f, _ = _flat_field(model, args, t)
    return jax.jacfwd(f)(jnp.asarray(y).reshape(-1))


def classify(eigenvalues: Inexact[ArrayLike, " n_state"], tol: float = 1e-9) -> str:
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


class FixedPoint(eqx.Module):
    """An equilibrium: its state, eigenvalues, stability and type.

    Attributes:
        state: the equilibrium, shaped like `model.initial_state()`.
        eigenvalues: the Jacobian's eigenvalues there, sorted by decreasing real part [1/time
            unit of the model] (a `MixedNetwork`'s without its padding's, see `state_mask`).
        stable: whether every eigenvalue has a negative real part.
        kind: its type as `classify` names it ("stable focus", "saddle", ...).
    """

    state: Float[np.ndarray, "*state_shape"]
    eigenvalues: Inexact[np.ndarray, " n_state"]
    stable: bool
    kind: str


@eqx.filter_jit
def _newton(model, y0, args, iterations=60, early_stop=False):
    """Damped Newton on f(y) = 0 from one start; returns (y, residual norm).

    With `early_stop` the iteration ends once the residual or the step is at rounding level (a
    `while_loop`; under `vmap` it runs until every member has stopped, the stopped ones held
    fixed). Without it, exactly `iterations` steps are taken (a `fori_loop`)."""
    f, shape = _flat_field(model, args)
    x = y0.reshape(-1)
    eps = jnp.finfo(x.dtype).eps

    def step(x):
        J = jax.jacfwd(f)(x)
        r = f(x)
        dx = jnp.linalg.solve(J, -r)
        # A singular Jacobian (a fold, a symmetric network) falls back to least squares; a
        # `cond`, so that the SVD runs only then (under `vmap` both branches run).
        dx = jax.lax.cond(jnp.all(jnp.isfinite(dx)), lambda: dx, lambda: jnp.linalg.lstsq(J, -r)[0])
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
    carry = batched_like((0, x, r0, jnp.asarray(jnp.inf, x.dtype)), r0)
    _, x, res, _ = jax.lax.while_loop(cond, body, carry)
    return x.reshape(shape), res


def batched_like(tree, x):
    """`tree` unchanged in value, but made to depend on the scalar `x`: under `vmap`, a loop
    carry that is batched from the start (as `x` is) spares JAX batching the loop's body
    again for every part of the carry it finds batched only after a pass (a model's Newton
    loop inside a vmapped fit: seconds of tracing)."""
    zero = 0.0 * jnp.where(jnp.isfinite(x), x, 0.0)
    return jax.tree.map(lambda a: a + zero.astype(jnp.result_type(a)), tree)


@in_float64
def fixed_points(
    model: AbstractModel,
    *,
    starts: Float[ArrayLike, " k *state_shape"] | None = None,
    n_starts: int | None = None,
    key: PRNGKeyArray | None = None,
    args: PyTree = None,
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
    found = _distinct_equilibria(model, np.asarray(ys), np.asarray(res), args, tol)
    return sorted(found, key=lambda fp: float(fp.state.reshape(-1)[0]))


def _distinct_equilibria(model, ys, res, args, tol) -> list[FixedPoint]:
    """The converged, admissible and distinct Newton end points, each with its stability."""
    found: list[FixedPoint] = []
    scale = np.maximum(np.abs(ys).max(axis=0), 1e-12)
    for y, r in zip(ys, res, strict=True):
        if not np.isfinite(r) or r > tol or not bool(model.admissible(jnp.asarray(y))):
            continue
        if any(np.all(np.abs(y - fp.state) <= 1e-6 * scale + 1e-9) for fp in found):
            continue
        ev = _eigenvalues(model, y, args)
        ev = ev[np.argsort(-ev.real)]
        found.append(FixedPoint(y, ev, bool(np.all(ev.real < 0)), classify(ev)))
    return found


def _eigenvalues(model, y, args) -> np.ndarray:
    """The Jacobian's eigenvalues at `y`, without those of a `MixedNetwork`'s padding (each
    padding entry relaxes alone, $-1$ per time unit: it would otherwise rank equilibria and
    set the time scales of the exploratory run)."""
    from .._mixed_network import MixedNetwork

    J = np.asarray(jacobian(model, y, args))
    if isinstance(model, MixedNetwork):
        keep = model.state_mask().reshape(-1)
        J = J[np.ix_(keep, keep)]
    return np.linalg.eigvals(J)


def _default_starts(model, n, key, args, t1, dt):
    """Newton starts: states visited by a short run, perturbations of them and a coarse box."""
    from ..engine import simulate

    y0 = model.initial_state()
    if dt is None or t1 is None:
        ev = _eigenvalues(model, y0, args)
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


def equilibrium(
    model: AbstractModel,
    y_guess: Float[ArrayLike, "*state_shape"],
    args: PyTree = None,
    iterations: int = 40,
    *,
    tol: float | None = None,
) -> Float[Array, "*state_shape"]:
    """A differentiable equilibrium: Newton from `y_guess`, with exact parameter gradients.

    Newton runs on stopped gradients and stops once converged (at most `iterations` steps;
    none from a point whose residual is already at rounding level); one final Newton step
    carries the gradients, which gives
    $dy^*/d\\theta = -J^{-1}\\,\\partial f/\\partial\\theta$ (the implicit function theorem) at the
    equilibrium. jit-, vmap- and grad-safe; in the model's own precision.

    The result is checked: the last Newton step must be below `tol` relative to the state
    (default $10\\sqrt{\\epsilon}$: 1.5e-7 in float64, 3.5e-3 in float32). When it is not (Newton
    did not converge from `y_guess`, or the Jacobian is singular), a concrete call raises and
    a traced one (inside a fit or a sensitivity analysis) returns NaN, so that the loss is NaN
    and the fitting step is rejected rather than taken at a point that is not an equilibrium.
    A model whose field is affine in the state (`model.affine`, e.g. the damped oscillator)
    takes one exact Newton step from `y_guess` instead (no iteration).

    Args:
        model: a model (or a network without delays).
        y_guess: a state near the wanted equilibrium.
        args: constant input.
        iterations: the most Newton iterations.
        tol: relative size of the last Newton step below which the point is accepted.

    Raises:
        ValueError: (concrete inputs) when Newton did not converge.
    """
    shape = model.initial_state().shape
    frozen = jax.lax.stop_gradient(model)
    y0 = jax.lax.stop_gradient(jnp.asarray(y_guess))
    f = lambda x: model.vector_field(0.0, x.reshape(shape), args).reshape(-1)
    tol = 10.0 * math.sqrt(float(jnp.finfo(y0.dtype).eps)) if tol is None else float(tol)
    if getattr(model, "affine", False):  # one Newton step from anywhere is exact
        x = y0.reshape(-1)
        J = jax.lax.stop_gradient(jax.jacfwd(f)(x))
        x = jax.lax.stop_gradient(x - jnp.linalg.solve(J, f(x)))
        tol = jnp.inf  # any finite step (a singular Jacobian gives none)
    else:
        y, _ = _newton(frozen, y0, args, iterations, early_stop=True)
        x = jax.lax.stop_gradient(y.reshape(-1))
        J = jax.lax.stop_gradient(jax.jacfwd(f)(x))
    step = jnp.linalg.solve(J, f(x))
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


def continued(
    anchor: AbstractModel,
    model: AbstractModel,
    y_anchor: Float[ArrayLike, "*state_shape"],
    steps: int = 4,
    args: PyTree = None,
) -> Float[Array, "*state_shape"]:
    """A start for Newton on the branch of equilibria through `y_anchor`: natural parameter
    continuation from `anchor` (whose equilibrium `y_anchor` is) to `model`, a model of the
    same structure, one Newton step at each of `steps` models evenly spaced on the straight
    line between their parameters; without gradients. Polish it with `equilibrium`.

    Newton from a fixed start converges to whichever equilibrium's basin holds the start: in
    a bistable model (Jansen-Rit between its folds) that can be the saddle between the
    stable states, although the stable state near the start still exists. Following the
    branch avoids that jump (it ends where the branch folds: Newton then fails, NaN).
    jit- and vmap-safe."""
    a, m = jax.lax.stop_gradient(anchor), jax.lax.stop_gradient(model)
    y_anchor = jax.lax.stop_gradient(jnp.asarray(y_anchor))
    shape = y_anchor.shape

    def body(x, s):
        between = jax.tree.map(lambda p, q: p + s * (q - p) if eqx.is_inexact_array(q) else q, a, m)
        f = lambda z: between.vector_field(0.0, z.reshape(shape), args).reshape(-1)
        return x - jnp.linalg.solve(jax.jacfwd(f)(x), f(x)), None

    fractions = jnp.arange(1, steps + 1, dtype=y_anchor.dtype) / steps
    x, _ = jax.lax.scan(body, y_anchor.reshape(-1), fractions)
    return x.reshape(shape)


def stable_equilibrium(
    model: AbstractModel, args: PyTree = None, **kwargs
) -> Float[Array, "*state_shape"]:
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
            f"(it oscillates or diverges); move it below its bifurcation{_hint(model)}."
        )
    return jnp.asarray(max(fps, key=lambda fp: float(np.max(fp.eigenvalues.real))).state)


def _hint(model) -> str:
    """How to move `model` below its bifurcation: lower its drive (a network: or its coupling
    gain G); for Jansen-Rit nodes, the input p."""
    from .._mixed_network import MixedNetwork
    from ..models import JansenRit
    from ..network import Network

    nodes = (
        [g.model for g in model.groups]
        if isinstance(model, MixedNetwork)
        else [model.node]
        if isinstance(model, Network)
        else [model]
    )
    hint = ", e.g. a weaker input or drive"
    if isinstance(model, (Network, MixedNetwork)):
        hint += " or a lower coupling gain G"
    if any(isinstance(m, JansenRit) for m in nodes):
        hint += " (Jansen-Rit: a lower p, such as p=20)"
    return hint
