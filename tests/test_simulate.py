"""The `simulate` engine: convergence order, jit/vmap/grad, no retracing, noise statistics,
forcing, metadata, and a clear error for each bad input."""

from typing import ClassVar

import diffrax as dfx
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
from helpers import count_compilations

import rosetta_jax as rj
from rosetta_jax import forcing, models, noise, solvers
from rosetta_jax.engine import _fixed
from rosetta_jax.models import AbstractModel


# ----------------------------------------------------------------------------- accuracy


@pytest.mark.parametrize(
    "solver, order", [(solvers.Euler(), 1), (solvers.Heun(), 2), (solvers.RK4(), 4)]
)
def test_fixed_step_convergence_order_on_the_damped_oscillator(solver, order):
    alpha, omega, T = -0.5, 3.0, 4.0
    m = models.DampedOscillator(alpha=alpha, omega=omega)
    exact = np.exp(alpha * T) * np.array([np.cos(omega * T), np.sin(omega * T)])
    dts = np.array([0.01, 0.005, 0.0025, 0.00125])
    errors = [
        np.linalg.norm(
            np.asarray(rj.simulate(m, t1=T, dt=float(dt), solver=solver).y_final) - exact
        )
        for dt in dts
    ]
    slope = np.polyfit(np.log(dts), np.log(errors), 1)[0]
    assert abs(slope - order) < 0.1, (slope, errors)


def test_stock_diffrax_solver_in_the_fixed_step_loop_matches_ours():
    m = models.JansenRit()
    ours = rj.simulate(m, t1=0.5, dt=1e-4, solver=solvers.Heun()).ys
    stock = rj.simulate(m, t1=0.5, dt=1e-4, solver=dfx.Heun()).ys
    np.testing.assert_allclose(ours, stock, rtol=1e-9, atol=1e-9)  # same maths, other rounding
    tsit = rj.simulate(m, t1=0.5, dt=1e-4, solver=dfx.Tsit5()).ys
    rk4 = rj.simulate(m, t1=0.5, dt=1e-4, solver=solvers.RK4()).ys
    np.testing.assert_allclose(tsit, rk4, rtol=1e-7, atol=1e-7)


def test_our_solvers_work_inside_diffeqsolve():
    m = models.DampedOscillator(alpha=-0.2, omega=2.0)
    sol = dfx.diffeqsolve(
        dfx.ODETerm(m.vector_field), solvers.RK4(), 0.0, 2.0, 0.01, jnp.array([1.0, 0.0]), args=None
    )
    ours = rj.simulate(m, t1=2.0, dt=0.01, solver=solvers.RK4()).y_final
    np.testing.assert_allclose(sol.ys[-1], ours, rtol=1e-13)


def test_adaptive_and_fixed_paths_agree():
    m = models.WilsonCowan()
    fixed = rj.simulate(m, t1=30.0, dt=0.001, save_every=100, solver=solvers.RK4())
    adaptive = rj.simulate(
        m,
        t1=30.0,
        dt=0.001,
        save_every=100,
        stepsize_controller=dfx.PIDController(rtol=1e-10, atol=1e-12),
    )
    np.testing.assert_allclose(fixed.ts, adaptive.ts, rtol=1e-13)
    np.testing.assert_allclose(fixed.ys, adaptive.ys, atol=1e-8)
    np.testing.assert_allclose(adaptive.y_final, adaptive.ys[-1], atol=1e-12)


def test_save_every_decimates_inside_the_loop():
    m = models.JansenRit()
    full = rj.simulate(m, t1=0.2, dt=1e-4)
    dec = rj.simulate(m, t1=0.2, dt=1e-4, save_every=10)
    assert full.observed.shape == (2000,) and dec.observed.shape == (200,)
    np.testing.assert_allclose(dec.observed, full.observed[9::10], rtol=1e-13)
    np.testing.assert_allclose(dec.ts, full.ts[9::10], rtol=1e-13)
    np.testing.assert_allclose(dec.ts[0], 1e-3)
    assert dec.sampling_rate == pytest.approx(1000.0)
    light = rj.simulate(m, t1=0.2, dt=1e-4, save_every=10, save_state=False)
    assert light.ys is None
    np.testing.assert_array_equal(light.observed, dec.observed)
    np.testing.assert_array_equal(light.y_final, dec.y_final)


# ----------------------------------------------------------------------------- transforms


def test_new_parameter_values_do_not_retrace():
    def run(m):
        return rj.simulate(m, t1=0.1, dt=1e-4, save_every=10).observed

    counted = eqx.filter_jit(eqx.debug.assert_max_traces(run, max_traces=1))
    counted(models.JansenRit(p=120.0))
    counted(models.JansenRit(p=220.0, A=3.0))
    # The engine itself compiles once for both values, even when called eagerly.
    with count_compilations() as first:
        rj.simulate(models.WilsonCowan(P_x=0.3), t1=1.0, dt=0.01)
    with count_compilations() as later:
        rj.simulate(models.WilsonCowan(P_x=-0.7, tau_x=2.0), t1=1.0, dt=0.01)
        rj.simulate(models.WilsonCowan(P_x=1.1), t1=1.0, dt=0.01, y0=jnp.array([0.2, 0.3]))
    assert len(first) >= 1 and len(later) == 0


def test_vmap_over_parameters_equals_separate_runs():
    ps = jnp.array([90.0, 150.0, 220.0, 300.0])
    key = jr.key(3)

    def run(p):
        return rj.simulate(
            models.JansenRit(p=p),
            t1=0.5,
            dt=1e-4,
            save_every=10,
            noise=noise.Additive(20.0),
            key=key,
        ).observed

    batched = jax.vmap(run)(ps)
    for i, p in enumerate(ps):
        np.testing.assert_allclose(batched[i], run(p), rtol=1e-12, atol=1e-12)


def test_vmap_over_keys_gives_independent_realisations():
    run = lambda k: (
        rj.simulate(
            models.JansenRit(), t1=0.2, dt=1e-4, noise=noise.Additive(50.0), key=k, save_every=10
        ).observed
    )
    obs = jax.vmap(run)(jr.split(jr.key(0), 3))
    assert not np.allclose(obs[0], obs[1])
    np.testing.assert_array_equal(run(jr.key(5)), run(jr.key(5)))  # same key, same result
    legacy = rj.simulate(
        models.JansenRit(),
        t1=0.2,
        dt=1e-4,
        noise=noise.Additive(50.0),
        key=jr.PRNGKey(5),
        save_every=10,
    ).observed
    assert legacy.shape == (200,)


def test_jit_matches_eager():
    m = models.MontbrioPazoRoxin()
    f = eqx.filter_jit(lambda m: rj.simulate(m, t1=50.0, dt=0.01).ys)
    np.testing.assert_allclose(f(m), rj.simulate(m, t1=50.0, dt=0.01).ys, rtol=1e-14)


def test_gradient_through_the_adaptive_path_is_exact():
    # x(T) = e^{alpha T} cos(omega T): d x / d alpha = T x(T).
    T, omega = 3.0, 2.0

    def x_end(alpha):
        m = models.DampedOscillator(alpha=alpha, omega=omega)
        return rj.simulate(
            m,
            t1=T,
            dt=0.01,
            solver=dfx.Tsit5(),
            stepsize_controller=dfx.PIDController(rtol=1e-12, atol=1e-12),
        ).y_final[0]

    alpha = -0.3
    g = jax.grad(x_end)(alpha)
    np.testing.assert_allclose(g, T * np.exp(alpha * T) * np.cos(omega * T), rtol=1e-8)


def test_gradient_through_a_noisy_fixed_step_run_matches_central_differences():
    key = jr.key(11)

    def loss(p):
        sol = rj.simulate(
            models.JansenRit(p=p),
            t1=0.3,
            dt=1e-4,
            save_every=10,
            noise=noise.Additive(30.0),
            key=key,
        )
        return jnp.mean(sol.observed**2)

    p, h = 180.0, 1e-3
    g = jax.grad(loss)(p)
    fd = (loss(p + h) - loss(p - h)) / (2 * h)
    np.testing.assert_allclose(g, fd, rtol=1e-6)
    g_sigma = jax.grad(
        lambda s: jnp.mean(
            rj.simulate(
                models.JansenRit(), t1=0.1, dt=1e-4, noise=noise.Additive(s), key=key
            ).observed
        )
    )(30.0)
    assert np.isfinite(g_sigma)


# ----------------------------------------------------------------------------- noise


class _Integrator(AbstractModel):
    """y' = u: integrates whatever enters the input channel."""

    state_names: ClassVar[tuple[str, ...]] = ("y",)

    def vector_field(self, t, y, args):
        return jnp.zeros_like(y) + (0.0 if args is None else args)

    def initial_state(self):
        return jnp.zeros(1)

    def observe(self, y):
        return y[0]


def test_additive_white_noise_has_intensity_sigma_squared():
    sigma, T = 0.7, 2.0
    run = lambda k: rj.simulate(
        _Integrator(), t1=T, dt=0.01, noise=noise.Additive(sigma), key=k
    ).y_final[0]
    ends = np.asarray(jax.vmap(run)(jr.split(jr.key(1), 4000)))
    np.testing.assert_allclose(np.var(ends), sigma**2 * T, rtol=0.06)
    assert abs(np.mean(ends)) < 4 * sigma * np.sqrt(T / 4000)


def test_ornstein_uhlenbeck_stationary_std_and_correlation_time():
    sigma, tau, mean, dt = 0.5, 0.2, 1.5, 0.001
    run = lambda k: (
        rj.simulate(
            _Integrator(), t1=200.0, dt=dt, key=k, noise=noise.OrnsteinUhlenbeck(sigma, tau, mean)
        ).observed
    )
    obs = np.asarray(jax.vmap(run)(jr.split(jr.key(2), 8)))  # 8 x 1000 correlation times
    eta = np.diff(obs, axis=1, prepend=0.0) / dt  # the step-averaged eta
    np.testing.assert_allclose(np.mean(eta), mean, atol=0.02)
    np.testing.assert_allclose(np.std(eta), sigma, rtol=0.03)
    x = eta - eta.mean()
    lag = int(tau / dt)
    rho = np.mean(x[:, :-lag] * x[:, lag:]) / np.var(x)
    np.testing.assert_allclose(rho, np.exp(-1.0), atol=0.03)


# (model, index of the state that receives white noise, its coefficient c: d(state) gets
# c * xi dt with xi dt = sigma dW), from each model's documented equations. Parameters off their
# defaults, so that a coefficient built from the wrong parameter shows.
NOISE_CHANNELS = [
    # Jansen-Rit: noise adds to the input rate p in y4' = A a (p + ...) - ...: c = A a.
    ("JansenRit", models.JansenRit(A=4.0, a=90.0), 1e-4, 4, 4.0 * 90.0),
    # Wilson-Cowan: added to the E equation, x' += xi / tau_x.
    ("WilsonCowan", models.WilsonCowan(tau_x=2.5), 1e-3, 0, 1 / 2.5),
    # E-I motif: a presynaptic rate on the E synapse, x'' += gamma_x xi / tau_x^2.
    ("EIMotif", models.EIMotif(gamma_x=3.0, tau_x=0.02), 1e-5, 2, 3.0 / 0.02**2),
    # Master NMM: added to the rate equation, r' += xi / tau_m.
    ("MasterNMM", models.MasterNMM(tau_m=0.5), 1e-3, 0, 1 / 0.5),
]


@pytest.mark.parametrize(
    "model, dt, index, c", [n[1:] for n in NOISE_CHANNELS], ids=[n[0] for n in NOISE_CHANNELS]
)
def test_white_noise_magnitude_in_each_model_class(model, dt, index, c):
    # One Euler step from a fixed state: y1 = y0 + f(y0) dt + c sigma sqrt(dt) Z, Z ~ N(0, 1), so
    # over keys the noisy component has variance (c sigma)^2 dt and every other one none.
    sigma, n = 2.0, 20_000
    y0 = model.initial_state()
    step = lambda k: (
        rj.simulate(
            model, t1=dt, dt=dt, y0=y0, noise=noise.Additive(sigma), key=k, solver=solvers.Euler()
        ).y_final
    )
    y1 = np.asarray(jax.vmap(step)(jr.split(jr.key(4), n)))
    var = np.var(y1[:, index])
    # The sample variance of n normal draws has relative standard deviation sqrt(2 / (n - 1))
    # = 1.0 %: 5 of those (5 %) make a false failure a 1-in-a-million event, while a coefficient
    # off by a parameter (e.g. 1/tau_x missing: x6.25; sqrt(dt) for dt: x1e3) fails by far.
    assert abs(var / ((c * sigma) ** 2 * dt) - 1) < 5 * np.sqrt(2 / (n - 1))
    # Normal increments: the standardised fourth moment is 3, with standard error
    # sqrt((105 - 9) / n) = 0.07; 6 of those (uniform draws would give 1.8).
    z = (y1[:, index] - y1[:, index].mean()) / np.sqrt(var)
    assert abs(np.mean(z**4) - 3) < 6 * np.sqrt(96 / n)
    others = np.delete(y1, index, axis=1)
    assert np.all(np.ptp(others, axis=0) == 0)  # the noise goes to that state only


# ----------------------------------------------------------------------------- forcing


def test_forcing_values():
    t = jnp.linspace(0.0, 1.0, 101)
    c = forcing.Constant(2.0, t_on=0.2, t_off=0.5)
    np.testing.assert_array_equal(c(t), np.where((t >= 0.2) & (t < 0.5), 2.0, 0.0))
    s = forcing.Sinusoid(amplitude=1.5, frequency=3.0, phase=0.4)
    np.testing.assert_allclose(s(t), 1.5 * np.sin(2 * np.pi * 3.0 * t + 0.4), rtol=1e-14)
    a = forcing.Sinusoid(amplitude=1.5, frequency=3.0, analytic=True)
    np.testing.assert_allclose(a(t), 1.5 * np.exp(2j * np.pi * 3.0 * t), rtol=1e-14)
    p = forcing.PulseTrain(amplitude=4.0, period=0.25, width=0.05, t_on=0.1, n_pulses=2)
    expected = np.where(((t >= 0.1) & (t < 0.15)) | ((t >= 0.35) & (t < 0.4)), 4.0, 0.0)
    np.testing.assert_array_equal(p(t + 1e-9), expected)  # off the float boundaries
    total = c + s + 1.0
    np.testing.assert_allclose(total(t), c(t) + s(t) + 1.0, rtol=1e-14)
    scaled = s * jnp.array([1.0, -2.0, 0.0])
    np.testing.assert_allclose(scaled(0.3), np.array([1.0, -2.0, 0.0]) * float(s(0.3)))


def test_interpolated_forcing_reproduces_a_sinusoid():
    ts = jnp.linspace(0.0, 50.0, 200001)
    drive = forcing.Sinusoid(amplitude=0.3, frequency=0.4)
    sampled = forcing.Interpolated(ts, drive(ts))
    m = models.DampedOscillator(alpha=-0.3, omega=2.0)
    a = rj.simulate(m, t1=50.0, dt=0.01, forcing=drive).ys
    b = rj.simulate(m, t1=50.0, dt=0.01, forcing=sampled).ys
    np.testing.assert_allclose(a, b, atol=1e-7)
    assert float(sampled(60.0)) == 0.0  # zero outside the samples
    two = forcing.Interpolated(jnp.array([0.0, 1.0]), jnp.array([[0.0, 1.0], [2.0, 3.0]]))
    np.testing.assert_allclose(two(0.25), [0.5, 1.5])


def test_forcing_parameters_are_differentiable():
    def response(amplitude):
        drive = forcing.Sinusoid(amplitude=amplitude, frequency=2.0 / (2 * np.pi), analytic=True)
        sol = rj.simulate(
            models.DampedOscillator(alpha=-0.5, omega=2.0),
            t1=40.0,
            dt=0.01,
            forcing=drive,
            solver=solvers.RK4(),
        )
        return jnp.linalg.norm(sol.y_final)

    # Linear response at resonance: |z| = A / |alpha|, so d|z|/dA = 2.
    np.testing.assert_allclose(jax.grad(response)(0.1), 2.0, rtol=1e-6)


# ----------------------------------------------------------------------------- results


def test_solution_carries_provenance():
    sol = rj.simulate(
        models.JansenRit(p=123.0),
        t1=0.1,
        dt=1e-4,
        save_every=5,
        noise=noise.Additive(1.0),
        key=jr.key(0),
    )
    meta = sol.meta
    assert meta["dt"] == 1e-4 and meta["save_every"] == 5 and meta["solver"] == "Heun"
    assert meta["time_unit"] == "s" and meta["model"] == "JansenRit" and meta["noise"] == "Additive"
    assert dict(meta["versions"])["rosetta_jax"] == rj.__version__
    assert float(sol.model.p) == 123.0
    np.testing.assert_array_equal(sol.state("y1") - sol.state("y2"), sol.observed)
    with pytest.raises(KeyError, match="No state named"):
        sol.state("v")
    assert bool(sol.success)


# ----------------------------------------------------------------------------- errors


def test_blow_up_is_reported_not_returned():
    m = models.DampedOscillator(alpha=60.0)
    with pytest.raises(rj.SimulationDivergedError, match="blew up .* by t ="):
        rj.simulate(m, t1=20.0, dt=0.01)
    sol = rj.simulate(m, t1=20.0, dt=0.01, throw=False)
    assert not bool(sol.success)
    with pytest.raises(Exception, match="blew up"):
        eqx.filter_jit(lambda m: rj.simulate(m, t1=20.0, dt=0.01).observed)(m)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(t1=1.0, dt=0.0), ValueError, "`dt` must be > 0"),
        (dict(t1=1.0, dt=-0.1), ValueError, "`dt` must be > 0"),
        (dict(t1=0.0, dt=0.01), ValueError, "`t1` must be greater than `t0`"),
        (dict(t1=1.0, t0=2.0, dt=0.01), ValueError, "`t1` must be greater than `t0`"),
        (dict(t1=1.0, dt=0.3), ValueError, "whole number of steps"),
        (dict(t1=1.0, dt=0.01, save_every=7), ValueError, "must divide the number of steps"),
        (dict(t1=1.0, dt=0.01, save_every=0), ValueError, "positive integer"),
        (dict(t1=1.0, dt=0.01, y0=jnp.zeros(3)), ValueError, r"`y0` must have shape \(2,\)"),
        (dict(t1=1.0, dt=0.01, y0=jnp.array([jnp.nan, 0.0])), ValueError, "y0 contains NaN"),
        (
            dict(t1=1.0, dt=0.01, noise=noise.Additive(0.1)),
            ValueError,
            "needs an explicit PRNG key",
        ),
        (
            dict(
                t1=1.0,
                dt=0.01,
                noise=noise.OrnsteinUhlenbeck(0.1, 0.5),
                key=jr.key(0),
                stepsize_controller=dfx.PIDController(rtol=1e-6, atol=1e-6),
            ),
            ValueError,
            "coloured noise needs the fixed-step path",
        ),
        (dict(t1=1.0, dt=0.01, solver="heun"), TypeError, "must be a solver object"),
        (dict(t1=1.0, dt=0.01, noise=0.1), TypeError, "`noise` must be"),
        (dict(t1=1.0, dt=0.01, forcing=lambda t: t), TypeError, "`forcing` must be"),
        (
            dict(t1=1.0, dt=0.01, noise=noise.Additive(jnp.ones(3)), key=jr.key(0)),
            ValueError,
            "takes input of shape",
        ),
        (dict(t1=jnp.inf, dt=0.01), ValueError, "`t1` must be finite"),
    ],
)
def test_bad_simulate_arguments_raise_clear_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        rj.simulate(models.WilsonCowan(), **kwargs)


def test_complex_forcing_is_refused_by_real_input_models():
    drive = forcing.Sinusoid(amplitude=1.0, frequency=1.0, analytic=True)
    with pytest.raises(TypeError, match="complex forcing"):
        rj.simulate(models.JansenRit(), t1=0.1, dt=1e-4, forcing=drive)


def test_non_model_is_refused():
    with pytest.raises(TypeError, match="`model` must be a rosetta_jax model"):
        rj.simulate(lambda t, y: y, t1=1.0, dt=0.1)


def test_traced_end_time_is_refused():
    with pytest.raises(TypeError, match="must be a Python number"):
        jax.jit(lambda t1: rj.simulate(models.WilsonCowan(), t1=t1, dt=0.1).observed)(1.0)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: models.JansenRit(a=-100.0), r"JansenRit.a must be > 0"),
        (lambda: models.JansenRit(p=jnp.nan), r"JansenRit.p contains NaN"),
        (lambda: models.WilsonCowan(tau_x=0.0), r"WilsonCowan.tau_x must be > 0"),
        (lambda: models.MontbrioPazoRoxin(tau=-1.0), r"MontbrioPazoRoxin.tau must be > 0"),
        (lambda: models.ING(Delta=0.0), r"ING.Delta must be > 0"),
        (lambda: models.Kuramoto(omega=jnp.ones((2, 2))), "scalar or a 1-D array"),
        (lambda: models.LaNMM(a_GABA_fast=0.0), "LaNMM.a_GABA_fast must be > 0"),
        (lambda: noise.OrnsteinUhlenbeck(1.0, tau=0.0), "OrnsteinUhlenbeck.tau must be > 0"),
        (lambda: noise.Additive(-1.0), "Additive.sigma must be >= 0"),
        (lambda: forcing.PulseTrain(1.0, period=0.1, width=0.2), "must not exceed"),
        (lambda: forcing.PulseTrain(1.0, period=0.0, width=0.0), "PulseTrain.period must be > 0"),
        (
            lambda: forcing.Interpolated(jnp.array([0.0, 0.0, 1.0]), jnp.zeros(3)),
            "strictly increasing",
        ),
        (lambda: forcing.Interpolated(jnp.array([0.0, 1.0]), jnp.zeros(3)), "first axis"),
        (lambda: forcing.Sinusoid(1.0, frequency=-2.0), "frequency must be >= 0"),
    ],
)
def test_bad_parameters_raise_clear_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_nan_parameter_set_after_construction_is_caught_by_simulate():
    m = eqx.tree_at(lambda m: m.p, models.JansenRit(), jnp.nan)
    with pytest.raises(ValueError, match="JansenRit.p contains NaN"):
        rj.simulate(m, t1=0.1, dt=1e-4)


def _delay_net_loss():
    """A 3-node Jansen-Rit network with conduction delays, and the mean square of its noisy
    output as a function of (G, p, checkpoint, t1)."""
    dk_w = jnp.asarray(np.random.default_rng(0).uniform(0, 1, (3, 3)))
    net = rj.Network(
        models.JansenRit(p=jnp.array([100.0, 120.0, 140.0])),
        dk_w,
        G=5.0,
        lengths=jnp.full((3, 3), 20.0),
        speed=10.0,
    )

    def loss(G, p, checkpoint, t1=0.2):
        m = eqx.tree_at(lambda m: (m.G, m.node.p), net, (G, p))
        sol = rj.simulate(
            m,
            t1=t1,
            dt=1e-4,
            save_every=10,
            noise=noise.Additive(20.0),
            key=jr.key(3),
            save_state=False,
            checkpoint=checkpoint,
        )
        return jnp.mean(sol.observed**2)

    return net, loss


# 20-55 s: in the slow target (the default run's 15-minute budget on 2 cores).
@pytest.mark.slow
def test_checkpointed_gradients_equal_plain_ones(monkeypatch):
    net, loss = _delay_net_loss()
    p = net.node.p
    vg = jax.value_and_grad(loss, argnums=(0, 1))
    # (checkpoint=None gives the plain program for this short run: asserted, without running it,
    # in test_automatic_checkpointing_follows_the_run_size.)
    out = {ck: vg(5.0, p, ck) for ck in (False, True)}
    value, (g_G, g_p) = out[False]
    assert np.all(np.abs(g_p) > 0)
    # Independently of every backward pass: central differences of the value with the same
    # noise (a smooth function of the parameters). Truncation error O(h^2): 2e-10 relative for
    # G at h = 1e-3 and 3e-7 for p at h = 1e-2 (halving h shrinks both fourfold).
    f = lambda G, p: vg(G, p, False)[0]
    h = 1e-3
    np.testing.assert_allclose(g_G, (f(5.0 + h, p) - f(5.0 - h, p)) / (2 * h), rtol=1e-7)
    e = 1e-2 * np.eye(3)
    fd_p = [(f(5.0, p + e[i]) - f(5.0, p - e[i])) / 2e-2 for i in range(3)]
    np.testing.assert_allclose(g_p, fd_p, rtol=1e-5)
    # The second (segment) level of checkpointing, forced by a zero carry budget. Compiled
    # programs are cached by their arguments, not by this module constant: clear the caches
    # before (else the level-1 program is reused) and after (else later tests get level 2).
    with monkeypatch.context() as mp:
        mp.setattr(_fixed, "_CARRY_BYTES", 0)
        jax.clear_caches()
        out["segments"] = vg(5.0, p, True)
    jax.clear_caches()
    for ck in (True, "segments"):
        # The forward pass is the same computation whatever the rematerialisation.
        np.testing.assert_allclose(out[ck][0], value, rtol=1e-13)
        np.testing.assert_allclose(out[ck][1][0], g_G, rtol=1e-9)
        np.testing.assert_allclose(out[ck][1][1], g_p, rtol=1e-9)


def test_automatic_checkpointing_follows_the_run_size():
    state = (jnp.zeros((68, 6), jnp.float32), None, None, None)
    # 2 s of a 68-node JR network at dt = 0.1 ms: ~25 MiB of intermediates, no remat.
    assert _fixed._remat_levels(None, 20_000, state, 10_000) == 0
    # 60 s: ~390 MiB without remat, so blocks are checkpointed; their carries are small.
    assert _fixed._remat_levels(None, 600_000, state, 20_000) == 1
    # A 2000-step delay buffer per block carry adds the segment level.
    big = state[:3] + (jnp.zeros((2000, 68), jnp.float32),)
    assert _fixed._remat_levels(None, 600_000, big, 20_000) == 2
    assert _fixed._remat_levels(False, 600_000, big, 20_000) == 0
    assert _fixed._remat_levels(True, 10, state, 5) == 1
    # Through `simulate`: with checkpoint=None the gradient's program (traced, not run) is the
    # plain one for a short run and the checkpointed one for a long run, as documented ("on when
    # a plain backward pass would store more than about 256 MiB"). A plain backward pass stores
    # at least one state per step: 2e6 steps x 18 float64 = 288 MB > 256 MiB for 200 s, while
    # 2000 steps store under 30 MB even at 100 states per step.
    net, loss = _delay_net_loss()
    grad_program = lambda ck, t1: str(
        jax.make_jaxpr(lambda G: jax.grad(loss)(G, net.node.p, ck, t1))(5.0)
    )
    # (Rematerialisation is the only thing checkpoint=True/False changes in the program.)
    assert grad_program(None, 0.2) == grad_program(False, 0.2)
    assert grad_program(None, 200.0) != grad_program(False, 200.0)
