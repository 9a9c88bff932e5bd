"""Networks: linear-network statistics against closed forms (Castaldo et al. 2026, 2.2.3), phase
locking, delays (method of steps, delayed locking), the vmapped network against plain loops,
gradients through delays, and clear errors."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
import scipy.linalg as sla
from scipy import signal
from scipy.optimize import brentq

import rosetta_jax as rj
from rosetta_jax import coupling, forcing, models, noise, solvers
from rosetta_jax.analysis import lyapunov_covariance
from rosetta_jax.engine import DelayBuffer, _delays, _fixed


def dho_network(n, alpha, omegas, G, C):
    node = models.DampedOscillator(alpha=alpha, omega=jnp.asarray(omegas))
    return rj.Network(node, C, G=G, normalize=None)


def real_jacobian(alpha, omegas, G, C):
    """2N x 2N Jacobian of the linear resonator network (sign corrected: docs/models.md, E2)."""
    n = len(omegas)
    J = np.zeros((2 * n, 2 * n))
    for i, w in enumerate(omegas):
        J[2 * i : 2 * i + 2, 2 * i : 2 * i + 2] = [[alpha, -w], [w, alpha]]
    L = np.asarray(C) - np.diag(np.asarray(C).sum(axis=1))
    return J + G * np.kron(L, np.eye(2))


def complex_jacobian(alpha, omegas, G, C):
    C = np.asarray(C)
    return np.diag(alpha + 1j * np.asarray(omegas)) + G * (C - np.diag(C.sum(axis=1)))


def random_weights(n, seed, density=1.0):
    rng = np.random.default_rng(seed)
    W = rng.uniform(0.2, 1.0, (n, n)) * (rng.uniform(size=(n, n)) < density)
    W = 0.5 * (W + W.T)
    np.fill_diagonal(W, 0.0)
    return W


# ----------------------------------------------------------------------------- linear network


def test_linear_network_covariance_is_the_lyapunov_solution():
    n, alpha, G, sigma = 4, -0.4, 0.3, 0.5
    omegas = [1.0, 1.3, 0.8, 1.1]
    C = random_weights(n, 0)
    net = dho_network(n, alpha, omegas, G, C)
    J = real_jacobian(alpha, omegas, G, C)
    D = (sigma**2 / 2) * np.eye(2 * n)  # complex noise: sigma^2/2 per component
    Sigma = sla.solve_continuous_lyapunov(J, -D)
    np.testing.assert_allclose(lyapunov_covariance(J, D), Sigma, rtol=1e-8, atol=1e-12)

    run = lambda k: (
        rj.simulate(
            net,
            t1=1500.0,
            dt=0.01,
            save_every=10,
            key=k,
            noise=noise.Additive(sigma),
            y0=jnp.zeros((n, 2)),
        ).ys
    )
    ys = np.asarray(jax.vmap(run)(jr.split(jr.key(0), 8)))[:, 200:].reshape(-1, 2 * n)
    sample = np.cov(ys.T)
    assert np.linalg.norm(sample - Sigma) / np.linalg.norm(Sigma) < 0.05


def test_two_node_fc_closed_form():
    alpha, c, G, omega = -0.5, 0.8, 1.0, 2.0
    net = dho_network(2, alpha, [omega, omega], G, np.array([[0.0, c], [c, 0.0]]))
    run = lambda k: rj.simulate(
        net,
        t1=2000.0,
        dt=0.01,
        save_every=10,
        key=k,
        noise=noise.Additive(0.3),
        y0=jnp.zeros((2, 2)),
    ).ys[100:, :, 0]
    x = np.asarray(jax.vmap(run)(jr.split(jr.key(1), 8))).reshape(-1, 2)
    corr = np.corrcoef(x.T)[0, 1]
    assert abs(corr - G * c / (abs(alpha) + G * c)) < 0.02


def test_simulated_spectrum_matches_the_linear_cross_spectrum():
    n, alpha, G, sigma = 3, -0.3, 0.2, 0.4
    omegas = [2 * np.pi * 1.0, 2 * np.pi * 1.5, 2 * np.pi * 2.0]
    C = random_weights(n, 2)
    net = dho_network(n, alpha, omegas, G, C)
    fs = 20.0
    run = lambda k: (
        rj.simulate(
            net,
            t1=2000.0,
            dt=0.005,
            save_every=10,
            key=k,
            noise=noise.Additive(sigma),
            y0=jnp.zeros((n, 2)),
        ).observed
    )
    x = np.asarray(jax.vmap(run)(jr.split(jr.key(2), 8)))  # (keys, time, nodes)
    f, P = signal.welch(x, fs=fs, nperseg=2048, axis=1)
    P = P.mean(axis=0)  # (freqs, nodes), one-sided density per unit frequency
    J = real_jacobian(alpha, omegas, G, C)
    D = (sigma**2 / 2) * np.eye(2 * n)
    for i in range(n):
        f0 = omegas[i] / (2 * np.pi)
        band = (f > f0 - 0.1) & (f < f0 + 0.1)
        S = []
        for fk in f[band]:
            Gw = np.linalg.inv(2j * np.pi * fk * np.eye(2 * n) - J)
            S.append(2 * np.real(Gw @ D @ Gw.conj().T)[2 * i, 2 * i])  # one-sided
        ratio = P[band, i].mean() / np.mean(S)
        assert abs(ratio - 1) < 0.10, (i, ratio)
    # A single node's spectral peak sits at its frequency.
    single = dho_network(1, alpha, [omegas[0]], 0.0, np.zeros((1, 1)))
    xs = rj.simulate(
        single,
        t1=2000.0,
        dt=0.005,
        save_every=10,
        key=jr.key(3),
        noise=noise.Additive(sigma),
        y0=jnp.zeros((1, 2)),
    ).observed[:, 0]
    f, P1 = signal.welch(np.asarray(xs), fs=fs, nperseg=4096)
    assert abs(f[np.argmax(P1)] - 1.0) < 0.02


def test_tacs_linear_response_of_the_network():
    n, alpha, G = 3, -0.5, 0.4
    omegas = [1.0, 1.4, 2.0]
    C = random_weights(n, 3)
    net = dho_network(n, alpha, omegas, G, C)
    pattern = jnp.array([0.3, 0.0, 0.1 - 0.2j])  # tACS on regions 0 and 2 only
    omega_s = 1.2
    drive = (
        forcing.Sinusoid(amplitude=1.0, frequency=omega_s / (2 * np.pi), analytic=True) * pattern
    )
    import diffrax as dfx

    sol = rj.simulate(
        net,
        t1=60.0,
        dt=0.01,
        forcing=drive,
        y0=jnp.zeros((n, 2)),
        solver=dfx.Tsit5(),
        stepsize_controller=dfx.PIDController(rtol=1e-10, atol=1e-12),
    )
    z = np.asarray(sol.y_final[:, 0] + 1j * sol.y_final[:, 1])
    Jc = complex_jacobian(alpha, omegas, G, C)
    expected = np.linalg.solve(1j * omega_s * np.eye(n) - Jc, np.asarray(pattern)) * np.exp(
        1j * omega_s * float(sol.ts[-1])
    )
    np.testing.assert_allclose(z, expected, rtol=1e-4)


def test_lyapunov_perturbation_matches_finite_difference():
    n, alpha, G = 3, -0.4, 0.3
    omegas = [1.0, 1.5, 0.7]
    C = random_weights(n, 4)
    J = real_jacobian(alpha, omegas, G, C)
    D = 0.1 * np.eye(2 * n)
    dJ = real_jacobian(0.0, [0.0] * n, 1.0, C) - real_jacobian(0.0, [0.0] * n, 0.0, C)  # d/dG
    Sigma = np.asarray(lyapunov_covariance(J, D))
    dSigma = np.asarray(lyapunov_covariance(J, dJ @ Sigma + Sigma @ dJ.T))
    errors = []
    for eps in (1e-3, 1e-4):
        fd = (np.asarray(lyapunov_covariance(J + eps * dJ, D)) - Sigma) / eps
        errors.append(np.max(np.abs(fd - dSigma)))
    assert errors[1] < 0.2 * errors[0]  # O(eps)
    assert errors[1] < 1e-3 * np.max(np.abs(dSigma))


# ----------------------------------------------------------------------------- phase locking


@pytest.mark.parametrize("inside", [True, False])
def test_two_node_kuramoto_network_locking(inside):
    c, G = 0.5, 0.8
    dw = (0.98 if inside else 1.02) * 2 * G * c
    net = rj.Network(
        models.Kuramoto(omega=jnp.array([1.0, 1.0 + dw])),
        np.array([[0.0, c], [c, 0.0]]),
        G=G,
        normalize=None,
    )
    sol = rj.simulate(
        net, t1=3000.0, dt=0.01, save_every=10, solver=solvers.RK4(), y0=jnp.array([[0.0], [0.1]])
    )
    diff = np.asarray(sol.ys[:, 1, 0] - sol.ys[:, 0, 0])
    ts = np.asarray(sol.ts)
    late = ts > 1500
    if inside:
        assert np.ptp(diff[late]) < 1e-6
        np.testing.assert_allclose(diff[-1] % (2 * np.pi), np.arcsin(dw / (2 * G * c)), atol=1e-6)
    else:
        beat = np.polyfit(ts[late], diff[late], 1)[0]
        expected = np.sqrt(dw**2 - (2 * G * c) ** 2)
        assert abs(beat - expected) < 0.02 * expected


def test_delay_coupled_phase_oscillators_lock_at_the_delayed_frequency():
    omega, K, tau = 1.0, 0.3, 1.0
    net = rj.Network(
        models.Kuramoto(omega=omega),
        np.array([[0.0, 1.0], [1.0, 0.0]]),
        G=K,
        delays=np.full((2, 2), tau),
        normalize=None,
    )
    sol = rj.simulate(
        net, t1=400.0, dt=0.01, save_every=10, solver=solvers.RK4(), y0=jnp.array([[0.0], [0.3]])
    )
    ts = np.asarray(sol.ts)
    late = ts > 200
    theta = np.asarray(sol.ys[:, :, 0])
    assert np.ptp(theta[late, 1] - theta[late, 0]) < 1e-6  # in phase
    Omega_sim = np.polyfit(ts[late], theta[late, 0], 1)[0]
    Omega = brentq(lambda W: W - omega + K * np.sin(W * tau), 0.0, 2.0, xtol=1e-14)
    assert abs(Omega_sim - Omega) < 1e-5


def test_history_buffer_reproduces_the_method_of_steps():
    # x'(t) = -x(t - 1), x = 1 on [-1, 0]: a one-node network with a unit self-delay.
    node = models.DampedOscillator(alpha=0.0, omega=0.0)
    net = rj.Network(
        node,
        np.ones((1, 1)),
        delays=np.ones((1, 1)),
        G=-1.0,
        coupling=coupling.Additive(),
        normalize=None,
    )
    sol = rj.simulate(net, t1=3.0, dt=1e-3, y0=jnp.array([[1.0, 0.0]]))
    t = np.asarray(sol.ts)
    x = np.asarray(sol.ys[:, 0, 0])
    u = t - 1
    exact = np.where(
        t <= 1,
        1 - t,
        np.where(t <= 2, t**2 / 2 - 2 * t + 1.5, -0.5 - u**3 / 6 + u**2 - 1.5 * u + 2 / 3),
    )
    np.testing.assert_allclose(x, exact, atol=1e-6)
    assert abs(x[-1] - (-1 / 6)) < 1e-6  # x(3) = -1/6


# ----------------------------------------------------------------------------- vmap vs loop


def _loop_vector_field(net, y, delayed=None):
    """Plain Python loop over nodes (reference for the vmapped network)."""
    n = net.n_nodes
    W = np.asarray(net.weights)
    node_i = lambda i: jax.tree.map(lambda p: p[i] if jnp.ndim(p) == 1 else p, net.node)
    e = [complex(net.coupling.efferent(node_i(j), y[j])) for j in range(n)]
    out = []
    for i in range(n):
        if delayed is None:
            a = sum(W[i, j] * e[j] for j in range(n))
        else:
            a = sum(W[i, j] * delayed[i][j] for j in range(n))
        if isinstance(net.coupling, coupling.Sine):
            a = a * np.exp(-1j * float(net.coupling.lag))
        u = net.coupling(jnp.asarray([a]), jnp.asarray([e[i]]), jnp.asarray(W[i : i + 1]), net.G)[0]
        if not net.node.complex_input:
            u = jnp.real(u)
        out.append(np.asarray(node_i(i).vector_field(0.0, y[i], u)))
    return np.stack(out)


@pytest.mark.parametrize(
    "make",
    [
        lambda W: rj.Network(models.JansenRit(p=jnp.linspace(80.0, 300.0, 5), A=3.0), W, G=7.0),
        lambda W: rj.Network(
            models.StuartLandau(alpha=-0.1, omega=jnp.linspace(1, 2, 5)), W, G=0.4
        ),
        lambda W: rj.Network(
            models.Kuramoto(omega=jnp.linspace(1, 2, 5)), W, G=0.4, coupling=coupling.Sine(lag=0.3)
        ),
        lambda W: rj.Network(
            models.WilsonCowan(P_x=jnp.linspace(-1, 1, 5)), W, G=1.5, normalize="row"
        ),
        lambda W: rj.Network(
            models.MontbrioPazoRoxin(eta=jnp.linspace(-6, -4, 5)), W, G=2.0, normalize="max"
        ),
    ],
)
def test_vmapped_network_equals_a_loop_over_nodes(make):
    W = random_weights(5, 5, density=0.7)
    net = make(W)
    rng = np.random.default_rng(6)
    y = jnp.asarray(
        np.asarray(net.initial_state()) + rng.normal(scale=0.1, size=net.initial_state().shape)
    )
    np.testing.assert_allclose(
        net.vector_field(0.0, y, None), _loop_vector_field(net, y), rtol=1e-12, atol=1e-12
    )


@pytest.mark.parametrize("long_rows", [True, False])
@pytest.mark.parametrize("offsets", [None, (0.0, 0.25, 0.5, 1.0), (0.0, 0.7, 1.0)])
def test_delayed_coupling_equals_a_loop_with_interpolated_history(offsets, long_rows, monkeypatch):
    # offsets=None: per-edge samples (any stage offset); otherwise the sums at those stage
    # offsets are precomputed once per step from carried partial sums. Both forms of the
    # step-end sum (carried partial sum for long rows, two reads for short ones) are checked.
    monkeypatch.setattr(_delays, "_LONG_ROWS", 0 if long_rows else 10**9)
    n, dt = 4, 1e-3
    W = random_weights(n, 7, density=0.8)
    L = np.random.default_rng(8).uniform(2.0, 30.0, (n, n))
    net = rj.Network(models.JansenRit(), W, lengths=L, speed=3.0, G=5.0)
    rng = np.random.default_rng(9)
    base = np.asarray(net.initial_state())
    states = [jnp.asarray(base + rng.normal(scale=2.0, size=base.shape)) for _ in range(40)]
    history = DelayBuffer.init(net.delay_edges(dt), net.efferent(states[0]), offsets)
    for y in states[1:]:
        history = history.update(net.efferent(y))
    # Recorded signals: index k = time k*dt; before the first state, the initial signal.
    e = np.stack([np.asarray(net.efferent(y)) for y in states])
    tau = np.asarray(net.delay_matrix())
    M = len(states) - 1
    y = states[-1]
    for offset in offsets or (0.0, 0.5, 1.0):
        got = net.delayed_vector_field(0.0, y, None, history.afferent_at(offset))
        delayed = [[0.0] * n for _ in range(n)]
        for i in range(n):
            for j in range(n):
                pos = M + offset - tau[i, j] / dt  # continuous sample index of t - tau
                delayed[i][j] = np.interp(pos, np.arange(M + 1), e[:, j], left=e[0, j])
        np.testing.assert_allclose(got, _loop_vector_field(net, y, delayed), rtol=1e-10, atol=1e-8)


def test_engine_learns_the_fixed_solvers_stage_offsets():
    from rosetta_jax.engine._fixed import _stage_offsets

    class Ralston3(solvers.AbstractFixedSolver):
        def order(self, terms):
            return 3

        def fixed_step(self, f, t0, y0, dt):
            k1 = f(0.0, y0)
            k2 = f(0.5, y0 + 0.5 * dt * k1)
            k3 = f(0.75, y0 + 0.75 * dt * k2)
            return y0 + dt * (2 * k1 + 3 * k2 + 4 * k3) / 9

    class Outside(solvers.AbstractFixedSolver):
        def order(self, terms):
            return 1

        def fixed_step(self, f, t0, y0, dt):
            return y0 + dt * f(1.5, y0)

    y0 = jnp.zeros((3, 2))
    assert _stage_offsets(solvers.Euler(), y0, 0.1) == (0.0,)
    assert _stage_offsets(solvers.Heun(), y0, 0.1) == (0.0, 1.0)
    assert _stage_offsets(solvers.RK4(), y0, 0.1) == (0.0, 0.5, 1.0)
    assert _stage_offsets(Ralston3(), y0, 0.1) == (0.0, 0.5, 0.75)
    assert _stage_offsets(Outside(), y0, 0.1) is None


@pytest.mark.parametrize("solver", [solvers.Euler(), solvers.Heun(), solvers.RK4()])
def test_precomputed_stage_sums_equal_per_edge_interpolation_in_a_run(solver, monkeypatch):
    # The engine passes the solver's stage offsets to the delay history, which then carries
    # partial sums; without them (as for diffrax solvers) it interpolates per edge.
    W = random_weights(6, 11, density=0.7)
    L = np.random.default_rng(12).uniform(2.0, 40.0, (6, 6))
    net = rj.Network(models.JansenRit(), W, lengths=L, speed=3.0, G=5.0)
    run = lambda: (
        rj.simulate(
            net,
            t1=0.2,
            dt=1e-4,
            solver=solver,
            noise=noise.Additive(2.0),
            key=jr.key(3),
            save_every=5,
        ).observed
    )
    fast = run()
    monkeypatch.setattr(_fixed, "_stage_offsets", lambda *a: None)
    jax.clear_caches()
    general = run()
    jax.clear_caches()
    np.testing.assert_allclose(fast, general, rtol=1e-12, atol=1e-9)
    assert float(jnp.std(fast)) > 0.1


def test_uncoupled_network_with_regional_parameters_equals_single_node_runs():
    ps = jnp.array([90.0, 150.0, 220.0])
    net = rj.Network(models.JansenRit(p=ps), random_weights(3, 10), G=0.0)
    sol = rj.simulate(net, t1=0.5, dt=1e-4, save_every=10)
    for i, p in enumerate(ps):
        single = rj.simulate(models.JansenRit(p=p), t1=0.5, dt=1e-4, save_every=10)
        np.testing.assert_allclose(sol.observed[:, i], single.observed, rtol=1e-12, atol=1e-12)


def test_spatial_forcing_and_per_node_noise():
    n = 3
    net = rj.Network(models.JansenRit(), random_weights(n, 11), G=0.0)
    drive = forcing.Sinusoid(amplitude=50.0, frequency=10.0) * jnp.array([1.0, 0.0, 0.0])
    free = rj.simulate(net, t1=0.3, dt=1e-4)
    driven = rj.simulate(net, t1=0.3, dt=1e-4, forcing=drive)
    assert not np.allclose(driven.observed[:, 0], free.observed[:, 0])
    np.testing.assert_allclose(driven.observed[:, 1:], free.observed[:, 1:], rtol=1e-12)
    noisy = rj.simulate(
        net, t1=0.3, dt=1e-4, key=jr.key(0), noise=noise.Additive(jnp.array([0.0, 5.0, 0.0]))
    )
    np.testing.assert_allclose(noisy.observed[:, 0], free.observed[:, 0], rtol=1e-12)
    assert not np.allclose(noisy.observed[:, 1], free.observed[:, 1])


# ----------------------------------------------------------------------------- normalisation


def test_normalisations():
    W = random_weights(6, 12, density=0.6)
    node = models.JansenRit()
    assert np.isclose(np.max(np.abs(np.linalg.eigvals(rj.Network(node, W).weights))), 1.0)
    np.testing.assert_allclose(rj.Network(node, W, normalize="row").weights.sum(axis=1), 1.0)
    assert np.isclose(float(rj.Network(node, W, normalize="max").weights.max()), 1.0)
    np.testing.assert_array_equal(rj.Network(node, W, normalize=None).weights, W)
    traced = jax.jit(lambda W: rj.network.spectral_radius(W))(jnp.asarray(W))
    np.testing.assert_allclose(traced, np.max(np.abs(np.linalg.eigvals(W))), rtol=1e-8)


# ----------------------------------------------------------------------------- gradients


def test_gradients_through_delays_match_central_differences():
    n = 3
    W = random_weights(n, 13)
    L = np.random.default_rng(14).uniform(20.0, 60.0, (n, n))
    key = jr.key(5)

    def loss(params):
        speed, G, p = params
        net = rj.Network(models.JansenRit(p=p), W, lengths=L, speed=speed, G=G, max_delay=0.05)
        sol = rj.simulate(net, t1=0.2, dt=1e-4, save_every=10, key=key, noise=noise.Additive(2.0))
        return jnp.mean(sol.observed**2)

    x = (5.0, 20.0, 200.0)
    grads = jax.grad(loss)(x)
    for k, h in enumerate((1e-4, 1e-4, 1e-3)):
        up = list(x)
        up[k] += h
        dn = list(x)
        dn[k] -= h
        fd = (loss(tuple(up)) - loss(tuple(dn))) / (2 * h)
        np.testing.assert_allclose(grads[k], fd, rtol=1e-5, atol=1e-10)
    assert abs(float(grads[0])) > 0  # the speed matters


def test_network_parameters_do_not_retrace():
    W = random_weights(4, 15)
    L = np.random.default_rng(16).uniform(10.0, 50.0, (4, 4))
    run = jax.jit(lambda net: rj.simulate(net, t1=0.05, dt=1e-4).observed)
    import equinox as eqx

    counted = eqx.filter_jit(
        eqx.debug.assert_max_traces(
            lambda net: rj.simulate(net, t1=0.05, dt=1e-4).observed, max_traces=1
        )
    )
    counted(rj.Network(models.JansenRit(), W, lengths=L, speed=5.0, G=3.0, max_delay=0.02))
    counted(rj.Network(models.JansenRit(p=150.0), W, lengths=L, speed=6.0, G=4.0, max_delay=0.02))
    del run


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(weights=np.ones((3, 2))), ValueError, "square"),
        (dict(weights=-np.ones((3, 3))), ValueError, "`weights` must be >= 0"),
        (dict(weights=np.full((3, 3), np.nan)), ValueError, "weights contains NaN"),
        (
            dict(lengths=np.ones((2, 2)), speed=5.0),
            ValueError,
            r"`lengths` must have shape \(3, 3\)",
        ),
        (dict(lengths=-np.ones((3, 3)), speed=5.0), ValueError, "`lengths` must be >= 0"),
        (dict(lengths=np.full((3, 3), np.nan), speed=5.0), ValueError, "lengths contains NaN"),
        (dict(lengths=np.ones((3, 3))), ValueError, "needs a conduction `speed`"),
        (dict(lengths=np.ones((3, 3)), speed=0.0), ValueError, "`speed` must be a positive"),
        (dict(speed=5.0), ValueError, "without `lengths`"),
        (dict(normalize="sum"), ValueError, "`normalize` must be a connectome normalisation"),
        (dict(G=np.ones(3)), ValueError, "`G` must be a scalar"),
        (dict(node=models.JansenRit(p=jnp.ones(4))), ValueError, r"shape \(3,\) \(one value per"),
        (
            dict(node=models.StuartLandau(), lengths=np.ones((3, 3)), speed=5.0),
            ValueError,
            "dimensionless time",
        ),
        (
            dict(lengths=np.ones((3, 3)), speed=5.0, delays=np.ones((3, 3))),
            ValueError,
            "either `lengths`",
        ),
        (dict(coupling="diffusive"), TypeError, "must be a rosetta_jax.coupling object"),
    ],
)
def test_bad_network_arguments(kwargs, error, match):
    args = dict(node=models.JansenRit(), weights=random_weights(3, 17))
    args.update(kwargs)
    node, weights = args.pop("node"), args.pop("weights")
    with pytest.raises(error, match=match):
        rj.Network(node, weights, **args)


def test_dt_larger_than_the_smallest_delay_is_refused():
    W = random_weights(3, 18)
    L = np.full((3, 3), 10.0)  # 10 mm at 5 m/s = 2 ms
    net = rj.Network(models.JansenRit(), W, lengths=L, speed=5.0)
    with pytest.raises(ValueError, match="exceeds the smallest non-zero conduction delay"):
        rj.simulate(net, t1=0.1, dt=5e-3)
    with pytest.raises(ValueError, match="fixed-step engine"):
        import diffrax as dfx

        rj.simulate(
            net, t1=0.1, dt=1e-4, stepsize_controller=dfx.PIDController(rtol=1e-5, atol=1e-5)
        )
    slower = eqx_tree_at_speed(net, 2.0)
    with pytest.raises(ValueError, match="buffer capacity"):
        rj.simulate(slower, t1=0.1, dt=1e-4)
    with pytest.raises(ValueError, match="one value per node"):
        rj.simulate(net, t1=0.1, dt=1e-4, noise=noise.Additive(jnp.ones(4)), key=jr.key(0))


def eqx_tree_at_speed(net, speed):
    import equinox as eqx

    return eqx.tree_at(lambda m: m.speed, net, jnp.asarray(speed))
