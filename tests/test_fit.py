"""The fitting layer: parameter recovery from synthetic data, exact gradients, interrupted and
resumed fits, rejected NaN steps, constraints, clear errors; and sensitivity analysis."""

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax
import pytest

import rosetta_jax as rj
from rosetta_jax import fit, models, noise
from rosetta_jax.analysis import equilibrium, welch


def _welch_target(model, y0, keys, t1=200.0, sigma=1.0, band=(2.0, 40.0)):
    run = lambda k: (
        rj.simulate(
            model,
            t1=t1,
            dt=1e-4,
            save_every=10,
            key=k,
            y0=y0,
            noise=noise.Additive(sigma),
            save_state=False,
        ).observed
    )
    x = jax.vmap(run)(keys)
    f, P = welch(x, 1000.0, nperseg=2000, axis=1)
    P = np.asarray(P).mean(axis=0)
    f = np.asarray(f)
    sel = (f >= band[0]) & (f <= band[1])
    return fit.SpectrumTarget(f[sel], P[sel])


@pytest.fixture(scope="module")
def jr_target():
    m = models.JansenRit(p=80.0)
    y0 = equilibrium(m, jnp.zeros(6))
    return _welch_target(m, y0, jr.split(jr.key(42), 4)), y0


def test_recover_jansen_rit_input_rate_from_a_spectrum(jr_target):
    target, y0 = jr_target  # simulated with p = 80 and its own noise keys
    obj = fit.SpectrumObjective(target, noise.Additive(1.0), method=fit.Linear(y_guess=y0))
    res = fit.fit(
        models.JansenRit(p=60.0),
        obj,
        params=lambda m: m.p,
        names=["p"],
        transforms=[fit.Positive(100.0)],
        steps=150,
        n_starts=2,
        progress=False,
    )
    assert abs(float(res.params["p"]) - 80.0) < 0.05 * 80.0
    assert res.goodness["r2_log_psd_mean"] > 0.99
    # `steps` is the maximum: the default plateau rule may end the fit earlier.
    assert res.loss_history.shape == (res.meta["stopped_at"], 2) and res.meta["stopped_at"] <= 150
    assert res.loss_history[-1].min() < res.loss_history[0].min()


@pytest.mark.slow  # 16 x 200 s of simulation; analytic network recovery runs by default
def test_recover_network_coupling_from_spectra():
    W = np.array([[0.0, 1.0, 0.5], [1.0, 0.0, 0.8], [0.5, 0.8, 0.0]])
    node = models.JansenRit(p=jnp.array([70.0, 80.0, 60.0]))
    truth = rj.Network(node, W, G=20.0)
    y0 = equilibrium(truth, jnp.zeros((3, 6)))
    # 16 noise realisations of 200 s: with 4, the estimate of G spreads by about 6 % from
    # one set of keys to another (18.7 to 21.3 over four sets), too much for a 5 % check.
    target = _welch_target(truth, y0, jr.split(jr.key(7), 16))
    obj = fit.SpectrumObjective(target, noise.Additive(1.0), method=fit.Linear(y_guess=y0))
    res = fit.fit(
        rj.Network(node, W, G=10.0),
        obj,
        params=lambda m: m.G,
        names=["G"],
        transforms=[fit.Positive(10.0)],
        steps=150,
        progress=False,
    )
    assert abs(float(res.params["G"]) - 20.0) < 0.05 * 20.0


@pytest.mark.slow  # 17-31 s: default-run budget (the calibration test runs there)
def test_recover_stuart_landau_network_coupling_from_fc():
    W = np.random.default_rng(0).uniform(0, 1, (5, 5))
    W = (W + W.T) / 2
    np.fill_diagonal(W, 0)
    mk = lambda G: rj.Network(
        models.StuartLandau(alpha=-0.2, omega=jnp.linspace(1, 1.5, 5)), W, G=G
    )
    run = lambda k: (
        rj.simulate(
            mk(0.3),
            t1=2000.0,
            dt=0.01,
            save_every=10,
            key=k,
            noise=noise.Additive(0.02),
            y0=jnp.zeros((5, 2)),
            save_state=False,
        ).observed
    )
    # 16 realisations: the target FC's sampling error is what limits the correlation of the
    # linear FC at the true G with it (0.979-0.980 with 4 realisations, 0.987-0.994 with 16).
    x = np.asarray(jax.vmap(run)(jr.split(jr.key(3), 16)))[:, 500:].reshape(-1, 5)
    obj = fit.FCObjective(
        fit.FCTarget(np.corrcoef(x.T)),
        noise.Additive(0.02),
        mse_weight=10.0,
        method=fit.Linear(y_guess=jnp.zeros((5, 2))),
    )
    res = fit.fit(
        mk(0.1),
        obj,
        params=lambda m: m.G,
        names=["G"],
        transforms=[fit.Positive(0.3)],
        steps=200,
        progress=False,
    )
    assert abs(float(res.params["G"]) - 0.3) < 0.05 * 0.3
    assert res.goodness["fc_correlation"] > 0.98


# 20-55 s: in the slow target (the default run's 15-minute budget on 2 cores).
@pytest.mark.slow
def test_objective_gradients_equal_central_differences(jr_target):
    target, y0 = jr_target
    key = jr.key(1)
    for method in (fit.Linear(y_guess=y0), fit.Simulated(t1=4.0, dt=1e-4, save_every=10)):
        obj = fit.SpectrumObjective(target, noise.Additive(1.0), method=method, peak_weight=0.1)
        loss = lambda p, obj=obj: obj(models.JansenRit(p=p), key)[0]
        g = jax.grad(loss)(75.0)
        fd = (loss(75.0 + 1e-3) - loss(75.0 - 1e-3)) / 2e-3
        np.testing.assert_allclose(g, fd, rtol=1e-5)
    W = np.array([[0.0, 1.0], [1.0, 0.0]])
    fc_obj = fit.FCObjective(
        fit.FCTarget(np.array([[1.0, 0.4], [0.4, 1.0]])),
        noise.Additive(0.1),
        mse_weight=1.0,
        method=fit.Linear(y_guess=jnp.zeros((2, 2))),
    )
    loss = lambda G: fc_obj(rj.Network(models.DampedOscillator(), W, G=G, normalize=None))[0]
    np.testing.assert_allclose(
        jax.grad(loss)(0.2), (loss(0.2 + 1e-6) - loss(0.2 - 1e-6)) / 2e-6, rtol=1e-6
    )


def test_interrupted_fit_resumes_to_the_same_result(tmp_path, jr_target):
    target, y0 = jr_target
    obj = fit.SpectrumObjective(target, noise.Additive(1.0), method=fit.Linear(y_guess=y0))
    kw = dict(
        params=lambda m: m.p,
        names=["p"],
        transforms=[fit.Positive(100.0)],
        n_starts=2,
        progress=False,
        optimizer=optax.adam(0.05),
    )
    full = fit.fit(models.JansenRit(p=60.0), obj, steps=20, **kw)
    path = tmp_path / "fit.eqx"
    part = fit.fit(
        models.JansenRit(p=60.0), obj, steps=8, checkpoint=path, checkpoint_every=4, **kw
    )
    assert part.loss_history.shape == (8, 2)
    resumed = fit.fit(
        models.JansenRit(p=60.0), obj, steps=20, checkpoint=path, checkpoint_every=4, **kw
    )
    np.testing.assert_allclose(resumed.loss_history, full.loss_history, rtol=1e-12)
    np.testing.assert_allclose(resumed.params["p"], full.params["p"], rtol=1e-12)
    with pytest.raises(ValueError, match=r"made with other inputs: model \(model.p\)"):
        fit.fit(models.JansenRit(p=50.0), obj, steps=20, checkpoint=path, **kw)


def _adam_replay(p0, grad, skip, lr, b1=0.9, b2=0.999, eps=1e-8):
    """Adam (Kingma & Ba 2015, optax's defaults) in plain numpy on a scalar parameter, with the
    steps flagged in `skip` left out entirely (no update, no moment or count change). Returns
    the parameter before each step."""
    p, m, v, t, before = float(p0), 0.0, 0.0, 0, []
    for s in skip:
        before.append(p)
        if s:
            continue
        g = grad(p)
        t += 1
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p -= lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
    return np.array(before)


def _nan_fit(objective, steps=30):
    return fit.fit(
        models.JansenRit(p=1.0),
        objective,
        params=lambda m: m.p,
        names=["p"],
        steps=steps,
        optimizer=optax.adam(0.1),
        clip_norm=None,
        progress=False,
    )


def _check_nan_steps_skipped(res, steps=30):
    loss = res.loss_history[:, 0]
    nan = ~np.isfinite(loss)
    # NaN steps did happen, and finite steps came after them (so a NaN step that had been
    # applied would have shown up in the later losses).
    assert 3 <= nan.sum() <= steps - 3
    assert not np.all(nan[np.argmax(nan) :])
    assert res.meta["rejected_steps"] == nan.sum()
    assert np.all(np.isnan(loss[nan]))
    # Adam with momentum: a NaN step applied as a zero (or any) update, or one that advanced
    # the optimiser's state, would move p and change every later loss. The fit must equal
    # Adam run with those steps left out.
    p = _adam_replay(1.0, lambda p: 2 * (p - 3.0), nan, lr=0.1)
    np.testing.assert_allclose(loss[~nan], (p[~nan] - 3.0) ** 2, rtol=1e-10, atol=1e-14)
    best = np.flatnonzero(~nan)[np.argmin((p[~nan] - 3.0) ** 2)]
    np.testing.assert_allclose(float(res.params["p"]), p[best], rtol=1e-12)
    np.testing.assert_allclose(res.best_loss, (p[best] - 3.0) ** 2, rtol=1e-10)


def test_nan_steps_are_rejected_not_applied():
    # About 30 % of the steps (drawn from the step's key) give a NaN loss and a NaN gradient.
    def objective(model, key):
        bad = jr.uniform(key) < 0.3
        return (model.p - 3.0) ** 2 * jnp.where(bad, jnp.nan, 1.0), {}

    _check_nan_steps_skipped(_nan_fit(objective))

    # A loss that is NaN beyond p = 1.5: the first step (from p = 1 towards 3) crosses it and
    # every later loss is NaN; the result is the start, the only point with a finite loss.
    res = fit.fit(
        models.JansenRit(p=1.0),
        lambda m, key: (jnp.where(m.p > 1.5, jnp.nan, (m.p - 3.0) ** 2), {}),
        params=lambda m: m.p,
        names=["p"],
        steps=30,
        optimizer=optax.sgd(0.4),
        clip_norm=None,
        stop=None,  # all 30 steps, though none after the first improves
        progress=False,
    )
    assert res.loss_history[0, 0] == 4.0 and np.all(np.isnan(res.loss_history[1:]))
    assert res.meta["rejected_steps"] == 29
    assert float(res.params["p"]) == 1.0


def test_nan_loss_with_a_finite_gradient_is_rejected_too():
    def objective(model, key):
        bad = jr.uniform(key) < 0.3
        return jnp.where(bad, jnp.nan, (model.p - 3.0) ** 2), {}  # gradient 0 where NaN

    _check_nan_steps_skipped(_nan_fit(objective))


def test_transforms_priors_and_multistart():
    target = lambda m, key: ((m.p - 500.0) ** 2 / 1e4, {})
    res = fit.fit(
        models.JansenRit(p=100.0),
        target,
        params=lambda m: m.p,
        transforms=[fit.Bounded(0.0, 300.0)],
        steps=200,
        progress=False,
        optimizer=optax.adam(0.2),
    )
    assert 290.0 < float(res.params["param_0"]) < 300.0  # pushed to, but kept inside, the bound
    # A single leaf may take a bare transform and a name string.
    res1 = fit.fit(
        models.JansenRit(p=100.0),
        target,
        params=lambda m: m.p,
        names="p",
        transforms=fit.Bounded(0.0, 300.0),
        steps=200,
        progress=False,
        optimizer=optax.adam(0.2),
    )
    np.testing.assert_allclose(res1.params["p"], res.params["param_0"])
    res = fit.fit(
        models.JansenRit(p=100.0),
        target,
        params=lambda m: m.p,
        steps=300,
        priors=[fit.GaussianPrior(200.0, 10.0)],
        progress=False,
        optimizer=optax.adam(1.0),
        n_starts=3,
    )
    # Posterior mode of a quadratic likelihood and a Gaussian prior.
    expected = (500.0 / 1e4 * 2 + 200.0 / 100.0) / (2 / 1e4 + 1 / 100.0)
    np.testing.assert_allclose(float(res.params["param_0"]), expected, rtol=1e-3)
    assert res.starts["param_0"].shape == (3,)
    for bad, match in (
        (dict(transforms=[fit.Positive()]), "must be > 0"),
        (dict(transforms=[fit.Bounded(0.0, 1.0)]), "strictly inside"),
        (dict(transforms=[fit.Positive(), fit.Positive()]), "one transform"),
    ):
        with pytest.raises(ValueError, match=match):
            fit.fit(
                models.JansenRit(p=-5.0),
                target,
                params=lambda m: m.p,
                steps=1,
                progress=False,
                **bad,
            )


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: fit.SpectrumTarget(np.arange(1.0, 5.0), np.full(4, np.nan)), "NaN"),
        (lambda: fit.SpectrumTarget(np.arange(1.0, 5.0), np.ones((3, 2))), "has 3 frequencies"),
        (lambda: fit.SpectrumTarget(np.array([1.0, 3.0, 2.0]), np.ones(3)), "increasing"),
        (lambda: fit.SpectrumTarget(np.arange(1.0, 4.0), -np.ones(3)), "must be > 0"),
        (lambda: fit.SpectrumTarget(np.ones((2, 2)), np.ones(2)), "must be 1-D"),
        (lambda: fit.FCTarget(np.ones((2, 3))), "square"),
        (lambda: fit.FCTarget(np.array([[1.0, 0.2], [0.3, 1.0]])), "symmetric"),
        (
            lambda: fit.SpectrumObjective(
                fit.SpectrumTarget(np.arange(1.0, 5.0), np.ones(4)),
                noise.Additive(1.0),
                band=(50.0, 60.0),
            ),
            "does not overlap",
        ),
        (
            lambda: fit.SpectrumObjective(
                fit.SpectrumTarget(np.arange(1.0, 5.0), np.ones(4)),
                noise.Additive(1.0),
                method="fft",
            ),
            "`method` must be",
        ),
    ],
)
def test_bad_targets_raise_clear_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_target_channels_must_match_the_model():
    target = fit.SpectrumTarget(np.linspace(2, 40, 20), np.ones((20, 3)))
    obj = fit.SpectrumObjective(
        target, noise.Additive(1.0), method=fit.Linear(y_guess=jnp.zeros(6))
    )
    with pytest.raises(ValueError, match="model gives 1 channel"):
        obj(models.JansenRit(p=80.0))


# ----------------------------------------------------------------------------- sensitivity


# 20-55 s: in the slow target (the default run's 15-minute budget on 2 cores).
@pytest.mark.slow
def test_sensitivity_elasticities_and_gradient_check():
    # Linear spectrum of a damped oscillator: the peak sits at omega / (2 pi), so the
    # elasticity of the peak frequency with respect to omega is 1 and to alpha ~0. The
    # damping (-0.5/s, half-width 0.08 Hz = 16 grid bins) keeps the sub-bin parabolic
    # peak estimate within 0.2 % of the true slope; a peak only ~2 bins wide would not.
    feats = fit.spectral_features(
        noise.Additive(0.3),
        method=fit.Linear(freqs=jnp.linspace(0.5, 3.0, 501), y_guess=jnp.zeros(2)),
        peak_band=(0.5, 3.0),
        bands={"low": (0.5, 1.0), "high": (2.0, 3.0)},
    )
    r = fit.sensitivity(
        models.DampedOscillator(alpha=-0.5, omega=2 * np.pi * 1.5),
        feats,
        lambda m: (m.alpha, m.omega),
        names=["alpha", "omega"],
        check=True,
    )
    i = r.feature_names.index("peak_frequency")
    np.testing.assert_allclose(r.features[i], 1.5, rtol=1e-4)
    np.testing.assert_allclose(r.elasticity[i, 1], 1.0, rtol=5e-3)
    assert abs(r.elasticity[i, 0]) < 1e-2
    assert np.all(r.gradient_check < 1e-4)
    assert r.ranking()[0][0] == "omega"
    assert "peak_frequency" in r.table()


@pytest.mark.slow  # 20-30 s: default-run budget (the calibration test runs there)
def test_sensitivity_noise_spread_diagnostic():
    feats = fit.spectral_features(noise.Additive(2.0), method=fit.Simulated(t1=3.0, nperseg=1024))
    r = fit.sensitivity(
        models.JansenRit(p=220.0), feats, lambda m: (m.p,), names=["p"], key=jr.key(0), n_keys=3
    )
    assert r.jacobian_std.shape == r.jacobian.shape == (len(r.feature_names), 1)
    # Independently: central differences of the feature function, one noise realisation at a
    # time (the keys `sensitivity` draws: jr.split(key, n_keys)), then their mean and spread
    # over realisations (population std, as in the docstring's "spread across keys"). The
    # step h = 1e-4 p leaves an O(h^2) error of ~1e-5 relative (checked against h = 1e-5 p),
    # far below the key-to-key spread being checked.
    h = 220.0 * 1e-4
    F = lambda p, k: np.array(list(feats(models.JansenRit(p=p), k).values()))
    fd = np.array([(F(220.0 + h, k) - F(220.0 - h, k)) / (2 * h) for k in jr.split(jr.key(0), 3)])
    assert list(feats(models.JansenRit(p=220.0), jr.key(0))) == list(r.feature_names)
    fd_mean, fd_std = fd.mean(axis=0), fd.std(axis=0)
    assert np.all(fd_std > 0)  # the noise does move every gradient
    np.testing.assert_allclose(r.jacobian[:, 0], fd_mean, rtol=1e-4)
    np.testing.assert_allclose(r.jacobian_std[:, 0], fd_std, rtol=1e-4)
    np.testing.assert_allclose(r.health[:, 0], fd_std / np.abs(fd_mean), rtol=1e-3)
    with pytest.raises(ValueError, match="scalar parameters"):
        fit.sensitivity(
            rj.Network(models.JansenRit(p=jnp.ones(2)), np.ones((2, 2))), feats, lambda m: m.node.p
        )
