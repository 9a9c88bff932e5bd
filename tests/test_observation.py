"""Observation models: the sphere EEG gain against its Legendre series, the lead field, and the
Balloon-Windkessel BOLD model's steady state."""

import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import eval_legendre

from rosetta_jax import observation


def _arc(R, n=9):
    ang = np.linspace(0, np.pi, n)
    return ang, np.stack([R * np.sin(ang), np.zeros_like(ang), R * np.cos(ang)], axis=1)


@pytest.mark.parametrize("b", [0.0, 25.0, 60.0, 80.0])
def test_radial_dipole_matches_the_legendre_series(b):
    # Radial dipole at depth b in a homogeneous sphere: V = p/(4 pi s R^2) sum (2n+1) f^(n-1) P_n.
    R, sigma = 90.0, 0.33
    ang, sensors = _arc(R)
    g = observation.sphere_gain(
        np.array([[0.0, 0.0, b]]),
        sensors,
        np.array([[0.0, 0.0, 1.0]]),
        radius_mm=R,
        conductivity=sigma,
        average_reference=False,
    )[:, 0]
    f, Rm = b / R, R * 1e-3
    series = sum(
        (2 * n + 1) * f ** (n - 1) * eval_legendre(n, np.cos(ang)) for n in range(1, 2000)
    ) / (4 * np.pi * sigma * Rm**2)
    np.testing.assert_allclose(g, series, rtol=1e-8, atol=1e-10 * np.max(np.abs(series)))


def test_dipole_at_the_centre_gives_three_cos_theta_in_any_orientation():
    R, sigma = 80.0, 0.3
    rng = np.random.default_rng(0)
    sensors = rng.normal(size=(12, 3))
    q = rng.normal(size=(1, 3))
    g = observation.sphere_gain(
        np.zeros((1, 3)), sensors, q, radius_mm=R, conductivity=sigma, average_reference=False
    )[:, 0]
    rhat = sensors / np.linalg.norm(sensors, axis=1, keepdims=True)
    qhat = q[0] / np.linalg.norm(q[0])
    expected = 3 * (rhat @ qhat) / (4 * np.pi * sigma * (R * 1e-3) ** 2)
    np.testing.assert_allclose(g, expected, rtol=1e-10)


def test_average_reference_and_centre_offset():
    names, el = observation.standard_1020_positions(radius_mm=95.0, use_mne=False)
    pos = np.array([[10.0, -30.0, 40.0], [-20.0, 10.0, 30.0]])
    g = observation.sphere_gain(pos, el, radius_mm=95.0)
    np.testing.assert_allclose(g.sum(axis=0), 0.0, atol=1e-9 * np.abs(g).max())
    shifted = observation.sphere_gain(
        pos + np.array([0.0, -20.0, 5.0]), el, radius_mm=95.0, centre_mm=[0.0, -20.0, 5.0]
    )
    np.testing.assert_allclose(shifted, g, rtol=1e-12)
    with pytest.raises(ValueError, match="inside the sphere"):
        observation.sphere_gain(np.array([[0.0, 0.0, 120.0]]), el, radius_mm=95.0)


def test_standard_1020_geometry():
    names, el = observation.standard_1020_positions(radius_mm=90.0, use_mne=False)
    assert len(names) == 21 and len(set(names)) == 21
    np.testing.assert_allclose(np.linalg.norm(el, axis=1), 90.0)
    d = dict(zip(names, el, strict=True))
    np.testing.assert_allclose(d["Cz"], [0.0, 0.0, 90.0], atol=1e-9)
    assert d["T7"][0] < 0 < d["T8"][0]  # left is -x
    assert d["Fpz"][1] > 0 > d["Oz"][1]  # front is +y
    assert all(d[n][0] < 0 for n in ("Fp1", "F3", "C3", "P3", "O1", "F7", "P7"))


def test_lead_field_projects_and_checks_shapes():
    gain = np.arange(6.0).reshape(2, 3)
    lf = observation.LeadField(gain, sensor_names=("A", "B"))
    x = np.ones((5, 3))
    np.testing.assert_allclose(lf(x), x @ gain.T)
    assert lf.n_sensors == 2
    with pytest.raises(ValueError, match="expects 3 regions"):
        lf(np.ones((5, 4)))
    with pytest.raises(ValueError, match="name every sensor"):
        observation.LeadField(gain, sensor_names=("A",))
    with pytest.raises(ValueError, match=r"\(n_sensors, n_regions\)"):
        observation.LeadField(np.ones(3))


@pytest.mark.parametrize("z", [0.0, 0.2, 0.6])
def test_bold_settles_to_its_steady_state_under_constant_input(z):
    bw = observation.BalloonWindkessel()
    x_ss, y_ss = bw.steady_state(jnp.asarray(z))
    np.testing.assert_allclose(bw.vector_field(0.0, x_ss, z), 0.0, atol=1e-12)
    activity = jnp.full((60000, 2), z)  # 60 s at 1 ms, two regions
    t, y = observation.bold(activity, dt=1e-3, tr=0.5)
    assert t.shape == (120,) and y.shape == (120, 2)
    np.testing.assert_allclose(y[-1], float(y_ss), rtol=1e-5, atol=1e-9)
    if z > 0:
        assert float(y_ss) > 0  # more activity, more BOLD
    else:
        np.testing.assert_allclose(y, 0.0, atol=1e-12)


def test_bold_bad_arguments():
    with pytest.raises(ValueError, match="whole multiple"):
        observation.bold(jnp.zeros((100, 2)), dt=0.003, tr=0.72 + 1e-4)
    with pytest.raises(ValueError, match="shorter than one TR"):
        observation.bold(jnp.zeros((10, 2)), dt=1e-3, tr=0.72)
    with pytest.raises(ValueError, match="tau must be > 0"):
        observation.BalloonWindkessel(tau=0.0)
