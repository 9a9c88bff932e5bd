"""float32, the precision users run (JAX's default; the benchmarks' precision).

The other test modules run in float64 (conftest.py). Here each test runs with x64 switched off
(`jax.enable_x64(False)`, scoped to the test) and compares with a float64 reference computed
in the same test, or with a closed form. Tolerances follow from float32's unit roundoff,
6e-8, and are explained where they are set.
"""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax
import pytest

import rosetta_jax as rj
from rosetta_jax import analysis, fit, models, noise


@pytest.fixture
def f32():
    with jax.enable_x64(False):
        assert jnp.asarray(1.0).dtype == jnp.float32
        yield


def f64(fn):
    """Run `fn` in float64 and return its result as numpy."""
    with jax.enable_x64(True):
        return jax.tree.map(np.asarray, fn())


def test_closed_form_damped_oscillator(f32):
    # z(t) = e^{(alpha + i omega) t}. Heun's own error (the same in both precisions) is a phase
    # error of about (omega dt)^2 omega t / 6 = 4.5e-3 by t = 10; float32 rounding adds about
    # eps = 6e-8 per step, at most ~6e-5 over 1000 steps, so float32 stays within 1e-4 of
    # float64, and both within Heun's error of the closed form.
    alpha, omega = -0.2, 3.0
    run = lambda: (
        rj.simulate(models.DampedOscillator(alpha=alpha, omega=omega), t1=10.0, dt=0.01).observed
    )
    x32, x64 = np.asarray(run()), f64(run)
    assert x32.dtype == np.float32
    np.testing.assert_allclose(x32, x64, atol=1e-4)
    t = np.arange(1, 1001) * 0.01
    exact = np.exp(alpha * t) * np.cos(omega * t)
    np.testing.assert_allclose(x64, exact, atol=(omega * 0.01) ** 2 * omega * 10 / 6)


def test_jansen_rit_limit_cycle_matches_float64(f32):
    # A stable limit cycle: rounding errors do not grow exponentially, only a phase drift of
    # order eps x number of steps (1e4 steps -> ~1e-3 of a cycle), so the 10 mV oscillation
    # agrees to a few hundredths of a mV over 1 s.
    run = lambda: rj.simulate(models.JansenRit(), t1=1.0, dt=1e-4, save_every=10).observed
    x32 = np.asarray(run())
    x64 = f64(run)
    assert x32.dtype == np.float32 and x64.dtype == np.float64
    assert np.max(np.abs(x32 - x64)) < 0.05 * np.ptp(x64[500:]) / 10


def test_white_noise_intensity_in_float32(f32):
    # A damped oscillator driven by complex white noise of intensity sigma^2 has stationary
    # E|z|^2 = sigma^2 / (2 |alpha|) = 1. 512 keys x 400 decorrelated samples: the estimate's
    # standard error is about 1 %, so 5 % is a safe bound; float32 rounding is far below it.
    m = models.DampedOscillator(alpha=-0.5, omega=2.0)
    run = lambda k: (
        rj.simulate(
            m, t1=50.0, dt=0.01, save_every=100, noise=noise.Additive(1.0), key=k, y0=jnp.zeros(2)
        ).ys
    )
    ys = jax.vmap(run)(jr.split(jr.key(0), 512))
    assert ys.dtype == jnp.float32
    power = float(jnp.mean(jnp.sum(ys[:, 10:] ** 2, axis=-1)))
    np.testing.assert_allclose(power, 1.0, rtol=0.05)


def test_delayed_network_matches_float64(f32):
    # Delayed Jansen-Rit network (DK-like 4 nodes, lengths 20-80 mm at 5 m/s, up to 16 ms):
    # the nodes sit on stable limit cycles, so float32 follows float64 to a phase drift of a
    # few steps' worth over 0.5 s (< 2 % of the oscillation's range).
    W = np.array([[0, 1, 0.5, 0], [1, 0, 0.3, 0.2], [0.5, 0.3, 0, 1], [0, 0.2, 1, 0]])
    L = np.array([[0, 20, 40, 80], [20, 0, 30, 60], [40, 30, 0, 25], [80, 60, 25, 0.0]])
    run = lambda: (
        rj.simulate(
            rj.Network(
                models.JansenRit(p=jnp.array([150.0, 200, 250, 300])),
                W,
                lengths=L,
                speed=5.0,
                G=5.0,
            ),
            t1=0.5,
            dt=1e-4,
            save_every=10,
        ).observed
    )
    x32, x64 = np.asarray(run()), f64(run)
    assert x32.dtype == np.float32
    assert np.max(np.abs(x32 - x64)) < 0.02 * np.ptp(x64)


def test_sweep_in_float32(f32, tmp_path):
    space = rj.Space.samples(p=[70.0, 150.0, 230.0])
    kw = dict(features=["mean", "std"], t1=1.0, dt=1e-4, progress=False)
    ds = rj.sweep(models.JansenRit(), space, noise=noise.Additive(20.0), path=tmp_path, **kw)
    assert ds["std"].dtype == np.float32
    # Each sample equals its own float32 run with the sample's key: the vmapped batch and a
    # single run differ only by the order of float32 operations XLA picks (a few ulp).
    for i, p in enumerate(space.values[:, 0]):
        sol = rj.simulate(
            models.JansenRit(p=p),
            t1=1.0,
            dt=1e-4,
            save_every=10,
            noise=noise.Additive(20.0),
            key=jr.fold_in(jr.key(0), i),
        )
        x = np.asarray(sol.observed)[100:]
        np.testing.assert_allclose(float(ds["std"][i]), x.std(dtype=np.float64), rtol=1e-4)
    # Resumed from its store: identical. Deterministic runs: float32 within 1e-4 of float64
    # (relative), the means of stable and oscillating states alike.
    again = rj.sweep(models.JansenRit(), space, noise=noise.Additive(20.0), path=tmp_path, **kw)
    np.testing.assert_array_equal(again["std"].values, ds["std"].values)
    m32 = rj.sweep(models.JansenRit(), space, **kw)["mean"].values
    m64 = f64(lambda: rj.sweep(models.JansenRit(), space, **kw)["mean"].values)
    np.testing.assert_allclose(m32, m64, rtol=1e-3)


def test_fit_in_float32_recovers_a_parameter(f32):
    # A target spectrum made in float64 at p = 80; the float32 fit starts at p = 60. The linear
    # spectrum's log-PSD in float32 is accurate to ~1e-5, far below the loss's slope in p, so
    # p is recovered to better than 1 %.
    f = np.linspace(2.0, 40.0, 60)

    def target_psd():
        m = models.JansenRit(p=80.0)
        y = analysis.stable_equilibrium(m)
        return analysis.linear_spectrum(m, jnp.asarray(f), noise.Additive(1.0), y_star=y).psd

    target = fit.SpectrumTarget(f, f64(target_psd))
    y0 = analysis.stable_equilibrium(models.JansenRit(p=60.0))
    # No stability penalty: the truth sits close to JR's Hopf point (damping ratio 0.002),
    # which the default penalty (a prior against peaks sharper than recordings show) resists.
    obj = fit.SpectrumObjective(
        target, noise.Additive(1.0), method=fit.Linear(y_guess=y0, stability_weight=0.0)
    )
    res = fit.fit(
        models.JansenRit(p=60.0),
        obj,
        params=lambda m: m.p,
        names=["p"],
        transforms=[fit.Positive(100.0)],
        optimizer=optax.adam(0.05),
        steps=150,
        progress=False,
    )
    assert res.params["p"].dtype == np.float32
    np.testing.assert_allclose(res.params["p"], 80.0, rtol=0.01)
    assert res.meta["rejected_steps"] == 0
