"""Stationary covariance of a linear(ised) system driven by white noise."""

from __future__ import annotations

import functools as ft
import math

import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Inexact


def lyapunov_covariance(
    J: Inexact[ArrayLike, "n n"],
    D: Inexact[ArrayLike, "n n"],
    iterations: int | None = None,
    *,
    tol: float | None = None,
    max_iterations: int = 50,
) -> Inexact[Array, "n n"]:
    """Solve the continuous Lyapunov equation $J\\Sigma + \\Sigma J^* = -D$ for stable $J$.

    $\\Sigma$ is the stationary covariance of $\\dot u = J u + \\xi$ with white noise of
    covariance $D$ (Castaldo et al. 2026, section 2.2.3). Uses Roberts' matrix-sign-function
    iteration with determinant scaling (Byers 1987): only LU factorisations and matrix
    products, so it runs on CPU and GPU, vmaps, and is robust to the repeated (defective)
    eigenvalues of neural mass Jacobians, where an eigendecomposition is not.

    The iteration stops once the relative change of its matrix-sign iterate (which tends to
    $-I$) is below `tol`; convergence is quadratic, so the result is then accurate to rounding.
    It is differentiated implicitly (forward and reverse mode): a tangent solves
    $J\\,d\\Sigma + d\\Sigma\\,J^* = -(dD + dJ\\,\\Sigma + \\Sigma\\,dJ^*)$, and a
    cotangent $\\bar\\Sigma$ the adjoint equation
    $J^T\\Lambda + \\Lambda\\,\\overline{J} = -\\bar\\Sigma$, which gives $\\bar D = \\Lambda$ and
    $\\bar J = \\Lambda\\Sigma^T + \\overline{\\Lambda^T\\Sigma}$ (JAX's convention for complex
    cotangents; real inputs drop the bars): one more solve, never a backward pass through the
    iterations.

    Args:
        J: Jacobian, shape `(n, n)` [1/time], all eigenvalues with negative real part.
        D: noise covariance rate, shape `(n, n)` [state unit^2/time], Hermitian.
        iterations: former name of `max_iterations`, kept for compatibility.
        tol: relative change of the sign iterate at which to stop (default
            $\\sqrt{\\epsilon}$ of the dtype: 1.5e-8 in float64, 3.5e-4 in float32).
        max_iterations: cap on the iterations (about 10 suffice unless $J$ is very
            ill-conditioned).

    Returns:
        $\\Sigma$, shape `(n, n)`, in the common dtype of `J` and `D`. NaN where $J$ is not
        stable (an eigenvalue with real part $\\ge 0$: there is no stationary covariance), or
        where `max_iterations` ended the iteration far from convergence (its sign iterate not
        within 1/2 of $-I$); under `vmap`, per matrix. Never raises on these.
    """
    A = jnp.asarray(J)
    Q = jnp.asarray(D)
    if A.ndim != 2 or A.shape[0] != A.shape[1] or Q.shape != A.shape:
        raise ValueError(
            f"`J` and `D` must be square matrices of the same shape (vmap for batches); got "
            f"{A.shape} and {Q.shape}."
        )
    dtype = jnp.result_type(A, Q, 1.0)  # integer inputs become floating point
    if iterations is not None:
        max_iterations = iterations
    if int(max_iterations) < 1:
        raise ValueError(f"`max_iterations` must be a positive integer; got {max_iterations!r}.")
    tol = math.sqrt(float(jnp.finfo(dtype).eps)) if tol is None else float(tol)
    return _lyapunov(A.astype(dtype), Q.astype(dtype), tol, int(max_iterations))


def _h(X: Array) -> Array:
    """Conjugate transpose."""
    return jnp.conj(X).T


def _inverse_and_scale(A: Array) -> tuple[Array, Array]:
    """$A^{-1}$ and the determinant scaling $|\\det A|^{-1/n}$, from one LU factorisation."""
    n = A.shape[-1]
    lu, _, perm = jax.lax.linalg.lu(A)
    P = jnp.eye(n, dtype=A.dtype)[perm]  # P A = L U
    Y = jax.lax.linalg.triangular_solve(lu, P, left_side=True, lower=True, unit_diagonal=True)
    Ainv = jax.lax.linalg.triangular_solve(lu, Y, left_side=True, lower=False)
    log_abs_det = jnp.sum(jnp.log(jnp.abs(jnp.diagonal(lu))))
    return Ainv, jnp.exp(-log_abs_det / n)


def _sign_solve(A: Array, Q: Array, tol: float, max_iterations: int) -> tuple[Array, Array]:
    """$X$ with $A X + X A^* = -Q$ by the scaled sign iteration; also the iteration count.

    The iterates $A_k \\to \\mathrm{sign}(A) = -I$ and $Q_k \\to 2X$. The stopping rule reads
    $A_k$ only, so that batching over `Q` (several right-hand sides, forward-mode tangents)
    keeps one factorisation per iteration."""
    rtype = jnp.finfo(A.dtype).dtype
    stagnation = math.sqrt(tol)

    def body(carry):
        k, A, Q, change, _ = carry
        Ainv, c = _inverse_and_scale(A)
        A_new = 0.5 * (c * A + Ainv / c)
        Q_new = 0.5 * (c * Q + (Ainv @ Q @ _h(Ainv)) / c)
        new = jnp.linalg.norm(A_new - A) / jnp.linalg.norm(A_new)
        return k + 1, A_new, Q_new, new, change

    def cond(carry):
        k, _, _, change, previous = carry
        # In the quadratic phase the change falls at every step; a rise there means that the
        # iterate reached the rounding floor (low precision, ill-conditioned J).
        stalled = (previous <= stagnation) & (change >= previous)
        return (k < max_iterations) & (change > tol) & ~stalled

    inf = jnp.asarray(jnp.inf, rtype)
    k, A, Q, _, _ = jax.lax.while_loop(cond, body, (0, A, Q, inf, inf))
    # A stable J gives A -> -I; an unstable one converges to another sign matrix (an
    # eigenvalue +1) and an eigenvalue on the imaginary axis never converges (|lambda + 1| >= 1).
    stable = jnp.linalg.norm(A + jnp.eye(A.shape[-1], dtype=A.dtype)) < 0.5
    return jnp.where(stable, 0.5 * Q, jnp.nan), k


def _implicit_solve(A: Array, R: Array, tol: float, max_iterations: int) -> Array:
    """$X$ with $A X + X A^* = -R$, as a linear solve that autodiff transposes to the adjoint
    equation $A^T \\Lambda + \\Lambda \\bar A = -\\bar X$ (solved by the same iteration)."""

    def matvec(X):
        return -(A @ X + X @ _h(A))

    def solve(_, b):
        return _sign_solve(A, b, tol, max_iterations)[0]

    def transpose_solve(_, b):
        # The transpose of X -> -(A X + X A^*) is G -> -(A^T G + G conj(A)) = -(B G + G B^*)
        # with B = A^T.
        return _sign_solve(A.T, b, tol, max_iterations)[0]

    return jax.lax.custom_linear_solve(matvec, R, solve, transpose_solve)


@ft.partial(jax.custom_jvp, nondiff_argnums=(2, 3))
def _lyapunov(A: Array, Q: Array, tol: float, max_iterations: int) -> Array:
    return _sign_solve(A, Q, tol, max_iterations)[0]


@_lyapunov.defjvp
def _lyapunov_jvp(tol, max_iterations, primals, tangents):
    # Implicit differentiation of A S + S A^* = -Q. A custom JVP (rather than a custom VJP)
    # keeps forward mode (`jax.jacfwd`, used by `fit.sensitivity`); reverse mode transposes the
    # linear solve into the adjoint Lyapunov equation.
    A, Q = primals
    dA, dQ = tangents
    S = _lyapunov(A, Q, tol, max_iterations)
    return S, _implicit_solve(A, dQ + dA @ S + S @ _h(dA), tol, max_iterations)
