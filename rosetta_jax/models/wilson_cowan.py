"""Rung 3: the Wilson-Cowan E-I rate model."""

from __future__ import annotations

from typing import ClassVar

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike

from ._base import AbstractModel, param
from ._shared import push_pull_inputs
from ._transfer import logistic
from ._types import Drive, InputEntry, Scalar, State


class WilsonCowan(AbstractModel):
    """Wilson-Cowan excitatory-inhibitory pair (rung 3), rate and PSP forms.

    $$\\tau_x \\dot x + x = \\gamma_x\\,\\sigma_x(w_{xx} x - w_{xy} y + P_x + F),\\qquad
    \\tau_y \\dot y + y = \\gamma_y\\,\\sigma_y(w_{yx} x - w_{yy} y + P_y),$$

    with logistic $\\sigma_\\alpha(s) = 1/(1 + e^{-\\rho_\\alpha (s - \\theta_\\alpha)})$ (maximum
    1).
    With $\\gamma_x = \\gamma_y = 1$ (the default) this is the firing-rate form used for networks;
    other gains give the PSP form ($\\kappa$ weights). All weights are positive; the signs are
    explicit. The drive $F$ enters the E sigmoid. White noise, which cannot sit inside a sigmoid,
    is added to the E equation instead ($\\dot x \\mathrel{+}= \\xi/\\tau_x$); use an
    Ornstein-Uhlenbeck noise for a fluctuating input inside the sigmoid.

    Jacobian at a fixed point (Castaldo et al. 2026, appendix "From Wilson-Cowan to
    Stuart-Landau"; Hopf where its trace vanishes with positive determinant, section 5.2):
    $J = [[(-1 + \\sigma_x' w_{xx})/\\tau_x, -\\sigma_x' w_{xy}/\\tau_x],
    [\\sigma_y' w_{yx}/\\tau_y, (-1 - \\sigma_y' w_{yy})/\\tau_y]]$ (times $\\gamma$).

    State: `(x, y)` (E and I activity). Observable: `x`. Time is in units of $\\tau$.

    Args:
        tau_x, tau_y: time constants [unit time], default 1.
        w_xx, w_xy, w_yx, w_yy: coupling weights (>= 0), default 12, 12, 12, 2.
        P_x, P_y: tonic inputs to E and I, default 0 and -5 (inside the oscillatory
            "Hopf bubble" of the paper's panel (b)).
        gamma_x, gamma_y: output gains (1 = rate form).
        rho_x, rho_y: sigmoid slopes, default 1.
        theta_x, theta_y: sigmoid thresholds, default 0.

    Reference: Wilson & Cowan (1972); Castaldo et al. (2026), section 5 and its WC bifurcation
    figure (values of the authors' AUTO code wcnmm.f90: $w = (12, 12, 12, 2)$, $\\tau = 1$,
    logistic of maximum 1).
    Equations, units and errata: docs/models.md#wilson-cowan
    """

    tau_x: Array = param(1.0)
    tau_y: Array = param(1.0)
    w_xx: Array = param(12.0)
    w_xy: Array = param(12.0)
    w_yx: Array = param(12.0)
    w_yy: Array = param(2.0)
    P_x: Array = param(0.0)
    P_y: Array = param(-5.0)
    gamma_x: Array = param(1.0)
    gamma_y: Array = param(1.0)
    rho_x: Array = param(1.0)
    rho_y: Array = param(1.0)
    theta_x: Array = param(0.0)
    theta_y: Array = param(0.0)

    state_names: ClassVar[tuple[str, ...]] = ("x", "y")
    time_unit: ClassVar[str | None] = None
    positive_params: ClassVar[tuple[str, ...]] = ("tau_x", "tau_y")

    def sigmoid_arguments(self, y: State, args: Drive = None) -> tuple[Scalar, Scalar]:
        """Arguments of the E and I sigmoids (the populations' net inputs)."""
        return push_pull_inputs(self, y, args)

    def vector_field(self, t: ArrayLike, y: State, args: Drive) -> State:
        s_x, s_y = self.sigmoid_arguments(y, args)
        dx = (-y[0] + self.gamma_x * logistic(s_x, self.rho_x, self.theta_x)) / self.tau_x
        dy = (-y[1] + self.gamma_y * logistic(s_y, self.rho_y, self.theta_y)) / self.tau_y
        return jnp.stack([dx, dy])

    def input_entry(self) -> InputEntry:
        """White noise enters the E equation, $\\tau_x\\dot x = \\ldots + \\xi$ (the drive
        itself acts inside the E sigmoid)."""
        return 0, 1.0 / self.tau_x

    def initial_state(self) -> State:
        return jnp.array([0.1, 0.1])

    def observe(self, y: State) -> Scalar:
        return y[0]

    def efferent(self, y: State) -> Scalar:
        """The E activity $x$ (added inside the receiving E sigmoid, Castaldo et al. 2026,
        section 5.3)."""
        return y[0]
