"""The adaptive path: `diffrax.diffeqsolve` with a step-size controller, for runs that want
tolerances (closed-form checks, limit cycles, bifurcation work); white noise enters as a
diffrax SDE term (the model's input gain times sigma) driven by a virtual Brownian tree."""

from __future__ import annotations

import math

import diffrax as dfx
import equinox as eqx
import jax
import jax.numpy as jnp

from ._fixed import RunInputs, align_to


def _sde_terms(model, noise, key, drift, t0, t1, dt, dtype):
    """The drift and diffusion terms of diffrax for white noise in the input channel:
    $dy = f\\,dt + g(y)\\,\\sigma\\,dW$ (the model's input gain; complex inputs get each part
    of intensity $\\sigma^2/2$), with a virtual Brownian tree resolved to a tenth of `dt`."""
    n_shape = tuple(model.noise_shape())
    scale = align_to(noise, n_shape).sigma * (1 / math.sqrt(2.0) if model.complex_input else 1.0)

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
def run_adaptive(
    run: RunInputs,
    controller,
    t0,
    t1,
    dt,
    n_saves,
    max_steps,
    save_state,
    throw,
):
    """Returns `(ts, observed, ys, y_final)` like the fixed-step run."""
    model, y0, forcing, noise, key, solver = run.parts()

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
