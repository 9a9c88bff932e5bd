"""Stochastic inputs, drawn with explicit PRNG keys, entering the model's input channel.

`Additive(sigma)` is Gaussian white noise of intensity $\\sigma^2$ per unit time: over a step
$\\Delta t$ it adds $\\sigma\\,\\Delta W$ with $\\Delta W \\sim N(0, \\Delta t)$ to the input
channel (JR: the rate $p$, i.e. the $y_4$ equation; MPR/ING: the current $I$; Kuramoto: the
phase). For the oscillators the noise is complex, $\\sigma(\\Delta W_x + i\\Delta W_y)/\\sqrt2$,
so that $E|\\sigma\\Delta W|^2 = \\sigma^2\\Delta t$. Models whose input sits inside a sigmoid
(Wilson-Cowan, the E-I motif, the master NMM) receive white noise on their input population's
equation instead (see each model's docstring).

`OrnsteinUhlenbeck(sigma, tau)` is coloured noise with stationary standard deviation `sigma`
and correlation time `tau`, $d\\eta = -(\\eta - \\mu)/\\tau\\,dt + \\sigma\\sqrt{2/\\tau}\\,dW$,
integrated exactly and added to the drive (inside the sigmoid where the drive goes there).

`sigma` (and `tau`, `mean`) may be arrays of shape `(n_nodes,)` for networks.

Example:
    >>> import jax.random as jr
    >>> from rosetta_jax import simulate, models, noise
    >>> sol = simulate(models.JansenRit(), t1=10.0, dt=1e-4, noise=noise.Additive(30.0),
    ...                key=jr.key(0), save_every=10)
"""

from __future__ import annotations

import abc

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from ._validation import check_finite, check_nonnegative, check_positive


class AbstractNoise(eqx.Module):
    """A noise process in the model's input channel."""

    sigma: eqx.AbstractVar[Float[Array, "*nodes"]]

    @abc.abstractmethod
    def is_white(self) -> bool:
        """White noise (added per step) or coloured (a state added to the drive)."""


class Additive(AbstractNoise):
    """Additive Gaussian white noise of intensity `sigma**2` per unit time.

    Args:
        sigma: noise amplitude, in the input channel's unit times (time unit)^(1/2) (e.g.
            1/s * s^(1/2) for JR's $p$); scalar or per node. Must be >= 0.
    """

    sigma: Float[Array, "*nodes"] = eqx.field(converter=jnp.asarray)

    def __check_init__(self):
        check_finite("Additive", "sigma", self.sigma)
        check_nonnegative("Additive", "sigma", self.sigma, "a noise amplitude")

    def is_white(self) -> bool:
        return True


class OrnsteinUhlenbeck(AbstractNoise):
    """Ornstein-Uhlenbeck (coloured) noise added to the drive.

    Args:
        sigma: stationary standard deviation, in the input channel's unit; >= 0.
        tau: correlation time (model time unit), > 0.
        mean: stationary mean, default 0.
    """

    sigma: Float[Array, "*nodes"] = eqx.field(converter=jnp.asarray)
    tau: Float[Array, "*nodes"] = eqx.field(converter=jnp.asarray)
    mean: Float[Array, "*nodes"] = eqx.field(default=0.0, converter=jnp.asarray)

    def __check_init__(self):
        for name in ("sigma", "tau", "mean"):
            check_finite("OrnsteinUhlenbeck", name, getattr(self, name))
        check_nonnegative("OrnsteinUhlenbeck", "sigma", self.sigma, "a standard deviation")
        check_positive("OrnsteinUhlenbeck", "tau", self.tau, "a correlation time")

    def is_white(self) -> bool:
        return False

    def exact_step(
        self,
        eta: Float[ArrayLike, "*nodes"],
        dt: Float[ArrayLike, ""],
        normal: Float[ArrayLike, "*nodes"],
    ) -> Float[Array, "*nodes"]:
        """Exact update of the noise value `eta` over `dt` given a standard normal sample."""
        decay = jnp.exp(-dt / self.tau)
        return self.mean + (eta - self.mean) * decay + self.sigma * jnp.sqrt(1 - decay**2) * normal
