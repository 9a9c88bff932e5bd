"""Integrity of results: fingerprints over every input, damaged files, delays never clipped,
feature units, continued runs, checked equilibria and validated options."""

import json
import os
import subprocess
import sys
import textwrap

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax
import pytest
from helpers import count_compilations, mean_frequency

import rosetta_jax as rj
from rosetta_jax import analysis, fit, forcing, models, noise, solvers, store
from rosetta_jax.store import StoreMismatchError, fingerprint


def jr_sweep(path, sigma=1.0, **kw):
    kw.setdefault("features", ["mean", "std"])
    kw.setdefault("space", rj.Space.grid(p=[60.0, 120.0, 200.0, 250.0]))
    kw.setdefault("model", models.JansenRit())
    return rj.sweep(
        kw.pop("model"),
        kw.pop("space"),
        t1=kw.pop("t1", 0.5),
        dt=1e-4,
        noise=noise.Additive(sigma),
        path=path,
        progress=False,
        **kw,
    )


# ----------------------------------------------------------------------------- fingerprints


def test_the_reported_stale_sweep_is_refused_and_recomputed(tmp_path):
    # The report: the same call with sigma 100 returned the sigma = 1 results.
    low = jr_sweep(tmp_path, 1.0)
    with pytest.raises(StoreMismatchError, match=r"noise \(noise.sigma\) differs"):
        jr_sweep(tmp_path, 100.0)
    high = jr_sweep(tmp_path, 100.0, resume=False)
    fresh = jr_sweep(None, 100.0)
    np.testing.assert_array_equal(high["std"].values, fresh["std"].values)
    # Noise 100x stronger: the EEG proxy's spread grows (here by 5x or more per sample).
    assert np.all(high["std"].values > 5 * low["std"].values)


def _edited_feature(x, fs):
    return jnp.mean(x) + 1.0


def _feature(x, fs):
    return jnp.mean(x)


@pytest.mark.parametrize(
    "change, part",
    [
        (dict(model=models.JansenRit(A=3.3)), r"model \(model.A\)"),
        (dict(model=models.JansenRit(A=jnp.asarray(3.25, jnp.float32))), r"model \(model.A\)"),
        (dict(space=rj.Space.grid(p=[60.0, 120.0, 200.0, 251.0])), r"space \(space\["),
        (dict(space=rj.Space.samples(p=[60.0, 120.0, 200.0, 250.0])), r"space \(space\["),
        (dict(features=["mean", "std", "peak_frequency"]), "features"),
        (dict(features={"m": _edited_feature}), "features"),
        (dict(key=jr.key(1)), "key"),
        (dict(t1=0.6), r"settings \(settings\[.n_keep.\]"),
        (dict(solver=solvers.RK4()), "solver"),
        (dict(forcing=forcing.Sinusoid(1.0, 10.0)), "forcing"),
        (dict(discard=0.2), "settings"),
    ],
)
def test_every_input_of_a_sweep_is_in_its_fingerprint(tmp_path, change, part):
    base = dict(features={"m": _feature})
    jr_sweep(tmp_path, **base)
    args = {**base, **change}
    with pytest.raises(StoreMismatchError, match=part):
        jr_sweep(tmp_path, **args)
    jr_sweep(tmp_path, **base)  # the identical call still resumes


def test_the_bands_a_sweep_uses_are_in_its_fingerprint(tmp_path):
    jr_sweep(tmp_path, features=["power_mu"], bands={"mu": (9.0, 11.0)})
    with pytest.raises(StoreMismatchError, match=r"features \("):
        jr_sweep(tmp_path, features=["power_mu"], bands={"mu": (9.0, 12.0)})
    # A band no feature uses does not change the results: the sweep resumes.
    jr_sweep(tmp_path, features=["power_mu"], bands={"mu": (9.0, 11.0), "beta2": (20.0, 25.0)})


def test_fingerprints_see_values_dtypes_shapes_code_and_closures():
    digest = lambda x: fingerprint({"x": x}).digest
    a = jnp.ones(3)
    assert digest(a) == digest(jnp.ones(3))
    assert digest(a) != digest(jnp.ones(3, jnp.float32))  # dtype
    assert digest(a) != digest(jnp.ones((3, 1)))  # shape
    assert digest(a) != digest(a.at[1].set(1.0 + 1e-15))  # one ulp
    # equinox's repr abbreviates arrays (what the old fingerprint hashed): not the digest.
    assert repr(noise.Additive(1.0)) == repr(noise.Additive(100.0))
    assert digest(noise.Additive(1.0)) != digest(noise.Additive(100.0))
    # Functions: code, closure and defaults.
    assert digest(lambda m: m.p) != digest(lambda m: m.a)
    make = lambda c: lambda x: x + c
    assert digest(make(1.0)) != digest(make(2.0)) and digest(make(1.0)) == digest(make(1.0))
    assert digest(optax.adam(0.05)) != digest(optax.adam(0.01))
    assert digest(optax.adam(0.05)) == digest(optax.adam(0.05))
    assert digest(jr.key(0)) != digest(jr.key(1))
    with pytest.raises(TypeError, match="traced"):
        jax.jit(lambda x: fingerprint({"x": x}).digest and x)(1.0)


def test_fingerprints_are_the_same_in_a_fresh_process():
    code = textwrap.dedent("""
        import jax, jax.numpy as jnp, jax.random as jr, optax
        jax.config.update("jax_enable_x64", True)
        from rosetta_jax import models, noise
        from rosetta_jax.store import fingerprint
        def feat(x, fs):
            return jnp.mean(x) * 2.0
        parts = {"model": models.JansenRit(p=jnp.linspace(100.0, 200.0, 5)), "noise":
                 noise.Additive(3.0), "opt": optax.adam(0.01), "key": jr.key(7),
                 "f": feat, "sel": lambda m: (m.p, m.a)}
        print(fingerprint(parts).digest)
    """)
    ns = {"__name__": "__main__"}  # as in `python -c`
    exec(code.replace("\nprint(", "\nresult = ("), ns)
    out = (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        .stdout.strip()
        .splitlines()[-1]
    )
    assert out == ns["result"]


class _Quadratic(eqx.Module):
    target: jax.Array

    def __call__(self, model, key):
        return jnp.sum((model.p - self.target) ** 2), {}


@pytest.mark.parametrize(
    "change, part",
    [
        (dict(objective=_Quadratic(jnp.asarray(81.0))), r"objective \(objective.target\)"),
        (dict(optimizer=optax.adam(0.2)), "optimizer"),
        (dict(model=models.JansenRit(p=61.0)), r"model \(model.p\)"),
        (dict(params=lambda m: m.a, transforms=[fit.Positive(100.0)]), "params"),
        (dict(priors=[fit.GaussianPrior(80.0, 5.0)]), "priors"),
        (dict(transforms=[fit.Positive(50.0)]), "transforms"),
        (dict(key=jr.key(1)), "key"),
        (dict(n_starts=3), "settings"),
    ],
)
def test_every_input_of_a_fit_is_in_its_checkpoint_fingerprint(tmp_path, change, part):
    base = dict(
        model=models.JansenRit(p=60.0),
        objective=_Quadratic(jnp.asarray(80.0)),
        params=lambda m: m.p,
        transforms=[fit.Positive(100.0)],
        steps=3,
        optimizer=optax.adam(0.1),
        n_starts=2,
        progress=False,
        checkpoint=tmp_path,
    )
    first = fit.fit(**base)
    with pytest.raises(StoreMismatchError, match=part):
        fit.fit(**{**base, **change})
    again = fit.fit(**base)  # identical inputs: resumed (nothing left to run)
    np.testing.assert_array_equal(again.loss_history, first.loss_history)


def test_a_real_objective_fingerprints_its_target_data(tmp_path):
    f = np.linspace(2.0, 40.0, 20)
    psd = 1.0 / (1.0 + f) + np.exp(-((f - 10.0) ** 2))
    make = lambda p: fit.SpectrumObjective(
        fit.SpectrumTarget(f, p),
        noise.Additive(1.0),
        method=fit.Linear(y_guess=analysis.stable_equilibrium(models.JansenRit(p=60.0))),
    )
    kw = dict(
        params=lambda m: m.p,
        transforms=[fit.Positive(100.0)],
        steps=1,
        progress=False,
        checkpoint=tmp_path,
    )
    fit.fit(models.JansenRit(p=60.0), make(psd), **kw)
    edited = psd.copy()
    edited[7] *= 1.001
    with pytest.raises(StoreMismatchError, match=r"objective \(objective.target.psd\)"):
        fit.fit(models.JansenRit(p=60.0), make(edited), **kw)


# ----------------------------------------------------------------------------- damaged files


def _manifest(path):
    return json.loads((path / "manifest.json").read_text())


def _rewrite_entry(path, name, data):
    """Replace a stored file and make its manifest entry match (a consistent but wrong file)."""
    import hashlib

    (path / name).write_bytes(data)
    man = _manifest(path)
    man["files"][name].update(sha256=hashlib.sha256(data).hexdigest(), bytes=len(data))
    (path / "manifest.json").write_text(json.dumps(man))


def _npz(**arrays):
    import io

    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


@pytest.mark.parametrize(
    "damage, why",
    [
        (lambda p, n: (p / n).write_bytes((p / n).read_bytes()[:100]), "checksum"),  # truncated
        (lambda p, n: (p / n).write_bytes(b""), "checksum"),  # empty
        (lambda p, n: (p / n).unlink(), "missing"),
        (
            lambda p, n: _rewrite_entry(
                p, n, _npz(mean=np.zeros(5), std=np.zeros(5), diverged=np.zeros(5, bool))
            ),
            "shapes",
        ),
        (
            lambda p, n: _rewrite_entry(
                p,
                n,
                _npz(
                    mean=np.array([{"a": 1}, None], dtype=object),
                    std=np.zeros(2),
                    diverged=np.zeros(2, bool),
                ),
            ),
            "without pickle",
        ),
        (
            lambda p, n: (p / "manifest.json").write_text(
                json.dumps(
                    {
                        **_manifest(p),
                        "files": {k: v for k, v in _manifest(p)["files"].items() if k != n},
                    }
                )
            ),
            "not recorded",
        ),
    ],
)
def test_a_damaged_chunk_is_detected_and_recomputed(tmp_path, damage, why):
    whole = jr_sweep(tmp_path, chunk_size=2)
    damage(tmp_path, "chunks/chunk_000001.npz")
    with pytest.warns(RuntimeWarning, match=f"chunk_000001.npz is damaged: .*{why}"):
        again = jr_sweep(tmp_path, chunk_size=2)
    np.testing.assert_array_equal(again["std"].values, whole["std"].values)
    assert "chunks/chunk_000001.npz" in _manifest(tmp_path)["files"]  # recorded again


def test_load_sweep_refuses_an_incomplete_or_damaged_sweep(tmp_path):
    jr_sweep(tmp_path, chunk_size=2)
    (tmp_path / "chunks/chunk_000000.npz").write_bytes(b"x")
    with (
        pytest.warns(RuntimeWarning, match="damaged"),
        pytest.raises(ValueError, match=r"incomplete: chunks \[0\]"),
    ):
        rj.load_sweep(tmp_path)


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda m: {**m, "rosetta_jax": "0.0.1"}, "made by rosetta-jax 0.0.1"),
        (lambda m: {**m, "format_version": 99}, "another format"),
        (lambda m: {**m, "kind": "fit"}, "holds a 'fit' job"),
    ],
)
def test_a_manifest_from_another_version_is_refused(tmp_path, edit, match):
    jr_sweep(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps(edit(_manifest(tmp_path))))
    with pytest.raises(StoreMismatchError, match=match):
        jr_sweep(tmp_path)


def test_a_damaged_fit_checkpoint_falls_back_to_the_previous_one(tmp_path):
    kw = dict(
        params=lambda m: m.p,
        transforms=[fit.Positive(100.0)],
        progress=False,
        optimizer=optax.adam(0.1),
        n_starts=2,
    )
    obj = _Quadratic(jnp.asarray(80.0))
    full = fit.fit(models.JansenRit(p=60.0), obj, steps=12, **kw)
    fit.fit(models.JansenRit(p=60.0), obj, steps=8, checkpoint=tmp_path, checkpoint_every=4, **kw)
    assert sorted(_manifest(tmp_path)["files"]) == ["state_00000004.npz", "state_00000008.npz"]
    newest = tmp_path / "state_00000008.npz"
    newest.write_bytes(newest.read_bytes()[:-10])
    with pytest.warns(RuntimeWarning, match="state_00000008.npz is damaged"):
        resumed = fit.fit(
            models.JansenRit(p=60.0), obj, steps=12, checkpoint=tmp_path, checkpoint_every=4, **kw
        )
    np.testing.assert_array_equal(resumed.loss_history, full.loss_history)
    np.testing.assert_array_equal(resumed.params["param_0"], full.params["param_0"])


def test_store_files_are_never_read_with_pickle(tmp_path, monkeypatch):
    calls = []
    real = np.load
    monkeypatch.setattr(np, "load", lambda *a, **k: calls.append(k) or real(*a, **k))
    jr_sweep(tmp_path, chunk_size=2)
    rj.load_sweep(tmp_path)
    assert calls and all(k.get("allow_pickle") is False for k in calls)


# ----------------------------------------------------------------------------- delays

W2 = np.array([[0.0, 0.0], [1.0, 0.0]])  # node 1 receives from node 0
L2 = np.array([[0.0, 0.0], [12.0, 0.0]])  # mm


def _speed_run(net, dt=1e-4, t1=0.05):
    return lambda v: (
        rj.simulate(eqx.tree_at(lambda n: n.speed, net, v), t1=t1, dt=dt, save_every=10).observed
    )


def test_a_traced_speed_beyond_the_buffer_is_an_error_not_a_clip():
    net = rj.Network(models.JansenRit(), W2 + W2.T, lengths=L2 + L2.T, speed=6.0)  # 2 ms
    run = _speed_run(net)
    for transform in (jax.vmap, lambda f: jax.vmap(jax.grad(lambda v: f(v).sum()))):
        with pytest.raises(Exception, match="exceeds the delay buffer"):
            jax.block_until_ready(transform(run)(jnp.array([6.0, 2.0])))
    with pytest.raises(ValueError, match="min_speed"):
        rj.sweep(
            net, rj.Space.grid(speed=[6.0, 2.0]), features=["std"], t1=0.2, dt=1e-4, progress=False
        )


def test_min_speed_sizes_the_buffer_for_slower_speeds():
    net = rj.Network(models.JansenRit(), W2 + W2.T, lengths=L2 + L2.T, speed=6.0, min_speed=2.0)
    assert net.max_delay == pytest.approx(12.0 / 2.0 * 1e-3)  # mm / (m/s) = ms, in s
    batched = jax.vmap(_speed_run(net))(jnp.array([6.0, 2.0]))
    for i, v in enumerate([6.0, 2.0]):
        alone = rj.simulate(
            rj.Network(models.JansenRit(), W2 + W2.T, lengths=L2 + L2.T, speed=v),
            t1=0.05,
            dt=1e-4,
            save_every=10,
        ).observed
        np.testing.assert_allclose(batched[i], alone, rtol=1e-10)
    with pytest.raises(ValueError, match="below `min_speed`"):
        rj.Network(models.JansenRit(), W2, lengths=L2, speed=1.0, min_speed=2.0)


@pytest.mark.parametrize(
    "node, dt",
    [
        (models.MontbrioPazoRoxin(), 0.01),
        (models.ING(), 0.01),
        (models.PING(), 0.01),
        (models.JansenRit(), 1e-5),
    ],
)
def test_delays_of_millisecond_models_are_mm_over_m_per_s(node, dt):
    # Independent conversion: L [mm] / v [m/s] = L / v [ms] (the node's unit for MPR, ING,
    # PING; divided by 1000 for JR in s).
    v = 4.0
    per_unit = 1.0 if node.time_unit == "ms" else 1e-3
    tau = L2 / v * per_unit
    net = rj.Network(node, W2, lengths=L2, speed=v, normalize=None)
    np.testing.assert_allclose(net.delay_matrix(), tau, rtol=1e-14)
    # The receiving node first feels a step given to the source at t_on after t_on + L/v:
    # compare runs with the step and with a zero step (identical arithmetic before it).
    t_on = 200 * dt
    pattern = jnp.array([1.0, 0.0])
    t1 = t_on + 2 * tau[1, 0] + 200 * dt

    def run(m, amplitude=5.0):
        f = forcing.Constant(amplitude, t_on=t_on) * pattern
        return np.asarray(rj.simulate(m, t1=t1, dt=dt, forcing=f).ys[:, 1])

    moved = np.abs(run(net) - run(net, 0.0)).max(axis=-1) > 0
    first = (np.argmax(moved) + 1) * dt  # the first saved time at which node 1 differs
    # The source's efferent moves one or two steps after its input (through the synapse's
    # second-order kernel for JR and ING/PING), so it arrives within 3 steps (1 % of tau).
    assert t_on + tau[1, 0] - dt < first <= t_on + tau[1, 0] + 3 * dt + 1e-9 * dt
    explicit = rj.Network(node, W2, delays=tau, normalize=None)
    np.testing.assert_allclose(run(explicit), run(net), rtol=1e-12, atol=1e-14)


# ----------------------------------------------------------------------------- feature units


@pytest.mark.parametrize("Model", [models.ING, models.PING])
def test_sweep_finds_the_gamma_peak_of_millisecond_models(Model):
    ds = rj.sweep(
        Model(),
        rj.Space.samples(I=[float(Model().I)]),
        features=["peak_frequency", "power_gamma"],
        t1=1000.0,
        dt=0.01,
        progress=False,
    )
    sol = rj.simulate(Model(), t1=1000.0, dt=0.01)
    ref = 1000.0 * mean_frequency(np.asarray(sol.ts)[20000:], np.asarray(sol.observed)[20000:])
    assert 45.0 < ref < 90.0  # a gamma rhythm (zero crossings, ms -> Hz)
    np.testing.assert_allclose(float(ds["peak_frequency"][0]), ref, atol=1.0)
    assert float(ds["power_gamma"][0]) > 0.5 and ds.attrs["frequency_unit"] == "Hz"


def test_sensitivity_features_follow_the_time_unit():
    m = models.ING()
    feats = fit.spectral_features(
        noise.Additive(0.5), method=fit.Simulated(t1=1000.0, nperseg=8192)
    )(m, jr.key(0))
    sol = rj.simulate(m, t1=1000.0, dt=0.01)
    ref = 1000.0 * mean_frequency(np.asarray(sol.ts)[20000:], np.asarray(sol.observed)[20000:])
    np.testing.assert_allclose(float(feats["peak_frequency"]), ref, atol=2.0)
    assert float(feats["log_power_gamma"]) > float(feats["log_power_alpha"])


def test_dimensionless_rungs_report_cycles_per_unit():
    omega = 2.0
    ds = rj.sweep(
        models.StuartLandau(omega=omega),
        rj.Space.grid(alpha=[0.5, 1.0]),
        features=["peak_frequency"],
        t1=500.0,
        dt=0.01,
        progress=False,
    )
    np.testing.assert_allclose(ds["peak_frequency"].values, omega / (2 * np.pi), rtol=5e-3)
    assert ds.attrs["frequency_unit"] == "cycles per time unit"
    with pytest.raises(ValueError, match="dimensionless model has no default bands"):
        rj.sweep(
            models.StuartLandau(),
            rj.Space.grid(alpha=[0.5]),
            features=["power_alpha"],
            t1=50.0,
            dt=0.01,
            progress=False,
        )


def test_a_band_beyond_nyquist_is_an_error():
    with pytest.raises(ValueError, match="beyond the Nyquist frequency"):
        rj.sweep(
            models.JansenRit(),
            rj.Space.grid(p=[100.0]),
            features=["power_gamma"],
            t1=1.0,
            dt=1e-4,
            save_every=100,
            progress=False,
        )  # 100 Hz: Nyquist 50 Hz
    with pytest.raises(ValueError, match="beyond the Nyquist"):
        rj.sweep(
            models.JansenRit(),
            rj.Space.grid(p=[100.0]),
            features=["power_hi"],
            bands={"hi": (400.0, 600.0)},
            t1=1.0,
            dt=1e-4,
            progress=False,
        )
    with pytest.raises(ValueError, match="beyond the Nyquist"):
        fit.spectral_features(
            noise.Additive(1.0),
            method=fit.Simulated(t1=1.0, save_every=100),
            bands={"hi": (40.0, 60.0)},
        )(models.JansenRit(), jr.key(0))
    assert rj.units.BANDS["gamma"] == (30.0, 80.0)


# ----------------------------------------------------------------------------- continuing


@pytest.mark.parametrize(
    "make_noise", [lambda: noise.Additive(1.0), lambda: noise.OrnsteinUhlenbeck(1.0, 0.1)]
)
def test_a_continued_run_draws_new_noise_without_recompiling(make_noise):
    # z' = input (alpha = omega = 0): the increments of the output are the noise itself.
    m, k, nz = models.DampedOscillator(alpha=0.0, omega=0.0), jr.key(3), make_noise()
    first = rj.simulate(m, t1=40.0, dt=0.01, noise=nz, key=k)
    with count_compilations() as compiled:
        second = rj.simulate(m, t0=40.0, t1=80.0, dt=0.01, noise=nz, key=k, y0=first.y_final)
    assert len(compiled) == 0  # t0 is traced
    np.testing.assert_allclose(second.ts[0], 40.01, rtol=1e-12)
    # Same key: restarting at t0 = 0 repeats the first piece's noise exactly; continuing at
    # t0 = 40 draws new noise. 4000 increments (about 400 independent ones for the OU noise,
    # tau = 10 steps): the correlation of independent noise is within 0.05 of 0 (1 sigma).
    again = rj.simulate(m, t1=40.0, dt=0.01, noise=nz, key=k, y0=first.y_final)
    inc = lambda s: np.diff(np.asarray(s.observed.real))
    np.testing.assert_allclose(inc(again), inc(first), rtol=1e-9, atol=1e-12)
    assert abs(np.corrcoef(inc(again), inc(second))[0, 1]) < 0.25


def test_a_run_continued_in_pieces_equals_one_run():
    m, k, nz = models.JansenRit(), jr.key(5), noise.Additive(40.0)
    whole = rj.simulate(m, t1=0.3, dt=1e-4, save_every=10, noise=nz, key=k).observed
    a = rj.simulate(m, t1=0.1, dt=1e-4, save_every=10, noise=nz, key=k)
    b = rj.simulate(m, t0=0.1, t1=0.3, dt=1e-4, save_every=20, noise=nz, key=k, y0=a.y_final)
    np.testing.assert_allclose(
        np.concatenate([a.observed, b.observed]),
        np.concatenate([whole[:100], whole[101::2]]),
        rtol=1e-12,
    )


# ----------------------------------------------------------------------------- numerics


def test_equilibrium_reports_a_failed_newton_solve():
    m = models.JansenRit(p=60.0)
    y = analysis.stable_equilibrium(m)
    np.testing.assert_allclose(
        m.vector_field(0.0, analysis.equilibrium(m, y), None), 0.0, atol=1e-9
    )
    far = jnp.full(6, 1e6)
    with pytest.raises(ValueError, match="Newton did not converge"):
        analysis.equilibrium(m, far, iterations=2)
    assert np.all(np.isnan(jax.jit(lambda y: analysis.equilibrium(m, y, iterations=2))(far)))


def test_a_fit_rejects_steps_at_points_that_are_not_equilibria():
    f = np.linspace(2.0, 40.0, 20)
    target = fit.SpectrumTarget(f, 1.0 / (1.0 + f))
    obj = fit.SpectrumObjective(
        target,
        noise.Additive(1.0),
        method=fit.Linear(y_guess=jnp.full(6, 1e6), newton_iterations=2),
    )
    with pytest.warns(RuntimeWarning, match="No step of any start gave a finite loss"):
        res = fit.fit(
            models.JansenRit(p=60.0),
            obj,
            params=lambda m: m.p,
            transforms=[fit.Positive(100.0)],
            steps=3,
            progress=False,
        )
    assert res.meta["rejected_steps"] == 3 and np.all(np.isnan(res.loss_history))
    assert float(res.model.p) == 60.0  # never moved to a point that is not an equilibrium


@pytest.mark.parametrize(
    "call, match",
    [
        (
            lambda: fit.spectral_features(noise.Additive(1.0), method="linaer"),
            r"`method` must be fit.Linear\(...\) or fit.Simulated\(...\) .*got 'linaer'",
        ),
        (lambda: fit.fc_features(noise.Additive(1.0), method="sim"), r"`method` must be fit.Lin"),
        (
            lambda: fit.SpectrumObjective(
                fit.SpectrumTarget([1.0, 2.0], [1.0, 1.0]), noise.Additive(1.0), method="Linear"
            ),
            "`method` must be fit.Linear",
        ),
        (
            lambda: rj.Network(models.JansenRit(), np.ones((2, 2)), normalize="rows"),
            "`normalize` must be a connectome normalisation",
        ),
        (
            lambda: rj.sweep(
                models.JansenRit(), rj.Space.grid(p=[1.0]), t1=1.0, dt=1e-4, file_format="hdf5"
            ),
            "`file_format` must be 'netcdf' or 'zarr'",
        ),
        (
            lambda: analysis.peak_frequency(np.arange(5.0), np.ones(5), method="max"),
            "`method` must be 'parabolic' or 'softmax'",
        ),
        (
            lambda: analysis.welch(np.ones(64), 1.0, nperseg=32, scaling="power"),
            "`scaling` must be",
        ),
        (lambda: analysis.translate(models.JansenRit(), to="wc"), "`to` must be"),
    ],
)
def test_every_string_option_is_validated(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_sensitivity_refuses_nan_features():
    # A growing oscillation (alpha > 0) overflows within the default 2000 time units: caught
    # on the concrete call that names the features, or after the vmapped one.
    feats = fit.spectral_features(noise.Additive(1.0), method=fit.Simulated(t1=2000.0))
    with pytest.raises(ValueError, match="NaN or inf"):
        fit.sensitivity(models.DampedOscillator(alpha=1.0), feats, lambda m: (m.omega,))
    feats = fit.spectral_features(
        noise.Additive(1.0), method=fit.Linear(y_guess=jnp.full(6, jnp.nan))
    )
    with pytest.raises(ValueError, match="Newton did not converge"):
        fit.sensitivity(models.JansenRit(p=60.0), feats, lambda m: (m.p,))


def test_store_module_is_public():
    assert store.Store is not None and rj.store.fingerprint is fingerprint
    assert os.path.basename(store.__file__) == "store.py"
