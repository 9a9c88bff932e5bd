"""NMM2 (MPR, ING, PING): the QIF transfer function, the MPR fixed-point relation, ING near Hopf."""

import diffrax as dfx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import hopf_amplitude_exponent, mean_frequency, peak_to_peak
from scipy.optimize import brentq

import rosetta_jax as rj
from rosetta_jax import models, solvers


TIGHT = dict(solver=dfx.Tsit5(), stepsize_controller=dfx.PIDController(rtol=1e-11, atol=1e-13))


def jac(model, y):
    return np.asarray(jax.jacfwd(lambda s: model.vector_field(0.0, s, None))(jnp.asarray(y)))


@pytest.mark.parametrize(
    "I, rate", [(-5.0, 0.009444), (0.0, 0.030011), (5.0, 0.095370), (20.0, 0.189863)]
)
def test_uncoupled_mpr_rate_is_the_qif_transfer_function(I, rate):
    tau, Delta = 7.5, 1.0
    m = models.MontbrioPazoRoxin(tau=tau, Delta=Delta, eta=0.0, J=0.0, I=I)
    sol = rj.simulate(m, t1=2000.0, dt=0.1, save_every=100, y0=jnp.array([0.05, -0.5]), **TIGHT)
    r_end = float(sol.y_final[0])
    closed = np.sqrt(I + np.sqrt(I**2 + Delta**2)) / (tau * np.pi * np.sqrt(2))
    assert abs(r_end - closed) < 1e-6 * closed
    assert abs(closed - rate) < 5e-7  # the tabulated values (6 decimals)
    np.testing.assert_allclose(float(models.qif_cauchy_rate(I, tau, Delta)), closed, rtol=1e-14)


@pytest.mark.parametrize("eta", [-6.0, -5.0, -4.0])
def test_mpr_fixed_points_satisfy_the_closed_form_relation(eta):
    # Dimensionless MPR (tau = 1): eta + I = pi^2 r^2 - J r - Delta^2 / (4 pi^2 r^2), v =
    # -Delta/(2 pi r).
    J, Delta = 15.0, 1.0
    m = models.MontbrioPazoRoxin(tau=1.0, Delta=Delta, eta=eta, J=J)
    for y0 in ([0.05, -2.0], [1.0, -0.2]):
        sol = rj.simulate(m, t1=400.0, dt=0.01, y0=jnp.asarray(y0), **TIGHT)
        r, v = (float(c) for c in sol.y_final)
        assert abs(np.pi**2 * r**2 - J * r - Delta**2 / (4 * np.pi**2 * r**2) - eta) < 1e-8
        assert abs(v + Delta / (2 * np.pi * r)) < 1e-8
        assert np.max(np.abs(np.asarray(m.vector_field(0.0, sol.y_final, None)))) < 1e-8


def test_mpr_bistable_window_has_two_stable_states():
    # Inside the bistable window of MPR 2015 (J = 15, Delta = 1; the folds of the closed-form
    # branch are at eta = -5.7435 (r = 0.754) and eta = -3.1361 (r = 0.163)).
    m = models.MontbrioPazoRoxin(tau=1.0, Delta=1.0, eta=-5.0, J=15.0)
    low = rj.simulate(m, t1=200.0, dt=0.01, y0=jnp.array([0.05, -2.0]), **TIGHT).y_final
    high = rj.simulate(m, t1=200.0, dt=0.01, y0=jnp.array([1.0, -0.2]), **TIGHT).y_final
    assert float(low[0]) < 0.163 and float(high[0]) > 0.754


@pytest.mark.parametrize("synapse", [models.FirstOrder(), models.SecondOrder()])
def test_mpr_synapse_orders_share_the_instantaneous_fixed_point(synapse):
    base = dict(tau=10.0, Delta=1.0, eta=-5.0, J=15.0, tau_s=5.0)
    m0 = models.MontbrioPazoRoxin(**base)
    mk = models.MontbrioPazoRoxin(**base, synapse=synapse)
    y0 = rj.simulate(m0, t1=3000.0, dt=0.1, **TIGHT).y_final
    yk = rj.simulate(mk, t1=3000.0, dt=0.1, **TIGHT).y_final
    np.testing.assert_allclose(yk[:2], y0, rtol=1e-7)
    np.testing.assert_allclose(yk[2], y0[0], rtol=1e-7)  # s = r at rest


def test_mpr_second_order_synapse_impulse_response_is_the_alpha_kernel():
    # tau_s s' = z, tau_s z' = r - 2z - s is tau_s^2 s'' + 2 tau_s s' + s = r: with r frozen
    # (the rate equation switched off), a kick z(0) = 1/tau_s gives s(t) = t e^{-t/tau}/tau^2.
    tau_s = 4.0
    # With J = 0, r = 0 and a negligible Delta the rate stays ~1e-14, isolating the synapse.
    m = models.MontbrioPazoRoxin(synapse=models.SecondOrder(), tau_s=tau_s, Delta=1e-12, J=0.0)
    sol = rj.simulate(m, t1=40.0, dt=0.01, y0=jnp.array([0.0, 0.0, 0.0, 1.0 / tau_s]), **TIGHT)
    t = np.asarray(sol.ts)
    np.testing.assert_allclose(sol.ys[:, 2], models.alpha_kernel(t, tau_s), atol=1e-10)


def _ing_branch_eigenvalue(I, tau=7.5, J=20.0, Delta=1.0, eta=0.0):
    """Leading eigenvalue of ING on its (unique) fixed-point branch, found in closed form:
    v = -Delta/(2 pi tau r) and I = (pi tau r)^2 + tau J r - v^2 - eta."""

    def I_of_r(r):
        v = -Delta / (2 * np.pi * tau * r)
        return (np.pi * tau * r) ** 2 + tau * J * r - v * v - eta

    r = brentq(lambda r: I_of_r(r) - I, 1e-6, 5.0, xtol=1e-15)
    y = np.array([r, -Delta / (2 * np.pi * tau * r), r, 0.0])
    eig = np.linalg.eigvals(jac(models.ING(I=I, tau_m=tau, J=J, Delta=Delta, eta=eta), y))
    return eig[np.argmax(eig.real)], y


def test_ing_oscillates_between_its_hopf_points_and_rests_outside():
    I_low = brentq(lambda I: _ing_branch_eigenvalue(I)[0].real, 0.0, 20.0, xtol=1e-12)
    I_high = brentq(lambda I: _ing_branch_eigenvalue(I)[0].real, 40.0, 100.0, xtol=1e-12)
    f_low = abs(_ing_branch_eigenvalue(I_low)[0].imag) / (2 * np.pi) * 1000  # kHz -> Hz
    f_high = abs(_ing_branch_eigenvalue(I_high)[0].imag) / (2 * np.pi) * 1000
    assert -20 < I_low < I_high < 100
    assert 30 < f_low < 100 and f_high > 2 * f_low  # gamma band, then a much faster one

    def amplitude(I, t1=1000.0):
        sol = rj.simulate(models.ING(I=I), t1=t1, dt=0.005, save_every=20, save_state=False)
        return peak_to_peak(np.asarray(sol.observed)[-2000:])

    assert amplitude(0.5 * (I_low + I_high)) > 1e-2
    assert amplitude(I_low - 3.0) < 1e-6
    # Above the upper Hopf the fast (~250 Hz) focus is weakly damped: a longer run.
    assert amplitude(I_high + 40.0, t1=3000.0) < 1e-6


def test_ing_lower_hopf_square_root_scaling():
    I_c = brentq(lambda I: _ing_branch_eigenvalue(I)[0].real, 0.0, 20.0, xtol=1e-12)
    f_hopf = abs(_ing_branch_eigenvalue(I_c)[0].imag) / (2 * np.pi)  # kHz
    deltas = jnp.array([0.025, 0.05, 0.1, 0.2])
    y_near = jnp.asarray(_ing_branch_eigenvalue(I_c + 0.2)[1]) * 1.01

    def run(I):  # Re lambda ~ 0.02 delta per ms: 8 s of model time converges
        sol = rj.simulate(
            models.ING(I=I),
            t1=8000.0,
            dt=0.01,
            save_every=10,
            y0=y_near,
            save_state=False,
            solver=solvers.RK4(),
        )
        return sol.observed[-4000:]

    obs = np.asarray(jax.vmap(run)(I_c + deltas))
    amps = np.array([peak_to_peak(o) / 2 for o in obs])
    assert abs(hopf_amplitude_exponent(deltas, amps) - 0.5) < 0.02
    ts = np.arange(4000) * 0.1
    f_small = mean_frequency(ts, obs[0])
    assert abs(f_small - f_hopf) < 0.005 * f_hopf


def test_ping_runs_and_reduces_to_the_qif_transfer_without_coupling():
    m = models.PING(J_ee=0.0, J_ei=0.0, J_ie=0.0, J_ii=0.0, I=3.0)
    sol = rj.simulate(m, t1=2000.0, dt=0.1, **TIGHT)
    r_e, r_i = float(sol.y_final[0]), float(sol.y_final[4])
    np.testing.assert_allclose(r_e, float(models.qif_cauchy_rate(3.0, 15.0, 1.0)), rtol=1e-7)
    np.testing.assert_allclose(r_i, float(models.qif_cauchy_rate(3.0, 7.5, 1.0)), rtol=1e-7)
    # With the table's couplings the rates stay positive and finite; the drive enters E only.
    full = models.PING()
    y = full.initial_state()
    dy_drive = np.asarray(full.vector_field(0.0, y, 1.0) - full.vector_field(0.0, y, 0.0))
    assert dy_drive[1] > 0 and np.all(dy_drive[[0, 2, 3, 4, 5, 6, 7]] == 0)
    sol = rj.simulate(full, t1=500.0, dt=0.01, save_every=10)
    assert np.all(np.asarray(sol.ys[:, [0, 4]]) > 0)
