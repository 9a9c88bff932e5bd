"""Parameter sweeps: equal to separate runs, chunking- and device-invariant, resumable."""

import json
import os
import subprocess
import sys
import textwrap

import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import rosetta_jax as rj
from rosetta_jax import models, noise


T1, DT = 2.0, 1e-4


def jr_sweep(space, **kw):
    kw.setdefault("features", ["std", "peak_frequency", "power_alpha"])
    return rj.sweep(
        models.JansenRit(), space, t1=T1, dt=DT, noise=noise.Additive(20.0), progress=False, **kw
    )


def test_sweep_equals_separate_runs():
    space = rj.Space.samples(p=[70.0, 150.0, 230.0], a=[100.0, 90.0, 110.0])
    ds = jr_sweep(space, features=["std", "mean", "psd"])
    for i, (p, a) in enumerate(space.values):
        sol = rj.simulate(
            models.JansenRit(p=p, a=a),
            t1=T1,
            dt=DT,
            save_every=10,
            noise=noise.Additive(20.0),
            key=jr.fold_in(jr.key(0), i),
        )
        x = np.asarray(sol.observed)[200:]  # 2000 saves at 1 kHz, 10 % discarded
        np.testing.assert_allclose(float(ds["std"][i]), x.std(), rtol=1e-10)
        np.testing.assert_allclose(float(ds["mean"][i]), x.mean(), rtol=1e-10)
        f, P = rj.analysis.welch(x[:, None], 1000.0, nperseg=1800)
        np.testing.assert_allclose(ds["psd"][i].values, np.asarray(P[:, 0]), rtol=1e-9)
    assert ds["p"].dims == ("sample",) and ds.attrs["sampling_rate_hz"] == 1000.0
    assert not ds["diverged"].any()


def test_grid_is_labelled_and_chunking_changes_nothing():
    space = rj.Space.grid(p=[60.0, 120.0, 200.0], b=[40.0, 50.0])
    whole = jr_sweep(space)
    chunked = jr_sweep(space, chunk_size=2)
    assert whole["std"].dims == ("p", "b") and whole["std"].shape == (3, 2)
    for name in ["std", "peak_frequency", "power_alpha"]:  # equal up to batched rounding
        np.testing.assert_allclose(whole[name].values, chunked[name].values, rtol=1e-13)
    # A grid point equals the explicit sample with the same index.
    i = 4  # (200, 40) is the fifth point of the grid
    sol = rj.simulate(
        models.JansenRit(p=200.0, b=40.0),
        t1=T1,
        dt=DT,
        save_every=10,
        noise=noise.Additive(20.0),
        key=jr.fold_in(jr.key(0), i),
    )
    np.testing.assert_allclose(
        float(whole["std"].sel(p=200.0, b=40.0)), np.asarray(sol.observed)[200:].std(), rtol=1e-10
    )


def test_network_features_and_regional_parameters():
    W = np.array([[0, 1, 0.5, 0], [1, 0, 0, 0.2], [0.5, 0, 0, 1], [0, 0.2, 1, 0]])
    net = rj.Network(
        models.StuartLandau(alpha=jnp.full(4, 0.5), omega=jnp.array([1.0, 1.1, 0.9, 1.05])),
        W,
        G=0.1,
    )
    space = rj.Space.grid({"G": [0.0, 2.0], "node.alpha": [0.5, 1.0]})
    ds = rj.sweep(
        net,
        space,
        features=["order_parameter", "fc_sc_correlation", "fc"],
        t1=200.0,
        dt=0.01,
        save_every=10,
        discard=0.5,
        progress=False,
    )
    assert ds["fc"].shape == (2, 2, 4, 4)
    R = ds["order_parameter"].values
    # Strong coupling synchronises the detuned oscillators; without coupling they drift.
    assert np.all(R[1] > 0.95) and np.all(R[0] < 0.8)
    # Regional alpha set to one value in every region equals a network built with it.
    sol = rj.simulate(
        rj.Network(models.StuartLandau(alpha=jnp.full(4, 1.0), omega=net.node.omega), W, G=2.0),
        t1=200.0,
        dt=0.01,
        save_every=10,
    )
    x = np.asarray(sol.observed)[1000:]
    fc = np.corrcoef(x.T)
    np.testing.assert_allclose(ds["fc"].sel(G=2.0, **{"node.alpha": 1.0}).values, fc, atol=1e-9)


def test_random_and_sobol_spaces():
    r = rj.Space.random(64, p=(50.0, 250.0), a=(80.0, 120.0), seed=3)
    assert (
        r.values.shape == (64, 2) and np.all(r.values[:, 0] >= 50) and np.all(r.values[:, 0] < 250)
    )
    np.testing.assert_array_equal(
        r.values, rj.Space.random(64, p=(50.0, 250.0), a=(80.0, 120.0), seed=3).values
    )
    s = rj.Space.sobol(64, p=(0.0, 1.0), a=(0.0, 1.0), seed=1)
    # A balanced Sobol set has exactly 8 points in each eighth of each axis.
    for j in range(2):
        np.testing.assert_array_equal(np.histogram(s.values[:, j], 8, (0, 1))[0], np.full(8, 8))


@pytest.mark.parametrize(
    "bad, match",
    [
        (lambda: rj.Space.grid(q=[1.0]), None),
        (lambda: rj.Space.random(8, p=(2.0, 1.0)), "low < high"),
        (lambda: rj.Space.grid(), "at least one parameter"),
        (lambda: rj.Space.samples(p=[1.0, 2.0], a=[1.0]), "one length"),
        (lambda: rj.Space.grid(p=[1.0, np.nan]), "finite"),
    ],
)
def test_bad_spaces(bad, match):
    if match is None:
        with pytest.raises(ValueError, match="no parameter `q`"):
            jr_sweep(bad())
    else:
        with pytest.raises(ValueError, match=match):
            bad()


def test_bad_sweep_arguments(tmp_path):
    space = rj.Space.grid(p=[60.0, 120.0])
    with pytest.raises(ValueError, match="Unknown feature 'peak'"):
        jr_sweep(space, features=["peak"])
    with pytest.raises(ValueError, match="needs a Network"):
        jr_sweep(space, features=["fc_sc_correlation"])
    with pytest.raises(TypeError, match="must be a Space"):
        rj.sweep(models.JansenRit(), {"p": [1.0]}, t1=1.0, dt=1e-4)
    jr_sweep(space, path=tmp_path)
    with pytest.raises(ValueError, match=r"made with other inputs: space \(space\[.axes.\]"):
        jr_sweep(rj.Space.grid(p=[60.0, 130.0]), path=tmp_path)


def test_blown_up_samples_are_reported():
    space = rj.Space.samples(alpha=[-0.5, 60.0])
    with pytest.warns(RuntimeWarning, match="1 of 2 samples blew up"):
        ds = rj.sweep(
            models.DampedOscillator(), space, features=["std"], t1=50.0, dt=0.01, progress=False
        )
    assert ds["diverged"].values.tolist() == [False, True]
    assert np.isfinite(ds["std"][0]) and np.isnan(ds["std"][1])


SCRIPT = textwrap.dedent("""
    import os, sys, json
    import jax
    jax.config.update("jax_enable_x64", True)
    import numpy as np
    import rosetta_jax as rj
    from rosetta_jax import models, noise
    mode, out = sys.argv[1], sys.argv[2]
    space = rj.Space.grid(p=np.linspace(60.0, 240.0, 7), a=[95.0, 105.0])
    def stop(c, seen=[]):
        seen.append(c)
        if mode == "kill" and len(seen) == 2:
            os._exit(3)
    ds = rj.sweep(models.JansenRit(), space, features=["std", "peak_frequency"], t1=1.0,
                  dt=1e-4, noise=noise.Additive(20.0), progress=False, chunk_size=4,
                  path=out if mode == "kill" else None, on_chunk=stop)
    np.savez(out + "/result.npz", std=ds["std"].values, peak=ds["peak_frequency"].values,
             devices=len(jax.devices()))
""")


def run_script(tmp_path, mode, out, devices=1):
    script = tmp_path / "sweep_script.py"
    script.write_text(SCRIPT)
    env = dict(
        os.environ,
        XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}",
        JAX_PLATFORMS="cpu",
    )
    return subprocess.run(
        [sys.executable, str(script), mode, str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def in_process(**kw):
    space = rj.Space.grid(p=np.linspace(60.0, 240.0, 7), a=[95.0, 105.0])
    return rj.sweep(
        models.JansenRit(),
        space,
        features=["std", "peak_frequency"],
        t1=1.0,
        dt=1e-4,
        noise=noise.Additive(20.0),
        progress=False,
        chunk_size=4,
        **kw,
    )


@pytest.mark.slow  # 17-31 s: default-run budget (the calibration test runs there)
def test_sharded_over_four_devices_equals_one(tmp_path):
    r = run_script(tmp_path, "plain", tmp_path, devices=4)
    assert r.returncode == 0, r.stderr[-2000:]
    z = dict(np.load(tmp_path / "result.npz"))
    assert int(z["devices"]) == 4
    ds = in_process()
    np.testing.assert_allclose(z["std"], ds["std"].values, rtol=1e-12)
    np.testing.assert_allclose(z["peak"], ds["peak_frequency"].values, rtol=1e-12)


def test_killed_sweep_resumes_without_loss_or_repeats(tmp_path):
    out = tmp_path / "sweep"
    out.mkdir()
    r = run_script(tmp_path, "kill", out)
    assert r.returncode == 3, r.stderr[-2000:]
    first = sorted(p.name for p in (out / "chunks").glob("chunk_*.npz"))
    assert first == ["chunk_000000.npz", "chunk_000001.npz"]
    assert not (out / "sweep.nc").exists()
    computed = []
    resumed = in_process(path=out, on_chunk=computed.append)
    assert computed == [2, 3]  # 14 samples in chunks of 4: only the missing ones ran
    whole = in_process()
    np.testing.assert_array_equal(resumed["std"].values, whole["std"].values)
    np.testing.assert_array_equal(resumed["peak_frequency"].values, whole["peak_frequency"].values)
    loaded = rj.load_sweep(out)
    np.testing.assert_array_equal(loaded["std"].values, whole["std"].values)
    assert json.loads(loaded.attrs["settings"])["names"] == ["p", "a"]
    import xarray as xr

    with xr.open_dataset(out / "sweep.nc", engine="scipy") as saved:
        np.testing.assert_array_equal(saved["std"].values, whole["std"].values)
