"""`fit.fit_spectra` in sensor space: a network of damped oscillators seen through a lead field,
fitted jointly with one aperiodic observation per sensor.

The target spectra are made here in numpy, independently of the package: the network's
closed-form Jacobian (complex amplitudes $z_i$ with diffusive coupling,
$\\dot z_i = (\\alpha + i\\omega) z_i + G \\sum_j W_{ij} (z_j - z_i)$), the sensor spectra
$S(f) = \\mathrm{diag}\\, L C (i 2\\pi f - J)^{-1} (i 2\\pi f - J)^{-H} C^T L^T$ (white noise of
equal intensity in every state, $C$ the observed real parts), the log-normal time-scale
average of `fit.Observed` (Gauss-Hermite) and, per sensor, the peak normalisation and the
aperiodic observation model $P = A(f)(1 + 10^{\\gamma} \\hat S(f)) + 10^{\\phi}$,
$A = 1/(f_k^{\\chi} + f^{\\chi})$.
"""

from types import SimpleNamespace

import jax
import numpy as np
import pytest

from rosetta_jax import fit, models
from rosetta_jax.network import Network
from rosetta_jax.observation import LeadField


N_REGIONS = 5
F = np.linspace(2.0, 45.0, 44)
_rng = np.random.default_rng(3)
_W0 = _rng.uniform(0.2, 1.0, (N_REGIONS, N_REGIONS))
_W0 = (_W0 + _W0.T) / 2
np.fill_diagonal(_W0, 0.0)
W = _W0 / np.max(np.abs(np.linalg.eigvalsh(_W0)))  # spectral radius 1
LEAD = _rng.normal(size=(4, N_REGIONS))  # 4 sensors

# The truth: the network (G, alpha, omega [rad/s]) and each sensor's observation.
TRUTH = {"G": 6.0, "alpha": -6.0, "omega": 2 * np.pi * 10.0}
SENSORS = {
    "log_gain": np.array([0.8, 1.0, 0.6, 1.2]),
    "exponent": np.array([1.2, 1.8, 2.2, 1.5]),
    "knee": np.array([4.0, 6.0, 5.0, 8.0]),
    "log_floor": np.array([-6.0, -5.5, -7.0, -6.5]),
}


def _jacobian(G, alpha, omega):
    """The real (2n x 2n) Jacobian, states ordered (x_1, y_1, x_2, y_2, ...): the complex
    matrix M = diag(alpha + i omega) + G (W - diag(row sums of W)) written on (Re z, Im z)."""
    M = np.diag(np.broadcast_to(alpha + 1j * np.asarray(omega), (N_REGIONS,))).astype(complex)
    M += G * (W - np.diag(W.sum(axis=1)))
    return np.kron(M.real, np.eye(2)) + np.kron(M.imag, np.array([[0.0, -1.0], [1.0, 0.0]]))


def _sensor_spectra(G, alpha, omega, freqs, lead=LEAD):
    """Each sensor's power at `freqs` [Hz] (up to one common factor), shape (freqs, sensors)."""
    J = _jacobian(G, alpha, omega)
    C = np.kron(np.eye(N_REGIONS), [[1.0, 0.0]])  # the observed x of every region
    out = []
    for f in freqs:
        H = lead @ C @ np.linalg.inv(2j * np.pi * f * np.eye(2 * N_REGIONS) - J)
        out.append(np.real(np.einsum("sk,sk->s", H, H.conj())))
    return np.array(out)


def _observed_psd(net, obs, dispersion=0.0, nodes=5):
    """The recording per sensor: the network's sensor spectra averaged over log-normal time
    scales (standard deviation `dispersion`), normalised to a peak of 1 in F, seen through
    each sensor's aperiodic background and floor."""
    x, w = np.polynomial.hermite_e.hermegauss(nodes)
    s = np.exp(dispersion * x)
    S = sum(
        wj / w.sum() * _sensor_spectra(net["G"], net["alpha"], net["omega"], F / sj) / sj
        for wj, sj in zip(w, s, strict=True)
    )
    S = S / S.max(axis=0)
    A = 1.0 / (obs["knee"] ** obs["exponent"] + F[:, None] ** obs["exponent"])
    return A * (1.0 + 10.0 ** obs["log_gain"] * S) + 10.0 ** obs["log_floor"]


def _network(G=3.0, alpha=-10.0, omega=2 * np.pi * 9.0):
    node = models.DampedOscillator(alpha=alpha, omega=omega)
    return Network(node, W, G=G, normalize=None)


def test_the_reference_is_the_closed_form_of_one_uncoupled_oscillator():
    """The numpy reference itself: with G = 0 and a lead field picking region 0, the sensor
    spectrum is the damped oscillator's two Lorentzians at +-omega."""
    S = _sensor_spectra(0.0, -8.0, 2 * np.pi * 11.0, F, lead=np.eye(N_REGIONS)[:1])[:, 0]
    w, w0 = 2 * np.pi * F, 2 * np.pi * 11.0
    lorentz = 1 / (64 + (w - w0) ** 2) + 1 / (64 + (w + w0) ** 2)
    np.testing.assert_allclose(S / S.max(), lorentz / lorentz.max(), rtol=1e-10)


@pytest.mark.slow  # 17-31 s: default-run budget (the calibration test runs there)
def test_recovers_the_network_and_each_sensors_observation():
    """Sensor spectra of a known network and observation (numpy) are fitted back from G = 3,
    alpha = -10 1/s, omega = 2 pi 9 rad/s: G within 3 %, alpha within 0.15 1/s, the peak
    within 0.02 Hz, per sensor the exponent within 0.02, the gain within 0.03 and the knee
    within 0.3 Hz; the fitted model's spectra are the numpy reference at the fitted values."""
    target = _observed_psd(TRUTH, SENSORS)
    res = fit.fit_spectra(
        (F, target),
        _network(),
        lead_field=LeadField(LEAD),
        dispersion=False,
        peak_weight=0.0,  # the peak term (an arg-max) jumps as a weak peak appears or goes
        starts=1,
        steps=2500,
        learning_rate=0.05,
        progress=False,
        key=jax.random.key(0),
        laplace=False,  # default-run budget
    )
    p = res.params
    for name in ("log_gain", "exponent", "knee", "log_floor"):
        assert np.shape(p[name]) == (4,), name  # one observation per sensor
    assert "dispersion" not in p
    assert res.goodness["r2_log_psd"].shape == (4,)
    np.testing.assert_allclose(p["G"], TRUTH["G"], rtol=0.03)
    np.testing.assert_allclose(p["alpha"], TRUTH["alpha"], atol=0.15)
    np.testing.assert_allclose(p["omega"] / (2 * np.pi), 10.0, atol=0.02)
    np.testing.assert_allclose(p["exponent"], SENSORS["exponent"], atol=0.02)
    np.testing.assert_allclose(p["log_gain"], SENSORS["log_gain"], atol=0.03)
    np.testing.assert_allclose(p["knee"], SENSORS["knee"], atol=0.3)
    assert np.all(res.goodness["r2_log_psd"] > 0.9999)
    fitted = {k: float(p[k]) for k in TRUTH}
    expected = _observed_psd(fitted, {k: p[k] for k in SENSORS})
    np.testing.assert_allclose(res.goodness["model_psd"], expected, rtol=1e-8)


def test_bad_sensor_space_inputs_name_the_problem():
    target = (F, _observed_psd(TRUTH, SENSORS))
    net = _network()
    kw = {"steps": 5, "progress": False, "dispersion": False}
    with pytest.raises(ValueError, match="one column per region"):
        fit.fit_spectra(target, net, lead_field=LEAD[:, :3], **kw)
    with pytest.raises(ValueError, match="3 sensors"):
        fit.fit_spectra(target, net, lead_field=LEAD[:3], **kw)
    with pytest.raises(ValueError, match="lead_field"):
        fit.fit_spectra(target, net, **kw)
    with pytest.raises(ValueError, match="one Network"):
        fit.fit_spectra(target, [net, models.DampedOscillator(alpha=-5.0)], lead_field=LEAD, **kw)
    with pytest.raises(ValueError, match="one Network"):
        fit.fit_spectra(target, models.DampedOscillator(alpha=-5.0), lead_field=LEAD, **kw)
    with pytest.raises(ValueError, match="'beta'"):
        fit.fit_spectra(
            target, net, lead_field=LEAD, params=["beta"], transforms=[fit.Bounded(0, 1)], **kw
        )


def test_a_node_parameter_named_like_a_network_field_is_fitted_as_node_dot_name():
    """Wendling's fast inhibitory gain is called G, like the network's coupling gain: by
    default both are fitted, the node's as 'node.G' within its own range."""
    from rosetta_jax.fit._sensor_spectra import _network_fields

    net = Network(models.Wendling(), W, G=2.0)
    names, sels, trs = _network_fields(net, None, None)
    assert names[0] == "G" and "node.G" in names and names.count("G") == 1
    by_name = dict(zip(names, zip(sels, trs, strict=True), strict=True))
    wrapped = SimpleNamespace(generators=(net,))  # what the selectors read of an Observed
    assert float(by_name["G"][0](wrapped)) == 2.0
    assert float(by_name["node.G"][0](wrapped)) == float(net.node.G)
    assert float(by_name["node.G"][1].low) == 5.0  # Wendling's range, not the coupling's


@pytest.mark.slow  # about 100 s: 4 starts x 3000 steps
def test_recovers_the_network_with_every_default_setting():
    """With the defaults (the knee and the time-scale dispersion fitted, the alpha-peak term, 4
    starts): a target with dispersion 0.15 gives back G within 5 %, the peak within 0.05 Hz and
    the dispersion within 0.01 (the exponent, knee and floor of a sensor trade off against
    each other and are not checked here)."""
    target = _observed_psd(TRUTH, SENSORS, dispersion=0.15)
    res = fit.fit_spectra(
        (F, target),
        _network(),
        lead_field=LEAD,
        steps=3000,
        progress=False,
        key=jax.random.key(1),
        laplace=False,
    )
    p = res.params
    assert res.loss_history.shape[1] == 4  # the starts
    np.testing.assert_allclose(p["G"], TRUTH["G"], rtol=0.05)
    np.testing.assert_allclose(p["omega"] / (2 * np.pi), 10.0, atol=0.05)
    np.testing.assert_allclose(p["dispersion"], 0.15, atol=0.01)
    assert np.all(res.goodness["r2_log_psd"] > 0.999)
    assert np.all(res.goodness["peak_error_hz"] < 0.01)
