"""Rung 4, NMM1: the laminar neural mass model LaNMM (alpha and gamma generators).

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
from ._types import Drive, InputEntry, State


# LaNMM synapse table (Ruffini's LaNMM code): presynaptic source and receptor type of the
# synapses 1..14, in order.
_LANMM_SOURCES = tuple("SS SST e1 P1 P1 P2 PV e2 P2 PV P2 P1 P1 pv".split())
_LANMM_TYPES = tuple(
    "AMPA GABA_slow AMPA AMPA AMPA AMPA GABA_fast AMPA AMPA GABA_fast AMPA AMPA AMPA AMPA".split()
)


class LaNMM(AbstractModel):
    """Laminar neural mass model: a deep JR-like alpha generator (P1, SS, SST) gating a
    superficial PING-like gamma generator (P2, PV); 14 second-order synapses.

    Each synapse $s = 1..14$ obeys $\\ddot u_s = a_s A_s C_s \\phi_s - 2a_s\\dot u_s - a_s^2 u_s$
    with membrane potentials $v_{P1} = u_1+u_2+u_3+u_{11}$, $v_{SS} = u_4$, $v_{SST} = u_5$,
    $v_{P2} = u_6+u_7+u_8+u_{12}$, $v_{PV} = u_9+u_{10}+u_{13}+u_{14}$, and
    $\\sigma(v) = e_{max}/(1 + e^{r(v_0 - v)})$ ($v_0$ = 6 mV, 1 mV for P2). Presynaptic rates
    $\\phi_s$ = ($\\sigma_{SS}$, $\\sigma_{SST}$, $e_1$, $\\sigma_{P1}$, $\\sigma_{P1}$,
    $\\sigma_{P2}$,
    $\\sigma_{PV}$, $e_2$, $\\sigma_{P2}$, $\\sigma_{PV}$, $\\sigma_{P2}$, $\\sigma_{P1}$,
    $\\sigma_{P1}$,
    $pv$). Synapses are AMPA ($A$ = 3.25 mV, $a$ = 100/s) except $s_2$ (GABA slow,
    -22 mV, 50/s) and $s_7, s_{10}$ (GABA fast, -30 mV, 220/s). The drive and noise add to the
    external rate $e_1$ into P1.

    State: `(u1..u14, du1..du14)`: PSPs [mV] then derivatives [mV/s].
    Observable: $v_{P1}$ [mV]; `membrane_potentials` gives all five.

    Args:
        C1..C14: connectivity constants, default
            (108, 33.7, 1, 135, 33.75, 70, 550, 1, 200, 100, 80, 200, 30, 1).
        A_AMPA, a_AMPA, A_GABA_slow, a_GABA_slow, A_GABA_fast, a_GABA_fast: synapse gains [mV]
            and rate constants [1/s].
        e1, e2, pv: external rates into P1, P2 and PV [1/s], default 270, 90, 0.
        e_max [1/s], r [1/mV], v0 [mV], v0_P2 [mV]: sigmoid, default 5, 0.56, 6, 1.

    The five-PSP system printed in Castaldo et al. (2026), section 6.2, is not self-consistent
    (no $C_3$, $C_8$, $C_{14}$; mislabelled presynaptic sigmoids); this is the 14-synapse form
    of the authors' code (see docs/models.md, errata).

    Reference: Sanchez-Todo et al., NeuroImage 270:119938 (2023); Castaldo et al. (2026),
    section 6.2 (the laminar model); Ruffini's LaNMM code (LaNMM_parameters.jl,
    LaNMM_Engine.jl).
    Equations, units and errata: docs/models.md#lanmm
    """

    C1: Array = param(108.0)
    C2: Array = param(33.7)
    C3: Array = param(1.0)
    C4: Array = param(135.0)
    C5: Array = param(33.75)
    C6: Array = param(70.0)
    C7: Array = param(550.0)
    C8: Array = param(1.0)
    C9: Array = param(200.0)
    C10: Array = param(100.0)
    C11: Array = param(80.0)
    C12: Array = param(200.0)
    C13: Array = param(30.0)
    C14: Array = param(1.0)
    A_AMPA: Array = param(3.25)
    a_AMPA: Array = param(100.0)
    A_GABA_slow: Array = param(-22.0)
    a_GABA_slow: Array = param(50.0)
    A_GABA_fast: Array = param(-30.0)
    a_GABA_fast: Array = param(220.0)
    e1: Array = param(270.0)
    e2: Array = param(90.0)
    pv: Array = param(0.0)
    e_max: Array = param(5.0)
    r: Array = param(0.56)
    v0: Array = param(6.0)
    v0_P2: Array = param(1.0)

    state_names: ClassVar[tuple[str, ...]] = tuple(f"u{i}" for i in range(1, 15)) + tuple(
        f"du{i}" for i in range(1, 15)
    )
    time_unit: ClassVar[str | None] = "s"
    noise_enters_as_drive: ClassVar[bool] = True
    rhythm_band: ClassVar[tuple[float, float] | None] = (1.0, 100.0)  # Hz
    positive_params: ClassVar[tuple[str, ...]] = (
        "a_AMPA",
        "a_GABA_slow",
        "a_GABA_fast",
        "e_max",
        "r",
    )

    def _sigma(self, v: Float[Array, "*batch"], v0: Array) -> Float[Array, "*batch"]:
        return sigmoid(v, 0.5 * self.e_max, v0, self.r)

    def membrane_potentials(
        self, y: Float[Array, "*batch n_states"]
    ) -> dict[str, Float[Array, "*batch"]]:
        """Membrane potentials [mV] of the five populations P1, SS, SST, P2, PV."""
        u = y[..., :14]
        return {
            "P1": u[..., 0] + u[..., 1] + u[..., 2] + u[..., 10],
            "SS": u[..., 3],
            "SST": u[..., 4],
            "P2": u[..., 5] + u[..., 6] + u[..., 7] + u[..., 11],
            "PV": u[..., 8] + u[..., 9] + u[..., 12] + u[..., 13],
        }

    def _synapse_table(self) -> tuple[Array, Array, Array]:
        """Gain $A$ [mV], rate constant $a$ [1/s] and connectivity $C$ of the 14 synapses."""
        kind = {
            "AMPA": (self.A_AMPA, self.a_AMPA),
            "GABA_slow": (self.A_GABA_slow, self.a_GABA_slow),
            "GABA_fast": (self.A_GABA_fast, self.a_GABA_fast),
        }
        A = jnp.stack([kind[k][0] for k in _LANMM_TYPES])
        a = jnp.stack([kind[k][1] for k in _LANMM_TYPES])
        C = jnp.stack([getattr(self, f"C{i}") for i in range(1, 15)])
        return A, a, C

    def vector_field(self, t: ArrayLike, y: State, args: Drive) -> State:
        u, du = y[:14], y[14:]
        v = self.membrane_potentials(y)
        rates = {
            "P1": self._sigma(v["P1"], self.v0),
            "SS": self._sigma(v["SS"], self.v0),
            "SST": self._sigma(v["SST"], self.v0),
            "P2": self._sigma(v["P2"], self.v0_P2),
            "PV": self._sigma(v["PV"], self.v0),
            "e1": self.e1 + drive(args),
            "e2": self.e2,
            "pv": self.pv,
        }
        phi = jnp.stack([rates[s] for s in _LANMM_SOURCES])
        A, a, C = self._synapse_table()
        return jnp.concatenate([du, second_order_psp(u, du, C * phi, A, a)])

    def input_entry(self) -> InputEntry:
        """The external rate $e_1$ enters each synapse it drives, with that synapse's
        $A a C$."""
        A, a, C = self._synapse_table()
        from_e1 = jnp.asarray([src == "e1" for src in _LANMM_SOURCES])
        return slice(14, None), jnp.where(from_e1, A * a * C, 0.0)

    def initial_state(self) -> State:
        return jnp.zeros(28)

    def observe(self, y: Float[Array, "*batch n_states"]) -> Float[Array, "*batch"]:
        return self.membrane_potentials(y)["P1"]

    def efferent(self, y: Float[Array, "*batch n_states"]) -> Float[Array, "*batch"]:
        """The deep pyramidal (P1) firing rate [1/s], received as external rate $e_1$."""
        return self._sigma(self.membrane_potentials(y)["P1"], self.v0)
