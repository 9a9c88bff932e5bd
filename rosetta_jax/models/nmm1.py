"""Rung 4, NMM1: second-order synapses with a static sigmoid.

The E-I push-pull motif, Jansen-Rit, Wendling and the laminar LaNMM. Time is in seconds,
potentials in mV, rates in 1/s. Each synapse is the second-order operator
$\\ddot u = A a\\, r - 2a \\dot u - a^2 u$ (gain $A$ [mV], rate constant $a$ [1/s]).
"""

from __future__ import annotations

from typing import ClassVar

import jax.numpy as jnp
from jaxtyping import Array

from ._base import AbstractModel, drive, param
from ._transfer import sigmoid


def _synapse(u, du, rate, A, a):
    """Second derivative of a PSP driven by `rate`: $A a r - 2 a \\dot u - a^2 u$."""
    return A * a * rate - 2.0 * a * du - a * a * u


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

    def _s(self, v):
        return sigmoid(v, self.e0, self.v0, self.r)

    def membrane_potentials(self, y, args=None):
        """Sigmoid arguments $(v_x, v_y)$ [mV] of the E and I populations."""
        x, yy = y[0], y[1]
        v_x = self.w_xx * x - self.w_xy * yy + self.P_x + drive(args)
        v_y = self.w_yx * x - self.w_yy * yy + self.P_y
        return v_x, v_y

    def vector_field(self, t, y, args):
        x, yy, dx, dyy = y[0], y[1], y[2], y[3]
        v_x, v_y = self.membrane_potentials(y, args)
        ax = (self.gamma_x * self._s(v_x) - 2.0 * self.tau_x * dx - x) / self.tau_x**2
        ay = (self.gamma_y * self._s(v_y) - 2.0 * self.tau_y * dyy - yy) / self.tau_y**2
        return jnp.stack([dx, dyy, ax, ay])

    def input_gain(self, y):
        """White noise enters the E synapse, $\\ddot x = \\ldots + \\gamma_x \\xi/\\tau_x^2$ (the
        drive itself acts inside the E sigmoid)."""
        return jnp.zeros_like(y).at[2].set(self.gamma_x / self.tau_x**2)

    def initial_state(self):
        return jnp.zeros(4)

    def observe(self, y):
        return y[0]

    def efferent(self, y):
        """The E PSP $x$ [mV], fed into the receiving E sigmoid (the network example of
        Castaldo et al. 2026, section 6.1)."""
        return y[0]


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
    rhythm_band: ClassVar[tuple[float, float] | None] = (2.0, 45.0)  # Hz
    positive_params: ClassVar[tuple[str, ...]] = ("a", "b", "e0", "r")

    def rate(self, v):
        """Sigmoid $S(v)$ [1/s] of a membrane potential [mV]."""
        return sigmoid(v, self.e0, self.v0, self.r)

    def vector_field(self, t, y, args):
        y0, y1, y2, y3, y4, y5 = (y[i] for i in range(6))
        C = self.C
        dy3 = _synapse(y0, y3, self.rate(y1 - y2), self.A, self.a)
        dy4 = _synapse(
            y1, y4, self.p + drive(args) + self.c2 * C * self.rate(self.c1 * C * y0), self.A, self.a
        )
        dy5 = _synapse(y2, y5, self.c4 * C * self.rate(self.c3 * C * y0), self.B, self.b)
        return jnp.stack([y3, y4, y5, dy3, dy4, dy5])

    def input_gain(self, y):
        """The input rate $p$ enters the excitatory synapse: $\\dot y_4 = A a (p + u) - \\ldots$"""
        return jnp.zeros_like(y).at[4].set(self.A * self.a)

    def initial_state(self):
        return jnp.zeros(6)

    def observe(self, y):
        return y[1] - y[2]

    def efferent(self, y):
        """The pyramidal firing rate $S(y_1 - y_2)$ [1/s], received through the excitatory
        synapse as extra input rate $p$ (rate-through-synapse coupling, the general NMM1 form
        of Castaldo et al. 2026, section 6.1)."""
        return self.rate(y[1] - y[2])


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
    rhythm_band: ClassVar[tuple[float, float] | None] = (1.0, 80.0)  # Hz
    positive_params: ClassVar[tuple[str, ...]] = ("a", "b", "g", "e0", "r")

    def rate(self, v):
        return sigmoid(v, self.e0, self.v0, self.r)

    def vector_field(self, t, y, args):
        y0, y1, y2, y3, y4, y5, y6, y7 = (y[i] for i in range(8))
        dy4 = _synapse(y0, y4, self.rate(y1 - y2 - y3), self.A, self.a)
        dy5 = _synapse(
            y1, y5, self.p + drive(args) + self.C2 * self.rate(self.C1 * y0), self.A, self.a
        )
        dy6 = _synapse(y2, y6, self.C4 * self.rate(self.C3 * y0), self.B, self.b)
        dy7 = _synapse(y3, y7, self.C7 * self.rate(self.C5 * y0 - self.C6 * y2), self.G, self.g)
        return jnp.stack([y4, y5, y6, y7, dy4, dy5, dy6, dy7])

    def input_gain(self, y):
        """The input rate $p$ enters the excitatory synapse: $\\dot y_5 = A a (p + u) - \\ldots$"""
        return jnp.zeros_like(y).at[5].set(self.A * self.a)

    def initial_state(self):
        return jnp.zeros(8)

    def observe(self, y):
        return y[1] - y[2] - y[3]

    def efferent(self, y):
        """The pyramidal firing rate $S(y_1 - y_2 - y_3)$ [1/s], received as input rate $p$."""
        return self.rate(y[1] - y[2] - y[3])


# LaNMM synapse table (Ruffini's LaNMM code): presynaptic source and receptor type per synapse.
_LANMM_SOURCES = (
    "SS",
    "SST",
    "e1",
    "P1",
    "P1",
    "P2",
    "PV",
    "e2",
    "P2",
    "PV",
    "P2",
    "P1",
    "P1",
    "pv",
)
_LANMM_TYPES = (
    "AMPA",
    "GABA_slow",
    "AMPA",
    "AMPA",
    "AMPA",
    "AMPA",
    "GABA_fast",
    "AMPA",
    "AMPA",
    "GABA_fast",
    "AMPA",
    "AMPA",
    "AMPA",
    "AMPA",
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
    rhythm_band: ClassVar[tuple[float, float] | None] = (1.0, 100.0)  # Hz
    positive_params: ClassVar[tuple[str, ...]] = (
        "a_AMPA",
        "a_GABA_slow",
        "a_GABA_fast",
        "e_max",
        "r",
    )

    def _sigma(self, v, v0):
        return sigmoid(v, 0.5 * self.e_max, v0, self.r)

    def membrane_potentials(self, y) -> dict[str, Array]:
        """Membrane potentials [mV] of the five populations P1, SS, SST, P2, PV."""
        u = y[..., :14]
        return {
            "P1": u[..., 0] + u[..., 1] + u[..., 2] + u[..., 10],
            "SS": u[..., 3],
            "SST": u[..., 4],
            "P2": u[..., 5] + u[..., 6] + u[..., 7] + u[..., 11],
            "PV": u[..., 8] + u[..., 9] + u[..., 12] + u[..., 13],
        }

    def _synapse_table(self):
        kind = {
            "AMPA": (self.A_AMPA, self.a_AMPA),
            "GABA_slow": (self.A_GABA_slow, self.a_GABA_slow),
            "GABA_fast": (self.A_GABA_fast, self.a_GABA_fast),
        }
        A = jnp.stack([kind[k][0] for k in _LANMM_TYPES])
        a = jnp.stack([kind[k][1] for k in _LANMM_TYPES])
        C = jnp.stack([getattr(self, f"C{i}") for i in range(1, 15)])
        return A, a, C

    def vector_field(self, t, y, args):
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
        return jnp.concatenate([du, _synapse(u, du, C * phi, A, a)])

    def input_gain(self, y):
        """The external rate $e_1$ enters each synapse it drives, with that synapse's
        $A a C$."""
        A, a, C = self._synapse_table()
        from_e1 = jnp.asarray([src == "e1" for src in _LANMM_SOURCES])
        return jnp.zeros_like(y).at[14:].set(jnp.where(from_e1, A * a * C, 0.0).astype(y.dtype))

    def initial_state(self):
        return jnp.zeros(28)

    def observe(self, y):
        return self.membrane_potentials(y)["P1"]

    def efferent(self, y):
        """The deep pyramidal (P1) firing rate [1/s], received as external rate $e_1$."""
        return self._sigma(self.membrane_potentials(y)["P1"], self.v0)
