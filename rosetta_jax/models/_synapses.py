"""Linear synapses (Castaldo et al. 2026, section 4.1): kernels, frequency responses, and the
synapse equations the models integrate.

The synaptic operator $\\tau_r\\tau_d \\ddot s + (\\tau_r+\\tau_d)\\dot s + s = \\gamma r(t)$ has
the bi-exponential impulse response; equal rise and decay give the alpha synapse, a vanishing
rise the first-order (exponential) synapse. All kernels have unit DC gain times $\\gamma$
($\\int_0^\\infty K = \\gamma$). Times in any unit, as long as the time constants share it.

Reference: Castaldo et al. (2026), section 4.1 (synaptic dynamics and operator formalism).
"""

from __future__ import annotations

import abc
from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike


def alpha_kernel(t: ArrayLike, tau: ArrayLike, gamma: ArrayLike = 1.0) -> Array:
    """Alpha synapse $s(t) = \\gamma\\, t\\, e^{-t/\\tau}/\\tau^2$ for $t \\ge 0$ (0 before).

    Peaks at $t = \\tau$ with value $\\gamma/(e\\tau)$. Jansen-Rit's excitatory kernel
    $A a t e^{-at}$ is this kernel with $\\tau = 1/a$, $\\gamma = A/a$.
    """
    t = jnp.asarray(t)
    return jnp.where(t >= 0, gamma * t * jnp.exp(-t / tau) / tau**2, 0.0)


def exponential_kernel(t: ArrayLike, tau_d: ArrayLike, gamma: ArrayLike = 1.0) -> Array:
    """First-order synapse $s(t) = (\\gamma/\\tau_d) e^{-t/\\tau_d}$ for $t \\ge 0$."""
    t = jnp.asarray(t)
    return jnp.where(t >= 0, gamma * jnp.exp(-t / tau_d) / tau_d, 0.0)


def biexponential_kernel(
    t: ArrayLike, tau_r: ArrayLike, tau_d: ArrayLike, gamma: ArrayLike = 1.0
) -> Array:
    """Bi-exponential synapse
    $s(t) = \\gamma (e^{-t/\\tau_d} - e^{-t/\\tau_r})/(\\tau_d - \\tau_r)$.

    Requires $\\tau_r \\ne \\tau_d$ (use `alpha_kernel` for equal time constants).
    """
    t = jnp.asarray(t)
    s = gamma * (jnp.exp(-t / tau_d) - jnp.exp(-t / tau_r)) / (tau_d - tau_r)
    return jnp.where(t >= 0, s, 0.0)


def biexponential_peak_time(tau_r: ArrayLike, tau_d: ArrayLike) -> Array:
    """Time of the bi-exponential kernel's peak,
    $\\ln(\\tau_d/\\tau_r)\\,\\tau_r\\tau_d/(\\tau_d-\\tau_r)$."""
    return jnp.log(tau_d / tau_r) * tau_r * tau_d / (tau_d - tau_r)


def synapse_frequency_response(
    omega: ArrayLike, tau_r: ArrayLike, tau_d: ArrayLike, gamma: ArrayLike = 1.0
) -> Array:
    """Complex frequency response
    $H(i\\omega) = \\gamma / ((1 + i\\omega\\tau_r)(1 + i\\omega\\tau_d))$.

    $\\omega$ in rad per time unit. With $\\tau_r = \\tau_d = \\tau$ this is the alpha synapse,
    $|H| = \\gamma/(1 + \\omega^2\\tau^2)$, phase $-2\\arctan(\\omega\\tau)$; with $\\tau_r = 0$ the
    first-order synapse.
    """
    iw = 1j * jnp.asarray(omega)
    return gamma / ((1 + iw * tau_r) * (1 + iw * tau_d))


def second_order_psp(
    u: ArrayLike, du: ArrayLike, rate: ArrayLike, A: ArrayLike, a: ArrayLike
) -> Array:
    """Second derivative of a PSP $u$ [mV] driven by `rate` [1/s]: the NMM1 synapse
    $\\ddot u = A a\\, r - 2a \\dot u - a^2 u$ (gain $A$ [mV], rate constant $a$ [1/s]), the
    alpha kernel with $\\tau = 1/a$, $\\gamma = A/a$."""
    return A * a * rate - 2.0 * a * du - a * a * u


def unit_alpha_derivative(
    s: ArrayLike, z: ArrayLike, r: ArrayLike, tau: ArrayLike
) -> tuple[Array, Array]:
    """$(\\dot s, \\dot z)$ of the unit-gain alpha synapse $\\tau\\dot s = z$,
    $\\tau\\dot z = r - 2z - s$ driven by the rate $r$."""
    return z / tau, (r - 2.0 * z - s) / tau


class AbstractSynapse(eqx.Module):
    """The synapse that turns a population's rate $r$ into its synaptic activation $s$ (a
    choice with behaviour, so an object rather than an order number)."""

    order: eqx.AbstractClassVar[int]

    @property
    def state_names(self) -> tuple[str, ...]:
        """The synapse's own state variables (after the population's)."""
        return ("s", "z")[: self.order]

    def activation(self, r: Array, state: Array) -> Array:
        """The synaptic activation $s$ from the rate and the synapse's state."""
        return r if self.order == 0 else state[0]

    @abc.abstractmethod
    def derivative(self, r: Array, state: Array, tau_s: Array) -> Array:
        """Time derivative of the synapse's state (empty for the instantaneous synapse)."""


class Instantaneous(AbstractSynapse):
    """$s = r$ (no synaptic state): the synapse of Montbrio, Pazo & Roxin (2015)."""

    order: ClassVar[int] = 0

    def derivative(self, r, state, tau_s):
        del r, tau_s
        return state[:0]


class FirstOrder(AbstractSynapse):
    """$\\tau_s\\dot s = r - s$ (exponential kernel, unit gain)."""

    order: ClassVar[int] = 1

    def derivative(self, r, state, tau_s):
        return jnp.stack([(r - state[0]) / tau_s])


class SecondOrder(AbstractSynapse):
    """$\\tau_s\\dot s = z$, $\\tau_s\\dot z = r - 2z - s$ (alpha kernel, unit gain)."""

    order: ClassVar[int] = 2

    def derivative(self, r, state, tau_s):
        return jnp.stack(unit_alpha_derivative(state[0], state[1], r, tau_s))
