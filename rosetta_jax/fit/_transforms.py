"""Constraints on fitted parameters: the optimiser works on unconstrained values, the model
sees constrained ones; and optional priors."""

from __future__ import annotations

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
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

    def check(self, name, theta):
        if eqx.is_array(theta) and not isinstance(theta, jax.core.Tracer):
            if bool(jnp.any((theta <= self.low) | (theta >= self.high))):
                raise ValueError(
                    f"The initial value of `{name}` must lie strictly inside "
                    f"({self.low}, {self.high}); got {theta}."
                )


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
