"""Priors in the unconstrained space, where the optimiser, the Laplace approximation and NUTS
work: a prior on a parameter value $\\theta = T(u)$ becomes the density
$p_u(u) = p(T(u))\\,|T'(u)| / P(\\text{support of } T)$.

Every fitted parameter has a proper prior unless it is unconstrained (`Identity`) and given
none:

- `Bounded(low, high)` without a prior: uniform on (low, high) (in u a logistic density);
- `Positive(scale)` without a prior: `LogNormalPrior(scale, 2.0)`;
- a `GaussianPrior` or `LogNormalPrior`: that density, truncated to the transform's support;
- `Identity()` without a prior: flat (improper), so that the fit has no evidence.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from ._transforms import (
    AbstractTransform,
    Bounded,
    GaussianPrior,
    LogNormalPrior,
    Positive,
    ProbitBounded,
)


def effective_prior(transform: AbstractTransform, prior):
    """The prior a parameter has: `prior` when given; else `None` for `Bounded` (uniform)
    and `Identity` (flat), and `LogNormalPrior(scale, 2.0)` for `Positive(scale)`."""
    if prior is not None:
        if not isinstance(prior, (GaussianPrior, LogNormalPrior)):
            raise TypeError(
                "A prior must be fit.GaussianPrior(mean, std) or fit.LogNormalPrior(median, "
                f"sigma); got {type(prior).__name__}."
            )
        return prior
    if isinstance(transform, Positive):
        return LogNormalPrior(transform.scale, 2.0)
    return None


def is_proper(transform: AbstractTransform, prior) -> bool:
    """Whether the parameter's prior integrates to one (everything but a flat `Identity`)."""
    return not (prior is None and not isinstance(transform, (Bounded, Positive)))


def log_prior(transform: AbstractTransform, prior, u: Float[Array, "*shape"]) -> Float[Array, ""]:
    """The log-density of the unconstrained values `u` under the parameter's prior (see the
    module's docstring), summed over the elements."""
    prior = effective_prior(transform, prior)
    log_jac = transform.log_jacobian(u)
    if prior is None:
        if isinstance(transform, Bounded):  # uniform: 1/(high - low) cancels the scale
            return jnp.sum(log_jac - jnp.log(transform.high - transform.low))
        return jnp.zeros((), u.dtype)
    low, high = transform.support()
    return jnp.sum(prior.log_density(transform.forward(u)) + log_jac - prior.log_mass(low, high))


def prior_variance(transform: AbstractTransform, prior, u) -> Float[Array, "*shape"]:
    """The prior's variance of each unconstrained value (a scale the data's information is
    compared with): $\\pi^2/3$ for a uniform on `Bounded` (a logistic density in u), 1 on
    `ProbitBounded` (a standard normal in u),
    $\\sigma^2$ for a log-normal on `Positive`, else the natural-unit variance moved to u at
    `u` by the transform's derivative; infinite for a flat prior."""
    prior = effective_prior(transform, prior)
    u = jnp.asarray(u)
    if prior is None:
        if isinstance(transform, Bounded):
            unit = isinstance(transform, ProbitBounded)
            return jnp.full(u.shape, 1.0 if unit else np.pi**2 / 3, u.dtype)
        return jnp.full(u.shape, jnp.inf, u.dtype)
    if isinstance(prior, LogNormalPrior) and isinstance(transform, Positive):
        return jnp.broadcast_to(prior.sigma**2, u.shape).astype(u.dtype)
    slope = jnp.exp(transform.log_jacobian(u))
    if isinstance(prior, LogNormalPrior):
        theta = transform.forward(u)
        return jnp.broadcast_to((prior.sigma * theta / slope) ** 2, u.shape)
    return jnp.broadcast_to((prior.std / slope) ** 2, u.shape)


__all__ = ["effective_prior", "is_proper", "log_prior", "prior_variance"]
