"""Equilibria, continuation, linearised spectra and rung-to-rung translation (issue
"dynamics"): the paper's bifurcation diagrams and reductions, each bifurcation checked by an
independent scipy root solve and by simulation."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
from helpers import (
    jansen_rit_branch,
    jansen_rit_folds,
    jansen_rit_linear_psd,
    jansen_rit_p_of_v,
    jansen_rit_state_of_v,
    mean_frequency,
    peak_to_peak,
    unwrapped_phase_rate,
)
from scipy import signal
from scipy.optimize import brentq

import rosetta_jax as rj
from rosetta_jax import models, noise, solvers
from rosetta_jax.analysis import (
    bifurcation_diagram,
    continuation,
    damped_modes,
    equilibrium,
    fixed_points,
    jacobian,
    linear_spectrum,
    normal_form,
    phase_reduction,
    translate,
)


_jacobian = eqx.filter_jit(jacobian)


def np_jac(model, y):
    return np.asarray(_jacobian(model, jnp.asarray(y, dtype=float)))


def lead_complex(J):
    ev = np.linalg.eigvals(J)
    c = ev[ev.imag > 1e-9]
    return c[np.argmax(c.real)]


# ----------------------------------------------------------------------------- Jansen-Rit


@pytest.fixture(scope="module")
def jr_branch():
    return continuation(models.JansenRit(), "p", -80.0, 350.0)


def test_jansen_rit_skeleton_folds_and_hopf_points(jr_branch):
    b = jr_branch
    assert len(b.fold_points) == 2 and len(b.hopf_points) == 3
    # Folds: extrema of p(v) on the reduced equilibrium curve, found by scipy.
    p_folds = jansen_rit_folds()
    np.testing.assert_allclose(sorted(f.param for f in b.fold_points), p_folds, atol=1e-6)
    # Hopf points: zeros of the leading complex pair's real part along the same curve.
    re = lambda v: (
        lead_complex(
            np_jac(models.JansenRit(p=jansen_rit_p_of_v(v)), jansen_rit_state_of_v(v))
        ).real
    )
    vs = np.linspace(2.0, 9.0, 701)
    vals = np.array([re(v) for v in vs])
    roots = [
        brentq(re, vs[k], vs[k + 1], xtol=1e-13)
        for k in range(len(vs) - 1)
        if np.sign(vals[k]) != np.sign(vals[k + 1])
    ]
    # A sign change where another complex pair takes the lead is a jump, not a crossing.
    roots = [v for v in roots if abs(re(v)) < 1e-6]
    p_hopf = sorted(jansen_rit_p_of_v(v) for v in roots)
    np.testing.assert_allclose(sorted(h.param for h in b.hopf_points), p_hopf, atol=1e-6)
    freqs = [h.frequency_hz for h in sorted(b.hopf_points, key=lambda h: h.param)]
    assert 6.5 < freqs[0] < 8.0 and 10.0 < freqs[1] < 10.7 and 11.0 < freqs[2] < 11.4


def test_jansen_rit_hopf_points_by_simulation(jr_branch):
    for h in jr_branch.hopf_points:
        for side in (-3.0, 3.0):
            m = models.JansenRit(p=h.param + side)
            y = jnp.asarray(_nearest_equilibrium(m, h.state))
            stable = bool(np.all(np.linalg.eigvals(np_jac(m, y)).real < 0))
            sol = rj.simulate(
                m, t1=30.0, dt=1e-4, save_every=10, y0=y * (1 + 1e-3), save_state=False
            )
            o = np.asarray(sol.observed)
            early, late = o[1000:3000], o[-3000:]
            v_star = float(y[1] - y[2])
            if stable:  # perturbations die out: no oscillation
                assert peak_to_peak(late) < 0.5 * peak_to_peak(early)
                assert abs(late.mean() - v_star) < 0.05
            else:  # the equilibrium is left: a growing oscillation, or a jump elsewhere
                assert peak_to_peak(late) > peak_to_peak(early) or abs(late.mean() - v_star) > 0.5


def _nearest_equilibrium(model, guess):
    from rosetta_jax.analysis._dynamics import _newton

    y, r = _newton(model, jnp.asarray(guess), None)
    assert float(r) < 1e-8
    return np.asarray(y)


# ----------------------------------------------------------------------------- Wilson-Cowan


def _logit(x):
    return np.log(x / (1 - x))


def _sig(s):
    return 1 / (1 + np.exp(-s))


def test_wilson_cowan_panel_a(jr_branch):
    del jr_branch
    b = continuation(models.WilsonCowan(P_y=-6.0), "P_x", -5.0, 5.0)
    assert len(b.fold_points) == 2 and len(b.hopf_points) == 1
    folds = sorted(f.param for f in b.fold_points)
    assert folds[0] < folds[1] < 0 and folds[1] - folds[0] < 1.0  # close together
    assert b.hopf_points[0].param > 0

    # Independent: parametrise the equilibria by x; P_x(x) from the E equation, y(x) from the
    # I equation (monotone in y); folds are extrema of P_x(x), the Hopf a zero of tr J with
    # det J > 0.
    def y_of(x):
        return brentq(lambda y: y - _sig(12 * x - 2 * y - 6.0), 0.0, 1.0, xtol=1e-15)

    def P_of(x):
        return _logit(x) - 12 * x + 12 * y_of(x)

    def trdet(x):
        m = models.WilsonCowan(P_x=P_of(x), P_y=-6.0)
        J = np_jac(m, [x, y_of(x)])
        return np.trace(J), np.linalg.det(J)

    dP = lambda x: (P_of(x + 1e-7) - P_of(x - 1e-7)) / 2e-7
    xs = np.linspace(1e-4, 1 - 1e-4, 801)
    vals = np.array([dP(x) for x in xs])
    x_folds = [
        brentq(dP, xs[k], xs[k + 1], xtol=1e-14)
        for k in range(len(xs) - 1)
        if np.sign(vals[k]) != np.sign(vals[k + 1])
    ]
    np.testing.assert_allclose(folds, sorted(P_of(x) for x in x_folds), atol=1e-6)
    tr = np.array([trdet(x)[0] for x in xs])
    crossings = [
        brentq(lambda x: trdet(x)[0], xs[k], xs[k + 1], xtol=1e-14)
        for k in range(len(xs) - 1)
        if np.sign(tr[k]) != np.sign(tr[k + 1])
    ]
    hopfs = [P_of(x) for x in crossings if trdet(x)[1] > 0]
    neutral_saddles = [P_of(x) for x in crossings if trdet(x)[1] < 0]
    np.testing.assert_allclose([h.param for h in b.hopf_points], hopfs, atol=1e-6)
    assert len(neutral_saddles) >= 1  # there is a trace-zero saddle, and it is not reported
    _check_hopf_sides(models.WilsonCowan(P_y=-6.0), "P_x", b.hopf_points[0], t1=3000.0, dt=0.05)


def test_wilson_cowan_panel_b():
    b = continuation(models.WilsonCowan(P_x=0.0), "P_y", -10.0, 0.0)
    assert len(b.fold_points) == 0 and len(b.hopf_points) == 2
    p1, p2 = sorted(h.param for h in b.hopf_points)
    assert abs((p1 + p2) / 2 - (-5.0)) < 1e-6  # symmetric about -5

    def x_state(x):  # y from the E equation, P_y from the I equation
        y = (12 * x - _logit(x)) / 12
        return y, _logit(y) - 12 * x + 2 * y

    def tr(x):
        y, Py = x_state(x)
        return np.trace(np_jac(models.WilsonCowan(P_x=0.0, P_y=Py), [x, y]))

    xs = np.linspace(0.02, 0.98, 401)
    vals = np.array([tr(x) for x in xs])
    roots = [
        brentq(tr, xs[k], xs[k + 1], xtol=1e-14)
        for k in range(len(xs) - 1)
        if np.sign(vals[k]) != np.sign(vals[k + 1])
    ]
    np.testing.assert_allclose([p1, p2], sorted(x_state(x)[1] for x in roots), atol=1e-6)
    for h in b.hopf_points:
        _check_hopf_sides(models.WilsonCowan(P_x=0.0), "P_y", h, t1=3000.0, dt=0.05)


def _check_hopf_sides(base, name, h, t1, dt, delta=0.05):
    """Small oscillation on the unstable side of a Hopf point, none on the stable side."""
    import equinox as eqx

    for side in (-delta, delta):
        m = eqx.tree_at(lambda m: getattr(m, name), base, jnp.asarray(h.param + side))
        y = _nearest_equilibrium(m, h.state)
        stable = bool(np.all(np.linalg.eigvals(np_jac(m, y)).real < 0))
        sol = rj.simulate(
            m,
            t1=t1,
            dt=dt,
            y0=jnp.asarray(y) + 1e-3,
            save_every=4,
            solver=solvers.RK4(),
            save_state=False,
        )
        late = np.asarray(sol.observed)[-2000:]
        if stable:
            assert peak_to_peak(late) < 1e-4
        else:
            assert peak_to_peak(late) > 1e-3


# ----------------------------------------------------------------------------- NMM2


def test_ing_hopf_window():
    b = continuation(models.ING(), "I", -20.0, 100.0)
    assert len(b.hopf_points) == 2 and len(b.fold_points) == 0
    low, high = sorted(b.hopf_points, key=lambda h: h.param)
    assert 30 < low.frequency_hz < 100 and high.frequency_hz > 2 * low.frequency_hz

    def re(r):  # closed-form branch: v = -1/(2 pi tau r), I = (pi tau r)^2 + tau J r - v^2
        tau, J = 7.5, 20.0
        v = -1 / (2 * np.pi * tau * r)
        I = (np.pi * tau * r) ** 2 + tau * J * r - v * v
        return lead_complex(np_jac(models.ING(I=I), [r, v, r, 0.0])).real, I

    rs = np.exp(np.linspace(np.log(1e-3), np.log(1.0), 401))
    vals = np.array([re(r)[0] for r in rs])
    roots = [
        brentq(lambda r: re(r)[0], rs[k], rs[k + 1], xtol=1e-15)
        for k in range(len(rs) - 1)
        if np.sign(vals[k]) != np.sign(vals[k + 1])
    ]
    np.testing.assert_allclose([low.param, high.param], sorted(re(r)[1] for r in roots), atol=1e-6)
    # Oscillation between the Hopf points, rest outside.
    for I, oscillates in (
        (low.param - 2, False),
        (0.5 * (low.param + high.param), True),
        (high.param + 40, False),
    ):
        sol = rj.simulate(models.ING(I=I), t1=3000.0, dt=0.005, save_every=20, save_state=False)
        assert (peak_to_peak(np.asarray(sol.observed)[-2000:]) > 1e-3) == oscillates


def test_mpr_bistability_folds():
    m = models.MontbrioPazoRoxin(tau=1.0, Delta=1.0, J=15.0)
    b = continuation(m, "eta", -8.0, -2.0)
    assert len(b.fold_points) == 2
    # Closed form: eta(r) = pi^2 r^2 - J r - Delta^2/(4 pi^2 r^2); folds where d eta/dr = 0.
    deta = lambda r: 2 * np.pi**2 * r - 15.0 + 1.0 / (2 * np.pi**2 * r**3)
    eta = lambda r: np.pi**2 * r**2 - 15.0 * r - 1.0 / (4 * np.pi**2 * r**2)
    r1 = brentq(deta, 0.01, 0.5, xtol=1e-15)
    r2 = brentq(deta, 0.5, 2.0, xtol=1e-15)
    np.testing.assert_allclose(
        sorted(f.param for f in b.fold_points), sorted([eta(r1), eta(r2)]), atol=1e-6
    )
    # Inside the window: three equilibria (stable node, saddle, stable focus).
    fps = fixed_points(models.MontbrioPazoRoxin(tau=1.0, Delta=1.0, J=15.0, eta=-5.0))
    assert [fp.kind for fp in fps] == ["stable node", "saddle", "stable focus"]
    for fp in fps:
        r = fp.state[0]
        np.testing.assert_allclose(eta(r), -5.0, atol=1e-9)


# ----------------------------------------------------------------------------- fixed points


def test_fixed_points_of_wilson_cowan_in_the_bistable_window():
    P_x = -3.45  # between the two folds of panel (a)
    fps = fixed_points(models.WilsonCowan(P_x=P_x, P_y=-6.0))
    assert len(fps) == 3
    kinds = [fp.kind for fp in fps]
    assert kinds.count("saddle") == 1 and sum(fp.stable for fp in fps) >= 1
    for fp in fps:
        f = models.WilsonCowan(P_x=P_x, P_y=-6.0).vector_field(0.0, jnp.asarray(fp.state), None)
        assert float(jnp.max(jnp.abs(f))) < 1e-8


# ----------------------------------------------------------------------------- translation


def test_normal_form_of_stuart_landau_is_itself():
    sl = models.StuartLandau(alpha=0.02, omega=2.0, gamma=1.3, beta=0.7)
    nf = normal_form(sl, y_star=jnp.zeros(2))
    np.testing.assert_allclose(
        [float(nf.model.alpha), float(nf.model.omega), float(nf.model.gamma), float(nf.model.beta)],
        [0.02, 2.0, 1.3, 0.7],
        rtol=1e-9,
    )
    np.testing.assert_allclose(nf.observable_amplitude(sl), np.sqrt(0.02 / 1.3), rtol=1e-9)
    assert translate(sl, to="kuramoto").omega == pytest.approx(2.0 - 0.7 * 0.02 / 1.3)


def test_translated_stuart_landau_reproduces_the_jansen_rit_cycle(jr_branch):
    upper = max(jr_branch.hopf_points, key=lambda h: h.param)
    y_start = rj.simulate(models.JansenRit(p=300.0), t1=5.0, dt=1e-4).y_final
    predicted, simulated = [], []
    deltas = [2.0, 4.0, 8.0]
    for d in deltas:
        m = models.JansenRit(p=upper.param - d)  # below the Hopf: the alpha cycle
        y_star = jansen_rit_branch(upper.param - d, 7.0, 9.0)
        nf = normal_form(m, y_star=y_star)
        sl = translate(m, to="stuart_landau", y_star=y_star)
        assert float(sl.gamma) == float(nf.model.gamma)
        assert float(nf.model.gamma) > 0  # supercritical
        sol = rj.simulate(m, t1=80.0, dt=2e-4, save_every=5, y0=y_start, save_state=False)
        late = np.asarray(sol.observed)[-2000:]
        predicted.append(nf.observable_amplitude(m))
        simulated.append(peak_to_peak(late) / 2)
        f_sim = mean_frequency(np.arange(2000) * 1e-3, late)
        assert abs(nf.cycle_frequency() / (2 * np.pi) - f_sim) < 1e-3 * f_sim
    np.testing.assert_allclose(predicted, simulated, rtol=0.03)
    # Square-root growth: amplitude^2 proportional to the distance from the Hopf.
    ratio = np.array(predicted) ** 2 / np.array(deltas)
    assert np.ptp(ratio) < 0.05 * ratio.mean()


def test_damped_modes_are_the_jacobian_eigenvalues():
    m = models.JansenRit(p=80.0)
    modes = damped_modes(m)
    fp = [f for f in fixed_points(m) if f.stable][0]
    ev = fp.eigenvalues
    lead = ev[np.argmax(ev.real * (ev.imag > 0) - 1e9 * (ev.imag <= 0))]
    np.testing.assert_allclose(
        [float(modes[0].alpha), float(modes[0].omega)], [lead.real, lead.imag], rtol=1e-8
    )
    dho = models.DampedOscillator(alpha=-0.3, omega=1.7)
    (only,) = translate(dho, to="damped", y_star=jnp.zeros(2))
    np.testing.assert_allclose([float(only.alpha), float(only.omega)], [-0.3, 1.7])


def test_stuart_landau_network_reduces_to_kuramoto_sakaguchi():
    alpha, gamma, beta, c, G = 1.0, 1.0, 0.5, 1.0, 0.02
    omegas = jnp.array([2.0, 2.0 + 0.025])
    W = np.array([[0.0, c], [c, 0.0]])
    net = rj.Network(
        models.StuartLandau(alpha=alpha, gamma=gamma, beta=beta, omega=omegas),
        W,
        G=G,
        normalize=None,
    )
    sol = rj.simulate(
        net,
        t1=3000.0,
        dt=0.02,
        save_every=10,
        solver=solvers.RK4(),
        y0=jnp.array([[1.0, 0.0], [0.0, 1.0]]),
    )
    ts = np.asarray(sol.ts)
    late = ts > 1500
    phases = [np.unwrap(np.arctan2(sol.ys[:, i, 1], sol.ys[:, i, 0])) for i in range(2)]
    psi = (phases[1] - phases[0])[late]
    freq = np.polyfit(ts[late], phases[0][late], 1)[0]
    # Reduction: psi' = dw - 2 G c K cos(a) sin psi = dw - 2 G c sin psi (K cos a = 1), and the
    # common frequency is Omega + G c (beta/gamma)(1 - cos psi).
    K, a = np.sqrt(1 + (beta / gamma) ** 2), np.arctan(beta / gamma)
    np.testing.assert_allclose(K * np.cos(a), 1.0)
    dw = float(omegas[1] - omegas[0])
    psi_pred = np.arcsin(dw / (2 * G * c))
    Omega = float(omegas.mean()) - alpha * beta / gamma
    freq_pred = Omega + G * c * (beta / gamma) * (1 - np.cos(psi_pred))
    assert np.ptp(psi) < 1e-4
    assert abs(psi.mean() - psi_pred) < 0.02 * psi_pred
    assert abs(freq - freq_pred) < 2e-4 * G
    # The translated Kuramoto network locks the same way.
    km = phase_reduction(net)
    ksol = rj.simulate(
        km,
        t1=3000.0,
        dt=0.02,
        save_every=10,
        solver=solvers.RK4(),
        y0=jnp.array([[0.0], [np.pi / 2]]),
    )
    kpsi = np.asarray(ksol.ys[late, 1, 0] - ksol.ys[late, 0, 0])
    np.testing.assert_allclose(kpsi.mean(), psi_pred, rtol=1e-3)
    kfreq = unwrapped_phase_rate(ts[late], np.cos(ksol.ys[late, 0, 0]), np.sin(ksol.ys[late, 0, 0]))
    assert abs(kfreq - freq_pred) < 1e-6


# ----------------------------------------------------------------------------- spectra


def test_linear_spectrum_of_a_noisy_jansen_rit_node_matches_welch():
    m = models.JansenRit(p=80.0)  # below the alpha Hopf: two stable foci
    # The low-activity focus (3.4 Hz, strongly damped); the default state, the upper alpha focus
    # (damping 0.14/s), is too close to its Hopf for a 400 s simulation to resolve its peak.
    low = min((fp for fp in fixed_points(m) if fp.stable), key=lambda fp: fp.state[1])
    sigma = 1.0
    freqs = np.linspace(8.0, 13.0, 11)  # the alpha band
    ls = linear_spectrum(m, freqs, noise.Additive(sigma), y_star=low.state)
    run = lambda k: (
        rj.simulate(
            m,
            t1=400.0,
            dt=1e-4,
            save_every=10,
            key=k,
            y0=ls.state,
            noise=noise.Additive(sigma),
            save_state=False,
        ).observed
    )
    x = np.asarray(jax.vmap(run)(jr.split(jr.key(0), 4)))
    f, P = signal.welch(x, fs=1000.0, nperseg=4000, axis=1)
    P = np.interp(freqs, f, P.mean(axis=0))
    np.testing.assert_array_less(np.abs(P / np.asarray(ls.psd[:, 0]) - 1), 0.15)


@pytest.mark.slow  # 20-30 s: default-run budget (the calibration test runs there)
def test_linear_spectrum_with_delays_matches_simulation():
    # Two damped oscillators with a delayed diffusive link: exp(-i w tau) in J(w).
    W = np.array([[0.0, 1.0], [1.0, 0.0]])
    net = rj.Network(
        models.DampedOscillator(alpha=-0.4, omega=2 * np.pi * 1.0),
        W,
        G=0.3,
        delays=np.full((2, 2), 0.35),
        normalize=None,
    )
    freqs = np.linspace(0.5, 1.5, 21)
    ls = linear_spectrum(net, freqs, noise.Additive(0.5), y_star=jnp.zeros((2, 2)))
    run = lambda k: (
        rj.simulate(
            net,
            t1=3000.0,
            dt=0.005,
            save_every=10,
            key=k,
            y0=jnp.zeros((2, 2)),
            noise=noise.Additive(0.5),
        ).observed
    )
    x = np.asarray(jax.vmap(run)(jr.split(jr.key(1), 4)))
    f, P = signal.welch(x, fs=20.0, nperseg=2048, axis=1)
    P = P.mean(axis=0)
    for i in range(2):
        ratio = np.interp(freqs, f, P[:, i]) / np.asarray(ls.psd[:, i])
        assert abs(ratio.mean() - 1) < 0.04  # statistical error per point is about 7 %
        np.testing.assert_array_less(np.abs(ratio - 1), 0.25)
    # Without the delay the spectrum is measurably different.
    no_delay = rj.Network(net.node, W, G=0.3, normalize=None)
    ls0 = linear_spectrum(no_delay, freqs, noise.Additive(0.5), y_star=jnp.zeros((2, 2)))
    assert np.max(np.abs(np.asarray(ls0.psd) / np.asarray(ls.psd) - 1)) > 0.3


def test_linear_spectrum_is_differentiable():
    def peak_power(p):
        m = models.JansenRit(p=p)
        y = jnp.asarray(
            jansen_rit_state_of_v(brentq(lambda v: jansen_rit_p_of_v(v) - 80.0, -1.0, 2.5))
        )
        return linear_spectrum(m, jnp.array([10.0]), noise.Additive(1.0), y_star=y).psd[0, 0]

    g = jax.grad(peak_power)(80.0)
    assert np.isfinite(g)


def test_continuation_errors():
    with pytest.raises(ValueError, match="must differ"):
        continuation(models.JansenRit(), "p", 1.0, 1.0)
    with pytest.raises(TypeError, match="parameter name"):
        continuation(models.JansenRit(), 3, 0.0, 1.0)
    with pytest.raises(ValueError, match="stable equilibrium"):
        linear_spectrum(models.StuartLandau(alpha=1.0), np.array([0.1]), noise.Additive(0.1))
    with pytest.raises(ValueError, match="'damped', 'stuart_landau' or 'kuramoto'"):
        translate(models.DampedOscillator(), to="wilson_cowan")


def test_linear_spectrum_gradient_matches_central_differences():
    f = jnp.array([0.25, 0.3, 0.35])

    def power(alpha):
        m = models.DampedOscillator(alpha=alpha, omega=2.0)
        return jnp.sum(linear_spectrum(m, f, noise.Additive(0.4), y_star=jnp.zeros(2)).psd)

    g = jax.grad(power)(-0.3)
    fd = (power(-0.3 + 1e-6) - power(-0.3 - 1e-6)) / 2e-6
    np.testing.assert_allclose(g, fd, rtol=1e-6)


def test_bifurcation_diagram_draws_the_branch_and_cycles():
    import matplotlib

    matplotlib.use("Agg")
    fig, ax, b = bifurcation_diagram(
        models.StuartLandau(), "alpha", -1.0, 1.0, n_sim=9, t1=100.0, dt=0.02
    )
    assert len(b.hopf_points) == 1 and abs(b.hopf_points[0].param) < 1e-6
    np.testing.assert_allclose(b.hopf_points[0].frequency_hz, 1 / (2 * np.pi), rtol=1e-9)
    assert len(ax.lines) >= 5
    import matplotlib.pyplot as plt

    plt.close(fig)


@pytest.mark.parametrize("x64", [True, False])
def test_one_observable_spectrum_is_the_whole_inverse_formula(x64):
    # Jansen-Rit has 6 states and one observable (y1 - y2), which `linear_spectrum` reaches by
    # one linear solve per frequency. Reference, in numpy float64: the one-sided PSD
    # 2 |c (i w I - J)^-1 b|^2 sigma^2 from the whole inverse, J by central differences of the
    # vector field, b the drive's entry (state 4, gain A a: `input_entry`), c = e1 - e2.
    m = models.JansenRit(p=20.0)  # a stable focus (fit_spectra's Jansen-Rit)
    y = np.asarray(equilibrium(m, m.initial_state()))
    f = lambda x: np.asarray(m.vector_field(0.0, jnp.asarray(x), None))
    h, I6 = 1e-6 * (1.0 + np.abs(y)), np.eye(6)
    J = np.stack([(f(y + h[j] * e) - f(y - h[j] * e)) / (2 * h[j]) for j, e in enumerate(I6)], 1)
    b = np.zeros(6)
    b[4] = float(m.A * m.a)
    c = np.array([0.0, 1.0, -1.0, 0.0, 0.0, 0.0])
    freqs = np.linspace(1.0, 45.0, 23)
    sigma = 0.7
    G = [np.linalg.inv(2j * np.pi * fr * np.eye(6) - J) for fr in freqs]
    ref = [2 * sigma**2 * abs(c @ g @ b) ** 2 for g in G]
    dtype = np.float64 if x64 else np.float32
    with jax.enable_x64(x64):
        m = models.JansenRit(p=20.0)  # in this precision
        args = (jnp.asarray(freqs.astype(dtype)), noise.Additive(sigma))
        psd = linear_spectrum(m, *args, y_star=jnp.asarray(y.astype(dtype))).psd
    assert psd.dtype == dtype
    err = np.max(np.abs(np.asarray(psd[:, 0], float) / np.asarray(ref) - 1))
    # float64: the central differences' error (about 1e-9 here); float32: unit roundoff 6e-8
    # times the 6 x 6 system's condition (entries from 1 to a^2 = 1e4), measured 5e-7.
    assert err < (1e-7 if x64 else 2e-5)


def _jr_equilibria(p, **prm):
    """Every equilibrium of the standard Jansen-Rit model at input rate `p` (numpy/scipy: the
    roots of the reduced equation p(v) = p, bracketed on a fine grid of v = y1 - y2), with
    the eigenvalues of the Jacobian there; sorted by v."""
    v = np.linspace(-10.0, 30.0, 4001)
    g = np.array([jansen_rit_p_of_v(x, **prm) for x in v]) - p
    out = []
    for i in np.nonzero(np.sign(g[:-1]) != np.sign(g[1:]))[0]:
        _, ev = jansen_rit_linear_psd([10.0], p, v[i], v[i + 1], **prm)
        root = brentq(lambda x: jansen_rit_p_of_v(x, **prm) - p, v[i], v[i + 1], xtol=1e-14)
        out.append((jansen_rit_state_of_v(root, **prm), ev))
    return out


@pytest.mark.parametrize("x64", [True, False], ids=["float64", "float32"])
def test_anchored_equilibrium_keeps_its_branch_where_newton_jumps_to_the_saddle(x64):
    """Jansen-Rit with A = 4 mV, C = 100 and p = 40/s is bistable: two stable equilibria and
    a saddle (numpy roots of the reduced equation). Newton from the upper focus at the
    standard p = 20/s lands on the saddle; `fit.Linear(anchor=...)`, continued from that
    focus along its branch, reaches the upper stable focus, and so does a recording model
    anchored at p = 20 (`Observed.anchored`), whose damping ratio is then the focus's
    (from numpy eigenvalues), not the saddle's -1."""
    prm = dict(A=4.0, C=100.0)
    (low, low_ev), (saddle, saddle_ev), (upper, upper_ev) = _jr_equilibria(40.0, **prm)
    assert np.all(low_ev.real < 0) and np.all(upper_ev.real < 0)  # bistable
    assert np.max(saddle_ev.real) > 0 and np.all(np.abs(saddle_ev[saddle_ev.real > 0].imag) == 0)
    zeta = np.min(-upper_ev.real / np.abs(upper_ev))
    rtol = 1e-9 if x64 else 2e-4
    with jax.enable_x64(x64):
        anchor = models.JansenRit(p=20.0)
        obs = rj.fit.Observed(anchor, dispersion_nodes=1)
        y_anchor = jnp.asarray(obs.y_guess[0][1])  # the upper focus (least damped)
        target = models.JansenRit(p=40.0, **prm)
        plain = rj.fit.Linear(y_guess=y_anchor)
        anchored = rj.fit.Linear(y_guess=y_anchor, anchor=anchor)
        np.testing.assert_allclose(plain.equilibrium(target), saddle, rtol=rtol, atol=1e-6)
        np.testing.assert_allclose(anchored.equilibrium(target), upper, rtol=rtol, atol=1e-6)

        moved = lambda o: eqx.tree_at(lambda o: o.generators[0], o, target)
        freqs = jnp.linspace(2.0, 40.0, 20)
        _, z_plain = moved(obs).spectrum(rj.fit.Linear(), noise.Additive(1.0), freqs)
        _, z_anchored = moved(obs.anchored([y_anchor])).spectrum(
            rj.fit.Linear(), noise.Additive(1.0), freqs
        )
    np.testing.assert_allclose(float(z_plain), -1.0, rtol=1e-6)
    np.testing.assert_allclose(float(z_anchored), zeta, rtol=1e-6 if x64 else 1e-3)
