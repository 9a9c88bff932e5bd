"""Stationary covariance of a linear(ised) system driven by white noise."""

from __future__ import annotations

import functools as ft
import math
from typing import NamedTuple

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
    iterations. That solve replays the inverses $A_k^{-1}$ the iteration computed (those of
    $J^T$ are their transposes): matrix products only, no factorisation (it keeps at most 32
    MiB of them; a longer solve continues with the iteration itself).

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
    return _compiled(A.astype(dtype), Q.astype(dtype), tol, int(max_iterations))


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


# Memory a differentiated solve may keep for its tangent and adjoint solves (the inverses of
# its first iterations) [bytes]: all 50 iterations of a 280-state system (float64).
_RECORD_BYTES = 32 * 2**20


class _Record(NamedTuple):
    """The first iterations of a solve, replayed by its tangent and adjoint solves: the
    inverses $A_k^{-1}$ and scalings $c_k$ of the first `state[0]` iterations (at most
    `len(scales) - 1`), and the state after them (count, iterate $A_k$, its last two relative
    changes), from which a solve longer than the record continues."""

    inverses: Array
    scales: Array
    state: tuple


def _record_length(A: Array, max_iterations: int) -> int:
    """How many iterations a differentiated solve records (all of them unless memory-bound)."""
    per_iteration = A.shape[-1] ** 2 * A.dtype.itemsize
    return max(1, min(max_iterations, _RECORD_BYTES // per_iteration))


def _iterate(A, Q, tol, max_iterations, state=None, record=0):
    """The scaled sign iteration from $(A, Q)$, or continued from `state` (count, last two
    changes): the iterates $A_k \\to \\mathrm{sign}(A) = -I$ and $Q_k \\to 2X$. Returns
    the final `(k, A_k, Q_k)` and, with `record` > 0, the `_Record` of the first `record`
    iterations (else None).

    The stopping rule reads $A_k$ only, so that batching over `Q` (several right-hand sides,
    forward-mode tangents) keeps one factorisation per iteration."""
    inf = jnp.asarray(jnp.inf, jnp.finfo(A.dtype).dtype)
    k0, change0, previous0 = (0, inf, inf) if state is None else state
    stagnation = math.sqrt(tol)

    def body(carry):
        (k, A, Q, change, _), rec = carry
        Ainv, c = _inverse_and_scale(A)
        A_new = 0.5 * (c * A + Ainv / c)
        Q_new = 0.5 * (c * Q + (Ainv @ Q @ _h(Ainv)) / c)
        new = jnp.linalg.norm(A_new - A) / jnp.linalg.norm(A_new)
        if record:  # iterations past the record write to a last, spare slot
            slot = jnp.minimum(k, record)
            after = (k + 1, A_new, new, change)
            if record < max_iterations:  # else the state after the record is the final one
                after = jax.tree.map(lambda old, x: jnp.where(k < record, x, old), rec.state, after)
            rec = _Record(
                jax.lax.dynamic_update_index_in_dim(rec.inverses, Ainv, slot, 0),
                jax.lax.dynamic_update_index_in_dim(rec.scales, c, slot, 0),
                after,
            )
        return (k + 1, A_new, Q_new, new, change), rec

    def cond(carry):
        k, _, _, change, previous = carry[0]
        # In the quadratic phase the change falls at every step; a rise there means that the
        # iterate reached the rounding floor (low precision, ill-conditioned J).
        stalled = (previous <= stagnation) & (change >= previous)
        return (k < max_iterations) & (change > tol) & ~stalled

    k0 = jnp.asarray(k0)
    rec = None
    if record:
        n = A.shape[-1]
        rec = _Record(
            jnp.zeros((record + 1, n, n), A.dtype),
            jnp.ones(record + 1, jnp.finfo(A.dtype).dtype),
            (k0, A, change0, previous0),
        )
    (k, A, Q, _, _), rec = jax.lax.while_loop(cond, body, ((k0, A, Q, change0, previous0), rec))
    return (k, A, Q), rec


def _finish(A: Array, Q: Array) -> Array:
    """$X = Q/2$ where the iterate $A$ reached $-I$, else NaN.

    A stable J gives $A \\to -I$; an unstable one converges to another sign matrix (an
    eigenvalue +1) and an eigenvalue on the imaginary axis never converges
    ($|\\lambda + 1| \\ge 1$)."""
    stable = jnp.linalg.norm(A + jnp.eye(A.shape[-1], dtype=A.dtype)) < 0.5
    return jnp.where(stable, 0.5 * Q, jnp.nan)


def _sign_solve(A: Array, Q: Array, tol: float, max_iterations: int) -> tuple[Array, Array]:
    """$X$ with $A X + X A^* = -Q$ by the scaled sign iteration; also the iteration count."""
    (k, A, Q), _ = _iterate(A, Q, tol, max_iterations)
    return _finish(A, Q), k


def _replayed_solve(record: _Record, B: Array, tol, max_iterations, transpose: bool) -> Array:
    """$X$ with $A X + X A^* = -B$ (or, with `transpose`, $A^T X + X \\bar A = -B$) for the
    $A$ of `record`: its recorded iterations applied to $B$ (matrix products only: the
    iterates of $A^T$ are the transposes of those of $A$), then the sign iteration continued
    where the record ends, when the solve ran longer."""

    def step(i, Q):
        M, c = record.inverses[i], record.scales[i]
        left, right = (M.T, jnp.conj(M)) if transpose else (M, _h(M))
        return 0.5 * (c * Q + (left @ Q @ right) / c)

    k, A, change, previous = record.state
    Q = jax.lax.fori_loop(0, k, step, B)
    A = A.T if transpose else A
    if record.scales.shape[0] <= max_iterations:
        (_, A, Q), _ = _iterate(A, Q, tol, max_iterations, (k, change, previous))
    return _finish(A, Q)


def _recorded_solve(A: Array, Q: Array, tol: float, max_iterations: int):
    """`_sign_solve`'s solution and the `_Record` of its iterations."""
    (_, A_end, Q_end), record = _iterate(
        A, Q, tol, max_iterations, record=_record_length(A, max_iterations)
    )
    return _finish(A_end, Q_end), record


def _implicit_solve(A: Array, record: _Record, R: Array, tol, max_iterations) -> Array:
    """$X$ with $A X + X A^* = -R$, as a linear solve that autodiff transposes to the adjoint
    equation $A^T \\Lambda + \\Lambda \\bar A = -\\bar X$; both replay the solve's `record`."""

    def matvec(X):
        return -(A @ X + X @ _h(A))

    def solve(_, b):
        return _replayed_solve(record, b, tol, max_iterations, transpose=False)

    def transpose_solve(_, b):
        # The transpose of X -> -(A X + X A^*) is G -> -(A^T G + G conj(A)) = -(B G + G B^*)
        # with B = A^T.
        return _replayed_solve(record, b, tol, max_iterations, transpose=True)

    return jax.lax.custom_linear_solve(matvec, R, solve, transpose_solve)


@ft.partial(jax.custom_jvp, nondiff_argnums=(2, 3))
def _lyapunov(A: Array, Q: Array, tol: float, max_iterations: int) -> Array:
    return _sign_solve(A, Q, tol, max_iterations)[0]


@_lyapunov.defjvp
def _lyapunov_jvp(tol, max_iterations, primals, tangents):
    # Implicit differentiation of A S + S A^* = -Q. A custom JVP (rather than a custom VJP)
    # keeps forward mode (`jax.jacfwd`, used by `fit.sensitivity`); reverse mode transposes the
    # linear solve into the adjoint Lyapunov equation. The solve records its iterations (on
    # stopped inputs: the record is not differentiated) for the tangent and adjoint solves.
    A, Q = primals
    stop = jax.lax.stop_gradient
    S, record = _recorded_solve(stop(A), stop(Q), tol, max_iterations)
    return _solved_jvp(tol, max_iterations, (A, Q, S, record), (*tangents, None, None))


@ft.partial(jax.custom_jvp, nondiff_argnums=(4, 5))
def _solved(A: Array, Q: Array, S: Array, record: _Record, tol, max_iterations) -> Array:
    """The solution `S` for `(A, Q)`, already computed, with its derivatives in `A` and `Q`
    (those of higher order, through the JVP rule)."""
    return S


@_solved.defjvp
def _solved_jvp(tol, max_iterations, primals, tangents):
    A, Q, S, record = primals
    dA, dQ = tangents[:2]
    S = _solved(A, Q, S, record, tol, max_iterations)
    return S, _implicit_solve(A, record, dQ + dA @ S + S @ _h(dA), tol, max_iterations)


# Concrete calls run compiled, once per shape (operation by operation, each call would compile
# its loops anew); under a trace the call is inlined.
_compiled = jax.jit(_lyapunov, static_argnums=(2, 3))
