"""The `rosetta-jax` command line: the demo, each command on a small config, and bad configs."""

import json
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from helpers import jansen_rit_folds, jansen_rit_linear_psd, r2_of_log_spectra

from rosetta_jax.cli import main


EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.toml"))
DATA = Path(__file__).parent.parent / "rosetta_jax" / "data"


def _bundled(name):
    """A bundled data file read directly with numpy (not through rosetta_jax.data)."""
    with np.load(DATA / name, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def test_demo_writes_a_figure_per_rung_the_fits_and_a_report(tmp_path):
    out = tmp_path / "out"
    assert main(["demo", "--out", str(out), "--quiet", "--quick"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    fits = summary["fits"]
    # MEG spectra: every region starts from JansenRit(p=20) at its upper-branch alpha focus.
    # Its linearised spectrum (numpy, tests/helpers.py) against the bundled spectra (read
    # directly) gives the start's R^2 per region; the fit must improve on it, in the median
    # region and in the worst one.
    meg = _bundled("meg_dk68_spectra.npz")
    f = meg["freqs_hz"].astype(np.float64)
    target = (meg["amplitude"].astype(np.float64) ** 2).T  # power, frequencies x regions
    band = (f >= 2.0) & (f <= 45.0)  # fit_regional_spectra's default band
    psd0, eig = jansen_rit_linear_psd(f[band], 20.0, 6.0, 9.0)
    assert np.all(eig.real < 0)  # a stable focus: the linearised spectrum holds
    r2_start = r2_of_log_spectra(psd0[:, None], target[band])
    m = fits["meg_spectra"]
    assert np.median(r2_start) < m["r2_log_psd_median"] <= 1.0
    assert r2_start.min() < m["r2_log_psd_min"] <= m["r2_log_psd_median"]
    # HCP FC: the written correlation is the one of the analytic FC of the linearised Hopf
    # network at the written (G, alpha) (scipy Lyapunov solve), and better than at the start.
    h = fits["hcp_fc"]
    assert h["G"] > 0 and -1.0 < h["alpha"] < -1e-3  # the fit's documented constraints
    r_fit = _hopf_fc_correlation(h["G"], h["alpha"])
    np.testing.assert_allclose(h["fc_correlation"], r_fit, rtol=1e-7)
    assert r_fit > _hopf_fc_correlation(0.5, -0.05)  # fit_connectome_fc's start
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


def _hopf_fc_correlation(G, alpha, omega=2 * np.pi * 0.05):
    """Correlation (upper triangles) between the bundled HCP FC and the FC of the network of
    Stuart-Landau nodes below their Hopf point on the bundled connectome, linearised at rest
    (fit_connectome_fc's model, scipy only): x_i' = alpha x_i - omega y_i + G sum_j C_ij (x_j -
    x_i), likewise y, C = W / lambda_max(W), isotropic white noise; FC from the Lyapunov
    covariance of the x's."""
    from scipy.linalg import solve_continuous_lyapunov

    aal = _bundled("aal80_hcp.npz")
    W = aal["weights"].astype(np.float64)
    C = W / np.max(np.abs(np.linalg.eigvals(W)))
    n = C.shape[0]
    L, eye = C - np.diag(C.sum(axis=1)), np.eye(n)
    J = np.block([[alpha * eye + G * L, -omega * eye], [omega * eye, alpha * eye + G * L]])
    P = solve_continuous_lyapunov(J, -np.eye(2 * n))[:n, :n]
    fc = P / np.sqrt(np.outer(np.diag(P), np.diag(P)))
    iu = np.triu_indices(n, 1)
    return float(np.corrcoef(fc[iu], aal["fc"].astype(np.float64)[iu])[0, 1])


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
    # Oracle: the folds of the Jansen-Rit equilibrium curve are the extrema of p(v) on its
    # reduced (scalar) equilibrium equation, found by scipy's brentq (tests/helpers.py); the
    # one inside [80, 120] is the fold the command must report, and the only one.
    expected = [p for p in jansen_rit_folds() if 80.0 <= p <= 120.0]
    assert len(expected) == 1
    np.testing.assert_allclose([f["param"] for f in out["folds"]], expected, atol=1e-6)


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
    # The written R^2 is the one of the Jansen-Rit spectrum linearised at the upper-branch
    # focus for the written (a, p) (numpy, tests/helpers.py) against the target file; and the
    # fit improved on its start (a = 100, p = 20) by this measure.
    psd = 1 / f + 0.5 * np.exp(-((f - 9.5) ** 2) / 4.5)
    a, p = out["params"]["a"], out["params"]["p"]
    model_psd, eig = jansen_rit_linear_psd(f, p, 5.5, 9.0, a=a)
    assert np.all(eig.real < 0)
    r2 = r2_of_log_spectra(model_psd[:, None], psd[:, None])
    np.testing.assert_allclose(out["goodness"]["r2_log_psd"], r2, atol=1e-6)
    r2_start = r2_of_log_spectra(jansen_rit_linear_psd(f, 20.0, 5.5, 9.0)[0][:, None], psd[:, None])
    assert r2[0] > r2_start[0]


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


def _check_network(model, labels, toml):
    """[network] against the TOML and the connectome file, read independently."""
    from rosetta_jax.network import Network

    net = toml["network"]
    assert net["connectome"] == "dk68"
    raw = _bundled("dk68.npz")
    W, n = raw["weights"].astype(np.float64), raw["weights"].shape[0]  # stored as float32
    assert n == 68 and isinstance(model, Network)
    assert np.asarray(model.weights).shape == (n, n) and list(labels) == list(raw["labels"])
    assert float(model.G) == float(net.get("G", 1.0))
    # Default normalisation: the weights divided by their largest eigenvalue.
    lam = np.max(np.abs(np.linalg.eigvalsh(W)))
    np.testing.assert_allclose(np.asarray(model.weights) * lam, W, rtol=1e-12, atol=1e-9)
    if "speed" in net:
        assert float(model.speed) == float(net["speed"])
        np.testing.assert_allclose(np.asarray(model.lengths), np.maximum(raw["lengths_mm"], 1.0))
    else:
        assert model.lengths is None and model.speed is None
    params = toml["model"].get("params", {})
    for k, v in params.items():  # a scalar node parameter, the same in every region
        np.testing.assert_array_equal(np.asarray(getattr(model.node, k)), v)
    return n


def _check_simulation(toml, section="simulation"):
    s = toml[section]
    n_steps = s["t1"] / s["dt"]
    assert abs(n_steps - round(n_steps)) < 1e-6 * n_steps and s["dt"] > 0
    if "save_every" in s:
        assert round(n_steps) % s["save_every"] == 0
    assert s.get("noise", 0.0) >= 0 and 0 <= s.get("discard", 0.0) < 1


def _check_groups(model, labels, toml):
    """[network.groups] against the TOML and the connectome file, read independently: each
    group's model, parameters and regions (label patterns matched with fnmatch, "rest" the
    regions left)."""
    import fnmatch

    from rosetta_jax import MixedNetwork

    groups = toml["network"]["groups"]
    raw = _bundled("dk68.npz")
    names = list(raw["labels"])
    assert isinstance(model, MixedNetwork) and list(labels) == names
    assert model.names == tuple(groups) and float(model.G) == float(toml["network"]["G"])
    taken = set()
    for name, spec in groups.items():
        if spec["regions"] != "rest":
            pats = spec["regions"]
            want = [i for i, lab in enumerate(names) if any(fnmatch.fnmatch(lab, p) for p in pats)]
            assert list(model.group(name).nodes) == want and want
            taken.update(want)
    for name, spec in groups.items():
        g = model.group(name)
        if spec["regions"] == "rest":
            assert list(g.nodes) == sorted(set(range(len(names))) - taken)
        assert type(g.model).__name__ == spec["model"]
        for k, v in spec.get("params", {}).items():
            np.testing.assert_array_equal(np.asarray(getattr(g.model, k)), v)
    return len(names)


def _check_simulate(cfg, toml):
    from rosetta_jax import models
    from rosetta_jax.cli import _config as C

    C.settings(cfg)
    _check_simulation(toml)
    model, labels = C.build_system(cfg)
    drive = C.build_forcing(cfg, model)
    if "groups" in toml.get("network", {}):
        n = _check_groups(model, labels, toml)
    elif "network" in toml:
        n = _check_network(model, labels, toml)
    else:
        assert isinstance(model, getattr(models, toml["model"]["name"])) and labels is None
        for k, v in toml["model"].get("params", {}).items():
            assert float(getattr(model, k)) == v
    if "forcing" not in toml:
        assert drive is None
        return
    f = toml["forcing"]
    assert f["kind"] == "sinusoid"
    # A quarter period in, the sine is at its maximum: the amplitude in the listed regions only.
    expected = np.zeros(n)
    expected[f["regions"]] = f["amplitude"]
    np.testing.assert_allclose(np.asarray(drive(0.25 / f["frequency"])), expected, atol=1e-9)
    np.testing.assert_allclose(np.asarray(drive(0.5 / f["frequency"])), 0.0, atol=1e-9)
    labels = list(_bundled("dk68.npz")["labels"])
    assert [labels[r] for r in f["regions"]] == ["lh.lateraloccipital", "rh.lateraloccipital"]


def _check_sweep(cfg, toml):
    from rosetta_jax import _sweep, features
    from rosetta_jax.cli import _config as C

    C.settings(cfg)
    _check_simulation(toml)
    model, labels = C.build_system(cfg)
    _check_network(model, labels, toml)
    sw = toml["sweep"]
    assert sw.get("kind", "grid") == "grid"
    space = _sweep.Space.grid(sw["params"])
    axes = list(sw["params"].values())
    assert space.names == tuple(sw["params"]) and len(space) == np.prod([len(a) for a in axes])
    _sweep._check_params(model, space.names)
    # The last grid point (every axis at its last value) set into the model: the paths resolve.
    last = _sweep._set_params(model, space.names, space.values[-1])
    for name, ax in zip(space.names, axes, strict=True):
        leaf = np.asarray(_sweep._getter(name)(last))
        np.testing.assert_array_equal(leaf, np.full(leaf.shape, ax[-1]))
    feats = features.from_names(sw["features"])
    assert [f.name for f in feats] == sw["features"]
    features.bind_all(feats, model, 0.5 / toml["simulation"]["dt"])  # bands below Nyquist


def _check_fit(cfg, toml):
    import inspect

    from rosetta_jax import fit
    from rosetta_jax.cli import _config as C

    f = toml["fit"]
    assert f["task"] in C.FIT_TASKS and f["steps"] > 0
    run = {"regional_spectra": fit.fit_regional_spectra, "connectome_fc": fit.fit_connectome_fc}
    # The keywords the command passes from [fit] exist in the task's function.
    accepted = set(inspect.signature(run[f["task"]]).parameters)
    passed = {"steps", "learning_rate", "checkpoint", "n_starts"} & set(f)
    assert passed <= accepted, passed - accepted
    # The bundled data the task fits (read directly).
    if f["task"] == "regional_spectra":
        meg = _bundled("meg_dk68_spectra.npz")
        assert meg["amplitude"].shape == (68, meg["freqs_hz"].size)
        assert np.all(meg["amplitude"] > 0)
    else:
        aal = _bundled("aal80_hcp.npz")
        assert aal["fc"].shape == aal["weights"].shape == (80, 80)
        np.testing.assert_allclose(np.diag(aal["fc"]), 1.0)
    if "model" in toml:
        C.build_model(cfg)


def _check_bifurcation(cfg, toml):
    from rosetta_jax import models
    from rosetta_jax.cli import _config as C

    b = toml["bifurcation"]
    model = C.build_model(cfg)
    assert isinstance(model, models.JansenRit) and hasattr(model, b["param"])
    assert b["param"] == "p" and b["start"] < b["stop"]
    # The example promises the folds: both lie inside its range (scipy oracle, tests/helpers).
    assert all(b["start"] < p < b["stop"] for p in jansen_rit_folds())


CHECKS = {
    "simulate": (_check_simulate, {"model", "network", "forcing", "simulation", "output"}),
    "sweep": (_check_sweep, {"model", "network", "simulation", "sweep", "output"}),
    "fit": (_check_fit, {"model", "fit", "output"}),
    "bifurcation": (_check_bifurcation, {"model", "bifurcation", "output"}),
}


def test_example_configs_are_valid():
    from rosetta_jax.cli import _config

    assert len(EXAMPLES) >= 6
    assert {p.stem.split("_")[0] for p in EXAMPLES} == set(CHECKS)
    for p in EXAMPLES:
        command = p.stem.split("_")[0]
        toml = tomllib.loads(p.read_text())
        cfg = _config.load(p, command)
        check, sections = CHECKS[command]
        assert set(toml) <= sections, f"{p.name}: a section this test does not check"
        assert toml["output"]["dir"] == f"rosetta-out/{p.stem}"
        check(cfg, toml)
