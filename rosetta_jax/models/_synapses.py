"""Linear synaptic kernels (Castaldo et al. 2026, section 4.1): impulse and frequency responses.

The synaptic operator $\\tau_r\\tau_d \\ddot s + (\\tau_r+\\tau_d)\\dot s + s = \\gamma r(t)$ has
the bi-exponential impulse response; equal rise and decay give the alpha synapse, a vanishing
rise the first-order (exponential) synapse. All kernels have unit DC gain times $\\gamma$
($\\int_0^\\infty K = \\gamma$). Times in any unit, as long as the time constants share it.

Reference: Castaldo et al. (2026), section 4.1 (synaptic dynamics and operator formalism).
"""

from __future__ import annotations

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
