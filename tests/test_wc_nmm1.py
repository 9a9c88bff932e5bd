"""Wilson-Cowan and NMM1 (E-I motif, Jansen-Rit) against closed forms and known behaviour,
analytic Jacobians, and the master-NMM limits (Castaldo et al. 2026, section 4.4)."""

import diffrax as dfx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import (
    hopf_amplitude_exponent,
    jansen_rit_branch,
    mean_frequency,
    newton,
    peak_to_peak,
)
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

import rosetta_jax as rj
from rosetta_jax import models, solvers


def jac(model, y, args=None):
    return np.asarray(jax.jacfwd(lambda s: model.vector_field(0.0, s, args))(jnp.asarray(y)))


def logistic(s, rho=1.0, theta=0.0):
    return 1.0 / (1.0 + np.exp(-rho * (s - theta)))


# ----------------------------------------------------------------------------- Wilson-Cowan


def test_wilson_cowan_jacobian_matches_spec_6_4():
    rng = np.random.default_rng(0)
    for _ in range(10):
        p = dict(
            tau_x=rng.uniform(0.5, 2),
            tau_y=rng.uniform(0.5, 2),
            w_xx=rng.uniform(5, 15),
            w_xy=rng.uniform(5, 15),
            w_yx=rng.uniform(5, 15),
            w_yy=rng.uniform(0, 5),
            P_x=rng.uniform(-3, 3),
            P_y=rng.uniform(-8, 0),
            gamma_x=rng.uniform(0.5, 2),
            gamma_y=rng.uniform(0.5, 2),
            rho_x=rng.uniform(0.5, 2),
            rho_y=rng.uniform(0.5, 2),
        )
        m = models.WilsonCowan(**p)
        x, y = rng.uniform(0, 1, 2)
        sx = logistic(p["w_xx"] * x - p["w_xy"] * y + p["P_x"], p["rho_x"])
        sy = logistic(p["w_yx"] * x - p["w_yy"] * y + p["P_y"], p["rho_y"])
        dsx = p["gamma_x"] * p["rho_x"] * sx * (1 - sx)  # gamma * sigma'
        dsy = p["gamma_y"] * p["rho_y"] * sy * (1 - sy)
        expected = [
            [(-1 + dsx * p["w_xx"]) / p["tau_x"], -dsx * p["w_xy"] / p["tau_x"]],
            [dsy * p["w_yx"] / p["tau_y"], (-1 - dsy * p["w_yy"]) / p["tau_y"]],
        ]
        np.testing.assert_allclose(jac(m, [x, y]), expected, rtol=1e-12, atol=1e-14)


def _wc_fixed_point(m, guess):
    f = lambda s: np.asarray(m.vector_field(0.0, jnp.asarray(s), None))
    return newton(f, lambda s: jac(m, s), guess)


def test_wilson_cowan_hopf_trace_zero_and_frequency():  # panel (b)
    def trace_at(P_y):
        m = models.WilsonCowan(P_x=0.0, P_y=P_y)
        y = _wc_fixed_point(m, [0.5, 0.5])
        return np.trace(jac(m, y))

    # Panel (b): the bubble is entered from below; locate the lower Hopf.
    P_c = brentq(trace_at, -9.0, -5.0, xtol=1e-13)
    m_c = models.WilsonCowan(P_x=0.0, P_y=P_c)
    J = jac(m_c, _wc_fixed_point(m_c, [0.5, 0.5]))
    assert abs(np.trace(J)) < 1e-9
    det = np.linalg.det(J)
    assert det > 0  # a true Hopf, not a neutral saddle
    omega0 = np.sqrt(det)
    # The closed-form omega_0 of the paper's WC-to-SL appendix (tau = 1) agrees with sqrt(det J).
    np.testing.assert_allclose(np.abs(np.linalg.eigvals(J).imag), omega0, rtol=1e-10)

    # Just inside the bubble the small cycle oscillates at omega_0 / (2 pi).
    def freq(delta):
        m = models.WilsonCowan(P_x=0.0, P_y=P_c + delta)
        y_star = _wc_fixed_point(m, [0.5, 0.5])
        sol = rj.simulate(
            m, t1=6000.0, dt=0.05, y0=jnp.asarray(y_star) + 1e-3, save_every=4, solver=solvers.RK4()
        )
        late = np.asarray(sol.ts) > 4000
        return mean_frequency(
            np.asarray(sol.ts)[late], np.asarray(sol.observed)[late]
        ), peak_to_peak(np.asarray(sol.observed)[late])

    f_small, a_small = freq(0.005)
    f_large, a_large = freq(0.04)
    f0 = omega0 / (2 * np.pi)
    assert 0 < a_small < a_large < 0.2  # small-amplitude cycle growing away from the Hopf
    assert abs(f_small - f0) < abs(f_large - f0) + 1e-12
    assert abs(f_small - f0) < 2e-3 * f0


def test_first_order_wilson_cowan_without_self_excitation_never_hopfs():
    rng = np.random.default_rng(3)
    for _ in range(50):
        m = models.WilsonCowan(
            w_xx=0.0,
            w_xy=rng.uniform(0, 20),
            w_yx=rng.uniform(0, 20),
            w_yy=rng.uniform(0, 10),
            P_x=rng.uniform(-10, 10),
            P_y=rng.uniform(-10, 10),
            tau_x=rng.uniform(0.2, 3),
            tau_y=rng.uniform(0.2, 3),
        )
        y = rng.uniform(0, 1, 2)
        assert np.trace(jac(m, y)) < 0


# ----------------------------------------------------------------------------- NMM1 motif


def test_ei_motif_barkhausen_hopf():
    tau_x, tau_y = 0.010, 0.020
    K_c = (tau_x + tau_y) ** 2 / (tau_x * tau_y)
    omega0 = 1.0 / np.sqrt(tau_x * tau_y)
    np.testing.assert_allclose(omega0 / (2 * np.pi), 11.254, atol=1e-3)  # 11.25 Hz

    def fixed_point(m):
        # x = g_x S(-w_xy y + P_x), y = g_y S(w_yx x): one monotone scalar equation in x.
        S = lambda v: float(models.sigmoid(v, m.e0, m.v0, m.r))
        y_of = lambda x: float(m.gamma_y) * S(float(m.w_yx) * x)
        g = lambda x: x - float(m.gamma_x) * S(-float(m.w_xy) * y_of(x) + float(m.P_x))
        x = brentq(g, 0.0, 5.0 * float(m.gamma_x), xtol=1e-15)
        return np.array([x, y_of(x), 0.0, 0.0])

    def loop_gain(m, y):
        s = lambda v: np.asarray(models.sigmoid(v, m.e0, m.v0, m.r))
        ds = lambda v: (s(v + 1e-6) - s(v - 1e-6)) / 2e-6
        v_x = -float(m.w_xy) * y[1] + float(m.P_x)
        v_y = float(m.w_yx) * y[0]
        return float(m.w_xy * m.w_yx * m.gamma_x * m.gamma_y) * ds(v_x) * ds(v_y)

    def excess(w_xy):
        m = models.EIMotif(tau_x=tau_x, tau_y=tau_y, w_xy=w_xy)
        return loop_gain(m, fixed_point(m)) - K_c

    w_c = brentq(excess, 2.0, 30.0, xtol=1e-12)
    m = models.EIMotif(tau_x=tau_x, tau_y=tau_y, w_xy=w_c)
    eig = np.linalg.eigvals(jac(m, fixed_point(m)))
    lead = eig[np.argmax(eig.real)]
    assert abs(lead.real) < 1e-4 * omega0
    np.testing.assert_allclose(abs(lead.imag), omega0, rtol=1e-6)
    # The characteristic polynomial (tau_x s + 1)^2 (tau_y s + 1)^2 + K has the same roots.
    poly = np.polymul(np.polymul([tau_x, 1], [tau_x, 1]), np.polymul([tau_y, 1], [tau_y, 1]))
    poly[-1] += K_c
    np.testing.assert_allclose(np.sort_complex(np.roots(poly)), np.sort_complex(eig), rtol=1e-5)


# ----------------------------------------------------------------------------- Jansen-Rit


def _jr_jacobian_auto(y, p):
    """The Jansen-Rit Jacobian as written in the paper's AUTO code (jrnmm.f90)."""
    A, a, B, b, C = 3.25, 100.0, 22.0, 50.0, 135.0
    ds = lambda v: 2 * 2.5 * 0.56 * np.exp(0.56 * (6 - v)) / (1 + np.exp(0.56 * (6 - v))) ** 2
    J = np.zeros((6, 6))
    J[0, 3] = J[1, 4] = J[2, 5] = 1
    J[3, 3] = J[4, 4] = -2 * a
    J[5, 5] = -2 * b
    J[3, 0] = J[4, 1] = -(a**2)
    J[5, 2] = -(b**2)
    J[3, 1] = a * A * ds(y[1] - y[2])
    J[3, 2] = -a * A * ds(y[1] - y[2])
    J[4, 0] = a * A * C * 0.8 * C * ds(C * y[0])
    J[5, 0] = b * B * 0.25 * C * 0.25 * C * ds(0.25 * C * y[0])
    return J


def test_jansen_rit_jacobian_matches_auto_code():
    rng = np.random.default_rng(4)
    for _ in range(10):
        y = np.concatenate(
            [rng.uniform(-0.05, 0.2, 1), rng.uniform(0, 30, 2), rng.uniform(-50, 50, 3)]
        )
        p = rng.uniform(0, 300)
        np.testing.assert_allclose(
            jac(models.JansenRit(p=p), y), _jr_jacobian_auto(y, p), rtol=1e-10, atol=1e-8
        )


def _jr_cycle(p, y0=None, t1=20.0):
    sol = rj.simulate(models.JansenRit(p=p), t1=t1, dt=1e-4, save_every=10, y0=y0, save_state=False)
    ts, o = np.asarray(sol.ts), np.asarray(sol.observed)
    late = ts > t1 - 5.0
    return mean_frequency(ts[late], o[late]), peak_to_peak(o[late]), float(o[late].mean())


def test_jansen_rit_alpha_rhythm():
    results = [_jr_cycle(p) for p in (150.0, 220.0, 300.0)]
    freqs = [r[0] for r in results]
    assert all(10.0 <= f <= 11.5 for f in freqs), freqs
    assert freqs[0] < freqs[1] < freqs[2]  # rising slowly with p
    for _f, amp, mean in results:
        assert 0.5 < amp < 6.0 and mean > 4.0  # a few mV around a positive mean


def test_jansen_rit_multistability():
    # Between the lower alpha Hopf (p ~ 89.7) and the fold (p ~ 113.6): the zero state settles
    # on the low fixed point, a state near the upper focus reaches the alpha cycle.
    p = 100.0
    f, amp, mean = _jr_cycle(p)
    assert amp < 1e-6 and mean < 3.0
    upper = jansen_rit_branch(p, 6.0, 9.0) + np.array([0.01, 0.05, 0, 0, 0, 0])
    f, amp, mean = _jr_cycle(p, y0=jnp.asarray(upper), t1=40.0)
    assert 10.0 < f < 11.0 and amp > 1.0 and mean > 6.0
    # Near p = 120 a slow spike-like cycle (from rest) and the alpha cycle (from y1 = 20,
    # y2 = 10) coexist.
    f_rest, amp_rest, _ = _jr_cycle(120.0)
    f_big, amp_big, _ = _jr_cycle(120.0, y0=jnp.array([0.0, 20.0, 10.0, 0.0, 0.0, 0.0]))
    assert f_rest < 6.0 and amp_rest > 8.0
    assert 10.0 < f_big < 11.0 and 1.0 < amp_big < 4.0


def _jr_leading_eigenvalue(p):
    y = jansen_rit_branch(p, 7.0, 9.0)
    eig = np.linalg.eigvals(jac(models.JansenRit(p=p), y))
    return eig[np.argmax(eig.real)]


def test_jansen_rit_upper_hopf_square_root_scaling():
    p_c = brentq(lambda p: _jr_leading_eigenvalue(p).real, 300.0, 330.0, xtol=1e-10)
    f_hopf = abs(_jr_leading_eigenvalue(p_c).imag) / (2 * np.pi)
    assert 315.0 < p_c < 316.5 and 11.0 < f_hopf < 11.3
    deltas = jnp.array([2.0, 4.0, 8.0, 16.0, 32.0])
    y_start = rj.simulate(models.JansenRit(p=300.0), t1=5.0, dt=1e-4).y_final

    def run(p):  # converge onto the cycle (Re lambda ~ 0.015 per unit of p), keep the last 2 s
        return rj.simulate(
            models.JansenRit(p=p), t1=120.0, dt=2e-4, save_every=5, y0=y_start, save_state=False
        ).observed[-2000:]

    obs = np.asarray(jax.vmap(run)(p_c - deltas))
    amps = np.array([peak_to_peak(o) / 2 for o in obs])
    assert abs(hopf_amplitude_exponent(deltas, amps) - 0.5) < 0.02
    ts = np.arange(2000) * 1e-3
    f_small = mean_frequency(ts, obs[0])
    f_large = mean_frequency(ts, obs[-1])
    assert abs(f_small - f_hopf) < abs(f_large - f_hopf)
    assert abs(f_small - f_hopf) < 0.005 * f_hopf


def test_jansen_rit_synapse_is_the_alpha_kernel():  # through the model equations
    # With C = 0 the sigmoid feedback is off, and a brief unit-area input pulse into p makes y1
    # the excitatory kernel A a t e^{-at}: the alpha kernel with tau = 1/a, gamma = A/a.
    A, a, dt = 3.25, 100.0, 1e-6
    width, onset = 10 * dt, 0.25 * dt  # edges between RK4 stage times: the area is exact
    pulse = rj.forcing.PulseTrain(
        amplitude=1.0 / width, period=10.0, width=width, t_on=onset, n_pulses=1
    )
    sol = rj.simulate(
        models.JansenRit(A=A, a=a, C=0.0, p=0.0),
        t1=0.1,
        dt=dt,
        save_every=10,
        forcing=pulse,
        solver=solvers.RK4(),
        y0=jnp.zeros(6),
    )
    t = np.asarray(sol.ts) - (onset + width / 2)  # the pulse acts as an impulse at its centre
    y1 = np.asarray(sol.ys[:, 1])
    kernel = np.asarray(models.alpha_kernel(t, 1.0 / a, A / a))
    np.testing.assert_allclose(y1, kernel, atol=5e-5)  # 4e-5 of the peak
    # Peak at 10 ms with value A/e = 1.1956 mV.
    assert abs(t[np.argmax(y1)] - 0.010) < 1e-5
    np.testing.assert_allclose(y1.max(), 1.1956, atol=1e-4)


# ----------------------------------------------------------------------------- master NMM


@pytest.mark.parametrize("eps", [1e-2, 1e-3])
def test_master_nmm_fast_synapse_limit_is_wilson_cowan(eps):
    tau_m, kappa, gamma, I_ext = 1.0, 6.0, 2.0, -4.0
    master = models.MasterNMM(
        tau_m=tau_m,
        tau_r=eps,
        tau_d=eps,
        gamma=gamma,
        kappa=kappa,
        I_ext=I_ext,
        e0=0.5,
        I0=0.0,
        rho=1.0,
    )
    # tau_m r' = -r + sigma(gamma kappa r + I_ext): WC with w_xx = gamma kappa and no I population.
    wc = models.WilsonCowan(
        tau_x=tau_m, w_xx=gamma * kappa, w_xy=0.0, w_yx=0.0, w_yy=0.0, P_x=I_ext, P_y=0.0
    )
    ctrl = dict(solver=dfx.Kvaerno5(), stepsize_controller=dfx.PIDController(rtol=1e-9, atol=1e-11))
    r0 = 0.1
    a = rj.simulate(
        master, t1=10.0, dt=1e-3, save_every=100, y0=jnp.array([r0, gamma * r0, 0.0]), **ctrl
    ).ys[:, 0]
    b = rj.simulate(wc, t1=10.0, dt=1e-3, save_every=100, y0=jnp.array([r0, 0.0]), **ctrl).ys[:, 0]
    # Independent first-order theory (scipy): s = gamma (1 + eps d/dt)^-2 r = gamma (r - 2 eps r'
    # + O(eps^2)), so r_master = r_wc + eps delta + O(eps^2) with the variational equation
    #   tau_m delta' = -delta + phi'(u) gamma kappa (delta - 2 r_wc'),  u = gamma kappa r_wc + I,
    # delta(0) = 0 (the master starts on s = gamma r; the O(eps) initial layer of s' lasts O(eps)
    # and moves r by O(eps^2)).
    sig = lambda u: 1.0 / (1.0 + np.exp(-u))

    def rhs(t, z):
        r, d = z
        u = gamma * kappa * r + I_ext
        dr = (-r + sig(u)) / tau_m
        return [dr, (-d + sig(u) * (1 - sig(u)) * gamma * kappa * (d - 2 * dr)) / tau_m]

    ts = np.linspace(0.1, 10.0, 100)  # the save times (every 100 steps of 1e-3)
    ref = solve_ivp(rhs, (0, 10), [r0, 0.0], t_eval=ts, method="DOP853", rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(b, ref.y[0], atol=1e-7)  # the limit itself, by scipy
    first_order = eps * ref.y[1]
    # The remainder is the O(eps^2) term: relative to the first-order one it is O(eps / tau_m)
    # (the expansion's next coefficient, 3 eps^2 r'', against 2 eps r'); 5 eps / tau_m leaves a
    # margin for the nonlinearity (a wrong first-order term, e.g. the synapse's 2 eps lag
    # doubled or dropped, misses by ~100 %).
    remainder = np.max(np.abs(np.asarray(a - b) - first_order))
    assert remainder < 5 * (eps / tau_m) * np.max(np.abs(first_order))


@pytest.mark.parametrize("eps", [1e-3, 1e-4])
def test_master_nmm_fast_membrane_limit_is_nmm1(eps):
    tau_s, kappa, gamma, I_ext = 0.01, 40.0, 0.05, 3.0
    master = models.MasterNMM(
        tau_m=eps,
        tau_r=tau_s,
        tau_d=tau_s,
        gamma=gamma,
        kappa=kappa,
        I_ext=I_ext,
        e0=2.5,
        I0=6.0,
        rho=0.56,
    )
    # r = phi(kappa s + I_ext), tau^2 s'' + 2 tau s' + s = gamma phi(...): the E-I motif's E
    # population with self-excitation w_xx = kappa and no inhibition.
    motif = models.EIMotif(tau_x=tau_s, gamma_x=gamma, w_xx=kappa, w_xy=0.0, w_yx=0.0, P_x=I_ext)
    ctrl = dict(solver=dfx.Kvaerno5(), stepsize_controller=dfx.PIDController(rtol=1e-9, atol=1e-11))
    r0 = float(models.sigmoid(I_ext, 2.5, 6.0, 0.56))
    a = rj.simulate(
        master, t1=0.2, dt=1e-5, save_every=100, y0=jnp.array([r0, 0.0, 0.0]), **ctrl
    ).ys[:, 1]
    b = rj.simulate(motif, t1=0.2, dt=1e-5, save_every=100, y0=jnp.zeros(4), **ctrl).ys[:, 0]
    # Independent first-order theory (scipy): r = phi - eps r' = phi(u) - eps phi'(u) kappa s'
    # + O(eps^2), u = kappa s + I, so s_master = s_motif + eps g + O(eps^2) with
    #   tau_s^2 g'' + 2 tau_s g' + g = gamma phi'(u) kappa (g - s_motif'),  g(0) = g'(0) = 0
    # (the master starts on r = phi(I), its slaved value while s' = 0: no initial layer).
    phi = lambda u: 5.0 / (1.0 + np.exp(0.56 * (6.0 - u)))

    def rhs(t, z):
        s, ds, g, dg = z
        u = kappa * s + I_ext
        dphi = 0.56 * phi(u) * (1 - phi(u) / 5.0)
        dds = (gamma * phi(u) - 2 * tau_s * ds - s) / tau_s**2
        ddg = (gamma * dphi * kappa * (g - ds) - 2 * tau_s * dg - g) / tau_s**2
        return [ds, dds, dg, ddg]

    ts = np.linspace(1e-3, 0.2, 200)  # the save times (every 100 steps of 1e-5)
    ref = solve_ivp(rhs, (0, 0.2), np.zeros(4), t_eval=ts, method="DOP853", rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(b, ref.y[0], atol=1e-7)  # the limit itself, by scipy
    first_order = eps * ref.y[2]
    # The remainder is O(eps^2): relative to the first-order term it is O(eps / tau_s); we allow
    # 5 eps / tau_s (a first-order term that is wrong by a factor misses by ~100 %).
    remainder = np.max(np.abs(np.asarray(a - b) - first_order))
    assert remainder < 5 * (eps / tau_s) * np.max(np.abs(first_order))
