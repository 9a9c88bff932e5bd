"""Noise models of recorded spectra and FC, so that a fit has a likelihood, a posterior and an
evidence (`fit/_posterior.py`).

Both are Gaussian in a transformed space with a standard deviation $\\sigma$ that is either
known (from the number of averaged segments or of time points) or fitted (a parameter
`noise_sigma` with a uniform prior on $\\log\\sigma$ over `sigma_range`):

- `LogNormal`: the log10 PSD of an averaged periodogram. An average of $n$ independent
  periodograms is $P\\,\\Gamma(n, 1/n)$-distributed at each frequency, whose log has variance
  $\\psi'(n)$ (the trigamma function): $\\sigma = \\sqrt{\\psi'(n)}/\\ln 10$ in log10 units.
  The overall scale of each channel is free (model and recording units differ); it is
  integrated out under a flat prior, which costs each channel one degree of freedom.
- `FisherZ`: the Fisher-z values $\\operatorname{artanh} r$ of an FC matrix's upper
  triangle estimated from $n$ time points: $\\sigma = 1/\\sqrt{n - 3}$.

Neighbouring frequency bins of a tapered spectrum and neighbouring BOLD samples are correlated:
give the *effective* number of independent segments or samples, or let $\\sigma$ be fitted.
"""

from __future__ import annotations

import abc
import dataclasses

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import polygamma
from jaxtyping import Array, Float

from .._validation import is_concrete


def _as_value(x):
    return None if x is None else jnp.asarray(x, dtype=float)


class _Gaussian(eqx.Module):
    """A Gaussian noise model: `sigma_known()` or, when None, `noise_sigma` fitted."""

    sigma_range: tuple[float, float] = eqx.field(default=(1e-3, 10.0), static=True)

    @abc.abstractmethod
    def sigma_known(self) -> Float[Array, ""] | None:
        """The noise level when known (an array, so that fits with other noise levels reuse
        the compiled programs), else None (fitted)."""

    @property
    def fitted_sigma(self) -> bool:
        return self.sigma_known() is None

    def describe(self) -> str:
        """The noise model in words, e.g. `LogNormal(n_segments=10)`."""
        given = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name != "sigma_range" and getattr(self, f.name) is not None
        }
        if not given:
            return f"{type(self).__name__}(sigma fitted in {self.sigma_range})"
        inner = ", ".join(f"{k}={float(v):g}" for k, v in given.items())
        return f"{type(self).__name__}({inner})"

    def _check_range(self):
        lo, hi = self.sigma_range
        if not 0 < lo < hi:
            raise ValueError(
                f"`sigma_range` must be (low, high) with 0 < low < high; got {lo, hi}."
            )


class LogNormal(_Gaussian):
    """A log-normal likelihood for averaged power spectra (Gaussian log10 PSD, each channel's
    overall scale free).

    Args:
        n_segments: the number of (effectively independent) segments averaged into each
            spectrum (e.g. Welch windows); sets $\\sigma = \\sqrt{\\psi'(n)}/\\ln 10$.
        sigma: the standard deviation of the log10 PSD, when known directly.
        sigma_range: bounds of a fitted $\\sigma$ (log10 units), used when neither is given.
    """

    n_segments: Float[Array, ""] | None = eqx.field(default=None, converter=_as_value)
    sigma: Float[Array, ""] | None = eqx.field(default=None, converter=_as_value)

    def __check_init__(self):
        _check_one(self.n_segments, self.sigma, "n_segments", 1.0)
        self._check_range()

    def sigma_known(self) -> Float[Array, ""] | None:
        if self.sigma is not None:
            return self.sigma
        if self.n_segments is not None:
            return jnp.sqrt(polygamma(1, self.n_segments)) / np.log(10.0)
        return None


class FisherZ(_Gaussian):
    """A Gaussian likelihood on the Fisher-z values of an FC matrix's upper triangle.

    Args:
        n_timepoints: the number of (effectively independent) time points the FC was
            estimated from; sets $\\sigma = 1/\\sqrt{n - 3}$.
        sigma: the standard deviation of the z values, when known directly.
        sigma_range: bounds of a fitted $\\sigma$, used when neither is given (e.g. a group
            FC, whose spread between subjects exceeds the sampling noise).
    """

    n_timepoints: Float[Array, ""] | None = eqx.field(default=None, converter=_as_value)
    sigma: Float[Array, ""] | None = eqx.field(default=None, converter=_as_value)

    def __check_init__(self):
        _check_one(self.n_timepoints, self.sigma, "n_timepoints", 4.0)
        self._check_range()

    def sigma_known(self) -> Float[Array, ""] | None:
        if self.sigma is not None:
            return self.sigma
        if self.n_timepoints is not None:
            return 1.0 / jnp.sqrt(self.n_timepoints - 3.0)
        return None


def _check_one(count, sigma, name: str, least: float) -> None:
    if count is not None and sigma is not None:
        raise ValueError(f"Give `{name}` or `sigma`, not both.")
    if not is_concrete(count) or not is_concrete(sigma):
        return
    if count is not None and not float(count) >= least:
        raise ValueError(f"`{name}` must be >= {least:g}; got {count}.")
    if sigma is not None and not float(sigma) > 0:
        raise ValueError(f"`sigma` must be > 0; got {sigma}.")


def gaussian_pointwise(r, sigma, free_scale: bool):
    """Log-density of each residual `r` (n_points, n_channels) under N(0, sigma^2); with
    `free_scale` each channel's mean has been removed and integrated out (flat prior), so the
    channel's normalisation counts n - 1 residuals, spread evenly over its points."""
    n = r.shape[0]
    per = jnp.log(sigma) + 0.5 * jnp.log(2 * jnp.pi)
    if free_scale:
        const = ((n - 1) * per + 0.5 * jnp.log(n)) / n
    else:
        const = per
    return -0.5 * (r / sigma) ** 2 - const
