"""`fit.fit_fc`: regional parameters and edge gains recovered from synthetic FC, whose truth is
computed independently (numpy/scipy: the linearised Hopf Jacobian written out by hand and
scipy's Lyapunov solver); input errors; the simulated-BOLD path."""

import math

import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
import scipy.linalg

from rosetta_jax import Network, fit, models, noise
from rosetta_jax.fit._fc import HopfFC


OMEGA = 2 * math.pi * 0.05  # rad/s


def _ring(n, chords=((0, 4), (1, 6), (2, 5))):
    """A sparse symmetric connectome: a ring plus a few chords, uneven weights."""
    W = np.zeros((n, n))
    for i in range(n):
        W[i, (i + 1) % n] = W[(i + 1) % n, i] = 1.0 + 0.5 * math.sin(i)
    for i, j in chords:
        W[i, j] = W[j, i] = 0.7
    return W


def _unit(W):
    """W scaled to a largest |eigenvalue| of 1 (the network's default normalisation)."""
    return W / np.max(np.abs(np.linalg.eigvals(W)))


def _scipy_fc(C, alpha, G, omega=OMEGA):
    """FC of x in dz_i = (alpha_i + i omega_i) z_i + G sum_j C_ij (z_j - z_i) + white noise,
    from the real 2n x 2n Jacobian and scipy's Lyapunov solver."""
    n = C.shape[0]
    a = np.broadcast_to(alpha, (n,))
    w = np.broadcast_to(omega, (n,))
    K = G * (C - np.diag(C.sum(1)))
    J = np.block([[np.diag(a) + K, -np.diag(w)], [np.diag(w), np.diag(a) + K]])
    S = scipy.linalg.solve_continuous_lyapunov(J, -np.eye(2 * n))[:n, :n]
    d = np.sqrt(np.diag(S))
    return S / np.outer(d, d)


@pytest.mark.parametrize("case", ["shared_omega", "regional_omega", "asymmetric"])
def test_hopf_fc_matches_scipy(case):
    n = 7
    rng = np.random.default_rng(3)
    W = _ring(n, chords=((0, 3), (2, 5)))
    omega = OMEGA * rng.uniform(0.6, 1.4, n) if case == "regional_omega" else OMEGA
    if case == "asymmetric":
        W = W * rng.uniform(0.5, 1.5, (n, n))
    alpha = rng.uniform(-0.3, -0.02, n)
    node = models.StuartLandau(alpha=jnp.asarray(alpha), omega=jnp.asarray(omega))
    net = Network(node, W, G=0.8)
    objective = HopfFC(fit.FCTarget(np.eye(n)), 0.02, case != "asymmetric")
    fc, _ = objective.fc(net)
    np.testing.assert_allclose(np.asarray(fc), _scipy_fc(_unit(W), alpha, 0.8, omega), atol=1e-10)


def test_hopf_fc_float32():
    """float32 throughout: the FC agrees with scipy's (float64) to 1e-4."""
    n = 8
    alpha = np.linspace(-0.3, -0.05, n)
    f32 = lambda x: jnp.asarray(x, jnp.float32)
    node = models.StuartLandau(alpha=f32(alpha), omega=f32(OMEGA))
    net = Network(node, f32(_ring(n)), G=f32(0.6))
    objective = HopfFC(fit.FCTarget(np.eye(n)), f32(0.02), True)
    fc, _ = objective.fc(net)
    assert fc.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(fc), _scipy_fc(_unit(_ring(n)), alpha, 0.6), atol=1e-4)


def test_recovers_regional_alpha():
    """Regional alpha from the FC alone (G known, structural weights): to 2 %."""
    n = 8
    W = _ring(n)
    alpha = np.array([-0.05, -0.2, -0.1, -0.3, -0.08, -0.15, -0.25, -0.12])
    fc = _scipy_fc(_unit(W), alpha, 0.5)
    res = fit.fit_fc(fc, W, G=0.5, edge_gains=False, steps=300, learning_rate=0.1, progress=False)
    assert set(res.params) == {"alpha"}
    np.testing.assert_allclose(res.params["alpha"], alpha, rtol=0.02)
    assert res.goodness["fc_correlation"] > 0.9999


def test_recovers_edge_gains():
    """Per-edge gains (and the shared alpha) from the FC (G known): to 0.1 %."""
    n = 8
    W = _ring(n)
    rng = np.random.default_rng(0)
    edges = np.triu(W > 0)
    log_g = np.where(edges, rng.normal(0.0, 0.3, W.shape), 0.0)
    log_g = log_g + log_g.T
    log_g = np.where(W > 0, log_g - log_g[W > 0].mean(), 0.0)  # centred, as fit_fc's
    gains = np.exp(log_g)
    fc = _scipy_fc(_unit(W) * gains, -0.1, 0.5)
    res = fit.fit_fc(
        fc, W, G=0.5, heterogeneity=(), gain_weight=1e-6, steps=400, learning_rate=0.1,
        progress=False,
    )  # fmt: skip
    assert set(res.params) == {"alpha", "weights", "edge_gain"}
    np.testing.assert_allclose(res.params["alpha"], -0.1, rtol=1e-3)
    np.testing.assert_allclose(res.params["edge_gain"][W > 0], gains[W > 0], rtol=1e-3)
    np.testing.assert_array_equal(res.params["edge_gain"][W == 0], 1.0)


def test_regional_alpha_and_gains_reproduce_fc():
    """Jointly (the default): the model FC matches the target (the parameters themselves are
    identifiable only up to a node-wise rescaling, see `fit_fc`); the result carries them."""
    n = 8
    W = _ring(n)
    fc = _scipy_fc(_unit(W) * np.exp(0.2 * np.sin(np.add.outer(range(n), range(n)))), -0.1, 0.5)
    res = fit.fit_fc(fc, W, steps=400, progress=False)
    assert res.params["alpha"].shape == (n,) and res.params["edge_gain"].shape == (n, n)
    assert np.all(res.params["alpha"] < 0)
    assert res.goodness["fc_correlation"] > 0.999
    assert res.goodness["log_gain_rms"] > 0


def test_bad_inputs():
    W = _ring(6, chords=())
    fc = _scipy_fc(_unit(W), -0.1, 0.5)
    with pytest.raises(ValueError, match="`weights` has shape"):
        fit.fit_fc(fc, W[:5, :5], progress=False)
    with pytest.raises(ValueError, match="`lengths` has shape"):
        fit.fit_fc(fc, W, np.ones((6, 5)), progress=False)
    bad = fc.copy()
    bad[0, 1] += 0.2
    with pytest.raises(ValueError, match="`fc` must be symmetric"):
        fit.fit_fc(bad, W, progress=False)
    with pytest.raises(ValueError, match="`fc` must be square"):
        fit.fit_fc(fc[:5], W, progress=False)
    with pytest.raises(ValueError, match="`heterogeneity` names \\['excitability'\\]"):
        fit.fit_fc(fc, W, heterogeneity=("alpha", "excitability"), progress=False)
    with pytest.raises(ValueError, match="`shared` names"):
        fit.fit_fc(fc, W, shared="gamma", progress=False)
    with pytest.raises(ValueError, match="`weights` must be finite and >= 0"):
        fit.fit_fc(fc, -W, progress=False)
    with pytest.raises(ValueError, match="`method` must be"):
        fit.fit_fc(fc, W, method="bold", progress=False)


@pytest.mark.slow  # 17-31 s: default-run budget (the calibration test runs there)
def test_bold_path_moves_coupling_up():
    """Through simulated BOLD (6 regions, 300 s runs, 2 noise keys resampled every step):
    the target is the BOLD FC of the network at G = 1 (8 other keys); from G = 0.3, G rises
    towards it and the loss falls. The FC level sets G here (`mse_weight`): the FC's pattern
    (its correlation with the target) hardly changes with G on this small network."""
    W = _ring(6, chords=((0, 3),))
    net = Network(models.StuartLandau(alpha=-0.1, omega=OMEGA), W, G=1.0)
    run = fit.Simulated(t1=300.0, dt=0.4, save_every=1, n_keys=2, discard=0.05)
    method = fit.SimulatedBold(run, tr=0.8, bold_dt=0.1)
    fc = np.mean([method.fc(net, noise.Additive(0.02), jr.key(k))[0] for k in range(99, 103)], 0)
    res = fit.fit_fc(
        (fc + fc.T) / 2, W, method=method, heterogeneity=(), shared=(), edge_gains=False,
        G=0.3, mse_weight=5.0, steps=15, learning_rate=0.1, progress=False,
    )  # fmt: skip
    h = res.loss_history[:, 0]
    assert set(res.params) == {"G"}
    assert 0.5 < res.params["G"] < 2.0
    assert np.nanmean(h[-5:]) < 0.6 * np.nanmean(h[:5])


@pytest.mark.slow
def test_bold_path_with_fcd_gains_and_delays():
    """The simulated path with everything on: FCD quantiles, regional alpha, edge gains and
    conduction delays (dt below the shortest delay): every step finite, the loss falls."""
    n = 6
    W = _ring(n, chords=((0, 3),))
    lengths = np.where(W > 0, 40.0 + 10 * np.add.outer(range(n), range(n)), 0.0)
    run = fit.Simulated(t1=200.0, dt=0.005, save_every=20, n_keys=1, discard=0.05)
    probe = fit.SimulatedBold(run, tr=0.8, bold_dt=0.1)
    net = Network(models.StuartLandau(alpha=-0.1, omega=OMEGA), W, G=1.0)
    y = probe.signals(net, noise.Additive(0.02), jr.key(7))[0]
    method = fit.SimulatedBold(
        run, tr=0.8, bold_dt=0.1, fcd_target=fit.fcd_quantiles(y, 30, 5), fcd_weight=1.0
    )
    fc = np.corrcoef(np.asarray(y).T)
    res = fit.fit_fc(
        fc, W, lengths, method=method, speed=5.0, G=0.3, steps=8, learning_rate=0.1,
        progress=False,
    )  # fmt: skip
    assert res.meta["rejected_steps"] == 0
    assert set(res.params) == {"G", "alpha", "weights", "edge_gain"}
    assert res.best_loss < res.loss_history[0, 0]


@pytest.mark.slow  # about 25 s: the Laplace of the spectra is checked in the default run
def test_fc_posterior_laplace_against_a_grid():
    """The Fisher-z likelihood of FC (`fit.FisherZ`): the Laplace approximation of a shared
    alpha's posterior (G known) against a grid over the same posterior written in numpy
    (scipy's FC, the Gaussian of the z values with sd 1/sqrt(n - 3), the uniform prior on
    alpha's bounds as a standard normal density of the Laplace's probit coordinate)."""
    import scipy.special
    import scipy.stats

    from rosetta_jax.fit._fc import BOUNDS

    n, n_t = 8, 300
    C, sigma = _unit(_ring(n)), 1 / math.sqrt(n_t - 3)
    iu = np.triu_indices(n, 1)
    rng = np.random.default_rng(7)
    z = np.arctanh(_scipy_fc(C, -0.12, 0.5)[iu]) + rng.normal(0, sigma, iu[0].size)
    fc = np.eye(n)
    fc[iu] = np.tanh(z)
    fc = np.triu(fc, 1) + np.triu(fc, 1).T + np.eye(n)
    res = fit.fit_fc(
        fc, _ring(n), G=0.5, heterogeneity=(), shared=("alpha",), edge_gains=False, steps=200,
        progress=False, likelihood=fit.FisherZ(n_timepoints=n_t),
    )  # fmt: skip
    lap = res.laplace
    assert lap.coords == ("alpha",) and bool(lap.converged[0])
    lo, hi = BOUNDS["alpha"]
    sd_v = math.sqrt(lap.cov_v[0, 0, 0])
    v = lap.mode_v[0, 0] + np.linspace(-8, 8, 801) * sd_v
    alpha = lo + (hi - lo) * scipy.special.ndtr(v)
    lp = np.array(
        [
            np.sum(scipy.stats.norm.logpdf(z, np.arctanh(_scipy_fc(C, a, 0.5)[iu]), sigma))
            for a in alpha
        ]
    ) + scipy.stats.norm.logpdf(v)
    log_z = scipy.special.logsumexp(lp) + np.log(v[1] - v[0])
    w = np.exp(lp - lp.max())
    w /= w.sum()
    mean = np.sum(w * alpha)
    sd = math.sqrt(np.sum(w * (alpha - mean) ** 2))
    assert lap.log_evidence[0] == pytest.approx(log_z, abs=0.05)
    assert lap.mode[0, 0] == pytest.approx(mean, abs=0.1 * sd)
    assert lap.se[0, 0] == pytest.approx(sd, rel=0.05)
    assert abs(lap.mode[0, 0] + 0.12) < 4 * sd  # the truth, within the error bars
