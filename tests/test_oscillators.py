"""Rungs 0-2 against closed forms (Castaldo et al. 2026, sections 2-3), nesting, Jacobians."""

from typing import ClassVar

import diffrax as dfx
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
from helpers import mean_frequency, unwrapped_phase_rate

import rosetta_jax as rj
from rosetta_jax import forcing, models, noise, solvers
from rosetta_jax.models import AbstractModel


TIGHT = dict(solver=dfx.Dopri8(), stepsize_controller=dfx.PIDController(rtol=1e-12, atol=1e-13))


def complex_state(sol):
    return np.asarray(sol.ys[:, 0]) + 1j * np.asarray(sol.ys[:, 1])


def test_harmonic_oscillator_conserves_radius_over_100_periods():
    omega = 2.0
    period = 2 * np.pi / omega
    sol = rj.simulate(
        models.HarmonicOscillator(omega=omega),
        t1=100 * period,
        dt=period / 100,
        y0=jnp.array([0.6, -0.8]),
        **TIGHT,
    )
    z = complex_state(sol)
    assert np.max(np.abs(np.abs(z) - 1.0)) < 1e-6
    exact = (0.6 - 0.8j) * np.exp(1j * omega * np.asarray(sol.ts))
    np.testing.assert_allclose(z, exact, atol=1e-6)


@pytest.mark.parametrize("F", [0.3 + 0.0j, 0.2 - 0.5j])
def test_harmonic_oscillator_dc_shift_centre(F):  # paper erratum E1 (docs/models.md)
    omega = 1.5
    period = 2 * np.pi / omega
    sol = rj.simulate(
        models.HarmonicOscillator(omega=omega),
        t1=10 * period,
        dt=period / 200,
        forcing=forcing.Constant(F),
        **TIGHT,
    )
    # Uniform samples over whole periods: the sample mean is the time average.
    centre = np.mean(np.asarray(sol.ys), axis=0)
    expected = np.array([-F.imag / omega, F.real / omega])
    np.testing.assert_allclose(centre, expected, atol=1e-6)
    # The paper's printed centre (-F_x/omega, 0) is wrong whenever F_x != 0.
    assert np.linalg.norm(centre - np.array([-F.real / omega, 0.0])) > 0.1


def test_damped_oscillator_decay_rate_and_phase_speed():
    alpha, omega = -0.3, 2.0
    sol = rj.simulate(models.DampedOscillator(alpha=alpha, omega=omega), t1=20.0, dt=0.01, **TIGHT)
    z = complex_state(sol)
    ts = np.asarray(sol.ts)
    slope = np.polyfit(ts, np.log(np.abs(z)), 1)[0]
    speed = unwrapped_phase_rate(ts, z.real, z.imag)
    assert abs(slope - alpha) < 1e-6 * abs(alpha)
    assert abs(speed - omega) < 1e-6 * omega


def test_damped_oscillator_constant_forcing_fixed_point():
    alpha, omega, F = -1.0, 2.0, 0.5 - 0.3j
    sol = rj.simulate(
        models.DampedOscillator(alpha=alpha, omega=omega), t1=40.0, dt=0.01, forcing=F, **TIGHT
    )
    z_end = complex_state(sol)[-1]
    assert abs(z_end - (-F / (alpha + 1j * omega))) < 1e-8


@pytest.mark.parametrize("omega_s", [1.0, 1.5, 1.7, 2.0, 2.3, 3.0])
def test_damped_oscillator_resonance_curve(omega_s):
    alpha, omega, f0 = -0.3, 2.0, 0.2
    drive = forcing.Sinusoid(amplitude=f0, frequency=omega_s / (2 * np.pi), analytic=True)
    sol = rj.simulate(
        models.DampedOscillator(alpha=alpha, omega=omega), t1=80.0, dt=0.01, forcing=drive, **TIGHT
    )
    z = complex_state(sol)[-1]
    t = float(sol.ts[-1])
    response = z / (f0 * np.exp(1j * omega_s * t))
    amplitude = f0 / np.sqrt(alpha**2 + (omega_s - omega) ** 2)
    lag = np.angle(1.0 / (1j * (omega_s - omega) - alpha))
    assert abs(abs(z) - amplitude) < 1e-4 * amplitude
    assert abs(np.angle(response) - lag) < 1e-4
    # Peak at omega_s = omega, half power at omega_s = omega +- |alpha|.
    peak = f0 / abs(alpha)
    if omega_s == 1.7 or omega_s == 2.3:
        assert abs(abs(z) ** 2 - peak**2 / 2) < 1e-4 * peak**2


def test_single_node_variance_under_complex_noise():
    alpha, omega, sigma = -0.5, 2.0, 0.4
    model = models.DampedOscillator(alpha=alpha, omega=omega)
    keys = jr.split(jr.key(7), 16)
    run = jax.vmap(
        lambda k: (
            rj.simulate(
                model,
                t1=2000.0,
                dt=0.01,
                save_every=10,
                noise=noise.Additive(sigma),
                key=k,
                y0=jnp.zeros(2),
            ).ys
        )
    )
    ys = np.asarray(run(keys))[:, 500:]  # drop a 50-time-unit transient
    power = np.mean(ys[..., 0] ** 2 + ys[..., 1] ** 2)
    expected = sigma**2 / (2 * abs(alpha))
    assert abs(power - expected) < 0.04 * expected
    # The two components are independent and equal in variance (complex noise).
    assert abs(np.mean(ys[..., 0] ** 2) - np.mean(ys[..., 1] ** 2)) < 0.05 * expected


@pytest.mark.parametrize("inside", [True, False])
def test_two_kuramoto_oscillators_lock_iff_detuning_below_coupling(inside):
    # All-to-all form with N = 2: theta_1' = w1 + (K/2) sin(theta_2 - theta_1), so Gc = K/2 and
    # locking needs |w1 - w2| <= 2Gc = K.
    K = 0.5
    dw = (0.98 if inside else 1.02) * K
    model = models.Kuramoto(omega=jnp.array([1.0, 1.0 + dw]), K=K)
    sol = rj.simulate(
        model, t1=3000.0, dt=0.01, save_every=10, solver=solvers.RK4(), y0=jnp.array([0.0, 0.1])
    )
    theta = np.asarray(sol.ys)
    diff = theta[:, 1] - theta[:, 0]
    ts = np.asarray(sol.ts)
    late = ts > 1500
    if inside:
        assert np.ptp(diff[late]) < 1e-6
        np.testing.assert_allclose(np.mod(diff[-1], 2 * np.pi), np.arcsin(dw / K), atol=1e-6)
    else:
        # Phase slips at the Adler beat frequency sqrt(dw^2 - K^2).
        beat = np.polyfit(ts[late], diff[late], 1)[0]
        expected = np.sqrt(dw**2 - K**2)
        assert beat > 0.05
        assert abs(beat - expected) < 0.02 * expected


class _ForcedPhase(AbstractModel):
    """theta' = omega + A sin(Omega t - theta): a phase oscillator driven by an external phase."""

    omega: jax.Array = models.param(1.0)
    A: jax.Array = models.param(0.1)
    Omega: jax.Array = models.param(1.0)

    state_names: ClassVar[tuple[str, ...]] = ("theta",)

    def vector_field(self, t, y, args):
        return self.omega + self.A * jnp.sin(self.Omega * t - y)

    def initial_state(self):
        return jnp.zeros(1)

    def observe(self, y):
        return jnp.cos(y[0])


@pytest.mark.parametrize("ratio", [-1.05, -0.95, 0.5, 0.95, 1.05])
def test_forced_phase_oscillator_arnold_tongue(ratio):  # phase form
    omega, A = 1.0, 0.1
    Omega = omega + ratio * A
    sol = rj.simulate(
        _ForcedPhase(omega=omega, A=A, Omega=Omega),
        t1=4000.0,
        dt=0.01,
        save_every=100,
        solver=solvers.RK4(),
    )
    ts, theta = np.asarray(sol.ts), np.asarray(sol.ys[:, 0])
    late = ts > 2000
    rate = np.polyfit(ts[late], theta[late], 1)[0]
    if abs(ratio) <= 1:
        assert abs(rate - Omega) < 1e-6
    else:
        beat = np.sqrt((omega - Omega) ** 2 - A**2)
        assert abs(abs(rate - Omega) - beat) < 0.02 * beat


@pytest.mark.parametrize("ratio", [-1.3, -0.7, 0.7, 1.3])
def test_forced_stuart_landau_tongue_half_width(ratio):  # SL form
    alpha, gamma, omega, F = 1.0, 1.0, 1.0, 0.02
    half_width = F * np.sqrt(gamma / alpha)  # |F| / r*
    Omega = omega + ratio * half_width
    drive = forcing.Sinusoid(amplitude=F, frequency=Omega / (2 * np.pi), analytic=True)
    sol = rj.simulate(
        models.StuartLandau(alpha=alpha, gamma=gamma, omega=omega),
        t1=3000.0,
        dt=0.02,
        save_every=10,
        forcing=drive,
        solver=solvers.RK4(),
        y0=jnp.array([1.0, 0.0]),
    )
    ts = np.asarray(sol.ts)
    late = ts > 1500
    rate = unwrapped_phase_rate(ts[late], sol.ys[late, 0], sol.ys[late, 1])
    locked = abs(rate - Omega) < 1e-5
    assert locked == (abs(ratio) < 1)


def test_stuart_landau_limit_cycle_radius_and_frequency():
    alpha, gamma, beta, omega = 1.0, 1.0, 0.5, 2.0
    model = models.StuartLandau(alpha=alpha, gamma=gamma, beta=beta, omega=omega)
    sol = rj.simulate(model, t1=60.0, dt=0.01, y0=jnp.array([0.1, 0.0]), **TIGHT)
    ts = np.asarray(sol.ts)
    z = complex_state(sol)
    late = ts > 40
    np.testing.assert_allclose(np.abs(z[late]), np.sqrt(alpha / gamma), rtol=1e-6)
    rate = unwrapped_phase_rate(ts[late], z[late].real, z[late].imag)
    assert abs(rate - (omega - beta * alpha / gamma)) < 1e-6
    # The transient radius follows the closed form r(t).
    r0 = 0.1
    r_exact = np.sqrt(alpha / (gamma + (alpha / r0**2 - gamma) * np.exp(-2 * alpha * ts)))
    np.testing.assert_allclose(np.abs(z), r_exact, rtol=1e-8)


@pytest.mark.parametrize("alpha", [-0.5, 0.0, 0.7])
def test_stuart_landau_jacobian_at_origin(alpha):  # linear part
    model = models.StuartLandau(alpha=alpha, omega=1.3)
    J = jax.jacfwd(lambda y: model.vector_field(0.0, y, None))(jnp.zeros(2))
    eig = np.sort_complex(np.linalg.eigvals(np.asarray(J)))
    np.testing.assert_allclose(eig, [alpha - 1.3j, alpha + 1.3j], atol=1e-12)


def test_stuart_landau_hopf_square_root_growth():  # amplitude
    alphas = np.array([0.01, 0.02, 0.04, 0.08, 0.16])

    def amplitude(alpha):
        model = models.StuartLandau(alpha=alpha, gamma=1.0, omega=1.0)
        sol = rj.simulate(
            model,
            t1=3000.0,
            dt=0.1,
            y0=jnp.array([0.05, 0.0]),
            save_every=10,
            solver=solvers.RK4(),
            save_state=False,
        )
        return jnp.max(jnp.abs(sol.observed[-200:]))

    amps = np.asarray(jax.vmap(amplitude)(jnp.asarray(alphas)))
    exponent = np.polyfit(np.log(alphas), np.log(amps), 1)[0]
    assert abs(exponent - 0.5) < 0.02
    # Below the Hopf the origin is stable.
    sol = rj.simulate(models.StuartLandau(alpha=-0.05), t1=400.0, dt=0.1, solver=solvers.RK4())
    assert float(jnp.linalg.norm(sol.y_final)) < 1e-6


def test_stuart_landau_dc_bias_fixed_point_and_imperfect_hopf():
    base = dict(alpha=1.0, gamma=1.0, omega=2.0, beta=0.0)
    z0 = jnp.array([2.0, 0.0])
    # c = 2: the cycle is destroyed and z -> z* = i exactly.
    sol = rj.simulate(
        models.StuartLandau(**base), t1=60.0, dt=0.01, y0=z0, forcing=2.0, solver=solvers.RK4()
    )
    np.testing.assert_allclose(np.asarray(sol.y_final), [0.0, 1.0], atol=1e-8)

    def cycle(c, dt):
        s = rj.simulate(
            models.StuartLandau(**base), t1=200.0, dt=dt, y0=z0, forcing=c, solver=solvers.RK4()
        )
        late = np.asarray(s.ts) > 100
        x = np.asarray(s.ys[late, 0])
        return 0.5 * np.ptp(x), mean_frequency(np.asarray(s.ts)[late], x)

    results = {c: cycle(c, 0.01) for c in (0.0, 0.5, 1.0)}
    amps = [results[c][0] for c in (0.0, 0.5, 1.0)]
    freqs = [results[c][1] for c in (0.0, 0.5, 1.0)]
    assert amps[0] > amps[1] > amps[2] > 0.1  # a displaced cycle survives, smaller
    assert freqs[0] > freqs[1] > freqs[2] > 0.0
    np.testing.assert_allclose(amps[0], 1.0, atol=1e-3)
    np.testing.assert_allclose(freqs[0], 2.0 / (2 * np.pi), rtol=1e-3)
    # Converged in dt: halving dt changes amplitude and frequency negligibly.
    for c in (0.5, 1.0):
        a_half, f_half = cycle(c, 0.005)
        assert abs(a_half - results[c][0]) < 1e-5
        assert abs(f_half - results[c][1]) < 1e-5


def _random_states(n, scale=1.5, seed=0):
    return np.random.default_rng(seed).uniform(-scale, scale, size=(n, 2))


def test_damped_oscillator_jacobian_is_analytic():
    model = models.DampedOscillator(alpha=-0.4, omega=2.5)
    for y in _random_states(5):
        J = jax.jacfwd(lambda y: model.vector_field(0.0, y, None))(jnp.asarray(y))
        np.testing.assert_allclose(J, [[-0.4, -2.5], [2.5, -0.4]], atol=1e-14)


def test_stuart_landau_jacobian_is_analytic():
    a, w, g, b = 0.7, 1.9, 1.3, 0.6
    model = models.StuartLandau(alpha=a, omega=w, gamma=g, beta=b)
    for x, y in _random_states(8, seed=1):
        J = jax.jacfwd(lambda s: model.vector_field(0.0, s, None))(jnp.array([x, y]))
        expected = [
            [a - g * (3 * x**2 + y**2) + 2 * b * x * y, -w - 2 * g * x * y + b * (x**2 + 3 * y**2)],
            [w - 2 * g * x * y - b * (3 * x**2 + y**2), a - g * (x**2 + 3 * y**2) - 2 * b * x * y],
        ]
        np.testing.assert_allclose(J, expected, rtol=1e-12, atol=1e-12)


def test_rungs_nest_stuart_landau_to_damped_to_harmonic():
    states = _random_states(10, seed=2)
    F = 0.3 - 0.2j
    sl = models.StuartLandau(alpha=-0.2, omega=1.7, gamma=0.0, beta=0.0)
    dho = models.DampedOscillator(alpha=-0.2, omega=1.7)
    dho0 = models.DampedOscillator(alpha=0.0, omega=1.7)
    ho = models.HarmonicOscillator(omega=1.7)
    for y in states:
        y = jnp.asarray(y)
        np.testing.assert_array_equal(sl.vector_field(0.0, y, F), dho.vector_field(0.0, y, F))
        np.testing.assert_array_equal(dho0.vector_field(0.0, y, F), ho.vector_field(0.0, y, F))
    run = lambda m: rj.simulate(m, t1=10.0, dt=0.01, forcing=F, y0=jnp.array([0.5, 0.1])).ys
    np.testing.assert_allclose(run(sl), run(dho), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(run(dho0), run(ho), rtol=1e-13, atol=1e-13)


def test_custom_model_is_a_module_that_simulates_and_differentiates_to_its_closed_form():
    # A user-defined model is an equinox Module: `simulate` integrates it and `jax.grad` goes
    # through its parameters. At omega = Omega the phase difference phi = theta - Omega t obeys
    # phi' = -A sin(phi), so tan(phi/2) = tan(phi0/2) exp(-A t) (separable ODE), i.e.
    #   theta(t) = Omega t + 2 arctan(c exp(-A t)),  c = tan(phi0/2),
    #   d theta(t) / dA = -2 t c exp(-A t) / (1 + c^2 exp(-2 A t)).
    Omega, A, phi0, T = 1.3, 0.4, 1.0, 5.0
    assert isinstance(_ForcedPhase(), eqx.Module)

    def theta_end(A):
        sol = rj.simulate(
            _ForcedPhase(omega=Omega, A=A, Omega=Omega),
            t1=T,
            dt=0.01,
            y0=jnp.array([phi0]),
            solver=solvers.RK4(),
        )
        return sol.y_final[0], sol

    c = np.tan(phi0 / 2)
    decay = c * np.exp(-A * T)
    (value, sol), grad = jax.value_and_grad(theta_end, has_aux=True)(jnp.asarray(A))
    ts = np.asarray(sol.ts)
    exact = Omega * ts + 2 * np.arctan(c * np.exp(-A * ts))
    # RK4 at dt = 0.01 on a problem with rates O(1): global error ~ dt^4 = 1e-8.
    np.testing.assert_allclose(np.asarray(sol.ys[:, 0]), exact, atol=1e-8)
    np.testing.assert_allclose(float(value), Omega * T + 2 * np.arctan(decay), atol=1e-8)
    np.testing.assert_allclose(float(grad), -2 * T * decay / (1 + decay**2), rtol=1e-7)
