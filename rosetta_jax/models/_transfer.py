"""Static transfer functions $\\phi(I)$ (Castaldo et al. 2026, section 4.3).

All functions are pure, jit/vmap/grad-safe and broadcast over their arguments. Integrals are
computed with fixed Gauss-Legendre quadrature (differentiable, no data-dependent control flow).

Reference: Castaldo et al. (2026), section 4.3 and its table of transfer functions; Brunel &
Hakim (1999) for the Siegert formula; Fourcaud-Trocme et al. (2003) for the EIF; Montbrio, Pazo
& Roxin (2015) for the QIF with Cauchy heterogeneity.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import erfcx
from jaxtyping import Array, ArrayLike


def sigmoid(I: ArrayLike, e0: ArrayLike = 2.5, I0: ArrayLike = 6.0, rho: ArrayLike = 0.56) -> Array:
    """Jansen-Rit sigmoid $\\phi(I) = 2e_0 / (1 + e^{\\rho(I_0 - I)})$.

    Args:
        I: input (membrane potential) [mV].
        e0: half the maximum rate [1/s], default 2.5.
        I0: midpoint [mV], default 6.
        rho: slope [1/mV], default 0.56.

    Returns:
        firing rate [1/s], in $(0, 2e_0)$.

    Written with `jax.nn.sigmoid`, whose derivative is the closed form $q(1 - q)$ of its
    forward value: reverse mode through a network simulation stores one array per sigmoid
    instead of the exponential's chain (gradients about 15 % faster than the plain formula).
    """
    return 2.0 * e0 * jax.nn.sigmoid(rho * (I - I0))


def logistic(s: ArrayLike, rho: ArrayLike = 1.0, theta: ArrayLike = 0.0) -> Array:
    """Logistic $1/(1 + e^{-\\rho(s - \\theta)})$ with maximum 1 (Wilson-Cowan); like `sigmoid`,
    through `jax.nn.sigmoid` and its closed-form derivative."""
    return jax.nn.sigmoid(rho * (s - theta))


def qif_cauchy_rate(I: ArrayLike, tau_m: ArrayLike = 1.0, Delta: ArrayLike = 1.0) -> Array:
    """Rate of QIF neurons with Lorentzian (Cauchy) heterogeneity of half-width $\\Delta$.

    $\\phi(I) = \\sqrt{I + \\sqrt{I^2 + \\Delta^2}}\\,/\\,(\\tau_m \\pi \\sqrt 2)$, equal to the
    fixed point of the uncoupled ($J = 0$) Montbrio-Pazo-Roxin mean field.

    Args:
        I: input (dimensionless, in units of the QIF equation).
        tau_m: membrane time constant (rate is returned per this unit, e.g. ms -> kHz).
        Delta: half-width of the excitability distribution (> 0).
    """
    return jnp.sqrt(I + jnp.sqrt(I * I + Delta * Delta)) / (tau_m * jnp.pi * jnp.sqrt(2.0))


# Composite Gauss-Legendre rule on [0, 1]: 16 equal panels of 32 nodes. Composite panels
# resolve the steep integrands of the EIF formula, which a single high-order rule does not.
def _composite_rule(panels: int = 16, order: int = 32):
    x, w = np.polynomial.legendre.leggauss(order)
    edges = np.linspace(0.0, 1.0, panels + 1)
    lo, width = edges[:-1, None], np.diff(edges)[:, None]
    return (lo + 0.5 * width * (x + 1)).ravel(), (0.5 * width * w).ravel()


# Host (numpy) arrays: nothing is put on a device at import, and they take the precision in
# force when used.
_Q_X, _Q_W = _composite_rule()


def _nodes(a, b):
    """Nodes and weights of the composite rule mapped to [a, b] (broadcasting over a, b)."""
    a = jnp.asarray(a)[..., None]
    b = jnp.asarray(b)[..., None]
    return a + (b - a) * _Q_X, (b - a) * _Q_W


def _gl(f, a, b):
    """$\\int_a^b f(x)dx$ by the composite Gauss-Legendre rule, for scalar limits."""
    x, w = _nodes(a, b)
    return jnp.sum(w * f(x))


def lif_rate(I, tau_m=20.0, sigma=5.0, V_th=20.0, V_r=10.0):
    """Leaky integrate-and-fire rate with Gaussian noise (Siegert formula, no refractoriness).

    $\\phi(I) = [\\tau_m\\sqrt\\pi \\int_{(V_r - I)/\\sigma}^{(V_{th} - I)/\\sigma}
    e^{x^2}(1 + \\mathrm{erf}\\,x)\\,dx]^{-1}$.

    Args:
        I: mean input [mV].
        tau_m: membrane time constant [ms] (the rate is then in kHz).
        sigma: noise amplitude [mV].
        V_th, V_r: threshold and reset [mV].
    """
    return jnp.vectorize(_lif_scalar)(I, tau_m, sigma, V_th, V_r)


def _lif_scalar(I, tau_m, sigma, V_th, V_r):
    # e^{x^2}(1 + erf x) = erfcx(-x), stable for large |x|.
    integral = _gl(lambda x: erfcx(-x), (V_r - I) / sigma, (V_th - I) / sigma)
    return 1.0 / (tau_m * jnp.sqrt(jnp.pi) * integral)


def qif_gaussian_rate(I, tau_m=1.0, sigma=1.0):
    """Quadratic integrate-and-fire rate with Gaussian white noise.

    $\\phi(I) = [\\tau_m\\sqrt\\pi \\int_{-\\infty}^{\\infty}
    e^{-\\sigma^4 x^6/48 - I x^2} dx]^{-1}$ (dimensionless QIF units; $\\sigma > 0$).
    """
    return jnp.vectorize(_qif_gaussian_scalar)(I, tau_m, sigma)


def _qif_gaussian_scalar(I, tau_m, sigma):
    # The integrand is even and decays like exp(-sigma^4 x^6 / 48): truncate where that is e^-60.
    L = (60.0 * 48.0 / sigma**4) ** (1.0 / 6.0)
    integral = 2.0 * _gl(lambda x: jnp.exp(-(sigma**4) * x**6 / 48.0 - I * x**2), 0.0, L)
    return 1.0 / (tau_m * jnp.sqrt(jnp.pi) * integral)


def eif_rate(I, tau_m=1.0, sigma=1.0, V_th=10.0, V_r=0.0, V_T=2.0, Delta_T=0.5, V_low=-20.0):
    """Exponential integrate-and-fire rate with Gaussian noise (Castaldo et al. 2026, sec. 4.3).

    $\\phi(I) = [(2\\tau_m/\\sigma^2) \\int_{-\\infty}^{V_{th}} \\int_{\\max(V, V_r)}^{V_{th}}
    e^{(2/\\sigma^2)(F(v) - F(u))} du\\, dv]^{-1}$ with
    $F(v) = -v^2/2 + I v + \\Delta_T^2 e^{(v - V_T)/\\Delta_T}$.

    The outer integral starts at `V_low` instead of $-\\infty$: choose it well below both the
    reset and the resting potential. Dimensionless units.
    """
    args = (I, tau_m, sigma, V_th, V_r, V_T, Delta_T, V_low)
    return jnp.vectorize(_eif_scalar)(*args)


def _eif_scalar(I, tau_m, sigma, V_th, V_r, V_T, Delta_T, V_low):
    s2 = sigma**2

    def F(v):
        return -0.5 * v**2 + I * v + Delta_T**2 * jnp.exp((v - V_T) / Delta_T)

    def inner(v):  # v: (n,) -> (n,), integral over u in [max(v, V_r), V_th]
        u, w = _nodes(jnp.maximum(v, V_r), V_th)
        return jnp.sum(w * jnp.exp((2.0 / s2) * (F(v)[:, None] - F(u))), axis=-1)

    # Split the outer integral at V_r, where the inner lower limit has a kink.
    outer = _gl(inner, V_low, V_r) + _gl(inner, V_r, V_th)
    return 1.0 / ((2.0 * tau_m / s2) * outer)
