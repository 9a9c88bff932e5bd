"""`simulate`: one entry point, two engines (DESIGN.md, "Engine").

* Fixed-step path (default; the only one for noisy runs): our own `jax.lax.scan`, outer over
  save intervals and inner (rolled) over the steps of one interval. Noise is drawn per save
  interval with `jax.random.fold_in(key, i)` and the observable is saved inside the loop. For
  long runs the blocks of intervals (and, with large delay buffers, segments of blocks) are
  wrapped in `jax.checkpoint`, so gradients need memory for the saved points and a few
  carries, not every step's intermediates.
* Adaptive path: `diffrax.diffeqsolve` with a step-size controller, for deterministic runs
  that want tolerances (closed-form checks, limit cycles, bifurcation work).
"""

from __future__ import annotations

import math
from importlib.metadata import PackageNotFoundError, version as _pkg_version
from typing import Any

import diffrax as dfx
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array

from ._validation import array_leaves_with_paths, check_finite, is_concrete, python_number
from ._version import __version__
from .forcing import as_forcing
from .models._base import AbstractModel
from .noise import AbstractNoise
from .solvers import AbstractFixedSolver, Heun
from .units import TimeUnit


class SimulationDivergedError(FloatingPointError):
    """The simulated state became NaN or infinite."""


class Solution(eqx.Module):
    """The result of `simulate`.

    Attributes:
        ts: save times, shape `(n_saves,)`, in the model's time unit; the first save is one
            save interval after `t0` (the initial state is not repeated).
        ys: states at `ts`, shape `(n_saves, *state_shape)` (None with `save_state=False`).
        observed: the model's observable at `ts`, shape `(n_saves, *observable_shape)`.
        y_final: the state at `t1` (to continue a run).
        success: bool array, False when the run blew up (only seen with `throw=False`).
        model, forcing, noise: what was simulated (for provenance).
        info: static run settings and versions; `meta` gives them as a dict.
    """

    ts: Array
    ys: Array | None
    observed: Array
    y_final: Array
    success: Array
    model: Any
    forcing: Any
    noise: Any
    info: tuple = eqx.field(static=True)

    @property
    def meta(self) -> dict[str, Any]:
        """Run settings and versions: t0, t1, dt, save_every, solver, time_unit, versions."""
        return dict(self.info)

    @property
    def time_unit(self) -> str | None:
        return self.meta["time_unit"]

    @property
    def state_names(self) -> tuple[str, ...]:
        return self.meta["state_names"]

    @property
    def sampling_rate(self) -> float:
        """Saved samples per second [Hz] for models in s or ms; per time unit for
        dimensionless ones (`rosetta_jax.units`)."""
        return TimeUnit.of(self).hz_factor / (self.meta["dt"] * self.meta["save_every"])

    def state(self, name: str) -> Array:
        """The saved trajectory of one state variable, by name."""
        if self.ys is None:
            raise ValueError("This solution was run with save_state=False; only `observed` exists.")
        try:
            i = self.state_names.index(name)
        except ValueError:
            raise KeyError(f"No state named {name!r}; states are {self.state_names}.") from None
        return self.ys[..., i]


def _versions() -> tuple[tuple[str, str], ...]:
    out = [("rosetta_jax", __version__)]
    for pkg in ("jax", "diffrax", "equinox"):
        try:
            out.append((pkg, _pkg_version(pkg)))
        except PackageNotFoundError:  # pragma: no cover
            out.append((pkg, "unknown"))
    return tuple(out)


def simulate(
    model: AbstractModel,
    *,
    t1: float,
    dt: float,
    t0: float = 0.0,
    y0: Any = None,
    forcing: Any = None,
    noise: AbstractNoise | None = None,
    save_every: int = 1,
    key: Any = None,
    solver: dfx.AbstractSolver | None = None,
    stepsize_controller: dfx.AbstractStepSizeController | None = None,
    max_steps: int | None = None,
    save_state: bool = True,
    throw: bool = True,
    checkpoint: bool | None = None,
) -> Solution:
    """Simulate a model (a single node or a network) from `t0` to `t1`.

    Args:
        model: any model of `rosetta_jax.models` (or a `Network`).
        t1: end time, in the model's time unit (`model.time_unit`).
        dt: step size (fixed-step path) or initial step (adaptive path). The number of steps
            `(t1 - t0) / dt` must be a whole number.
        t0: start time, default 0.
        y0: initial state, shape of `model.initial_state()` (its default).
        forcing: a `rosetta_jax.forcing` object, a number or an array (constant drive), or None.
        noise: `noise.Additive(sigma)` or `noise.OrnsteinUhlenbeck(sigma, tau)`; needs `key`.
        save_every: save every this many steps (the observable is decimated inside the loop);
            must divide the number of steps. Saves are `save_every * dt` apart.
        key: a `jax.random` key; required with noise. Same key, same result.
        solver: the integrator. Fixed-step default `solvers.Heun()`; also `solvers.Euler()`,
            `solvers.RK4()` or any diffrax solver (deterministic runs). Adaptive default
            `diffrax.Tsit5()`.
        stepsize_controller: e.g. `diffrax.PIDController(rtol=1e-8, atol=1e-10)` to use the
            adaptive diffrax path: an ODE, or with `noise.Additive` an SDE whose noise term is
            the model's `input_gain` times sigma, driven by a virtual Brownian tree (default
            solver `diffrax.ShARK()`).
        max_steps: step budget of the adaptive path (default 16 x the nominal step count).
        save_state: also save the full state `ys` (default True); False saves memory.
        throw: raise `SimulationDivergedError` when the run blows up (NaN/inf). With False the
            result comes back with `success = False` instead.
        checkpoint: rematerialise the fixed-step loop in the backward pass, so that gradients
            through long runs need memory for a few carries per block of steps instead of
            every step's intermediates, at the cost of recomputing the forward pass. None
            (default) decides from the run's size: on when a plain backward pass would store
            more than about 256 MiB. Only matters under `jax.grad`.

    Returns:
        A `Solution` with `ts`, `ys`, `observed`, `y_final`, `success`.

    Raises:
        ValueError: non-positive `dt`, `t1 <= t0`, a non-integer step count, a `save_every`
            that does not divide it, a `y0` of the wrong shape, NaN parameters, noise without
            a key, or coloured noise with the adaptive path.
        TypeError: wrong argument types (a solver that is not a diffrax solver, a traced t1).
        SimulationDivergedError: the state became NaN or inf (with `throw=True`).

    Example:
        >>> import jax.random as jr
        >>> from rosetta_jax import simulate, models, noise
        >>> sol = simulate(models.JansenRit(p=220.0), t1=5.0, dt=1e-4, save_every=10,
        ...                noise=noise.Additive(20.0), key=jr.key(0))
        >>> sol.observed.shape
        (5000,)
    """
    if not isinstance(model, AbstractModel):
        raise TypeError(
            f"`model` must be a rosetta_jax model (e.g. rosetta_jax.models.JansenRit()); "
            f"got {type(model).__name__}."
        )
    t0 = python_number("t0", t0)
    t1 = python_number("t1", t1)
    dt = python_number("dt", dt, positive=True)
    if t1 <= t0:
        raise ValueError(f"`t1` must be greater than `t0`; got t0={t0}, t1={t1}.")
    n_float = (t1 - t0) / dt
    n_steps = int(round(n_float))
    if n_steps < 1 or abs(n_float - n_steps) > 1e-6 * max(1.0, n_float):
        raise ValueError(
            f"(t1 - t0) / dt must be a whole number of steps; got ({t1} - {t0}) / {dt} = "
            f"{n_float:.6g}. Choose t1 or dt so that they divide."
        )
    if (
        not isinstance(save_every, (int, np.integer))
        or isinstance(save_every, bool)
        or (save_every < 1)
    ):
        raise ValueError(f"`save_every` must be a positive integer; got {save_every!r}.")
    save_every = int(save_every)
    if n_steps % save_every:
        raise ValueError(
            f"`save_every`={save_every} must divide the number of steps ({n_steps} = "
            f"(t1 - t0) / dt). Try save_every={_nearest_divisor(n_steps, save_every)}."
        )
    n_saves = n_steps // save_every

    forcing = as_forcing(forcing)
    if forcing is not None and forcing.is_complex and not model.complex_input:
        raise TypeError(
            f"A complex forcing drives only the oscillators (HarmonicOscillator, "
            f"DampedOscillator, StuartLandau); {type(model).__name__} takes a real drive."
        )
    _check_params(model)

    y_ref = model.initial_state()
    if y0 is None:
        y0 = y_ref
    else:
        y0 = jnp.asarray(y0)
        if y0.shape != y_ref.shape:
            raise ValueError(
                f"`y0` must have shape {y_ref.shape} (states {_names(model)}); got {y0.shape}."
            )
        if not jnp.issubdtype(y0.dtype, jnp.floating):
            y0 = y0.astype(y_ref.dtype)
        check_finite("simulate", "y0", y0)

    if noise is not None:
        if not isinstance(noise, AbstractNoise):
            raise TypeError(
                "`noise` must be rosetta_jax.noise.Additive(...) or OrnsteinUhlenbeck(...); got "
                f"{type(noise).__name__}."
            )
        if key is None:
            raise ValueError("`noise` needs an explicit PRNG key: pass key=jax.random.key(0).")
        _check_noise_shape(model, noise)

    if solver is not None and not isinstance(solver, dfx.AbstractSolver):
        raise TypeError(
            f"`solver` must be a solver object (rosetta_jax.solvers.Heun(), diffrax.Tsit5(), ...); "
            f"got {solver!r}."
        )

    info = dict(
        t0=t0,
        t1=t1,
        dt=dt,
        save_every=save_every,
        n_saves=n_saves,
        time_unit=model.time_unit,
        state_names=tuple(model.state_names),
        model=type(model).__name__,
        noise=None if noise is None else type(noise).__name__,
        versions=_versions(),
    )

    n_history = model.history_length(dt)
    if n_history:
        model.check_delays(dt)
        info.update(delay_buffer_steps=n_history)

    if stepsize_controller is not None:
        if n_history:
            raise ValueError(
                "Conduction delays need the fixed-step engine; leave stepsize_controller=None."
            )
        if noise is not None and not noise.is_white():
            raise ValueError(
                "Adaptive steps (`stepsize_controller`) take white noise (noise.Additive) as a "
                "diffrax SDE term; coloured noise needs the fixed-step path (leave "
                "stepsize_controller=None)."
            )
        if solver is None:
            solver = dfx.Tsit5() if noise is None else dfx.ShARK()
        if max_steps is None:
            max_steps = max(4096, 16 * n_steps)
        info.update(solver=type(solver).__name__, controller=type(stepsize_controller).__name__)
        t_dtype = jnp.finfo(y0.dtype).dtype
        out = _run_adaptive(
            model,
            y0,
            forcing,
            noise,
            key,
            solver,
            stepsize_controller,
            jnp.asarray(t0, t_dtype),
            jnp.asarray(t1, t_dtype),
            dt,
            n_saves,
            int(max_steps),
            bool(save_state),
            bool(throw),
        )
    else:
        solver = Heun() if solver is None else solver
        info.update(solver=type(solver).__name__)
        # t0 and the global index of the first step are traced: continuing a run at a new t0
        # reuses the compiled engine, and draws the noise of steps it has not drawn before.
        t_dtype = jnp.finfo(y0.dtype).dtype
        first_step = jnp.asarray(int(round(t0 / dt)) % 2**32, dtype=jnp.uint32)
        out = _run_fixed(
            model,
            y0,
            forcing,
            noise,
            key,
            solver,
            jnp.asarray(t0, t_dtype),
            first_step,
            dt,
            n_saves,
            save_every,
            bool(save_state),
            None if checkpoint is None else bool(checkpoint),
        )
    ts, observed, ys, y_final = out
    success = jnp.all(jnp.isfinite(y_final)) & jnp.all(jnp.isfinite(observed))
    if throw:
        observed = _report_divergence(success, ts, observed, model, dt)
    return Solution(
        ts=ts,
        ys=ys,
        observed=observed,
        y_final=y_final,
        success=success,
        model=model,
        forcing=forcing,
        noise=noise,
        info=tuple(info.items()),
    )


def _names(model) -> str:
    names = tuple(model.state_names)
    return ", ".join(names) if len(names) <= 8 else f"{len(names)} states"


def _nearest_divisor(n: int, k: int) -> int:
    divisors = [d for d in range(1, min(n, 4 * k) + 1) if n % d == 0]
    return min(divisors, key=lambda d: abs(d - k))


def _check_params(model) -> None:
    owner = type(model).__name__
    for path, leaf in array_leaves_with_paths(model):
        check_finite(owner, path, leaf)


def _check_noise_shape(model, noise) -> None:
    shape = tuple(model.input_shape())
    for name in ("sigma", "tau", "mean"):
        v = getattr(noise, name, None)
        if v is None or jnp.ndim(v) == 0 or tuple(jnp.shape(v)) == shape[: jnp.ndim(v)]:
            continue
        if jnp.ndim(v) == 1 and shape and jnp.shape(v)[0] == shape[0]:
            continue  # one value per node
        raise ValueError(
            f"noise.{name} has shape {jnp.shape(v)} but {type(model).__name__} takes input of "
            f"shape {shape}; use a scalar" + (" or one value per node." if shape else ".")
        )


def _report_divergence(success, ts, observed, model, dt):
    unit = model.time_unit or "time units"
    if is_concrete(success):
        if not bool(success):
            bad = ~jnp.isfinite(observed).reshape(observed.shape[0], -1).all(axis=1)
            idx = int(jnp.argmax(bad)) if bool(bad.any()) else observed.shape[0] - 1
            raise SimulationDivergedError(
                f"The simulation of {type(model).__name__} blew up (NaN/inf) by t = "
                f"{float(ts[idx]):.6g} {unit}. Reduce dt (now {dt:g}), check the parameters and "
                "the initial state, or pass throw=False to get the partial result."
            )
        return observed
    return eqx.error_if(
        observed,
        ~success,
        f"The simulation of {type(model).__name__} blew up (NaN/inf). Reduce dt (now {dt:g}), "
        "check the parameters, or pass throw=False.",
    )


# Backward-pass memory above which `checkpoint=None` rematerialises (bytes), and the memory of
# block carries above which a second level of checkpointing (segments of blocks) is added.
_AUTO_REMAT_BYTES = 256 * 2**20
_CARRY_BYTES = 64 * 2**20


def _tree_bytes(tree) -> int:
    return sum(x.size * x.dtype.itemsize for x in jax.tree.leaves(tree) if eqx.is_array(x))


def _remat_levels(checkpoint, n_steps: int, carry0, n_blocks: int) -> int:
    """0 (no rematerialisation), 1 (checkpointed blocks) or 2 (segments, then blocks).

    A plain backward pass stores a few states' worth of intermediates per step (about 3x the
    state for a Heun step, measured); checkpointed blocks store one carry per block, which
    with a long delay buffer can itself be large, hence the second level."""
    if checkpoint is None:
        checkpoint = 4 * n_steps * _tree_bytes(carry0[0]) > _AUTO_REMAT_BYTES
    if not checkpoint:
        return 0
    return 2 if n_blocks * _tree_bytes(carry0) > _CARRY_BYTES else 1


def _segment_size(n_blocks: int) -> int:
    """Blocks per checkpointed segment: the largest divisor of n_blocks up to its square root."""
    limit = max(1, int(math.isqrt(n_blocks)))
    return max(d for d in range(1, limit + 1) if n_blocks % d == 0)


def _block_size(n_saves: int, draws_per_interval: int, target: int = 2048) -> int:
    """Save intervals per noise draw: the largest divisor of `n_saves` that keeps a draw near
    `target` numbers (and at most 256 intervals, bounding the memory of one checkpointed block)."""
    limit = max(1, min(256, target // max(draws_per_interval, 1)))
    return max(d for d in range(1, min(limit, n_saves) + 1) if n_saves % d == 0)


def _align_to(noise, shape):
    """Give per-node noise parameters `(n,)` trailing axes so they broadcast over `shape`."""

    def align(x):
        if eqx.is_array(x) and x.ndim == 1 and len(shape) > 1 and x.shape[0] == shape[0]:
            return x.reshape(x.shape + (1,) * (len(shape) - 1))
        return x

    return jax.tree.map(align, noise)


def _standard_normal(key, shape, dtype, complex_):
    if complex_:
        kr, ki = jr.split(key)
        z = jr.normal(kr, shape, dtype) + 1j * jr.normal(ki, shape, dtype)
        return z / math.sqrt(2.0)
    return jr.normal(key, shape, dtype)


def _stage_offsets(solver, y0, dt):
    """The stage offsets at which `solver.fixed_step` evaluates the vector field (found by
    tracing one step abstractly), or None if any is not a Python number in [0, 1] (then the
    delay history keeps per-edge samples and interpolates at any offset)."""
    seen = []

    def record(c, y):
        seen.append(c)
        return y

    jax.eval_shape(lambda y: solver.fixed_step(record, 0.0, y, dt), y0)
    if all(isinstance(c, (int, float)) and 0.0 <= c <= 1.0 for c in seen):
        return tuple(sorted({float(c) for c in seen}))
    return None


def _fixed_impl(
    model,
    y0,
    forcing,
    noise,
    key,
    solver,
    t0,
    first_step,
    dt,
    n_saves,
    save_every,
    save_state,
    checkpoint=None,
):
    dtype = jnp.finfo(y0.dtype).dtype
    white = noise is not None and noise.is_white()
    coloured = noise is not None and not white
    shape = tuple(model.input_shape())
    cplx = model.complex_input
    fast = isinstance(solver, AbstractFixedSolver)
    sqrt_dt = math.sqrt(dt)
    # White noise enters through the model's input gain, one real sample per component of
    # `noise_shape` (real and imaginary parts of a complex input, each of intensity
    # sigma^2 / 2); coloured noise is a drive, complex for complex inputs.
    draw_shape = tuple(model.noise_shape()) if white else shape
    draw_scale = 1.0 / math.sqrt(2.0) if (white and cplx) else 1.0

    if noise is not None:
        noise = _align_to(noise, draw_shape)
    if coloured:  # started from its stationary law, drawn anew for each start step
        key, k_init = jr.split(key)
        z0 = _standard_normal(jr.fold_in(k_init, first_step), shape, dtype, cplx)
        eta0 = noise.mean + noise.sigma * z0
    else:
        eta0 = None

    n_history = model.history_length(dt)

    def make_vf(t, eta, eta_next, xi, history):
        """The vector field inside one step from `t`, as `f(c, y)` at stage time t + c dt."""

        def vf(c, y):
            s = t + c * dt
            u = None if forcing is None else forcing(s)
            if coloured:
                eta_s = eta + c * (eta_next - eta)
                u = eta_s if u is None else u + eta_s
            if history is not None:
                return model.delayed_vector_field(s, y, u, xi, history, c)
            if white:
                return model.noisy_vector_field(s, y, u, xi)
            return model.vector_field(s, y, u)

        return vf

    history0 = None
    if n_history:
        offsets = _stage_offsets(solver, y0, dt) if fast else None
        history0 = model.history_init(y0, dt, offsets=offsets)

    if fast:
        solver_state0 = None
    else:
        term0 = dfx.ODETerm(
            lambda s, y, a: make_vf(t0, eta0, eta0, None, history0)((s - t0) / dt, y)
        )
        solver_state0 = solver.init(term0, t0, t0 + dt, y0, None)
    made_jump = noise is not None

    def inner(carry, xs):
        y, eta, sstate, history = carry
        n, z_white, z_col = xs
        t = t0 + n.astype(dtype) * dt
        eta_next = noise.exact_step(eta, dt, z_col) if coloured else None
        xi = noise.sigma * z_white / sqrt_dt if white else None
        vf = make_vf(t, eta, eta_next, xi, history)
        if fast:
            y = solver.fixed_step(vf, t, y, dt)
        else:
            term = dfx.ODETerm(lambda s, yy, a: vf((s - t) / dt, yy))
            y, _, _, sstate, _ = solver.step(term, t, t + dt, y, None, sstate, made_jump)
        if history is not None:
            history = model.history_update(history, y)
        return (y, eta_next, sstate, history), None

    def interval(carry, xs):
        i, z = xs
        z_white, z_col = (z, None) if white else (None, z)
        ns = i * save_every + jnp.arange(save_every)
        carry, _ = jax.lax.scan(inner, carry, (ns, z_white, z_col))
        y = carry[0]
        return carry, (model.observe(y), y if save_state else None)

    # The noise of step g (counted from t = 0: g = t0/dt + the step's index in this run) is
    # drawn from fold_in(key, g), so it depends neither on the run's length, nor on save_every,
    # nor on where a run was split into continued pieces. `block` intervals are drawn at once
    # with a vmap: many tiny threefry calls cost more than the model itself on a CPU.
    block = _block_size(n_saves, save_every * math.prod(shape))
    steps_per_block = block * save_every

    def block_body(carry, b):
        idx = b * block + jnp.arange(block)
        z = None
        if noise is not None:
            g = first_step + (b * steps_per_block + jnp.arange(steps_per_block)).astype(jnp.uint32)
            if white:
                draw = lambda g: draw_scale * jr.normal(jr.fold_in(key, g), draw_shape, dtype)
            else:
                draw = lambda g: _standard_normal(jr.fold_in(key, g), shape, dtype, cplx)
            z = jax.vmap(draw)(g).reshape(block, save_every, *draw_shape)
        return jax.lax.scan(interval, carry, (idx, z))

    carry0 = (y0, eta0, solver_state0, history0)
    n_blocks = n_saves // block
    levels = _remat_levels(checkpoint, n_saves * save_every, carry0, n_blocks)
    if levels == 2:
        # Segments of blocks, then blocks: the backward pass stores about 2 sqrt(n_blocks)
        # carries (delay buffers included), for two extra forward passes.
        seg = _segment_size(n_blocks)
        block_fn = jax.checkpoint(block_body)

        def segment_body(carry, s):
            return jax.lax.scan(block_fn, carry, s * seg + jnp.arange(seg))

        carry, (observed, ys) = jax.lax.scan(
            jax.checkpoint(segment_body), carry0, jnp.arange(n_blocks // seg)
        )
    else:
        body = jax.checkpoint(block_body) if levels == 1 else block_body
        carry, (observed, ys) = jax.lax.scan(body, carry0, jnp.arange(n_blocks))
    lead = 3 if levels == 2 else 2  # (segments, blocks, intervals) or (blocks, intervals)
    merge = lambda a: None if a is None else a.reshape(n_saves, *a.shape[lead:])
    observed, ys = merge(observed), merge(ys)
    ts = t0 + dt * save_every * jnp.arange(1, n_saves + 1, dtype=dtype)
    return ts, observed, ys, carry[0]


_run_fixed = eqx.filter_jit(_fixed_impl)


def _sde_terms(model, noise, key, drift, t0, t1, dt, dtype):
    """The drift and diffusion terms of diffrax for white noise in the input channel:
    $dy = f\\,dt + g(y)\\,\\sigma\\,dW$ (the model's input gain; complex inputs get each part
    of intensity $\\sigma^2/2$), with a virtual Brownian tree resolved to a tenth of `dt`."""
    n_shape = tuple(model.noise_shape())
    scale = _align_to(noise, n_shape).sigma * (1 / math.sqrt(2.0) if model.complex_input else 1.0)

    def diffusion(t, y, args):
        return model.input_gain(y) * jnp.broadcast_to(scale, n_shape).astype(y.dtype)

    bm = dfx.VirtualBrownianTree(
        t0,
        t1,
        tol=dt / 10,
        shape=jax.ShapeDtypeStruct(n_shape, dtype),
        key=key,
        levy_area=dfx.SpaceTimeLevyArea,
    )
    return dfx.MultiTerm(dfx.ODETerm(drift), dfx.ControlTerm(diffusion, bm))


@eqx.filter_jit
def _run_adaptive(
    model,
    y0,
    forcing,
    noise,
    key,
    solver,
    controller,
    t0,
    t1,
    dt,
    n_saves,
    max_steps,
    save_state,
    throw,
):
    def vf(t, y, args):
        return model.vector_field(t, y, None if forcing is None else forcing(t))

    ts = jnp.linspace(t0, t1, n_saves + 1, dtype=y0.dtype)[1:]
    fn = lambda t, y, args: (model.observe(y), y if save_state else None)
    saveat = dfx.SaveAt(subs=[dfx.SubSaveAt(ts=ts, fn=fn), dfx.SubSaveAt(t1=True)])
    terms = (
        dfx.ODETerm(vf)
        if noise is None
        else _sde_terms(model, noise, key, vf, t0, t1, dt, y0.dtype)
    )
    sol = dfx.diffeqsolve(
        terms,
        solver,
        t0,
        t1,
        dt,
        y0,
        saveat=saveat,
        stepsize_controller=controller,
        max_steps=max_steps,
        throw=throw,
    )
    (observed, ys), y_final = sol.ys
    return ts, observed, ys, y_final[0]
