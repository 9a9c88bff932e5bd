"""Rung 4, NMM1: the minimal E-I push-pull motif with second-order (alpha) synapses.

Time is in seconds, potentials in mV, rates in 1/s.
"""

from __future__ import annotations

from typing import ClassVar

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from ._base import AbstractModel, param
from ._shared import push_pull_inputs
from ._transfer import sigmoid
from ._types import Drive, InputEntry, Scalar, State


class EIMotif(AbstractModel):
    """The minimal NMM1 E-I push-pull motif with second-order (alpha) synapses.

    $$\\tau_x^2 \\ddot x + 2\\tau_x \\dot x + x = \\gamma_x\\,\\sigma(w_{xx} x - w_{xy} y + P_x +
    F),$$
    $$\\tau_y^2 \\ddot y + 2\\tau_y \\dot y + y = \\gamma_y\\,\\sigma(w_{yx} x - w_{yy} y + P_y),$$

    with the Jansen-Rit sigmoid $\\sigma(v) = 2e_0/(1 + e^{r(v_0 - v)})$. $x, y$ are the PSPs
    [mV] of the E and I populations; the sigmoid arguments are membrane perturbations [mV].
    No self-coupling is needed to oscillate: linearised, the motif has a Hopf at loop gain
    $K = w_{xy}w_{yx}\\gamma_x\\gamma_y\\sigma_x'\\sigma_y' = (\\tau_x+\\tau_y)^2/(\\tau_x\\tau_y)$
    with frequency $\\omega_0 = 1/\\sqrt{\\tau_x\\tau_y}$ (11.25 Hz for 10 and 20 ms).

    The drive $F$ [mV] enters the E sigmoid. White noise is added as a presynaptic rate on the
    E synapse instead ($\\ddot x \\mathrel{+}= \\gamma_x\\xi/\\tau_x^2$, $\\xi$ in 1/s), like the
    input $p$ of Jansen-Rit.

    State: `(x, y, dx, dy)` [mV, mV, mV/s, mV/s]. Observable: `x`.

    Args:
        tau_x, tau_y: synaptic time constants [s], default 0.01 and 0.02 (JR-like).
        gamma_x, gamma_y: PSP gains [mV s], default 0.0325 and 0.44 ($A/a$ and $B/b$ of JR).
        w_xx, w_xy, w_yx, w_yy: coupling weights (>= 0) [-], default 0, 10, 75, 0.
        P_x, P_y: tonic membrane inputs [mV], default 17 and 0.
        e0 [1/s], v0 [mV], r [1/mV]: sigmoid, default 2.5, 6, 0.56.

    The paper gives no parameter values for this motif; the defaults are JR-like kinetics and
    gains with weights chosen to sit just past the Hopf (an alpha-band limit cycle).

    Reference: Castaldo et al. (2026), section 6 (the motif and its Barkhausen condition) and
    section 6.1 (networks); Jansen & Rit (1995) for the kinetics and sigmoid.
    Equations, units and errata: docs/models.md#e-i-motif
    """

    tau_x: Array = param(0.01)
    tau_y: Array = param(0.02)
    gamma_x: Array = param(0.0325)
    gamma_y: Array = param(0.44)
    w_xx: Array = param(0.0)
    w_xy: Array = param(10.0)
    w_yx: Array = param(75.0)
    w_yy: Array = param(0.0)
    P_x: Array = param(17.0)
    P_y: Array = param(0.0)
    e0: Array = param(2.5)
    v0: Array = param(6.0)
    r: Array = param(0.56)

    state_names: ClassVar[tuple[str, ...]] = ("x", "y", "dx", "dy")
    time_unit: ClassVar[str | None] = "s"
    rhythm_band: ClassVar[tuple[float, float] | None] = (1.0, 80.0)  # Hz
    positive_params: ClassVar[tuple[str, ...]] = ("tau_x", "tau_y", "e0", "r")

    def _s(self, v: Float[ArrayLike, "*batch"]) -> Float[Array, "*batch"]:
        return sigmoid(v, self.e0, self.v0, self.r)

    def membrane_potentials(self, y: State, args: Drive = None) -> tuple[Scalar, Scalar]:
        """Sigmoid arguments $(v_x, v_y)$ [mV] of the E and I populations."""
        return push_pull_inputs(self, y, args)

    def vector_field(self, t: ArrayLike, y: State, args: Drive) -> State:
        x, yy, dx, dyy = y[0], y[1], y[2], y[3]
        v_x, v_y = self.membrane_potentials(y, args)
        ax = (self.gamma_x * self._s(v_x) - 2.0 * self.tau_x * dx - x) / self.tau_x**2
        ay = (self.gamma_y * self._s(v_y) - 2.0 * self.tau_y * dyy - yy) / self.tau_y**2
        return jnp.stack([dx, dyy, ax, ay])

    def input_entry(self) -> InputEntry:
        """White noise enters the E synapse, $\\ddot x = \\ldots + \\gamma_x \\xi/\\tau_x^2$ (the
        drive itself acts inside the E sigmoid)."""
        return 2, self.gamma_x / self.tau_x**2

    def initial_state(self) -> State:
        return jnp.zeros(4)

    def observe(self, y: State) -> Scalar:
        return y[0]

    def efferent(self, y: State) -> Scalar:
        """The E PSP $x$ [mV], fed into the receiving E sigmoid (the network example of
        Castaldo et al. 2026, section 6.1)."""
        return y[0]
