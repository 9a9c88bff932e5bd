"""Fast analytic FC objectives (issue 16, item 6) without timed assertions: a repeated fit of
the same structure reuses the compiled step (new selector and optimiser closures included),
the single-start step equals start 0 of a vmapped one, the cheap damping test behind the FC
stability penalty, `Linear.fc` compiled and still naming a failed Newton solve, and the
Lyapunov derivatives through a record shorter than the iteration. Speed: benchmarks/
bench_lyapunov.py."""

import contextlib
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import scipy.linalg as sla
from jax.test_util import check_grads

import rosetta_jax as rj
from rosetta_jax import fit, models, noise
from rosetta_jax.analysis import _lyapunov, lyapunov_covariance
from rosetta_jax.analysis._linear import linear_fc
from rosetta_jax.fit._methods import _sector_damped
from rosetta_jax.fit._steps import _canonical


_COMPILES: list[str] | None = None


def _count(name, *_, **__):
    if _COMPILES is not None and name == "/jax/core/compile/backend_compile_duration":
        _COMPILES.append(name)


jax.monitoring.register_event_duration_secs_listener(_count)


@contextlib.contextmanager
def counting_compiles():
    """The XLA compilations made inside the block."""
    global _COMPILES
    _COMPILES = []
    try:
        yield _COMPILES
    finally:
        _COMPILES = None


def hopf_network(n=6, seed=0, G=0.3):
    rng = np.random.default_rng(seed)
    W = rng.uniform(size=(n, n))
    W = 0.5 * (W + W.T)
    np.fill_diagonal(W, 0.0)
    node = models.StuartLandau(alpha=-0.2, omega=2 * math.pi * 0.05)
    return rj.Network(node, W, G=G, normalize="max_eigenvalue")


def fc_objective(net, sigma=0.02):
    y0 = jnp.zeros_like(net.initial_state())
    target = linear_fc(eqx.tree_at(lambda m: m.G, net, 0.6), noise.Additive(sigma), y_star=y0)
    return fit.FCObjective(
        fit.FCTarget(target), noise.Additive(sigma), method=fit.Linear(y_guess=y0)
    )


def run_fit(net, objective, **kw):
    # A new selector and a new optimiser at every call, as in the one-call fits.
    kw.setdefault("optimizer", optax.adam(0.05))
    return fit.fit(
        net,
        objective,
        params=lambda m: (m.G, m.node.alpha),
        transforms=(fit.Positive(1.0), fit.Bounded(-1.0, -1e-3)),
        names=("G", "alpha"),
        steps=4,
        stop=None,
        progress=False,
        **kw,
    )


@pytest.mark.slow  # three fits; test_equal_closures_are_shared... covers the mechanism by default
@pytest.mark.parametrize("optimizer", ["adam", "default"])
def test_a_repeated_fit_reuses_the_compiled_step(optimizer):
    net = hopf_network()
    kw = {} if optimizer == "adam" else {"optimizer": None}
    first = run_fit(net, fc_objective(net), **kw)
    with counting_compiles() as compiles:
        again = run_fit(net, fc_objective(net), **kw)
    assert compiles == []  # the step, the starts, the report: all compiled before
    np.testing.assert_array_equal(again.loss_history, first.loss_history)
    assert again.params["G"] == first.params["G"]


# 20-55 s: in the slow target (the default run's 15-minute budget on 2 cores).
@pytest.mark.slow
def test_equal_closures_are_shared_and_different_ones_are_not():
    a, b = optax.adam(0.05), optax.adam(0.05)
    assert a is not b and _canonical(b) is _canonical(a)
    assert _canonical(optax.adam(0.06)) is not _canonical(a)
    sel = _canonical(lambda m: m.G)
    assert _canonical(lambda m: m.G) is sel
    assert _canonical(lambda m: m.node.alpha) is not sel
    # Another learning rate is another fit, never a reused one.
    net = hopf_network()
    slow = run_fit(net, fc_objective(net), optimizer=optax.adam(0.01))
    fast = run_fit(net, fc_objective(net), optimizer=optax.adam(0.05))
    assert not np.array_equal(slow.loss_history, fast.loss_history)


@pytest.mark.slow  # 20-30 s: default-run budget (the calibration test runs there)
def test_single_start_step_equals_start_zero_of_several():
    net = hopf_network(seed=1)
    one = run_fit(net, fc_objective(net))
    two = run_fit(net, fc_objective(net), n_starts=2)
    np.testing.assert_allclose(one.loss_history[:, 0], two.loss_history[:, 0], rtol=1e-10)


def random_normal_matrix(n, zeta_min, seed):
    """A real normal matrix with conjugate eigenvalue pairs of damping ratio >= zeta_min."""
    rng = np.random.default_rng(seed)
    zeta = zeta_min + rng.uniform(0.0, 0.5, n // 2)
    r = rng.uniform(0.5, 2.0, n // 2)
    blocks = [
        r_i * np.array([[-z, -np.sqrt(1 - z**2)], [np.sqrt(1 - z**2), -z]])
        for r_i, z in zip(r, zeta, strict=True)
    ]
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return Q @ sla.block_diag(*blocks) @ Q.T


def least_damping(J):
    lam = np.linalg.eigvals(J)
    return np.min(-lam.real / np.abs(lam))


def test_sector_test_is_exact_for_normal_and_never_wrong_for_nonnormal_jacobians():
    for seed in range(5):
        J = random_normal_matrix(8, 0.05, seed)
        assert least_damping(J) >= 0.05
        assert bool(_sector_damped(jnp.asarray(J), 0.04))
        assert not bool(_sector_damped(jnp.asarray(J), least_damping(J) + 0.01))
    rng = np.random.default_rng(7)
    for _ in range(40):  # non-normal: True only where every mode is damped enough
        J = rng.standard_normal((6, 6)) - 2.0 * np.eye(6)
        J[0, 5] = 10.0 * rng.standard_normal()
        for zeta_min in (0.01, 0.1, 0.3):
            if bool(_sector_damped(jnp.asarray(J), zeta_min)):
                assert least_damping(J) >= zeta_min
    Jc = jnp.asarray(random_normal_matrix(6, 0.2, 3) + 0j)
    assert bool(_sector_damped(Jc, 0.1)) and not bool(_sector_damped(Jc * 1j, 0.1))


@pytest.mark.parametrize(
    "G, alpha",
    [
        # The well-damped case in the slow target (17 s; default-run budget): the penalty is
        # active in the near-critical one, which stays in the default run.
        pytest.param(0.3, -0.2, marks=pytest.mark.slow),
        (0.3, -0.0005),
    ],
)
def test_penalised_damping_gives_the_penalty_and_gradient_of_the_exact_ratio(G, alpha):
    # Well damped (the cheap test holds: min_damping stands in) and barely damped (below
    # min_damping: the exact ratio, with its gradient).
    method = fit.Linear(min_damping=0.01)
    net = eqx.tree_at(lambda m: m.node.alpha, hopf_network(G=G), alpha)
    y = jnp.zeros_like(net.initial_state())

    def penalty(damping, a):
        return method.penalty(damping(eqx.tree_at(lambda m: m.node.alpha, net, a), y))

    for a in (alpha, alpha * 1.1):
        exact = jax.value_and_grad(lambda a: penalty(method.damping, a))(a)
        cheap = jax.jit(jax.value_and_grad(lambda a: penalty(method.penalised_damping, a)))(a)
        np.testing.assert_allclose(cheap, exact, rtol=1e-12, atol=1e-15)
    zeta = float(fit.damping_ratio(net, y))
    reported = float(method.penalised_damping(net, y))
    assert reported == (0.01 if zeta >= 0.01 else zeta)


@pytest.mark.parametrize(
    "offset, alpha",
    [
        (0.0, -0.2),
        pytest.param(1e-3, -0.2, marks=pytest.mark.slow),  # the other two cover both branches
        (0.0, -0.0005),
    ],
)
def test_concrete_linear_fc_equals_the_traced_one(offset, alpha):
    # At rest (no Newton solve) or not, well damped (the cheap test) or not (the eig).
    net = eqx.tree_at(lambda m: m.node.alpha, hopf_network(seed=3), alpha)
    method = fit.Linear(y_guess=jnp.full(net.initial_state().shape, offset))
    fc, zeta = method.fc(net, noise.Additive(0.02))
    fc_t, zeta_t = jax.jit(lambda m: method.fc(m, noise.Additive(0.02)))(net)
    np.testing.assert_allclose(fc, fc_t, rtol=1e-12, atol=1e-14)
    assert zeta.dtype == zeta_t.dtype and float(zeta) == pytest.approx(float(zeta_t), rel=1e-12)
    exact = float(fit.damping_ratio(net, method.equilibrium(net)))
    assert (exact >= 0.01) == (alpha == -0.2)
    assert float(zeta) == (0.01 if exact >= 0.01 else pytest.approx(exact, rel=1e-12))


def test_linear_fc_is_compiled_once_and_still_names_a_failed_newton():
    net = hopf_network(seed=2)
    method = fit.Linear(y_guess=jnp.zeros_like(net.initial_state()))
    method.fc(net, noise.Additive(0.02))
    with counting_compiles() as compiles:
        fc, _ = method.fc(eqx.tree_at(lambda m: m.G, net, jnp.asarray(0.4)), noise.Additive(0.02))
    assert compiles == [] and np.all(np.isfinite(fc))
    jr_method = fit.Linear(y_guess=jnp.full(6, 1e6), newton_iterations=2)
    with pytest.raises(ValueError, match="Newton did not converge"):
        jr_method.fc(models.JansenRit(p=60.0), noise.Additive(1.0))


def test_lyapunov_derivatives_through_a_short_record(monkeypatch):
    # The tangent and adjoint solves replay the recorded iterations and continue the sign
    # iteration past a record shorter than the solve: the same derivatives, to second order.
    rng = np.random.default_rng(3)
    n = 5
    J = rng.standard_normal((n, n)) / np.sqrt(n) - 1.5 * np.eye(n)
    D = np.eye(n) + 0.1 * np.ones((n, n))
    loss = lambda J, D: jnp.sum(jnp.sin(lyapunov_covariance(J, D)))
    full = jax.grad(loss, (0, 1))(J, D)
    monkeypatch.setattr(_lyapunov, "_RECORD_BYTES", 2 * n * n * 8)  # two iterations
    assert _lyapunov._record_length(jnp.asarray(J), 50) == 2
    short = jax.jit(jax.grad(loss, (0, 1)))(J, D)
    for a, b in zip(short, full, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    check_grads(lyapunov_covariance, (J, D), order=2, modes=["rev", "fwd"], eps=1e-5)
