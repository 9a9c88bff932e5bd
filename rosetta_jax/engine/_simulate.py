"""`simulate`: one entry point, two engines (DESIGN.md, "Engine").

`simulate` checks its inputs (time grid, initial state, forcing, noise, solver), records the
run's provenance, chooses the engine and finalises the result:

* the fixed-step path (`engine/_fixed.py`; the default, and the one for delays and coloured
  noise): our own `jax.lax.scan` with the noise stream indexed by the global step;
* the adaptive path (`engine/_adaptive.py`): `diffrax.diffeqsolve` with a step-size
  controller, for runs that want tolerances; white noise there is a diffrax SDE term.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import diffrax as dfx
import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import ArrayLike, PRNGKeyArray

from .._validation import array_leaves_with_paths, check_finite, is_concrete, python_number
from ..forcing import AbstractForcing, as_forcing
from ..models._base import AbstractModel
from ..noise import AbstractNoise
from ..solvers import Heun
from ._adaptive import run_adaptive
from ._fixed import RunInputs, run_fixed
from ._solution import SimulationDivergedError, Solution, _versions


def simulate(
    model: AbstractModel,
    *,
    t1: float,
    dt: float,
    t0: float = 0.0,
    y0: ArrayLike | None = None,
    forcing: AbstractForcing | ArrayLike | None = None,
    noise: AbstractNoise | None = None,
    save_every: int = 1,
    key: PRNGKeyArray | None = None,
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
    grid = _TimeGrid.make(t0, t1, dt, save_every)
    y0, forcing = _checked_inputs(model, y0, forcing, noise, key, solver)
    info = _provenance(model, noise, grid)
    n_buffer = model.history_length(grid.dt)
    if n_buffer:
        model.check_delays(grid.dt)
        info.update(delay_buffer_steps=n_buffer)
    run = RunInputs(model, y0, forcing, noise, key, solver)
    if stepsize_controller is not None:
        opts = (max_steps, save_state, throw)
        out = _adaptive(run, stepsize_controller, grid, opts, n_buffer, info)
    else:
        run = dataclasses.replace(run, solver=Heun() if solver is None else solver)
        info.update(solver=type(run.solver).__name__)
        out = _fixed(run, grid, save_state, checkpoint)
    return _finalise(out, model, forcing, noise, grid, throw, info)


@dataclasses.dataclass(frozen=True)
class _TimeGrid:
    """The run's time grid: `n_steps` steps of `dt` from `t0`, saved every `save_every`."""

    t0: float
    t1: float
    dt: float
    save_every: int
    n_steps: int

    @property
    def n_saves(self) -> int:
        return self.n_steps // self.save_every

    @classmethod
    def make(cls, t0, t1, dt, save_every) -> _TimeGrid:
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
            or save_every < 1
        ):
            raise ValueError(f"`save_every` must be a positive integer; got {save_every!r}.")
        if n_steps % int(save_every):
            raise ValueError(
                f"`save_every`={save_every} must divide the number of steps ({n_steps} = "
                f"(t1 - t0) / dt). Try save_every={_nearest_divisor(n_steps, save_every)}."
            )
        return cls(t0, t1, dt, int(save_every), n_steps)


def _checked_inputs(model, y0, forcing, noise, key, solver):
    """The initial state and the forcing, with every input checked (clear errors)."""
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
    return y0, forcing


def _provenance(model, noise, grid: _TimeGrid) -> dict[str, Any]:
    return dict(
        t0=grid.t0,
        t1=grid.t1,
        dt=grid.dt,
        save_every=grid.save_every,
        n_saves=grid.n_saves,
        time_unit=model.time_unit,
        state_names=tuple(model.state_names),
        model=type(model).__name__,
        noise=None if noise is None else type(noise).__name__,
        versions=_versions(),
    )


def _fixed(run: RunInputs, grid: _TimeGrid, save_state, checkpoint):
    # t0 and the global index of the first step are traced: continuing a run at a new t0
    # reuses the compiled engine, and draws the noise of steps it has not drawn before.
    t_dtype = jnp.finfo(run.y0.dtype).dtype
    first_step = jnp.asarray(int(round(grid.t0 / grid.dt)) % 2**32, dtype=jnp.uint32)
    return run_fixed(
        run,
        jnp.asarray(grid.t0, t_dtype),
        first_step,
        grid.dt,
        grid.n_saves,
        grid.save_every,
        bool(save_state),
        None if checkpoint is None else bool(checkpoint),
    )


def _adaptive(run: RunInputs, controller, grid: _TimeGrid, opts, n_buffer, info):
    """The adaptive diffrax path; `opts` = (max_steps, save_state, throw)."""
    max_steps, save_state, throw = opts
    noise, solver = run.noise, run.solver
    if n_buffer:
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
    max_steps = max(4096, 16 * grid.n_steps) if max_steps is None else max_steps
    info.update(solver=type(solver).__name__, controller=type(controller).__name__)
    t_dtype = jnp.finfo(run.y0.dtype).dtype
    return run_adaptive(
        dataclasses.replace(run, solver=solver),
        controller,
        jnp.asarray(grid.t0, t_dtype),
        jnp.asarray(grid.t1, t_dtype),
        grid.dt,
        grid.n_saves,
        int(max_steps),
        bool(save_state),
        bool(throw),
    )


def _finalise(out, model, forcing, noise, grid: _TimeGrid, throw, info) -> Solution:
    ts, observed, ys, y_final = out
    success = jnp.all(jnp.isfinite(y_final)) & jnp.all(jnp.isfinite(observed))
    if throw:
        observed = _report_divergence(success, ts, observed, model, grid.dt)
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
