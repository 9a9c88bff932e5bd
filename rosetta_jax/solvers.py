"""Fixed-step solvers for the `simulate` engine, with the diffrax solver interface.

`Euler`, `Heun` (the default) and `RK4` have hand-written steps: inside the engine's
`lax.scan` they cost no more than a loop written by hand (DESIGN.md: the stock diffrax
`Heun().step` costs 1.7x there). They are also complete `diffrax.AbstractSolver`s, so they can
be passed to `diffrax.diffeqsolve`. Any stock diffrax solver (e.g. `diffrax.Tsit5()`) is
accepted by `simulate` too, as an accuracy option.

Noise is handled by the engine as a per-step constant input: for additive noise every
Runge-Kutta scheme whose weights sum to one then adds exactly $\\sigma\\,\\Delta W$ per step,
so Euler is Euler-Maruyama and Heun is the stochastic Heun method.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import ClassVar

import diffrax as dfx
import jax.tree_util as jtu


def _axpy(a, x, y):
    """y + a * x over pytrees."""
    return jtu.tree_map(lambda xi, yi: yi + a * xi, x, y)


class AbstractFixedSolver(dfx.AbstractSolver):
    """A fixed-step explicit solver with a fast path for the engine's scan.

    Subclasses implement `fixed_step(f, t0, y0, dt)` where `f(c, y)` evaluates the vector
    field at the stage time `t0 + c * dt`; the stage offset `c` is a Python float, so models
    can specialise on it (the delay engine reuses the coupling of a step's end at the next
    step's start).
    """

    term_structure: ClassVar = dfx.AbstractTerm
    interpolation_cls: ClassVar[Callable[..., dfx.LocalLinearInterpolation]] = (
        dfx.LocalLinearInterpolation
    )

    @abc.abstractmethod
    def fixed_step(self, f, t0, y0, dt):
        """One step of size `dt` from `(t0, y0)`, with `f(c, y)` the vector field at
        `t0 + c * dt`; returns `y1`."""

    def init(self, terms, t0, t1, y0, args):
        return None

    def step(self, terms, t0, t1, y0, args, solver_state, made_jump):
        del solver_state, made_jump
        dt = t1 - t0
        y1 = self.fixed_step(lambda c, y: terms.vf(t0 + c * dt, y, args), t0, y0, dt)
        dense_info = dict(y0=y0, y1=y1)
        return y1, None, dense_info, None, dfx.RESULTS.successful

    def func(self, terms, t0, y0, args):
        return terms.vf(t0, y0, args)


class Euler(AbstractFixedSolver):
    """Forward Euler (Euler-Maruyama with noise): first order, one evaluation per step."""

    def order(self, terms):
        return 1

    def fixed_step(self, f, t0, y0, dt):
        return _axpy(dt, f(0.0, y0), y0)


class Heun(AbstractFixedSolver):
    """Heun's method (explicit trapezoidal rule): second order, two evaluations per step.

    With additive noise it is the stochastic Heun scheme (strong order 1, weak order 2).
    """

    def order(self, terms):
        return 2

    def fixed_step(self, f, t0, y0, dt):
        k1 = f(0.0, y0)
        k2 = f(1.0, _axpy(dt, k1, y0))
        return jtu.tree_map(lambda y, a, b: y + 0.5 * dt * (a + b), y0, k1, k2)


class RK4(AbstractFixedSolver):
    """The classical fourth-order Runge-Kutta method, four evaluations per step."""

    def order(self, terms):
        return 4

    def fixed_step(self, f, t0, y0, dt):
        k1 = f(0.0, y0)
        k2 = f(0.5, _axpy(0.5 * dt, k1, y0))
        k3 = f(0.5, _axpy(0.5 * dt, k2, y0))
        k4 = f(1.0, _axpy(dt, k3, y0))
        return jtu.tree_map(
            lambda y, a, b, c, d: y + dt / 6.0 * (a + 2 * b + 2 * c + d), y0, k1, k2, k3, k4
        )
