"""`lyapunov_covariance`: the solution against scipy's Bartels-Stewart solver (real, complex,
batched, float32, near-defective Jacobians), its implicit derivatives against finite
differences and the closed-form adjoint, early stopping, and NaN for unstable Jacobians."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg as sla
from jax.test_util import check_grads

from rosetta_jax.analysis import lyapunov_covariance
from rosetta_jax.analysis._lyapunov import _sign_solve


# jit-compiled: much faster than op-by-op dispatch of the loop and its derivatives.
solve = jax.jit(lyapunov_covariance, static_argnames=("iterations", "max_iterations"))


def stable_system(n, seed, dtype=np.float64):
    """A random stable J (eigenvalues left of -0.5) and a random covariance D = B B^*."""
    rng = np.random.default_rng(seed)
    J = rng.standard_normal((n, n)) / np.sqrt(n)
    B = rng.standard_normal((n, n))
    if np.issubdtype(dtype, np.complexfloating):
        J = J + 1j * rng.standard_normal((n, n)) / np.sqrt(n)
        B = B + 1j * rng.standard_normal((n, n))
    J = J - (np.max(np.linalg.eigvals(J).real) + 0.5) * np.eye(n)
    return J.astype(dtype), (B @ B.conj().T / n).astype(dtype)


def relative_error(x, ref):
    return np.max(np.abs(np.asarray(x) - ref)) / np.max(np.abs(ref))


@pytest.mark.parametrize("n, dtype", [(2, np.float64), (9, np.float64), (9, np.complex128)])
def test_solution_matches_scipy(n, dtype):
    J, D = stable_system(n, n, dtype)
    S = solve(J, D)
    assert S.dtype == dtype
    np.testing.assert_allclose(S, sla.solve_continuous_lyapunov(J, -D), rtol=1e-10, atol=1e-12)


def test_batched_under_jit_and_vmap():
    systems = [stable_system(5, seed) for seed in range(4)]
    J = np.stack([s[0] for s in systems])
    D = np.stack([s[1] for s in systems])
    S = jax.jit(jax.vmap(lyapunov_covariance))(J, D)
    for Si, Ji, Di in zip(S, J, D, strict=True):
        np.testing.assert_allclose(Si, sla.solve_continuous_lyapunov(Ji, -Di), rtol=1e-10)


def test_float32():
    J, D = stable_system(9, 1)
    S = solve(J.astype(np.float32), D.astype(np.float32))
    assert S.dtype == np.float32
    # The sign iteration is backward stable: forward error ~ eps32 (1.2e-7) times the condition
    # number of the Lyapunov operator (about 10 here), and it stops at tol = sqrt(eps32), where
    # quadratic convergence leaves an error of order tol^2 ~ 1e-7.
    assert relative_error(S, sla.solve_continuous_lyapunov(J, -D)) < 2e-5


def test_near_defective_jacobians():
    # Critically damped synaptic kernels (Jansen-Rit rates a = 100/s, b = 50/s): a double,
    # defective eigenvalue -a per population, weakly coupled. An eigendecomposition of such a
    # J is ill-conditioned (its eigenvectors are nearly parallel); the sign iteration is not.
    kernel = lambda a: np.array([[0.0, 1.0], [-(a**2), -2 * a]])
    J = sla.block_diag(kernel(100.0), kernel(100.0), kernel(50.0))
    J[1, 4] = J[5, 0] = 10.0  # weak coupling between the populations
    D = np.zeros((6, 6))
    D[1, 1] = 1e4
    ref = sla.solve_continuous_lyapunov(J, -D)
    # The operator's condition number is large (rates 50-100/s squared): 1e-7 relative.
    assert relative_error(solve(J, D), ref) < 1e-7
    # A Jordan block whose eigenvalues split by only 1e-9 (and unrelated to 1/|det|^(1/n)).
    n = 6
    J = -0.3 * np.eye(n) + np.diag(np.full(n - 1, 2.0), 1)
    J[-1, 0] = 1e-9
    ref = sla.solve_continuous_lyapunov(J, -np.eye(n))
    assert relative_error(solve(J, np.eye(n)), ref) < 1e-9
    g = jax.jit(jax.grad(lambda J: lyapunov_covariance(J, jnp.eye(n))[0, 0]))(J)
    assert np.all(np.isfinite(g))


def test_gradients_match_finite_differences():
    J, D = stable_system(4, 2)
    check_grads(solve, (J, D), order=1, modes=["rev", "fwd"], eps=1e-5)
    Jc, Dc = stable_system(3, 3, np.complex128)
    check_grads(solve, (Jc, Dc), order=1, modes=["rev"], eps=1e-5)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_vjp_is_the_adjoint_lyapunov_solution(dtype):
    # With J Sigma + Sigma J^* = -D and a cotangent G (not Hermitian): J^T L + L conj(J) = -G
    # gives the cotangents D_bar = L and J_bar = L Sigma^T + conj(L^T Sigma) (JAX's convention
    # for complex cotangents), with scipy as the oracle for L.
    J, D = stable_system(6, 4, dtype)
    rng = np.random.default_rng(5)
    G = rng.standard_normal((6, 6)) + (
        1j * rng.standard_normal((6, 6)) if dtype != np.float64 else 0
    )
    S, vjp = jax.vjp(solve, J, D)
    J_bar, D_bar = vjp(jnp.asarray(G, dtype))
    L = sla.solve_continuous_lyapunov(J.T, -G)
    S = np.asarray(S)
    np.testing.assert_allclose(D_bar, L, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(J_bar, L @ S.T + np.conj(L.T @ S), rtol=1e-9, atol=1e-12)


def test_float32_gradient_and_batched_gradient():
    J, D = stable_system(5, 6)
    loss = lambda J, D: jnp.sum(jnp.sin(lyapunov_covariance(J, D)))
    grad = jax.jit(jax.grad(loss, argnums=(0, 1)))
    g64 = grad(J, D)
    g32 = grad(J.astype(np.float32), D.astype(np.float32))
    for a, b in zip(g32, g64, strict=True):
        assert a.dtype == np.float32
        # float32 rounding (eps 1.2e-7) times the operator's condition number (~10) in each of
        # the forward and adjoint solves.
        assert relative_error(a, np.asarray(b)) < 1e-4
    Js = np.stack([J, J - np.eye(5)])
    gb = jax.jit(jax.vmap(jax.grad(loss)))(Js, np.stack([D, D]))
    np.testing.assert_allclose(gb[0], g64[0], rtol=1e-10)


def test_stops_early_when_converged():
    J, D = stable_system(9, 7)
    S, k = _sign_solve(jnp.asarray(J), jnp.asarray(D), 1.5e-8, 50)
    assert 3 <= int(k) <= 12  # quadratic convergence; well under the cap
    np.testing.assert_allclose(S, sla.solve_continuous_lyapunov(J, -D), rtol=1e-10)
    # `iterations` (the former fixed count) is accepted as the cap.
    np.testing.assert_allclose(solve(J, D, 60), S, rtol=1e-14)
    # A cap below what convergence needs leaves the iterate away from -I: reported as NaN.
    assert np.all(np.isnan(solve(J, D, max_iterations=1)))


def test_unstable_jacobian_gives_nan():
    # There is no stationary covariance: NaN (never a finite wrong answer), also per matrix
    # under vmap and under jit.
    J, D = stable_system(4, 8)
    unstable = -J  # every eigenvalue with positive real part
    saddle = J + np.diag([3.0, 0.0, 0.0, 0.0])  # one eigenvalue moves right
    assert np.max(np.linalg.eigvals(saddle).real) > 0
    rotation = np.array([[0.0, 1.0], [-1.0, 0.0]])  # eigenvalues on the imaginary axis
    assert np.all(np.isnan(lyapunov_covariance(unstable, D)))
    assert np.all(np.isnan(jax.jit(lyapunov_covariance)(saddle, D)))
    assert np.all(np.isnan(solve(rotation, np.eye(2))))
    S = jax.vmap(lyapunov_covariance)(np.stack([J, saddle]), np.stack([D, D]))
    assert np.all(np.isfinite(S[0])) and np.all(np.isnan(S[1]))


def test_bad_shapes():
    with pytest.raises(ValueError, match="square matrices of the same shape"):
        lyapunov_covariance(np.eye(3), np.eye(2))
    with pytest.raises(ValueError, match="square matrices of the same shape"):
        lyapunov_covariance(np.eye(3)[None], np.eye(3)[None])
    with pytest.raises(ValueError, match="`max_iterations` must be a positive integer"):
        lyapunov_covariance(-np.eye(3), np.eye(3), max_iterations=0)
