"""The fixed-step engine: our own `jax.lax.scan`, outer over blocks of save intervals, inner
(rolled) over the steps of one interval (DESIGN.md, "Engine").

* **Noise stream.** The noise of step g (counted from t = 0: g = t0/dt + the step's index in
  this run) is drawn from `fold_in(key, g)`, so it depends neither on the run's length, nor on
  `save_every`, nor on where a run was split into continued pieces. A block of steps is drawn
  at once with a vmap: many tiny threefry calls cost more than the model itself on a CPU.
  White noise enters through the model's input gain; Ornstein-Uhlenbeck noise is a drive,
  integrated exactly and interpolated within a step.
* **Step.** The solver's hand-written `fixed_step` (or any diffrax solver's `step`) on the
  model's drift plus its noise term; with delays, the delayed afferent sums come from the
  `DelayBuffer` at the solver's stage offsets, learnt by tracing one step.
* **Rematerialisation plan.** For gradients through long runs, blocks of intervals (and, with
  large delay buffers, segments of blocks) are wrapped in `jax.checkpoint`, so the backward
  pass stores a few carries per block instead of every step's intermediates.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import diffrax as dfx
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array

from ..solvers import AbstractFixedSolver
from ._delays import DelayBuffer


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


def align_to(noise, shape):
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
    delay buffer keeps per-edge samples and interpolates at any offset)."""
    seen = []

    def record(c, y):
        seen.append(c)
        return y

    jax.eval_shape(lambda y: solver.fixed_step(record, 0.0, y, dt), y0)
    if all(isinstance(c, (int, float)) and 0.0 <= c <= 1.0 for c in seen):
        return tuple(sorted({float(c) for c in seen}))
    return None


@dataclasses.dataclass(frozen=True)
class _Plan:
    """Static facts of a run: its grid, its noise and how blocks of intervals are formed."""

    dt: float
    n_saves: int
    save_every: int
    save_state: bool
    white: bool
    coloured: bool
    complex_input: bool
    input_shape: tuple[int, ...]
    draw_shape: tuple[int, ...]
    block: int

    @classmethod
    def make(cls, model, noise, dt, n_saves, save_every, save_state) -> _Plan:
        white = noise is not None and noise.is_white()
        shape = tuple(model.input_shape())
        # White noise enters through the model's input gain, one real sample per component of
        # `noise_shape` (real and imaginary parts of a complex input, each of intensity
        # sigma^2 / 2); coloured noise is a drive, complex for complex inputs.
        draw_shape = tuple(model.noise_shape()) if white else shape
        block = _block_size(n_saves, save_every * math.prod(shape))
        return cls(
            dt,
            n_saves,
            save_every,
            save_state,
            white,
            noise is not None and not white,
            model.complex_input,
            shape,
            draw_shape,
            block,
        )

    def draw(self, key, g, dtype):
        """The standard normal sample of global step `g`."""
        k = jr.fold_in(key, g)
        if self.white:
            scale = 1.0 / math.sqrt(2.0) if self.complex_input else 1.0
            return scale * jr.normal(k, self.draw_shape, dtype)
        return _standard_normal(k, self.input_shape, dtype, self.complex_input)


def _stage_field(model, forcing, plan: _Plan, t, eta, eta_next, xi, history):
    """The vector field inside one step from `t`, as `f(c, y)` at stage time `t + c dt`: the
    drift with its inputs (forcing, coloured noise, delayed coupling) plus the noise term."""

    fold = xi is not None and model.noise_enters_as_drive

    def vf(c, y):
        s = t + c * plan.dt
        u = None if forcing is None else forcing(s)
        if plan.coloured:
            eta_s = eta + c * (eta_next - eta)
            u = eta_s if u is None else u + eta_s
        if fold:  # the same value as the noise term, in one fused evaluation
            u = xi if u is None else u + xi
        if history is not None:
            f = model.delayed_vector_field(s, y, u, history.afferent_at(c))
        else:
            f = model.vector_field(s, y, u)
        return f if xi is None or fold else f + model.apply_input_gain(y, xi)

    return vf


def _make_step(model, forcing, noise, solver, t0, plan: _Plan):
    """One step: `(y, eta, solver_state, delay_buffer)` -> the same after dt."""
    fast = isinstance(solver, AbstractFixedSolver)
    sqrt_dt = math.sqrt(plan.dt)
    made_jump = noise is not None

    def step(carry, xs):
        y, eta, sstate, history = carry
        n, z_white, z_col = xs
        t = t0 + n.astype(t0.dtype) * plan.dt
        eta_next = noise.exact_step(eta, plan.dt, z_col) if plan.coloured else None
        xi = noise.sigma * z_white / sqrt_dt if plan.white else None
        vf = _stage_field(model, forcing, plan, t, eta, eta_next, xi, history)
        if fast:
            y = solver.fixed_step(vf, t, y, plan.dt)
        else:
            term = dfx.ODETerm(lambda s, yy, a: vf((s - t) / plan.dt, yy))
            y, _, _, sstate, _ = solver.step(term, t, t + plan.dt, y, None, sstate, made_jump)
        if history is not None:
            history = history.update(model.efferent(y))
        return (y, eta_next, sstate, history), None

    return step


def _make_block(model, step, noise, key, first_step, plan: _Plan):
    """One block of save intervals: draw its noise, run its steps, save the observable."""
    steps_per_block = plan.block * plan.save_every

    def interval(carry, xs):
        i, z = xs
        z_white, z_col = (z, None) if plan.white else (None, z)
        ns = i * plan.save_every + jnp.arange(plan.save_every)
        carry, _ = jax.lax.scan(step, carry, (ns, z_white, z_col))
        y = carry[0]
        return carry, (model.observe(y), y if plan.save_state else None)

    def block_body(carry, b):
        idx = b * plan.block + jnp.arange(plan.block)
        z = None
        if noise is not None:
            g = first_step + (b * steps_per_block + jnp.arange(steps_per_block)).astype(jnp.uint32)
            dtype = jnp.finfo(carry[0].dtype).dtype
            z = jax.vmap(lambda g: plan.draw(key, g, dtype))(g)
            z = z.reshape(plan.block, plan.save_every, *z.shape[1:])
        return jax.lax.scan(interval, carry, (idx, z))

    return block_body


def _run_blocks(block_body, carry0, plan: _Plan, checkpoint):
    """Scan the blocks, checkpointed as `_remat_levels` decides; returns the final carry and
    the saved observable and states, shaped `(n_saves, ...)`."""
    n_blocks = plan.n_saves // plan.block
    levels = _remat_levels(checkpoint, plan.n_saves * plan.save_every, carry0, n_blocks)
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
    merge = lambda a: None if a is None else a.reshape(plan.n_saves, *a.shape[lead:])
    return carry, merge(observed), merge(ys)


def _start(model, y0, noise, key, solver, t0, first_step, plan: _Plan, forcing):
    """The carry before the first step: state, coloured-noise state (started from its
    stationary law, drawn anew for each start step), solver state and delay buffer."""
    dtype = jnp.finfo(y0.dtype).dtype
    eta0 = None
    if plan.coloured:
        key, k_init = jr.split(key)
        z0 = _standard_normal(
            jr.fold_in(k_init, first_step), plan.input_shape, dtype, plan.complex_input
        )
        eta0 = noise.mean + noise.sigma * z0
    fast = isinstance(solver, AbstractFixedSolver)
    history0 = None
    edges = model.delay_edges(plan.dt)
    if edges is not None:
        offsets = _stage_offsets(solver, y0, plan.dt) if fast else None
        history0 = DelayBuffer.init(edges, model.efferent(y0), offsets)
    solver_state0 = None
    if not fast:
        vf0 = _stage_field(model, forcing, plan, t0, eta0, eta0, None, history0)
        term0 = dfx.ODETerm(lambda s, y, a: vf0((s - t0) / plan.dt, y))
        solver_state0 = solver.init(term0, t0, t0 + plan.dt, y0, None)
    return key, (y0, eta0, solver_state0, history0)


class RunInputs(eqx.Module):
    """What a run integrates: the model, its initial state, its inputs (forcing, noise and
    the noise's key) and the solver."""

    model: Any
    y0: Array
    forcing: Any
    noise: Any
    key: Any
    solver: Any

    def parts(self) -> tuple:
        """The fields, in order (not recursively, unlike `dataclasses.astuple`)."""
        return tuple(getattr(self, f.name) for f in dataclasses.fields(self))


def fixed_run(
    run: RunInputs,
    t0,
    first_step,
    dt,
    n_saves,
    save_every,
    save_state,
    checkpoint=None,
):
    """The fixed-step run (traced; `run_fixed` is its compiled form).

    Returns `(ts, observed, ys, y_final)`.
    """
    model, y0, forcing, noise, key, solver = run.parts()
    plan = _Plan.make(model, noise, dt, n_saves, save_every, save_state)
    if noise is not None:
        noise = align_to(noise, plan.draw_shape)
    key, carry0 = _start(model, y0, noise, key, solver, t0, first_step, plan, forcing)
    step = _make_step(model, forcing, noise, solver, t0, plan)
    block_body = _make_block(model, step, noise, key, first_step, plan)
    carry, observed, ys = _run_blocks(block_body, carry0, plan, checkpoint)
    ts = t0 + dt * save_every * jnp.arange(1, n_saves + 1, dtype=t0.dtype)
    return ts, observed, ys, carry[0]


run_fixed = eqx.filter_jit(fixed_run)
