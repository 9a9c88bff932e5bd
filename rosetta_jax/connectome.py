"""Connectome normalisations, as objects: how a network's weights are scaled before the global
coupling `G` multiplies them (papers differ: the largest eigenvalue in some, row sums in
others; Castaldo et al. 2026 leave it to the user, see docs/models.md, errata)."""

from __future__ import annotations

import abc
import math
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from ._validation import concrete_values


def spectral_radius(W: Float[Array, "n n"]) -> Float[Array, ""]:
    """Largest |eigenvalue| of a square matrix (numpy when concrete, power iteration if traced)."""
    v = concrete_values(W)
    if v is not None:
        return jnp.asarray(np.max(np.abs(np.linalg.eigvals(v))), dtype=jnp.result_type(W))
    x = jnp.ones(W.shape[0], dtype=W.dtype) / math.sqrt(W.shape[0])

    def body(_, x):
        y = W @ x
        return y / (jnp.linalg.norm(y) + 1e-30)

    x = jax.lax.fori_loop(0, 500, body, x)
    return jnp.linalg.norm(W @ x)


class AbstractNormalization(eqx.Module):
    """A scaling of the connectome: `normalization(W) -> W'`."""

    @abc.abstractmethod
    def __call__(self, W: Float[Array, "n n"]) -> Float[Array, "n n"]:
        """The normalised weights."""


class MaxEigenvalue(AbstractNormalization):
    """$C / \\lambda_{max}(C)$: the largest |eigenvalue| becomes 1 (the default)."""

    def __call__(self, W: Float[Array, "n n"]) -> Float[Array, "n n"]:
        return W / spectral_radius(W)


class RowSum(AbstractNormalization):
    """Each row (a node's inputs) sums to 1; rows without inputs stay 0."""

    def __call__(self, W: Float[Array, "n n"]) -> Float[Array, "n n"]:
        s = jnp.sum(W, axis=1, keepdims=True)
        return jnp.where(s > 0, W / jnp.where(s > 0, s, 1.0), 0.0)


class MaxWeight(AbstractNormalization):
    """$C / \\max_{ij} C_{ij}$: the strongest edge becomes 1."""

    def __call__(self, W: Float[Array, "n n"]) -> Float[Array, "n n"]:
        return W / jnp.max(W)


_BY_NAME = {"max_eigenvalue": MaxEigenvalue, "row": RowSum, "max": MaxWeight}
NORMALIZATIONS = (*_BY_NAME, None)


def as_normalization(value: Any) -> AbstractNormalization | None:
    """A normalisation object from an object, None (no scaling) or one of the names
    `"max_eigenvalue"`, `"row"`, `"max"`."""
    if value is None or isinstance(value, AbstractNormalization):
        return value
    if isinstance(value, str) and value in _BY_NAME:
        return _BY_NAME[value]()
    raise ValueError(
        f"`normalize` must be a connectome normalisation (connectome.MaxEigenvalue(), "
        f"RowSum(), MaxWeight()), None, or one of {NORMALIZATIONS}; got {value!r}."
    )


def normalize_weights(W: Float[Array, "n n"], how: Any) -> Float[Array, "n n"]:
    """Scale a connectome by a normalisation (object or name); None leaves it as it is."""
    norm = as_normalization(how)
    return W if norm is None else norm(W)
