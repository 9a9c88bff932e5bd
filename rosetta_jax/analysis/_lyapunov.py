"""Stationary covariance of a linear(ised) system driven by white noise."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Inexact


def lyapunov_covariance(
    J: Inexact[ArrayLike, "n n"], D: Inexact[ArrayLike, "n n"], iterations: int = 60
) -> Inexact[Array, "n n"]:
    """Solve the continuous Lyapunov equation $J\\Sigma + \\Sigma J^* = -D$ for stable $J$.

    $\\Sigma$ is the stationary covariance of $\\dot u = J u + \\xi$ with white noise of
    covariance $D$ (Castaldo et al. 2026, section 2.2.3). Uses Roberts' matrix-sign-function
    iteration with determinant scaling: only matrix inverses and products, so it runs on CPU
    and GPU, vmaps and is differentiable.

    Args:
        J: Jacobian, shape `(n, n)`, all eigenvalues with negative real part.
        D: noise covariance, shape `(n, n)`, Hermitian.
        iterations: fixed number of iterations (quadratic convergence; 60 is ample).

    Returns:
        $\\Sigma$, shape `(n, n)`.
    """
    A = jnp.asarray(J)
    Q = jnp.asarray(D)
    dtype = jnp.result_type(A, Q)
    A, Q = A.astype(dtype), Q.astype(dtype)
    n = A.shape[-1]

    def body(_, carry):
        A, Q = carry
        Ainv = jnp.linalg.inv(A)
        # Determinant scaling accelerates the first iterations; it tends to 1 at convergence.
        c = jnp.exp(-jnp.linalg.slogdet(A)[1] / n)
        A_new = 0.5 * (c * A + Ainv / c)
        Q_new = 0.5 * (c * Q + (Ainv @ Q @ jnp.conj(Ainv).T) / c)
        return A_new, Q_new

    _, Q = jax.lax.fori_loop(0, iterations, body, (A, Q))
    return 0.5 * Q
