"""Rung 5, NMM2: the exact mean field of quadratic integrate-and-fire neurons.

Montbrio-Pazo-Roxin (MPR) with instantaneous, first- or second-order synapses; the
self-inhibited ING population; and the E-I PING motif. Time is in ms, so rates are in kHz
(spikes per ms); $v$, $\\eta$, $\\Delta$, $J$ and the input $I$ are dimensionless QIF units.

Reference: Montbrio, Pazo & Roxin, Phys. Rev. X 5:021028 (2015); Clusella et al.,
Biol. Cybern. (2023); Castaldo et al. (2026), section 7.
"""

from __future__ import annotations

from typing import ClassVar

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Bool

from ._base import AbstractModel, drive, param
from ._synapses import AbstractSynapse, Instantaneous, unit_alpha_derivative
from ._types import Drive, InputEntry, Scalar, State


def _qif_mean_field(
    r: Array, v: Array, tau: Array, Delta: Array, net_input: Array
) -> tuple[Array, Array]:
    """$(\\dot r, \\dot v)$ of the dimensional MPR equations.

    $\\tau\\dot r = \\Delta/(\\pi\\tau) + 2 r v$ and
    $\\tau\\dot v = v^2 - (\\pi\\tau r)^2 + I_{net}$,
    where `net_input` collects $\\bar\\eta$, the synaptic term and the external input.
    """
    dr = (Delta / (jnp.pi * tau) + 2.0 * r * v) / tau
    dv = (v * v - (jnp.pi * tau * r) ** 2 + net_input) / tau
    return dr, dv


class MontbrioPazoRoxin(AbstractModel):
    """Montbrio-Pazo-Roxin exact mean field of all-to-all QIF neurons (NMM2).

    $$\\tau\\dot r = \\frac{\\Delta}{\\pi\\tau} + 2 r v,\\qquad
    \\tau\\dot v = v^2 + \\bar\\eta + J\\tau s - (\\pi\\tau r)^2 + I(t),$$

    with the synaptic activation $s$ set by `synapse`: `Instantaneous()` (default, MPR 2015):
    $s = r$; `FirstOrder()`: $\\tau_s\\dot s = r - s$; `SecondOrder()`: $\\tau_s\\dot s = z$,
    $\\tau_s\\dot z = r - 2z - s$ (alpha synapse, unit gain).
    The drive and noise add to $I(t)$.

    State: `(r, v)`, then `s` (order >= 1) and `z` (order 2); $r$ in kHz.
    Observable: $r$ [kHz].

    Args:
        tau: membrane time constant [ms], default 10.
        Delta: half-width of the Lorentzian excitability distribution [-], default 1.
        eta: centre of the excitability distribution [-], default -5.
        J: synaptic weight [-], default 15 (excitatory; negative for inhibition).
        I: constant external input [-], default 0.
        tau_s: synaptic time constant [ms] (orders 1 and 2), default 5.
        synapse: `models.Instantaneous()` (default), `models.FirstOrder()` or
            `models.SecondOrder()`.

    Fixed points (order 0, $\\tau = 1$): $v^* = -\\Delta/(2\\pi r^*)$ and
    $\\bar\\eta + I = \\pi^2 r^2 - J r - \\Delta^2/(4\\pi^2 r^2)$.

    Reference: Montbrio, Pazo & Roxin, Phys. Rev. X 5:021028 (2015); Castaldo et al. (2026),
    section 7 (which writes the $\\tau = 1$ form).
    Equations, units and errata: docs/models.md#montbrio-pazo-roxin
    """

    tau: Array = param(10.0)
    Delta: Array = param(1.0)
    eta: Array = param(-5.0)
    J: Array = param(15.0)
    I: Array = param(0.0)
    tau_s: Array = param(5.0)
    synapse: AbstractSynapse = Instantaneous()

    time_unit: ClassVar[str | None] = "ms"
    noise_enters_as_drive: ClassVar[bool] = True
    rhythm_band: ClassVar[tuple[float, float] | None] = (1.0, 200.0)  # Hz
    positive_params: ClassVar[tuple[str, ...]] = ("tau", "Delta", "tau_s")

    def __check_init__(self):
        if not isinstance(self.synapse, AbstractSynapse):
            raise TypeError(
                "MontbrioPazoRoxin.synapse must be models.Instantaneous(), models.FirstOrder() "
                f"or models.SecondOrder(); got {self.synapse!r}."
            )

    @property
    def state_names(self) -> tuple[str, ...]:  # type: ignore[override]
        return ("r", "v", *self.synapse.state_names)

    def vector_field(self, t: ArrayLike, y: State, args: Drive) -> State:
        r, v = y[0], y[1]
        s = self.synapse.activation(r, y[2:])
        net = self.eta + self.J * self.tau * s + self.I + drive(args)
        dr, dv = _qif_mean_field(r, v, self.tau, self.Delta, net)
        return jnp.concatenate([jnp.stack([dr, dv]), self.synapse.derivative(r, y[2:], self.tau_s)])

    def input_entry(self) -> InputEntry:
        """The input current enters the membrane equation, $\\tau\\dot v = \\ldots + I$."""
        return 1, 1.0 / self.tau

    def initial_state(self) -> State:
        # Near the low-activity state: r small and positive, v negative; s = r, z = 0.
        return jnp.array([0.01, -2.0, 0.01, 0.0])[: 2 + self.synapse.order]

    def observe(self, y: State) -> Scalar:
        return y[0]

    def efferent(self, y: State) -> Scalar:
        """$\\tau s$ (with $s = r$ for the instantaneous synapse): a weight $C_{ij}$ then acts
        on the receiving $v$ exactly like the self-coupling $J$ (the E-I network of Castaldo
        et al. 2026, section 7.1)."""
        return self.tau * self.synapse.activation(y[0], y[2:])

    def admissible(self, y: State) -> Bool[Array, ""]:
        """Firing rates are non-negative."""
        return y[0] >= 0


class ING(AbstractModel):
    """Interneuron gamma (ING): a self-inhibited QIF population with an alpha synapse.

    $$\\tau_m\\dot v = \\bar\\eta + I + v^2 - (\\pi\\tau_m r)^2 - \\tau_m J s,\\qquad
    \\tau_m\\dot r = \\frac{\\Delta}{\\pi\\tau_m} + 2 r v,$$
    $$\\tau_d\\dot s = z,\\qquad \\tau_d\\dot z = r - 2z - s.$$

    The $r$ equation uses $\\Delta/(\\pi\\tau_m)$, the dimensional MPR form, as in the authors'
    AUTO code (ing.f90). Castaldo et al. (2026), section 7 and appendix, print
    $\\tau_i\\dot r = \\Delta + 2rv$, with which the fixed point has no Hopf point for
    $I \\in [-20, 100]$ (see docs/models.md, errata). The drive and noise add to $I$.

    State: `(r, v, s, z)`, $r$ in kHz. Observable: $r$ [kHz].

    Args:
        tau_m: membrane time constant [ms], default 7.5.
        tau_d: synaptic time constant [ms], default 2.
        J: inhibitory self-coupling (> 0 inhibits) [-], default 20.
        Delta: heterogeneity half-width [-], default 1.
        eta: mean excitability [-], default 0.
        I: external input [-], default 10 (inside the gamma oscillation window).

    Reference: Castaldo et al. (2026), section 7 and the parameter table of its appendix
    "Linear Stability and Bifurcation Analysis", and its AUTO code (ing.f90);
    Clusella et al. (2023).
    Equations, units and errata: docs/models.md#ing
    """

    tau_m: Array = param(7.5)
    tau_d: Array = param(2.0)
    J: Array = param(20.0)
    Delta: Array = param(1.0)
    eta: Array = param(0.0)
    I: Array = param(10.0)

    state_names: ClassVar[tuple[str, ...]] = ("r", "v", "s", "z")
    time_unit: ClassVar[str | None] = "ms"
    noise_enters_as_drive: ClassVar[bool] = True
    rhythm_band: ClassVar[tuple[float, float] | None] = (20.0, 200.0)  # Hz
    positive_params: ClassVar[tuple[str, ...]] = ("tau_m", "tau_d", "Delta")

    def vector_field(self, t: ArrayLike, y: State, args: Drive) -> State:
        r, v, s, z = y[0], y[1], y[2], y[3]
        net = self.eta + self.I + drive(args) - self.tau_m * self.J * s
        dr, dv = _qif_mean_field(r, v, self.tau_m, self.Delta, net)
        ds, dz = unit_alpha_derivative(s, z, r, self.tau_d)
        return jnp.stack([dr, dv, ds, dz])

    def input_entry(self) -> InputEntry:
        """The input current enters the membrane equation, $\\tau_m\\dot v = \\ldots + I$."""
        return 1, 1.0 / self.tau_m

    def initial_state(self) -> State:
        return jnp.array([0.05, -1.0, 0.05, 0.0])

    def observe(self, y: State) -> Scalar:
        return y[0]

    def efferent(self, y: State) -> Scalar:
        """$\\tau_m s$, received as excitatory input current (like $J$, with the sign of a
        between-node excitatory link)."""
        return self.tau_m * y[2]

    def admissible(self, y: State) -> Bool[Array, ""]:
        """Firing rates are non-negative."""
        return y[0] >= 0


class PING(AbstractModel):
    """Pyramidal-interneuron gamma (PING): coupled E and I QIF populations (NMM2 push-pull).

    $$\\tau_e\\dot v_e = \\eta_e - (\\pi\\tau_e r_e)^2 + v_e^2 + \\tau_e(J_{ee}s_e - J_{ei}s_i) +
    I + F$$
    $$\\tau_i\\dot v_i = \\eta_i - (\\pi\\tau_i r_i)^2 + v_i^2 + \\tau_i(J_{ie}s_e - J_{ii}s_i) +
    I$$
    $$\\tau_\\alpha\\dot r_\\alpha = \\Delta_\\alpha/(\\pi\\tau_\\alpha) + 2 r_\\alpha v_\\alpha$$

    with alpha synapses $\\tau_a\\dot s_e = z_e$, $\\tau_a\\dot z_e = r_e - 2z_e - s_e$ (E) and
    $\\tau_g\\dot s_i = z_i$, $\\tau_g\\dot z_i = r_i - 2z_i - s_i$ (I). The tonic input $I$
    enters both populations (the paper's appendix form); the external drive $F$ and noise
    enter E only.

    The $r$ equations use $\\Delta/(\\pi\\tau)$ (the paper prints $\\Delta + 2rv$, see `ING`).
    With the values of the paper's parameter table (the defaults), no folds or Hopf points lie
    on the fixed-point branch for $I \\in [-20, 75]$, with either form of the $r$ equations, so
    the PING diagram described by Castaldo et al. (2026), section 7.1, is not reproduced; use
    this model qualitatively (see docs/models.md, errata).

    State: `(r_e, v_e, s_e, z_e, r_i, v_i, s_i, z_i)`, rates in kHz. Observable: $r_e$.

    Args:
        tau_e, tau_i: membrane time constants [ms], default 15, 7.5.
        tau_a, tau_g: E (AMPA) and I (GABA) synaptic time constants [ms], default 10, 2.5.
        J_ee, J_ei, J_ie, J_ii: coupling magnitudes [-], default 1, 1, 1, 2.
        eta_e, eta_i: mean excitabilities [-], default 0.
        Delta_e, Delta_i: heterogeneity half-widths [-], default 1.
        I: tonic input to both populations [-], default 10.

    Reference: Castaldo et al. (2026), section 7.1 (E-I push-pull motif) and the appendix
    "Linear Stability and Bifurcation Analysis" (PING equations, parameter table).
    Equations, units and errata: docs/models.md#ping
    """

    tau_e: Array = param(15.0)
    tau_i: Array = param(7.5)
    tau_a: Array = param(10.0)
    tau_g: Array = param(2.5)
    J_ee: Array = param(1.0)
    J_ei: Array = param(1.0)
    J_ie: Array = param(1.0)
    J_ii: Array = param(2.0)
    eta_e: Array = param(0.0)
    eta_i: Array = param(0.0)
    Delta_e: Array = param(1.0)
    Delta_i: Array = param(1.0)
    I: Array = param(10.0)

    state_names: ClassVar[tuple[str, ...]] = (
        "r_e",
        "v_e",
        "s_e",
        "z_e",
        "r_i",
        "v_i",
        "s_i",
        "z_i",
    )
    time_unit: ClassVar[str | None] = "ms"
    noise_enters_as_drive: ClassVar[bool] = True
    rhythm_band: ClassVar[tuple[float, float] | None] = (20.0, 200.0)  # Hz
    positive_params: ClassVar[tuple[str, ...]] = (
        "tau_e",
        "tau_i",
        "tau_a",
        "tau_g",
        "Delta_e",
        "Delta_i",
    )

    def vector_field(self, t: ArrayLike, y: State, args: Drive) -> State:
        r_e, v_e, s_e, z_e, r_i, v_i, s_i, z_i = (y[k] for k in range(8))
        net_e = self.eta_e + self.tau_e * (self.J_ee * s_e - self.J_ei * s_i) + self.I + drive(args)
        net_i = self.eta_i + self.tau_i * (self.J_ie * s_e - self.J_ii * s_i) + self.I
        dr_e, dv_e = _qif_mean_field(r_e, v_e, self.tau_e, self.Delta_e, net_e)
        dr_i, dv_i = _qif_mean_field(r_i, v_i, self.tau_i, self.Delta_i, net_i)
        ds_e, dz_e = unit_alpha_derivative(s_e, z_e, r_e, self.tau_a)
        ds_i, dz_i = unit_alpha_derivative(s_i, z_i, r_i, self.tau_g)
        return jnp.stack([dr_e, dv_e, ds_e, dz_e, dr_i, dv_i, ds_i, dz_i])

    def input_entry(self) -> InputEntry:
        """The input current enters the E membrane equation, $\\tau_e\\dot v_e = \\ldots + I$."""
        return 1, 1.0 / self.tau_e

    def initial_state(self) -> State:
        return jnp.array([0.02, -1.0, 0.02, 0.0, 0.04, -1.0, 0.04, 0.0])

    def observe(self, y: State) -> Scalar:
        return y[0]

    def efferent(self, y: State) -> Scalar:
        """$\\tau_e s_e$: the E synaptic activation, received by the E population (the E-I
        network of Castaldo et al. 2026, section 7.1)."""
        return self.tau_e * y[2]

    def admissible(self, y: State) -> Bool[Array, ""]:
        """Firing rates are non-negative."""
        return (y[0] >= 0) & (y[4] >= 0)
