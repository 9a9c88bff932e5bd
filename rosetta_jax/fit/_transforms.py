"""Constraints on fitted parameters: the optimiser works on unconstrained values, the model
sees constrained ones; and optional priors."""

from __future__ import annotations

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.scipy.special import erfc, ndtri
from jax.scipy.stats import norm
from jaxtyping import Array, ArrayLike, Float

from .._validation import check_finite, check_positive


class AbstractTransform(eqx.Module):
    """A bijection from unconstrained values (the optimiser's) to parameter values (the model's)."""

    @abc.abstractmethod
    def forward(self, u: Float[Array, "*shape"]) -> Float[Array, "*shape"]:
        """Parameter value from an unconstrained value."""

    @abc.abstractmethod
    def inverse(self, theta: Float[Array, "*shape"]) -> Float[Array, "*shape"]:
        """Unconstrained value from a parameter value."""

    def check(self, name: str, theta: Float[Array, "*shape"]) -> None:
        """Raise ValueError if an initial value lies outside the constraint."""

    def log_jacobian(self, u: Float[Array, "*shape"]) -> Float[Array, "*shape"]:
        """$\\log |d\\theta / du|$, element-wise (a prior's density moves to the
        unconstrained space with it)."""
        return jnp.zeros_like(u)

    def support(self) -> tuple[Float[Array, "*shape"], Float[Array, "*shape"]]:
        """The interval of parameter values the transform reaches, `(low, high)`."""
        return jnp.asarray(-jnp.inf), jnp.asarray(jnp.inf)


class Identity(AbstractTransform):
    """No constraint."""

    def forward(self, u):
        return u

    def inverse(self, theta):
        return theta


class Positive(AbstractTransform):
    """theta = scale * exp(u): a positive parameter, fitted on a log scale (relative steps).

    Args:
        scale: a typical value (sets the unconstrained origin), default 1.
    """

    scale: Float[Array, "*shape"] = eqx.field(default=1.0, converter=jnp.asarray)

    def __check_init__(self):
        check_positive("Positive", "scale", self.scale)

    def forward(self, u):
        return self.scale * jnp.exp(u)

    def inverse(self, theta):
        return jnp.log(theta / self.scale)

    def log_jacobian(self, u):
        return jnp.log(self.scale) + u

    def support(self):
        return jnp.zeros_like(self.scale), jnp.full_like(self.scale, jnp.inf)

    def check(self, name, theta):
        if eqx.is_array(theta) and not isinstance(theta, jax.core.Tracer):
            if bool(jnp.any(theta <= 0)):
                raise ValueError(
                    f"The initial value of `{name}` must be > 0 for Positive(); got {theta}."
                )


class Bounded(AbstractTransform):
    """theta = low + (high - low) * sigmoid(u): a parameter kept inside (low, high).

    Args:
        low, high: the bounds (scalars, or one per region).
    """

    low: Float[Array, "*shape"] = eqx.field(converter=jnp.asarray)
    high: Float[Array, "*shape"] = eqx.field(converter=jnp.asarray)

    def __check_init__(self):
        check_finite("Bounded", "low", self.low)
        check_finite("Bounded", "high", self.high)
        if not isinstance(self.low, jax.core.Tracer) and bool(jnp.any(self.high <= self.low)):
            raise ValueError(f"Bounded needs low < high; got low={self.low}, high={self.high}.")

    def forward(self, u):
        return self.low + (self.high - self.low) * jax.nn.sigmoid(u)

    def inverse(self, theta):
        x = (theta - self.low) / (self.high - self.low)
        return jnp.log(x) - jnp.log1p(-x)

    def log_jacobian(self, u):
        return jnp.log(self.high - self.low) - jax.nn.softplus(u) - jax.nn.softplus(-u)

    def support(self):
        return self.low, self.high

    def check(self, name, theta):
        if eqx.is_array(theta) and not isinstance(theta, jax.core.Tracer):
            if bool(jnp.any((theta <= self.low) | (theta >= self.high))):
                raise ValueError(
                    f"The initial value of `{name}` must lie strictly inside "
                    f"({self.low}, {self.high}); got {theta}."
                )


def normal_cdf(x):
    """The standard normal CDF Phi(x) = erfc(-x / sqrt 2) / 2: one erfc, where jax's `ndtr`
    branches between erf and erfc (which doubled the compiled program of every Laplace fit);
    accurate in both tails' small values (Phi(x) for x < 0)."""
    return 0.5 * erfc(-x * 0.7071067811865476)


class ProbitBounded(Bounded):
    """theta = low + (high - low) * Phi(v), Phi the standard normal CDF: the coordinate the
    Laplace approximation (`fit/_laplace.py`) gives a `Bounded` parameter with a uniform
    prior, since there the uniform prior is exactly a standard normal density in v (in the
    logistic coordinate of `Bounded` it is a logistic density, whose Gaussian approximation
    at its mode is too narrow: its 90 % interval holds 82 % of the prior)."""

    def forward(self, u):
        return self.low + (self.high - self.low) * normal_cdf(u)

    def inverse(self, theta):
        return ndtri((theta - self.low) / (self.high - self.low))

    def log_jacobian(self, u):
        return jnp.log(self.high - self.low) - 0.5 * u**2 - 0.5 * jnp.log(2 * jnp.pi)


class GaussianPrior(eqx.Module):
    """A Gaussian prior on a parameter value: adds $\\sum (\\theta - \\mu)^2 / (2 s^2)$ to the loss.

    Args:
        mean, std: the prior's mean and standard deviation (scalars or per region).
    """

    mean: Float[Array, "*shape"] = eqx.field(converter=jnp.asarray)
    std: Float[Array, "*shape"] = eqx.field(converter=jnp.asarray)

    def __check_init__(self):
        check_positive("GaussianPrior", "std", self.std)

    def penalty(self, theta: Float[ArrayLike, "*shape"]) -> Float[Array, ""]:
        """The prior's negative log-density (up to a constant), summed over the values."""
        return jnp.sum((jnp.asarray(theta) - self.mean) ** 2 / (2 * self.std**2))

    def log_density(self, theta: Float[ArrayLike, "*shape"]) -> Float[Array, "*shape"]:
        """The normalised log-density of each value."""
        z = (jnp.asarray(theta) - self.mean) / self.std
        return -0.5 * z**2 - jnp.log(self.std) - 0.5 * jnp.log(2 * jnp.pi)

    def log_mass(self, low, high) -> Float[Array, "*shape"]:
        """The log of the prior's probability of `(low, high)` (a truncation's normaliser)."""
        cdf = norm.cdf
        return jnp.log(cdf((high - self.mean) / self.std) - cdf((low - self.mean) / self.std))


class LogNormalPrior(eqx.Module):
    """A log-normal prior on a positive parameter: $\\log\\theta \\sim
    N(\\log m, \\sigma^2)$ (the default prior of a `Positive(scale)` parameter is
    `LogNormalPrior(scale, 2.0)`: a weak prior spanning about three decades).

    Args:
        median: the prior median $m$ (> 0).
        sigma: the standard deviation of $\\log\\theta$ (> 0).
    """

    median: Float[Array, "*shape"] = eqx.field(converter=jnp.asarray)
    sigma: Float[Array, "*shape"] = eqx.field(converter=jnp.asarray)

    def __check_init__(self):
        check_positive("LogNormalPrior", "median", self.median)
        check_positive("LogNormalPrior", "sigma", self.sigma)

    def penalty(self, theta: Float[ArrayLike, "*shape"]) -> Float[Array, ""]:
        """The prior's negative log-density (up to a constant), summed over the values."""
        return -jnp.sum(self.log_density(theta))

    def log_density(self, theta: Float[ArrayLike, "*shape"]) -> Float[Array, "*shape"]:
        """The normalised log-density of each value (of $\\theta$, not of its log)."""
        x = jnp.log(jnp.maximum(jnp.asarray(theta), 1e-300))
        z = (x - jnp.log(self.median)) / self.sigma
        return -0.5 * z**2 - jnp.log(self.sigma) - 0.5 * jnp.log(2 * jnp.pi) - x

    def log_mass(self, low, high) -> Float[Array, "*shape"]:
        """The log of the prior's probability of `(low, high)`."""
        cdf = norm.cdf
        log = lambda v: jnp.log(jnp.maximum(v, 1e-300))
        za = (log(low) - jnp.log(self.median)) / self.sigma
        zb = (log(high) - jnp.log(self.median)) / self.sigma
        return jnp.log(cdf(zb) - jnp.where(low > 0, cdf(za), 0.0))
