"""Synaptic kernels and transfer functions (Castaldo et al. 2026, sec. 4.1, 4.3) against scipy."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, special

from rosetta_jax import models


def test_alpha_kernel_peak_and_value():
    tau, gamma = 0.007, 2.3
    t = np.linspace(0, 0.1, 200001)
    s = np.asarray(models.alpha_kernel(t, tau, gamma))
    assert abs(t[np.argmax(s)] - tau) < 1e-6
    np.testing.assert_allclose(s.max(), gamma / (np.e * tau), rtol=1e-10)


def test_jansen_rit_excitatory_kernel_peak():  # A a t e^{-at} peaks at 10 ms, A/e
    A, a = 3.25, 100.0
    t = np.linspace(0, 0.1, 100001)
    s = np.asarray(models.alpha_kernel(t, 1.0 / a, A / a))
    np.testing.assert_allclose(s, A * a * t * np.exp(-a * t), rtol=1e-12, atol=1e-15)
    assert abs(t[np.argmax(s)] - 0.010) < 1e-6
    np.testing.assert_allclose(s.max(), 1.1956, atol=5e-5)


@pytest.mark.parametrize("tau_r, tau_d", [(0.5, 3.0), (2.0, 40.0), (25.0, 150.0)])
def test_biexponential_kernel_peak_time_and_integral(tau_r, tau_d):
    gamma = 1.7
    t_peak = float(models.biexponential_peak_time(tau_r, tau_d))
    np.testing.assert_allclose(t_peak, np.log(tau_d / tau_r) * tau_r * tau_d / (tau_d - tau_r))
    # The peak is where the derivative vanishes.
    ds = jax.grad(lambda t: models.biexponential_kernel(t, tau_r, tau_d, gamma))(t_peak)
    assert abs(float(ds)) < 1e-12
    k = lambda t: float(models.biexponential_kernel(t, tau_r, tau_d, gamma))
    integral, _ = integrate.quad(k, 0, 60 * tau_d, limit=400)
    np.testing.assert_allclose(integral, gamma, rtol=1e-8)


def test_exponential_and_alpha_kernels_have_unit_dc_gain():
    for k in (
        lambda t: models.exponential_kernel(t, 4.0, 2.0),
        lambda t: models.alpha_kernel(t, 4.0, 2.0),
    ):
        integral, _ = integrate.quad(lambda t, k=k: float(k(t)), 0, 400, limit=400)
        np.testing.assert_allclose(integral, 2.0, rtol=1e-8)
    assert float(models.alpha_kernel(-1.0, 4.0)) == 0.0


@pytest.mark.parametrize("omega", [0.0, 0.1, 0.5, 2.0])
def test_synapse_frequency_response_is_the_fourier_transform(omega):
    tau_r, tau_d, gamma = 1.0, 5.0, 1.3
    H = complex(models.synapse_frequency_response(omega, tau_r, tau_d, gamma))
    k = lambda t: float(models.biexponential_kernel(t, tau_r, tau_d, gamma))
    re, _ = integrate.quad(lambda t: k(t) * np.cos(omega * t), 0, 300, limit=1000)
    im, _ = integrate.quad(lambda t: -k(t) * np.sin(omega * t), 0, 300, limit=1000)
    np.testing.assert_allclose(H, re + 1j * im, rtol=1e-7, atol=1e-10)
    # Alpha synapse: |H| = gamma / (1 + w^2 tau^2), phase -2 arctan(w tau).
    Ha = complex(models.synapse_frequency_response(omega, 2.0, 2.0, gamma))
    np.testing.assert_allclose(abs(Ha), gamma / (1 + omega**2 * 4.0), rtol=1e-12)
    np.testing.assert_allclose(np.angle(Ha), -2 * np.arctan(2.0 * omega), atol=1e-12)


def test_sigmoid_and_logistic():
    v = np.linspace(-20, 30, 11)
    np.testing.assert_allclose(models.sigmoid(v), 5.0 / (1 + np.exp(0.56 * (6.0 - v))), rtol=1e-14)
    np.testing.assert_allclose(
        models.logistic(v, 1.3, 2.0), special.expit(1.3 * (v - 2.0)), rtol=1e-13
    )


@pytest.mark.parametrize("I", [-5.0, 0.0, 5.0, 20.0])
def test_qif_cauchy_rate_matches_the_spec(I):
    expected = {-5.0: 0.009444, 0.0: 0.030011, 5.0: 0.095370, 20.0: 0.189863}[I]
    assert abs(float(models.qif_cauchy_rate(I, 7.5, 1.0)) - expected) < 5e-7


@pytest.mark.parametrize("I", [5.0, 12.0, 15.0, 19.0, 25.0])
def test_lif_siegert_rate_against_scipy(I):
    tau_m, sigma, V_th, V_r = 20.0, 5.0, 20.0, 10.0
    f = lambda x: np.exp(x**2) * (1 + special.erf(x))
    integral, _ = integrate.quad(f, (V_r - I) / sigma, (V_th - I) / sigma, epsabs=0, epsrel=1e-12)
    expected = 1.0 / (tau_m * np.sqrt(np.pi) * integral)
    np.testing.assert_allclose(
        float(models.lif_rate(I, tau_m, sigma, V_th, V_r)), expected, rtol=1e-9
    )


@pytest.mark.parametrize("I, sigma", [(-1.0, 1.0), (0.0, 0.7), (2.0, 1.0), (4.0, 0.3)])
def test_qif_gaussian_rate_against_scipy(I, sigma):
    tau_m = 2.0
    f = lambda x: np.exp(-(sigma**4) * x**6 / 48 - I * x**2)
    integral, _ = integrate.quad(f, -np.inf, np.inf, epsabs=0, epsrel=1e-12)
    expected = 1.0 / (tau_m * np.sqrt(np.pi) * integral)
    np.testing.assert_allclose(
        float(models.qif_gaussian_rate(I, tau_m, sigma)), expected, rtol=1e-9
    )


def test_qif_gaussian_rate_tends_to_the_deterministic_rate():
    # Small noise, I > 0: the QIF fires at sqrt(I)/pi per unit time.
    np.testing.assert_allclose(
        float(models.qif_gaussian_rate(4.0, 1.0, 0.05)), 2.0 / np.pi, rtol=1e-4
    )


@pytest.mark.parametrize("I", [-1.0, 0.5, 2.0])
def test_eif_rate_against_scipy_double_integral(I):
    p = dict(tau_m=1.0, sigma=1.0, V_th=5.0, V_r=0.0, V_T=2.0, Delta_T=0.5, V_low=-20.0)
    s2 = p["sigma"] ** 2
    F = lambda v: -0.5 * v**2 + I * v + p["Delta_T"] ** 2 * np.exp((v - p["V_T"]) / p["Delta_T"])
    inner = lambda v: integrate.quad(
        lambda u: np.exp(2 / s2 * (F(v) - F(u))),
        max(v, p["V_r"]),
        p["V_th"],
        epsabs=0,
        epsrel=1e-11,
    )[0]
    outer = (
        integrate.quad(inner, p["V_low"], p["V_r"], epsabs=0, epsrel=1e-10)[0]
        + integrate.quad(inner, p["V_r"], p["V_th"], epsabs=0, epsrel=1e-10)[0]
    )
    expected = 1.0 / (2 * p["tau_m"] / s2 * outer)
    np.testing.assert_allclose(float(models.eif_rate(I, **p)), expected, rtol=1e-6)


def test_transfer_functions_are_differentiable_and_vectorised():
    I = jnp.linspace(0.0, 4.0, 5)
    assert models.lif_rate(I * 5).shape == (5,)
    assert models.qif_gaussian_rate(I).shape == (5,)
    g = jax.grad(lambda x: models.qif_gaussian_rate(x, 1.0, 1.0))(1.0)
    fd = (models.qif_gaussian_rate(1.0 + 1e-6) - models.qif_gaussian_rate(1.0 - 1e-6)) / 2e-6
    np.testing.assert_allclose(float(g), float(fd), rtol=1e-6)
    assert float(g) > 0


def test_keyword_parameters_are_honoured():
    # jnp.vectorize silently drops keyword arguments; the public functions must not.
    np.testing.assert_allclose(
        float(models.lif_rate(15.0, sigma=2.0)), float(models.lif_rate(15.0, 20.0, 2.0)), rtol=1e-14
    )
    assert float(models.lif_rate(15.0, sigma=2.0)) != float(models.lif_rate(15.0))
    np.testing.assert_allclose(
        float(models.eif_rate(0.5, V_th=5.0)),
        float(models.eif_rate(0.5, 1.0, 1.0, 5.0)),
        rtol=1e-14,
    )
    np.testing.assert_allclose(
        float(models.qif_gaussian_rate(1.0, sigma=0.5)),
        float(models.qif_gaussian_rate(1.0, 1.0, 0.5)),
        rtol=1e-14,
    )
