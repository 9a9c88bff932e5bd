"""The master neural mass model (Castaldo et al. 2026, section 4.4), bridging rungs 3 and 4."""

from __future__ import annotations

from typing import ClassVar

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike

from ._base import AbstractModel, drive, param
from ._transfer import sigmoid
from ._types import Drive, InputEntry, Scalar, State


class MasterNMM(AbstractModel):
    """A self-coupled population with a dynamic transfer function and a synapse.

    $$\\tau_m \\dot r = -r + \\phi(\\kappa s + I_{ext} + F),\\qquad
    \\tau_r\\tau_d \\ddot s + (\\tau_r + \\tau_d)\\dot s + s = \\gamma r,$$

    with $\\phi(I) = 2e_0/(1 + e^{\\rho(I_0 - I)})$. Its two limits are the next rungs:
    $\\tau_s \\ll \\tau_m$ gives $s = \\gamma r$ and the Wilson-Cowan form
    $\\tau_m\\dot r = -r + \\phi(\\gamma\\kappa r + I_{ext})$; $\\tau_m \\ll \\tau_s$ gives
    $r = \\phi(\\kappa s + I_{ext})$ with a second-order synapse, the NMM1 (Jansen-Rit) form.

    The drive $F$ enters the transfer function; white noise is added to the rate equation
    ($\\dot r \\mathrel{+}= \\xi/\\tau_m$).

    State: `(r, s, ds)`. Observable: `r`. Time in the unit of the time constants
    (dimensionless by default).

    Args:
        tau_m: rate (membrane) time constant, default 1.
        tau_r, tau_d: synaptic rise and decay time constants, default 1 and 1.
        gamma: synaptic gain, default 1.
        kappa: self-coupling, default 1.
        I_ext: constant input, default 0.
        e0, I0, rho: transfer function (half maximum, midpoint, slope), default 0.5, 0, 1.

    Reference: Castaldo et al. (2026), section 4.4 (the master NMM equation and its limits),
    with the synapse of section 4.1 and the transfer functional of section 4.3.
    Equations, units and errata: docs/models.md#master-nmm
    """

    tau_m: Array = param(1.0)
    tau_r: Array = param(1.0)
    tau_d: Array = param(1.0)
    gamma: Array = param(1.0)
    kappa: Array = param(1.0)
    I_ext: Array = param(0.0)
    e0: Array = param(0.5)
    I0: Array = param(0.0)
    rho: Array = param(1.0)

    state_names: ClassVar[tuple[str, ...]] = ("r", "s", "ds")
    time_unit: ClassVar[str | None] = None
    positive_params: ClassVar[tuple[str, ...]] = ("tau_m", "tau_r", "tau_d")

    def vector_field(self, t: ArrayLike, y: State, args: Drive) -> State:
        r, s, ds = y[0], y[1], y[2]
        rate = sigmoid(self.kappa * s + self.I_ext + drive(args), self.e0, self.I0, self.rho)
        dr = (-r + rate) / self.tau_m
        dds = (self.gamma * r - (self.tau_r + self.tau_d) * ds - s) / (self.tau_r * self.tau_d)
        return jnp.stack([dr, ds, dds])

    def input_entry(self) -> InputEntry:
        """White noise enters the rate equation, $\\tau_m\\dot r = \\ldots + \\xi$ (the drive
        itself acts inside the transfer function)."""
        return 0, 1.0 / self.tau_m

    def initial_state(self) -> State:
        return jnp.zeros(3)

    def observe(self, y: State) -> Scalar:
        return y[0]

    def efferent(self, y: State) -> Scalar:
        """The rate $r$."""
        return y[0]
