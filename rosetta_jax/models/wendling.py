"""Rung 4, NMM1: the Wendling model (Jansen-Rit with fast GABA_A inhibition).

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


class Wendling(AbstractModel):
    """Wendling model: Jansen-Rit with a fast (dendritic-targeting) GABA_A population.

    $$\\ddot y_0 = A a\\,S(y_1 - y_2 - y_3) - 2a\\dot y_0 - a^2 y_0$$
    $$\\ddot y_1 = A a\\,(p + F + C_2 S(C_1 y_0)) - 2a\\dot y_1 - a^2 y_1$$
    $$\\ddot y_2 = B b\\,C_4 S(C_3 y_0) - 2b\\dot y_2 - b^2 y_2$$
    $$\\ddot y_3 = G g\\,C_7 S(C_5 y_0 - C_6 y_2) - 2g\\dot y_3 - g^2 y_3$$

    Sign conventions follow Wendling et al. (2002). Castaldo et al. (2026), section 6.2, print
    $Ab\\,(P - C_2\\sigma(C_1 y_0))$ and their AUTO code (wendling.f90) has $-C_2$ and $C_5 y_3$;
    here $+C_2$ (the $C_1$-$C_2$ loop runs through excitatory interneurons), $C_5$ acts on the
    pyramidal PSP $y_0$ (as the paper prints) and the excitatory synapses have rate $a$, not
    the printed $b$ (see docs/models.md, errata). In the 10-state original the slow-to-fast
    inhibition is $C_6$ times a slow PSP without the $C_4$ factor; that model is recovered
    exactly with $C_6 \\to C_6/C_4$.

    State: `(y0, y1, y2, y3, y4, y5, y6, y7)`: PSPs [mV] then derivatives [mV/s].
    Observable: $y_1 - y_2 - y_3$ [mV] (pyramidal membrane potential).

    Args:
        A, B, G: excitatory, slow and fast inhibitory gains [mV], default 3.25, 22, 10.
        a, b, g: rate constants [1/s], default 100, 50, 500.
        C1..C7: connectivity constants, default (135, 108, 33.75, 33.75, 40.5, 13.5, 108).
        e0 [1/s], v0 [mV], r [1/mV]: sigmoid, default 2.5, 6, 0.56.
        p: extrinsic input rate [1/s], default 90 (Wendling 2002's mean input).

    Reference: Wendling et al., Eur. J. Neurosci. 15:1499 (2002); Castaldo et al. (2026),
    section 6.2 (the Wendling model).
    Equations, units and errata: docs/models.md#wendling
    """

    A: Array = param(3.25)
    B: Array = param(22.0)
    G: Array = param(10.0)
    a: Array = param(100.0)
    b: Array = param(50.0)
    g: Array = param(500.0)
    C1: Array = param(135.0)
    C2: Array = param(108.0)
    C3: Array = param(33.75)
    C4: Array = param(33.75)
    C5: Array = param(40.5)
    C6: Array = param(13.5)
    C7: Array = param(108.0)
    e0: Array = param(2.5)
    v0: Array = param(6.0)
    r: Array = param(0.56)
    p: Array = param(90.0)

    state_names: ClassVar[tuple[str, ...]] = tuple(f"y{i}" for i in range(8))
    time_unit: ClassVar[str | None] = "s"
    noise_enters_as_drive: ClassVar[bool] = True
    rhythm_band: ClassVar[tuple[float, float] | None] = (1.0, 80.0)  # Hz
    positive_params: ClassVar[tuple[str, ...]] = ("a", "b", "g", "e0", "r")

    def rate(self, v: Float[ArrayLike, "*batch"]) -> Float[Array, "*batch"]:
        """Sigmoid $S(v)$ [1/s] of a membrane potential [mV]."""
        return sigmoid(v, self.e0, self.v0, self.r)

    def vector_field(self, t: ArrayLike, y: State, args: Drive) -> State:
        y0, y1, y2, y3, y4, y5, y6, y7 = (y[i] for i in range(8))
        dy4 = second_order_psp(y0, y4, self.rate(y1 - y2 - y3), self.A, self.a)
        dy5 = second_order_psp(
            y1, y5, self.p + drive(args) + self.C2 * self.rate(self.C1 * y0), self.A, self.a
        )
        dy6 = second_order_psp(y2, y6, self.C4 * self.rate(self.C3 * y0), self.B, self.b)
        dy7 = second_order_psp(
            y3, y7, self.C7 * self.rate(self.C5 * y0 - self.C6 * y2), self.G, self.g
        )
        return jnp.stack([y4, y5, y6, y7, dy4, dy5, dy6, dy7])

    def input_entry(self) -> InputEntry:
        """The input rate $p$ enters the excitatory synapse: $\\dot y_5 = A a (p + u) - \\ldots$"""
        return 5, self.A * self.a

    def initial_state(self) -> State:
        return jnp.zeros(8)

    def observe(self, y: State) -> Scalar:
        return y[1] - y[2] - y[3]

    def efferent(self, y: State) -> Scalar:
        """The pyramidal firing rate $S(y_1 - y_2 - y_3)$ [1/s], received as input rate $p$."""
        return self.rate(y[1] - y[2] - y[3])
