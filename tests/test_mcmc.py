"""NUTS on a fit's posterior (`fit/_mcmc.py`) and the saved records (`fit/_saving.py`).

The reference is independent of the package: a damped oscillator's spectrum in closed form
(numpy), noisy data drawn from it, and its two-parameter posterior (uniform priors on the
fitted ranges, Gaussian log10 PSD with the channel's scale integrated out) integrated on a
grid. NUTS must agree with the grid (and, the posterior being nearly Gaussian, with the
Laplace approximation).
"""

import dataclasses
import json
import warnings

import jax.random as jr
import numpy as np
import pytest

from rosetta_jax import fit, models, noise
from rosetta_jax.fit._mcmc import (
    diagnostics,
    diagnostics_line,
    plot_corner,
    plot_predictive,
    posterior_predictive,
    sample,
)
from rosetta_jax.fit._saving import load_posterior


with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)
    import arviz as az


FREQS = np.linspace(2.0, 40.0, 77)  # Hz
SIGMA = 0.05  # log10 units
TRUTH = (-10.0, 2 * np.pi * 10.0)  # alpha [1/s], omega [rad/s]
BOUNDS = ((-40.0, -2.0), (2 * np.pi * 5.0, 2 * np.pi * 15.0))


def oscillator_psd(alpha, omega, f):
    """PSD of x for dz/dt = (alpha + i omega) z + white noise on x and y (unit intensity):
    |G_xx|^2 + |G_xy|^2 with G = (i nu - A)^-1, nu = 2 pi f, which is
    (alpha^2 + nu^2 + omega^2) / |(i nu - alpha)^2 + omega^2|^2."""
    nu = 2 * np.pi * np.asarray(f)
    s = 1j * nu - alpha
    return (np.abs(s) ** 2 + omega**2) / np.abs(s**2 + omega**2) ** 2


def recording():
    rng = np.random.default_rng(7)
    psd = oscillator_psd(*TRUTH, FREQS) * 10 ** rng.normal(0.0, SIGMA, FREQS.size)
    return fit.SpectrumTarget(FREQS, psd)


def grid_posterior(target, n=241):
    """Posterior means and sds of (alpha, omega) by integration on a grid around the peak."""
    y = np.log10(np.asarray(target.psd)[:, 0])
    y = y - y.mean()

    def loglik(a, w):
        m = np.log10(oscillator_psd(a[..., None], w[..., None], FREQS))
        r = y - (m - m.mean(axis=-1, keepdims=True))
        return -0.5 * np.sum(r**2, axis=-1) / SIGMA**2

    # a coarse pass finds the region, the fine pass integrates
    a = np.linspace(*BOUNDS[0], 200)
    w = np.linspace(*BOUNDS[1], 200)
    ll = loglik(*np.meshgrid(a, w, indexing="ij"))
    i, j = np.unravel_index(np.argmax(ll), ll.shape)
    a = np.clip(np.linspace(a[i] - 3.0, a[i] + 3.0, n), *BOUNDS[0])
    w = np.clip(np.linspace(w[j] - 3.0, w[j] + 3.0, n), *BOUNDS[1])
    A, W = np.meshgrid(a, w, indexing="ij")
    p = np.exp((lambda x: x - x.max())(loglik(A, W)))
    assert p[0].max() < 1e-6 and p[-1].max() < 1e-6 and p[:, 0].max() < 1e-6  # all mass inside
    p /= p.sum()
    mean = np.array([np.sum(p * A), np.sum(p * W)])
    sd = np.sqrt(np.array([np.sum(p * A**2), np.sum(p * W**2)]) - mean**2)
    return mean, sd


# NUTS compiles for about a minute on 2 cores: the whole module runs in the slow target (the
# default run stays under its 15-minute budget); `pytest -m slow tests/test_mcmc.py`.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fitted():
    target = recording()
    objective = fit.SpectrumObjective(target, noise.Additive(1.0))
    model = models.DampedOscillator(alpha=-12.0, omega=2 * np.pi * 9.5)
    return fit.fit(
        model,
        objective,
        params=lambda m: (m.alpha, m.omega),
        transforms=(fit.Bounded(*BOUNDS[0]), fit.Bounded(*BOUNDS[1])),
        names=("alpha", "omega"),
        steps=30,
        progress=False,
        likelihood=fit.LogNormal(sigma=SIGMA),
    )


@pytest.fixture(scope="module")
def sampled(fitted):
    return sample(fitted, chains=4, draws=300, warmup=300, key=jr.key(11), progress=False)


def _draws(idata, name):
    return np.asarray(idata.posterior[name]).reshape(-1)


def test_nuts_agrees_with_grid_and_laplace(fitted, sampled):
    mean_ref, sd_ref = grid_posterior(recording())
    idata = sampled.mcmc
    mean = np.array([_draws(idata, "alpha").mean(), _draws(idata, "omega").mean()])
    sd = np.array([_draws(idata, "alpha").std(), _draws(idata, "omega").std()])
    # NUTS vs the grid: Monte Carlo error of ~1000 effective draws is ~0.03 sd
    np.testing.assert_array_less(np.abs(mean - mean_ref), 0.15 * sd_ref)
    np.testing.assert_allclose(sd, sd_ref, rtol=0.12)
    # the Laplace approximation of this nearly Gaussian posterior
    lap = fitted.laplace
    np.testing.assert_array_less(np.abs(lap.mode[0] - mean_ref), 0.2 * sd_ref)
    np.testing.assert_allclose(lap.se[0], sd_ref, rtol=0.25)
    # and the truth lies within the posterior's bulk
    assert np.all(np.abs(mean_ref - np.array(TRUTH)) < 4 * sd_ref)


def test_diagnostics_and_layout(sampled):
    idata = sampled.mcmc
    assert idata.posterior["alpha"].dims == ("chain", "draw")
    assert idata.posterior.sizes == {"chain": 4, "draw": 300}
    assert idata.log_likelihood["y"].shape == (4, 300, FREQS.size)
    np.testing.assert_allclose(
        idata.observed_data["y"], np.log10(recording().psd[:, 0]) - np.log10(recording().psd).mean()
    )
    assert float(az.rhat(idata)["alpha"]) < 1.05 and float(az.rhat(idata)["omega"]) < 1.05
    assert int(idata.sample_stats["diverging"].sum()) == 0
    line = diagnostics_line(idata)
    assert line.startswith("NUTS: 4 chains x 300 draws, max R-hat 1.0") and "0 divergences" in line
    table = diagnostics(idata)
    assert list(table.index) == ["alpha", "omega"] and (table["r_hat"] < 1.05).all()
    assert idata.posterior.attrs["inference_library"] == "blackjax"
    assert np.isfinite(az.waic(idata).elpd_waic)
    assert line in sampled.summary()


def test_saved_posterior_round_trips(sampled, tmp_path):
    sampled.save(tmp_path / "run")
    back = load_posterior(tmp_path / "run")
    for group in ("posterior", "log_likelihood", "sample_stats", "observed_data"):
        for name, var in getattr(sampled.mcmc, group).data_vars.items():
            np.testing.assert_array_equal(np.asarray(getattr(back, group)[name]), np.asarray(var))
    assert int(back.posterior.attrs["draws"]) == 300
    assert list(back.posterior.attrs["key_data"]) == list(np.asarray(jr.key_data(jr.key(11))))
    doc = json.loads((tmp_path / "run" / "fit.json").read_text())
    assert doc["laplace"]["coords"] == ["alpha", "omega"] and doc["mcmc"]["diagnostics"]
    with np.load(tmp_path / "run" / "fit.npz") as f:
        np.testing.assert_array_equal(f["laplace_cov_u"], sampled.laplace.cov_u)


def test_predictive_and_figures(sampled):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pp = posterior_predictive(sampled, n=50, key=jr.key(3))
    assert pp["source"] == "NUTS" and pp["psd"].shape == (50, FREQS.size, 1)
    np.testing.assert_allclose(pp["psd_data"][:, 0], recording().psd[:, 0])
    # the median model PSD at the data's level follows the data within the noise
    resid = np.log10(pp["psd_q50"][:, 0] / pp["psd_data"][:, 0])
    assert abs(resid.mean()) < 0.01 and resid.std() < 2 * SIGMA
    laplace_pp = posterior_predictive(dataclasses.replace(sampled, mcmc=None), n=50)
    assert laplace_pp["source"] == "Laplace"
    np.testing.assert_allclose(laplace_pp["q50"], pp["q50"], atol=0.02)
    ax = plot_predictive(sampled, n=50)
    fig = plot_corner(sampled)
    assert ax.get_xscale() == "log" and len(fig.axes) == 4
    plt.close("all")


def test_clear_errors(fitted):
    with pytest.raises(ValueError, match="likelihood / laplace=True"):
        sample(dataclasses.replace(fitted, posterior=None))
    with pytest.raises(ValueError, match="problems"):
        sample(fitted, problems=[1])
    with pytest.raises(ValueError, match="chains"):
        sample(fitted, chains=0)


def test_regional_channels_sampled_independently():
    """Two channels, one node each: sampling only the second gives its posterior, labelled."""
    psd = np.stack([oscillator_psd(-8.0, 2 * np.pi * 9, FREQS), recording().psd[:, 0]], 1)
    target = fit.SpectrumTarget(FREQS, psd, labels=("V1", "M1"))
    objective = fit.SpectrumObjective(target, noise.Additive(1.0), regional=True)
    model = models.DampedOscillator(alpha=np.array([-9.0, -11.0]), omega=np.array([57.0, 62.0]))
    result = fit.fit(
        model,
        objective,
        params=lambda m: (m.alpha, m.omega),
        transforms=(fit.Bounded(*BOUNDS[0]), fit.Bounded(*BOUNDS[1])),
        names=("alpha", "omega"),
        steps=60,
        progress=False,
        likelihood=fit.LogNormal(sigma=SIGMA),
    )
    assert result.posterior.batched and result.posterior.n_problems == 2
    out = sample(result, chains=2, draws=300, warmup=300, problems=[1], progress=False)
    idata = out.mcmc
    assert idata.posterior["alpha"].dims == ("chain", "draw", "channel")
    assert list(idata.posterior.channel.values) == ["M1"]
    mean_ref, sd_ref = grid_posterior(recording())
    assert abs(_draws(idata, "alpha").mean() - mean_ref[0]) < 0.2 * sd_ref[0]
    assert abs(_draws(idata, "omega").std() / sd_ref[1] - 1) < 0.15
    assert posterior_predictive(out, problem=1, n=20)["source"] == "NUTS"
    assert posterior_predictive(out, problem=0, n=20)["source"] == "Laplace"
