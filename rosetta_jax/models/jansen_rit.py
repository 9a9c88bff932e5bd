"""Rung 4, NMM1: the Jansen-Rit cortical column.

Time is in seconds, potentials in mV, rates in 1/s. Each synapse is the second-order operator
$\\ddot u = A a\\, r - 2a \\dot u - a^2 u$ (gain $A$ [mV], rate constant $a$ [1/s]).
"""

from __future__ import annotations

from typing import ClassVar

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from ._base import AbstractModel, drive, param
from ._synapses import second_order_psp
from ._transfer import sigmoid
from ._types import Drive, InputEntry, Scalar, State


class JansenRit(AbstractModel):
    """Jansen-Rit cortical column (NMM1): pyramidal cells with excitatory and inhibitory
    interneuron feedback.

    $$\\ddot y_0 = A a\\,S(y_1 - y_2) - 2a\\dot y_0 - a^2 y_0$$
    $$\\ddot y_1 = A a\\,(p + F + C_2 S(C_1 y_0)) - 2a\\dot y_1 - a^2 y_1$$
    $$\\ddot y_2 = B b\\,C_4 S(C_3 y_0) - 2b\\dot y_2 - b^2 y_2$$

    with $S(v) = 2e_0/(1 + e^{r(v_0 - v)})$ and $C_k = c_k C$. The drive $F$ and noise add to
    the extrinsic input rate $p$ (the $y_4$ equation).

    State: `(y0, y1, y2, y3, y4, y5)`: PSPs [mV] then their derivatives [mV/s].
    Observable: $y_1 - y_2$ [mV], the pyramidal membrane potential (EEG proxy).

    Args:
        A, B: excitatory / inhibitory PSP amplitudes [mV], default 3.25, 22.
        a, b: excitatory / inhibitory rate constants [1/s], default 100, 50.
        C: connectivity constant [-], default 135.
        c1, c2, c3, c4: $C_k/C$, default 1, 0.8, 0.25, 0.25.
        e0 [1/s], v0 [mV], r [1/mV]: sigmoid, default 2.5, 6, 0.56.
        p: extrinsic input rate [1/s], default 220 (alpha limit cycle).

    Reference: Jansen & Rit, Biol. Cybern. 73:357 (1995); Grimbert & Faugeras (2006);
    Castaldo et al. (2026), section 6.2 (Jansen-Rit).
    Equations, units and errata: docs/models.md#jansen-rit
    """

    A: Array = param(3.25)
    B: Array = param(22.0)
    a: Array = param(100.0)
    b: Array = param(50.0)
    C: Array = param(135.0)
    c1: Array = param(1.0)
    c2: Array = param(0.8)
    c3: Array = param(0.25)
    c4: Array = param(0.25)
    e0: Array = param(2.5)
    v0: Array = param(6.0)
    r: Array = param(0.56)
    p: Array = param(220.0)

    state_names: ClassVar[tuple[str, ...]] = ("y0", "y1", "y2", "y3", "y4", "y5")
    time_unit: ClassVar[str | None] = "s"
    noise_enters_as_drive: ClassVar[bool] = True
    rhythm_band: ClassVar[tuple[float, float] | None] = (2.0, 45.0)  # Hz
    positive_params: ClassVar[tuple[str, ...]] = ("a", "b", "e0", "r")

    def rate(self, v: Float[ArrayLike, "*batch"]) -> Float[Array, "*batch"]:
        """Sigmoid $S(v)$ [1/s] of a membrane potential [mV]."""
        return sigmoid(v, self.e0, self.v0, self.r)

    def vector_field(self, t: ArrayLike, y: State, args: Drive) -> State:
        y0, y1, y2, y3, y4, y5 = (y[i] for i in range(6))
        C = self.C
        dy3 = second_order_psp(y0, y3, self.rate(y1 - y2), self.A, self.a)
        dy4 = second_order_psp(
            y1, y4, self.p + drive(args) + self.c2 * C * self.rate(self.c1 * C * y0), self.A, self.a
        )
        dy5 = second_order_psp(y2, y5, self.c4 * C * self.rate(self.c3 * C * y0), self.B, self.b)
        return jnp.stack([y3, y4, y5, dy3, dy4, dy5])

    def input_entry(self) -> InputEntry:
        """The input rate $p$ enters the excitatory synapse: $\\dot y_4 = A a (p + u) - \\ldots$"""
        return 4, self.A * self.a

    def initial_state(self) -> State:
        return jnp.zeros(6)

    def observe(self, y: State) -> Scalar:
        return y[1] - y[2]

    def efferent(self, y: State) -> Scalar:
        """The pyramidal firing rate $S(y_1 - y_2)$ [1/s], received through the excitatory
        synapse as extra input rate $p$ (rate-through-synapse coupling, the general NMM1 form
        of Castaldo et al. 2026, section 6.1)."""
        return self.rate(y[1] - y[2])
