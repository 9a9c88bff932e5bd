"""The thalamo-cortical example (`rosetta_jax.thalamocortical`): the cortex's EEG peaks in the
alpha band under noise (rosetta's Welch spectrum and scipy's on the same run); the alpha comes
from the thalamus and its loop (the open-loop variants); the linearised spectrum equals a plain
numpy transfer function of the delayed loop written from the single models' Jacobians, and a
low-noise simulation; the loop oscillates past its critical gain; the DK68 network; errors."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
import scipy.signal

import rosetta_jax as rj
from rosetta_jax import analysis, data, noise


FS = 250.0  # saving rate [Hz]: dt = 0.5 ms, every 8th step
ALPHA, LOW = (8.0, 12.0), (0.5, 4.0)


@pytest.fixture(scope="module")
def column():
    """The default network (one Jansen-Rit column, one relay) at its equilibrium."""
    net = rj.thalamocortical()
    return net, analysis.stable_equilibrium(net)


def run(net, y0, t1=64.0, scale=1.0, forcing=None, dt=5e-4):
    """The cortical EEG of a noisy run (the default noise times `scale`), saved at FS."""
    nz = rj.thalamocortical_noise(net)
    sol = rj.simulate(
        net,
        t1=t1,
        dt=dt,
        save_every=round(1 / (FS * dt)),
        y0=y0,
        forcing=forcing,
        noise=noise.Additive(nz.sigma * scale),
        key=jr.key(0),
        save_state=False,
    )
    return np.asarray(sol.observed[:, 0])


def band(f, p, lo_hi):
    f, p = np.asarray(f), np.asarray(p)
    return float(np.mean(p[(f >= lo_hi[0]) & (f <= lo_hi[1])]))


@pytest.fixture(scope="module")
def closed_loop_eeg(column):
    return run(*column)


def test_the_cortex_peaks_in_the_alpha_band_under_noise(closed_loop_eeg):
    x = closed_loop_eeg
    f, p = analysis.welch(jnp.asarray(x), FS, nperseg=1000)
    peak = float(analysis.peak_frequency(f, p))
    assert 8.0 <= peak <= 12.0, peak
    # Independent check on the same data: scipy's periodogram has its maximum in the same bin.
    fs, ps = scipy.signal.welch(x, fs=FS, nperseg=1000)
    assert abs(fs[np.argmax(ps)] - peak) <= fs[1]
    assert band(fs, ps, ALPHA) > 5 * band(fs, ps, LOW)  # a peak, not a low-pass spectrum


def test_the_alpha_comes_from_the_thalamic_loop(column, closed_loop_eeg):
    # Each open loop keeps every node's operating point (the cut edges replaced by the constant
    # input they carry at the equilibrium), so only the loop differs. Without the relays'
    # output the column's spectrum is low-pass (Jansen-Rit with C = 68 has no alpha of its
    # own) and its alpha power falls more than tenfold; without the cortex's feedback the
    # relays' own resonance remains (a peak still in alpha) with less than 3/4 of the power
    # (the linearised spectra give 2.7 % and 42 %).
    net, y = column
    fs, closed = scipy.signal.welch(closed_loop_eeg, fs=FS, nperseg=1000)
    opened, F = rj.open_loop(net, y, cut="thalamocortical")
    _, p = scipy.signal.welch(run(opened, y, forcing=F), fs=FS, nperseg=1000)
    assert band(fs, p, LOW) > 1.5 * band(fs, p, ALPHA)  # low-pass (linearised: 2.5 times)
    assert band(fs, p, ALPHA) < 0.1 * band(fs, closed, ALPHA)
    opened, F = rj.open_loop(net, y, cut="corticothalamic")
    _, p = scipy.signal.welch(run(opened, y, forcing=F), fs=FS, nperseg=1000)
    assert 8.0 <= fs[np.argmax(p)] <= 12.0
    assert band(fs, p, ALPHA) < 0.75 * band(fs, closed, ALPHA)


def loop_spectrum(net, y, freqs, sigma, cut=None):
    """One-sided PSD [mV^2/Hz] of the cortical EEG of the linearised single-column loop,
    written from the two models alone: $\\dot z = A z + K(\\omega) z + N\\xi$ with $A$ the
    block-diagonal Jacobians (numpy), $K$ the delayed couplings $k_{tc}\\, b_c\\, \\partial x_r$
    and $k_{ct}\\, b_r\\, \\partial S_c$ times $e^{-i\\omega\\tau}$, $N$ the noise entries
    (Jansen-Rit: $A a$ on $\\dot y_4$; the relay: $k_{ct}\\gamma_x/\\tau_x^2$ on $\\ddot x$);
    $S(f) = 2 \\sum_k |H_k|^2 \\sigma_k^2$."""
    ctx, rel = (g.model for g in net.groups)
    k_ct = float(net.group("thalamus").input_scale)
    k_tc = float(net.group("thalamus").efferent_scale)
    yc, yr = y[0, :6], y[1, :4]
    u_c, u_r = k_tc * float(yr[0]), k_ct * float(ctx.efferent(yc))
    jac = lambda m, yy, u: np.asarray(jax.jacfwd(lambda v: m.vector_field(0.0, v, u))(yy))
    d_u = lambda m, yy, u: np.asarray(jax.jacfwd(lambda w: m.vector_field(0.0, yy, w))(u))
    A = np.zeros((10, 10))
    A[:6, :6], A[6:, 6:] = jac(ctx, yc, u_c), jac(rel, yr, u_r)
    to_cortex = np.zeros((10, 10))  # relay x -> cortical input rate
    to_cortex[:6, 6] = k_tc * d_u(ctx, yc, u_c)
    to_relay = np.zeros((10, 10))  # cortical rate -> relay membrane
    to_relay[6:, :6] = k_ct * np.outer(d_u(rel, yr, u_r), np.asarray(jax.grad(ctx.efferent)(yc)))
    to_cortex *= cut != "thalamocortical"
    to_relay *= cut != "corticothalamic"
    N = np.zeros((10, 2))
    N[4, 0] = float(ctx.A * ctx.a)
    N[8, 1] = k_ct * float(rel.gamma_x / rel.tau_x**2)
    obs = np.zeros(10)
    obs[1], obs[2] = 1.0, -1.0  # y1 - y2
    tau_tc, tau_ct = float(net.delays[0, 1]), float(net.delays[1, 0])
    out = []
    for w in 2 * np.pi * np.asarray(freqs):
        J = A + to_cortex * np.exp(-1j * w * tau_tc) + to_relay * np.exp(-1j * w * tau_ct)
        H = obs @ np.linalg.solve(1j * w * np.eye(10) - J, N)
        out.append(2 * np.sum(np.abs(H) ** 2 * np.asarray(sigma) ** 2))
    return np.array(out)


@pytest.mark.parametrize("cut", [None, "thalamocortical", "corticothalamic"])
def test_linearised_spectrum_equals_a_transfer_function_of_the_delayed_loop(column, cut):
    net, y = column
    nz = rj.thalamocortical_noise(net)
    model, F = (net, None) if cut is None else rj.open_loop(net, y, cut=cut)
    freqs = np.linspace(0.5, 40.0, 80)
    got = analysis.linear_spectrum(model, freqs, nz, y_star=y, args=F).psd[:, 0]
    np.testing.assert_allclose(got, loop_spectrum(net, y, freqs, nz.sigma, cut), rtol=1e-8)


def test_linearised_spectrum_matches_the_simulation(column):
    # The default noise keeps the loop in its linear regime: over 200 s the Welch spectrum's
    # alpha peak and power match the transfer function's (the statistical error of the band
    # power over 200 s is about 7 %, this key gives -14 %; over 1000 s they agree within 2 %).
    net, y = column
    x = run(net, y, t1=200.0)
    fs, ps = scipy.signal.welch(x, fs=FS, nperseg=1000)
    lin = loop_spectrum(net, y, fs[1:], rj.thalamocortical_noise(net).sigma)
    assert abs(fs[np.argmax(ps)] - fs[1:][np.argmax(lin)]) <= fs[1]
    np.testing.assert_allclose(band(fs, ps, ALPHA), band(fs[1:], lin, ALPHA), rtol=0.25)
    np.testing.assert_allclose(band(fs, ps, LOW), band(fs[1:], lin, LOW), rtol=0.25)


def test_the_loop_oscillates_past_its_critical_gain(column):
    # The linearised spectrum's peak diverges near k_tc = 407 1/(mV s): without noise, a
    # perturbation decays at the default 300 and grows into an alpha oscillation at 450.
    net, y = column

    def tail(k_tc):
        model = rj.thalamocortical(tc_gain=k_tc)
        y0 = analysis.stable_equilibrium(model) + 0.01
        x = rj.simulate(model, t1=20.0, dt=5e-4, save_every=8, y0=y0, save_state=False)
        return np.asarray(x.observed[-1250:, 0])  # the last 5 s

    assert np.ptp(tail(300.0)) < 1e-4
    x = tail(450.0)
    fs, ps = scipy.signal.welch(x, fs=FS, nperseg=1250)
    assert np.ptp(x) > 0.1 and 8.0 <= fs[np.argmax(ps)] <= 12.0


def test_a_dk68_network_with_a_relay_per_hemisphere(getkey):
    dk = data.load_dk68()
    hemi = np.array([int(label.startswith("rh.")) for label in dk.labels])
    # Fibres shorter than 2.5 mm get 2.5 mm: delays of at least one step of 0.5 ms at 5 m/s.
    L = np.maximum(dk.lengths, 2.5)
    net = rj.thalamocortical(dk.weights, lengths=L, speed=5.0, G=5.0, relay_of=hemi)
    assert net.names == ("cortex", "thalamus") and net.n_nodes == 70
    C, D = np.asarray(net.weights), np.asarray(net.delays)
    lam = np.max(np.abs(np.linalg.eigvalsh(dk.weights)))
    np.testing.assert_allclose(C[:68, :68], 5.0 * dk.weights / lam, rtol=1e-12)
    np.testing.assert_allclose(D[:68, :68], L / 5.0 * 1e-3, rtol=1e-12)  # mm / (m/s) = ms
    np.testing.assert_array_equal(C[:68, 68:], np.eye(2)[hemi])  # each region <- its relay
    np.testing.assert_allclose(C[68:, :68], np.eye(2)[hemi].T / 34)  # relay <- mean rate
    np.testing.assert_array_equal(D[:68, 68:], 0.04)
    np.testing.assert_array_equal(D[68:, :68], 0.04)
    sol = rj.simulate(
        net, t1=24.0, dt=5e-4, save_every=8, noise=rj.thalamocortical_noise(net), key=getkey()
    )
    x = np.asarray(sol.observed[1000:, :68])  # after 4 s
    fs, ps = scipy.signal.welch(x, fs=FS, nperseg=1000, axis=0)
    peaks = fs[np.argmax(ps, axis=0)]
    assert np.all((peaks >= 8.0) & (peaks <= 12.0)), peaks


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"weights": np.ones((3, 2))}, "`weights` must be a square matrix"),
        ({"weights": np.ones((3, 3)), "lengths": np.ones((2, 2))}, "`lengths` must have"),
        ({"weights": np.ones((3, 3)), "relay_of": [0, 1]}, "`relay_of` must give each of the 3"),
        ({"weights": np.ones((3, 3)), "relay_of": [0, 2, 2]}, r"leaves relays \[1\] without"),
        ({"ct_delay": 0.0}, "`ct_delay` must be a positive delay"),
        ({"weights": np.ones((2, 2)), "lengths": np.ones((2, 2)), "speed": 0.0}, "`speed`"),
        ({"relay": rj.models.WilsonCowan()}, "pass `time_scale`"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        rj.thalamocortical(**kwargs)


def test_open_loop_rejects_an_unknown_cut(column):
    with pytest.raises(ValueError, match="`cut` must be"):
        rj.open_loop(*column, cut="both")
