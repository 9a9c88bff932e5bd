"""The equilibrium and damping ratio inside `fit.Linear` steps: the early-stopping Newton
against scipy's root finder, implicit gradients and the one-eig damping ratio against finite
differences and numpy's eigenvalues."""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize as so

import rosetta_jax as rj
from rosetta_jax import analysis, fit, models


# Near the upper-branch (alpha focus) equilibrium of Jansen-Rit at p = 60: the Newton start.
GUESS = jnp.array([0.0935, 19.08, 12.54, 0.0, 0.0, 0.0])


def _field(model, y):
    return model.vector_field(0.0, y.reshape(model.initial_state().shape), None).reshape(-1)


_f = eqx.filter_jit(_field)  # one compilation per model structure, whatever its parameters
_jac = eqx.filter_jit(jax.jacfwd(_field, argnums=1))


def _root(model, y0):
    """The equilibrium near y0 by scipy's hybrid method (MINPACK), the independent oracle."""
    f_np, J_np = lambda y: np.asarray(_f(model, y)), lambda y: np.asarray(_jac(model, y))
    sol = so.root(f_np, np.ravel(y0), jac=J_np, options={"xtol": 1e-14})
    assert np.linalg.norm(sol.fun) < 1e-9, sol.message  # ("xtol too small": at rounding level)
    return sol.x.reshape(model.initial_state().shape)


def _at(p):
    return models.JansenRit(p=p)


def _zeta_numpy(model, y):
    ev = np.linalg.eigvals(np.asarray(analysis.jacobian(model, y)))
    return float(np.min(-ev.real / np.abs(ev)))


@pytest.mark.parametrize("p", [60.0, 90.0, 150.0])
def test_equilibrium_matches_scipy_root(p):
    y = analysis.equilibrium(_at(p), GUESS)
    np.testing.assert_allclose(y, _root(_at(p), GUESS), rtol=1e-10, atol=1e-12)


def test_vmapped_equilibria_each_converge_or_fail_on_their_own():
    # Members need different numbers of Newton steps; the while loop runs until all stop.
    ps = jnp.array([60.0, 90.0, 150.0, 150.0])
    starts = jnp.stack([GUESS, GUESS, GUESS, jnp.full(6, 1e6)])
    ys = jax.jit(jax.vmap(lambda p, y0: analysis.equilibrium(_at(p), y0, iterations=5)))(ps, starts)
    for p, y in zip(ps[:3], ys[:3], strict=True):
        np.testing.assert_allclose(y, _root(_at(float(p)), GUESS), rtol=1e-10, atol=1e-12)
    assert np.all(np.isnan(ys[3]))  # not converged in 5 steps from far away: rejected


def test_equilibrium_gradient_matches_finite_differences():
    def q(y):
        return jnp.sum(y[:3] ** 2)

    p, h = 90.0, 1e-3
    g = jax.jit(jax.grad(lambda p: q(analysis.equilibrium(_at(p), GUESS))))(p)
    fd = (q(_root(_at(p + h), GUESS)) - q(_root(_at(p - h), GUESS))) / (2 * h)
    np.testing.assert_allclose(g, fd, rtol=1e-6)


def test_network_equilibrium_gradient_matches_finite_differences():
    W = np.array([[0.0, 1.0, 0.5], [1.0, 0.0, 0.8], [0.5, 0.8, 0.0]])
    net = lambda G: rj.Network(models.JansenRit(p=jnp.array([70.0, 80.0, 60.0])), W, G=G)
    y0 = jnp.zeros((3, 6))
    q = lambda y: jnp.sum(y**2)
    G, h = 20.0, 1e-3
    g = jax.grad(lambda G: q(analysis.equilibrium(net(G), y0)))(G)
    oracle = lambda G: q(_root(net(G), analysis.equilibrium(net(G), y0)))
    np.testing.assert_allclose(g, (oracle(G + h) - oracle(G - h)) / (2 * h), rtol=1e-6)


def _sl_network(alpha, G=0.5):
    rng = np.random.default_rng(3)
    W = rng.uniform(size=(6, 6))
    np.fill_diagonal(W, 0.0)  # not symmetric: complex, distinct eigenvalues
    node = models.StuartLandau(alpha=alpha, omega=2 * math.pi * jnp.linspace(0.04, 0.09, 6))
    return rj.Network(node, W, G=G)


@pytest.mark.parametrize(
    "model",
    [_at(60.0), _at(150.0), _sl_network(jnp.linspace(-0.3, -0.05, 6))],
    ids=["jansen-rit-60", "jansen-rit-150", "stuart-landau-network"],
)
def test_damping_ratio_matches_numpy_eigenvalues(model):
    y0 = GUESS if isinstance(model, models.JansenRit) else jnp.zeros_like(model.initial_state())
    y = analysis.equilibrium(model, y0)
    np.testing.assert_allclose(fit.damping_ratio(model, y), _zeta_numpy(model, y), rtol=1e-10)


def test_damping_ratio_gradient_matches_finite_differences():
    # Jansen-Rit: through the equilibrium (p) and the rate constant a; the least-damped mode
    # (the alpha focus) is simple, though the Jacobian has other repeated eigenvalues.
    def zeta(p, a):
        m = eqx.tree_at(lambda m: m.a, _at(p), a)
        return fit.damping_ratio(m, analysis.equilibrium(m, GUESS))

    def oracle(p, a):
        m = eqx.tree_at(lambda m: m.a, _at(p), a)
        return _zeta_numpy(m, _root(m, GUESS))

    p, a = 90.0, 100.0
    g = jax.jit(jax.grad(zeta, (0, 1)))(p, a)
    fd = [(oracle(p + 1e-3, a) - oracle(p - 1e-3, a)) / 2e-3]
    fd.append((oracle(p, a + 1e-4) - oracle(p, a - 1e-4)) / 2e-4)
    np.testing.assert_allclose(g, fd, rtol=1e-5)


def test_network_damping_ratio_gradient_matches_finite_differences():
    alpha = jnp.linspace(-0.3, -0.05, 6)
    y = jnp.zeros((6, 2))
    zeta = lambda G, alpha: fit.damping_ratio(_sl_network(alpha, G), y)
    g = jax.grad(zeta, (0, 1))(0.5, alpha)
    h = 1e-6
    fd_G = _zeta_numpy(_sl_network(alpha, 0.5 + h), y) - _zeta_numpy(_sl_network(alpha, 0.5 - h), y)
    np.testing.assert_allclose(g[0], fd_G / (2 * h), rtol=1e-5, atol=1e-9)
    e = np.eye(6)
    fd_alpha = [
        (
            _zeta_numpy(_sl_network(alpha + h * e[i]), y)
            - _zeta_numpy(_sl_network(alpha - h * e[i]), y)
        )
        / (2 * h)
        for i in range(6)
    ]
    np.testing.assert_allclose(g[1], fd_alpha, rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize(
    ("model", "name"),
    [
        (models.DampedOscillator(alpha=-3.0, omega=2 * math.pi * 10.0), "alpha"),
        (models.WilsonCowan(), "tau_x"),  # an unstable focus: a negative ratio
        (models.StuartLandau(alpha=-0.2, omega=1.3), "alpha"),
        (models.MontbrioPazoRoxin(), "eta"),
    ],
    ids=["damped-oscillator", "wilson-cowan", "stuart-landau", "montbrio-pazo-roxin"],
)
def test_two_state_damping_ratio_in_closed_form_matches_numpy(model, name):
    # Two states: the trace/determinant formula, checked against numpy's eigenvalues at each
    # fixed point and, for the gradient, by central differences of the numpy value.
    at = lambda v: eqx.tree_at(lambda m: getattr(m, name), model, v)
    value = float(getattr(model, name))
    h = 1e-6 * max(1.0, abs(value))
    for fp in analysis.fixed_points(model):
        y = jnp.asarray(fp.state)
        np.testing.assert_allclose(fit.damping_ratio(model, y), _zeta_numpy(model, y), rtol=1e-10)
        g = jax.grad(lambda v, y=y: fit.damping_ratio(at(v), y))(value)
        fd = (_zeta_numpy(at(value + h), y) - _zeta_numpy(at(value - h), y)) / (2 * h)
        np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-9)


def test_affine_equilibrium_is_one_exact_solve_with_its_gradient():
    # A driven damped oscillator: z* = -F / (alpha + i omega), from any start (no Newton
    # iteration), and dz*/dalpha = F / (alpha + i omega)^2.
    F = 0.7 - 0.4j
    args = jnp.asarray(F)
    z = lambda a: complex(-F / (a + 1j * 5.0))
    eq = lambda a: analysis.equilibrium(
        models.DampedOscillator(alpha=a, omega=5.0), GUESS[:2] + 1e3, args
    )
    y = eq(-2.0)
    np.testing.assert_allclose(y, [z(-2.0).real, z(-2.0).imag], rtol=1e-12)
    dz = F / (-2.0 + 5j) ** 2
    np.testing.assert_allclose(jax.jacfwd(eq)(-2.0), [dz.real, dz.imag], rtol=1e-10)
