"""The `rosetta-jax` command line: the demo, each command on a small config, and bad configs."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import xarray as xr

from rosetta_jax.cli import main


def test_demo_writes_a_figure_per_rung_the_fits_and_a_report(tmp_path):
    out = tmp_path / "out"
    assert main(["demo", "--out", str(out), "--quiet", "--quick"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    fits = summary["fits"]
    assert 0.0 < fits["meg_spectra"]["r2_log_psd_median"] <= 1.0
    assert 0.0 < fits["hcp_fc"]["fc_correlation"] < 1.0
    for name in ["fit_meg_spectra.png", "fit_fc.png", "ladder.png"]:
        assert (out / name).stat().st_size > 10_000
    report = (out / "report.html").read_text()
    assert "ladder.png" in report and "fit_fc.png" in report and "MEG spectra" in report
    assert len(summary["rungs"]) == 12
    for rung in summary["rungs"].values():
        assert (out / rung["figure"]).stat().st_size > 10_000
    assert (out / "ladder.png").exists()
    # The rhythms the ladder is known for.
    r = summary["rungs"]
    assert 10.0 < r["04_jansen_rit"]["dominant_frequency"] < 12.0  # alpha
    assert 9.0 < r["04_ei_motif"]["dominant_frequency"] < 13.0
    assert 30.0 < r["05_ing"]["dominant_frequency"] < 100.0  # gamma [Hz]
    assert r["05_ing"]["frequency_unit"] == "Hz"


def test_no_command_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "demo" in capsys.readouterr().out


def test_console_script_help():
    res = subprocess.run(
        [sys.executable, "-m", "rosetta_jax.cli", "demo", "--help"], capture_output=True, text=True
    )
    assert res.returncode == 0 and "rosetta-out" in res.stdout


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def test_simulate_command_writes_npz_json_png(tmp_path):
    cfg = write(
        tmp_path,
        "sim.toml",
        f"""
        [model]
        name = "JansenRit"
        params = {{ p = 220.0 }}
        [network]
        connectome = "dk68"
        G = 5.0
        speed = 5.0
        [forcing]
        kind = "sinusoid"
        amplitude = 50.0
        frequency = 10.0
        regions = [11, 45]
        [simulation]
        t1 = 0.3
        dt = 1e-4
        save_every = 10
        noise = 2.0
        [output]
        dir = "{tmp_path / "sim"}"
    """,
    )
    assert main(["simulate", str(cfg), "--quiet"]) == 0
    z = dict(np.load(tmp_path / "sim" / "simulation.npz"))  # read, then closed
    assert z["observed"].shape == (300, 68) and np.all(np.isfinite(z["observed"]))
    np.testing.assert_allclose(z["ts"][[0, -1]], [1e-3, 0.3], rtol=1e-5)
    meta = json.loads((tmp_path / "sim" / "simulation.json").read_text())
    assert meta["config"]["network"]["speed"] == 5.0 and meta["meta"]["dt"] == 1e-4
    assert (tmp_path / "sim" / "simulation.png").stat().st_size > 10_000


def test_sweep_command_writes_netcdf(tmp_path):
    cfg = write(
        tmp_path,
        "sweep.toml",
        f"""
        [model]
        name = "JansenRit"
        [simulation]
        t1 = 1.0
        dt = 1e-4
        noise = 20.0
        [sweep]
        features = ["peak_frequency", "std"]
        [sweep.params]
        p = [60.0, 250.0]
        a = [90.0, 110.0]
        [output]
        dir = "{tmp_path / "sw"}"
    """,
    )
    assert main(["sweep", str(cfg), "--quiet"]) == 0
    with xr.open_dataset(tmp_path / "sw" / "sweep" / "sweep.nc", engine="scipy") as ds:
        assert ds["std"].dims == ("p", "a") and ds["std"].shape == (2, 2)
        assert np.all(ds["std"].values > 0)
    assert (tmp_path / "sw" / "sweep.png").exists()


def test_bifurcation_command_finds_the_jansen_rit_fold(tmp_path):
    cfg = write(
        tmp_path,
        "bif.toml",
        f"""
        [model]
        name = "JansenRit"
        [bifurcation]
        param = "p"
        start = 80.0
        stop = 120.0
        simulate = false
        [output]
        dir = "{tmp_path / "bif"}"
    """,
    )
    assert main(["bifurcation", str(cfg), "--quiet"]) == 0
    out = json.loads((tmp_path / "bif" / "bifurcation.json").read_text())
    assert abs(out["folds"][0]["param"] - 113.5862732) < 1e-5


def test_fit_command_on_a_spectrum_file(tmp_path):
    f = np.linspace(2, 45, 87)
    np.savez(tmp_path / "spec.npz", freqs=f, psd=1 / f + 0.5 * np.exp(-((f - 9.5) ** 2) / 4.5))
    cfg = write(
        tmp_path,
        "fit.toml",
        f"""
        [model]
        name = "JansenRit"
        params = {{ p = 20.0 }}
        [fit]
        task = "spectrum"
        target = "spec.npz"
        params = ["a", "p"]
        steps = 15
        [fit.bounds]
        p = [-20.0, 110.0]
        [output]
        dir = "{tmp_path / "fit"}"
    """,
    )
    assert main(["fit", str(cfg), "--quiet"]) == 0
    out = json.loads((tmp_path / "fit" / "fit.json").read_text())
    hist = dict(np.load(tmp_path / "fit" / "fit.npz"))["loss_history"][:, 0]
    assert hist[-1] < 0.9 * hist[0] and -20.0 < out["params"]["p"] < 110.0
    assert set(out["params"]) == {"a", "p"}


BAD = [
    (
        "simulate",
        "[model]\nname = 'JansenRit'\ncolour = 1\n[simulation]\nt1 = 1.0\ndt = 1e-4\n",
        "unknown key 'colour' in [model]",
    ),
    (
        "simulate",
        "[model]\nname = 'JansenRit'\n[simulation]\nt1 = 'long'\ndt = 1e-4\n",
        "[simulation] t1 must be a number",
    ),
    (
        "simulate",
        "[model]\nname = 'JansenRit'\n[simulation]\ndt = 1e-4\n",
        "missing required key 't1' in [simulation]",
    ),
    ("simulate", "[model]\nname = 'Jansen'\n[simulation]\nt1 = 1.0\ndt = 1e-4\n", "is not a model"),
    (
        "simulate",
        "[model]\nname = 'JansenRit'\nparams = { q = 1.0 }\n[simulation]\nt1 = 1.0\ndt = 1e-4\n",
        "has no parameter 'q'",
    ),
    (
        "simulate",
        "[model]\nname = 'JansenRit'\n[network]\nconnectome = 'nope.npz'\n"
        "[simulation]\nt1 = 1.0\ndt = 1e-4\n",
        "file 'nope.npz' does not exist",
    ),
    ("simulate", "[modle]\nname = 'JansenRit'\n", "unknown section [modle]"),
    ("simulate", "[model\nname = 1", "not valid TOML"),
    (
        "sweep",
        "[model]\nname = 'JansenRit'\n[simulation]\nt1 = 1.0\ndt = 1e-4\n"
        "[sweep]\nfeatures = ['peak']\n[sweep.params]\np = [1.0, 2.0]\n",
        "Unknown feature 'peak'",
    ),
    ("fit", "[fit]\ntask = 'everything'\n", "task must be one of"),
    (
        "bifurcation",
        "[model]\nname = 'JansenRit'\n[bifurcation]\nparam = 'zz'\nstart = 0.0\nstop = 1.0\n",
        "has no parameter 'zz'",
    ),
]


@pytest.mark.parametrize("command, text, message", BAD)
def test_bad_config_gives_one_line_error_and_exit_2(tmp_path, capsys, command, text, message):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    assert main([command, str(cfg), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err


def test_missing_config_file_exits_2(tmp_path, capsys):
    assert main(["fit", str(tmp_path / "none.toml")]) == 2
    assert "no such file" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["simulate", "fit", "sweep", "bifurcation"])
def test_each_command_has_help(command):
    res = subprocess.run(
        [sys.executable, "-m", "rosetta_jax.cli", command, "--help"], capture_output=True, text=True
    )
    assert res.returncode == 0 and "CONFIG.toml" in res.stdout


def test_example_configs_are_valid():
    from pathlib import Path

    from rosetta_jax import _config

    examples = sorted((Path(__file__).parent.parent / "examples").glob("*.toml"))
    assert len(examples) >= 6
    for p in examples:
        command = p.stem.split("_")[0]
        cfg = _config.load(p, command)
        if "model" in cfg:
            _config.build_model(cfg)
