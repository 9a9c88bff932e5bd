"""The reliability suite: bad inputs give clear errors that name the argument, and long jobs
killed at random moments resume to bit-identical results.

Part 1 is a table of bad inputs across the Python API and the command line (shapes, NaN and
inf, zero or negative constants, dt against delays, bad spaces, bad targets, damaged and
pickled files, manifests of another version, bad configs): each must raise (or, on the
command line, exit with status 2 and print one line) with a message naming what is wrong.
Part 2 kills a sweep and a fit with SIGKILL at random moments (4 each in the default run, 10 in
the slow target), resumes them, and compares the final results bit for bit with uninterrupted
runs.
"""

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import rosetta_jax as rj
from rosetta_jax import analysis, fit, forcing, models, noise
from rosetta_jax.cli import main
from rosetta_jax.store import StoreMismatchError


JR = models.JansenRit
W3 = np.array([[0.0, 1.0, 0.5], [1.0, 0.0, 0.2], [0.5, 0.2, 0.0]])
L3 = np.array([[0.0, 30.0, 50.0], [30.0, 0.0, 20.0], [50.0, 20.0, 0.0]])
F = np.linspace(2.0, 40.0, 20)


def net(**kw):
    kw.setdefault("lengths", L3)
    kw.setdefault("speed", 5.0)
    return rj.Network(JR(), W3, **kw)


def sim(model=None, **kw):
    kw.setdefault("t1", 0.1)
    kw.setdefault("dt", 1e-4)
    return rj.simulate(JR() if model is None else model, **kw)


def sweep(space=None, model=None, **kw):
    kw.setdefault("features", ["std"])
    kw.setdefault("t1", 0.2)
    kw.setdefault("dt", 1e-4)
    return rj.sweep(
        JR() if model is None else model,
        rj.Space.grid(p=[100.0, 200.0]) if space is None else space,
        progress=False,
        **kw,
    )


def spectrum_objective(**kw):
    return fit.SpectrumObjective(fit.SpectrumTarget(F, 1.0 / F), noise.Additive(1.0), **kw)


def fitted(**kw):
    kw.setdefault("params", lambda m: m.p)
    kw.setdefault("steps", 2)
    kw.setdefault("progress", False)
    return fit.fit(JR(p=60.0), kw.pop("objective", lambda m, k: ((m.p - 1.0) ** 2, {})), **kw)


# (id, call, exception type, regex that names the argument)
API = [
    # models: zero, negative, NaN and inf constants
    ("model-zero-rate", lambda: JR(a=0.0), ValueError, r"JansenRit\.a must be > 0"),
    ("model-negative-rate", lambda: JR(b=-50.0), ValueError, r"JansenRit\.b must be > 0"),
    ("model-nan", lambda: JR(p=np.nan), ValueError, r"JansenRit\.p contains NaN"),
    ("model-inf", lambda: JR(A=np.inf), ValueError, r"JansenRit\.A contains NaN or inf"),
    (
        "mpr-zero-tau",
        lambda: models.MontbrioPazoRoxin(tau=0.0),
        ValueError,
        r"MontbrioPazoRoxin\.tau must be > 0",
    ),
    (
        "wc-negative-tau",
        lambda: models.WilsonCowan(tau_x=-1.0),
        ValueError,
        r"WilsonCowan\.tau_x must be > 0",
    ),
    ("sl-nan", lambda: models.StuartLandau(omega=np.nan), ValueError, r"StuartLandau\.omega"),
    # noise and forcing
    ("noise-negative", lambda: noise.Additive(-1.0), ValueError, r"Additive\.sigma must be >= 0"),
    ("noise-nan", lambda: noise.Additive(np.nan), ValueError, r"Additive\.sigma contains NaN"),
    (
        "ou-zero-tau",
        lambda: noise.OrnsteinUhlenbeck(1.0, tau=0.0),
        ValueError,
        r"OrnsteinUhlenbeck\.tau must be > 0",
    ),
    (
        "forcing-nan",
        lambda: forcing.Sinusoid(amplitude=np.nan, frequency=10.0),
        ValueError,
        r"Sinusoid\.amplitude contains NaN",
    ),
    # simulate
    ("t1-before-t0", lambda: sim(t1=0.0), ValueError, r"`t1` must be greater than `t0`"),
    ("dt-zero", lambda: sim(dt=0.0), ValueError, r"`dt` must be > 0"),
    ("dt-negative", lambda: sim(dt=-1e-4), ValueError, r"`dt` must be > 0"),
    ("dt-nan", lambda: sim(dt=np.nan), ValueError, r"`dt` must be finite"),
    ("t1-inf", lambda: sim(t1=np.inf), ValueError, r"`t1` must be finite"),
    ("steps-not-whole", lambda: sim(t1=0.10005), ValueError, r"whole number of steps"),
    ("save-every-zero", lambda: sim(save_every=0), ValueError, r"`save_every` must be a positive"),
    (
        "save-every-not-dividing",
        lambda: sim(save_every=3),
        ValueError,
        r"`save_every`=3 must divide",
    ),
    ("y0-shape", lambda: sim(y0=jnp.zeros(5)), ValueError, r"`y0` must have shape \(6,\)"),
    ("y0-nan", lambda: sim(y0=jnp.full(6, jnp.nan)), ValueError, r"y0 contains NaN"),
    (
        "noise-without-key",
        lambda: sim(noise=noise.Additive(1.0)),
        ValueError,
        r"`noise` needs an explicit PRNG key",
    ),
    ("noise-not-an-object", lambda: sim(noise=1.0, key=jr.key(0)), TypeError, r"`noise` must be"),
    (
        "noise-shape",
        lambda: sim(noise=noise.Additive(jnp.ones(3)), key=jr.key(0)),
        ValueError,
        r"noise\.sigma has shape \(3,\)",
    ),
    ("solver-string", lambda: sim(solver="heun"), TypeError, r"`solver` must be a solver"),
    (
        "model-string",
        lambda: rj.simulate("JansenRit", t1=0.1, dt=1e-4),
        TypeError,
        r"`model` must be a rosetta_jax model",
    ),
    (
        "adaptive-with-coloured-noise",
        lambda: sim(
            noise=noise.OrnsteinUhlenbeck(1.0, 0.01),
            key=jr.key(0),
            stepsize_controller=__import__("diffrax").ConstantStepSize(),
        ),
        ValueError,
        r"`stepsize_controller`",
    ),
    ("complex-forcing-into-jr", lambda: sim(forcing=1j), TypeError, r"complex forcing"),
    (
        "diverging-run",
        lambda: sim(models.DampedOscillator(alpha=50.0), t1=20.0, dt=0.01),
        rj.SimulationDivergedError,
        r"blew up .* Reduce dt",
    ),
    # networks
    (
        "weights-not-square",
        lambda: rj.Network(JR(), np.ones((2, 3))),
        ValueError,
        r"`weights` must be a square",
    ),
    ("weights-negative", lambda: rj.Network(JR(), -W3), ValueError, r"`weights` must be >= 0"),
    (
        "weights-nan",
        lambda: rj.Network(JR(), np.where(W3 > 0.9, np.nan, W3)),
        ValueError,
        r"Network\.weights contains NaN",
    ),
    (
        "lengths-shape",
        lambda: net(lengths=np.ones((2, 2))),
        ValueError,
        r"`lengths` must have shape \(3, 3\)",
    ),
    ("lengths-negative", lambda: net(lengths=-L3), ValueError, r"`lengths` must be >= 0"),
    (
        "lengths-without-speed",
        lambda: rj.Network(JR(), W3, lengths=L3),
        ValueError,
        r"`lengths` needs a conduction `speed`",
    ),
    ("speed-zero", lambda: net(speed=0.0), ValueError, r"`speed` must be a positive"),
    ("speed-negative", lambda: net(speed=-5.0), ValueError, r"`speed` must be a positive"),
    (
        "regional-length",
        lambda: rj.Network(JR(p=jnp.ones(4)), W3),
        ValueError,
        r"Node parameter `p` has shape \(4,\)",
    ),
    (
        "G-not-scalar",
        lambda: rj.Network(JR(), W3, G=jnp.ones(3)),
        ValueError,
        r"`G` must be a scalar",
    ),
    (
        "normalize-typo",
        lambda: rj.Network(JR(), W3, normalize="eigen"),
        ValueError,
        r"`normalize` must be a connectome normalisation",
    ),
    (
        "dt-against-delays",
        lambda: sim(net(speed=50.0), dt=1e-3),
        ValueError,
        r"dt = 0\.001 exceeds the smallest non-zero conduction delay",
    ),
    (
        "lengths-dimensionless",
        lambda: rj.Network(models.StuartLandau(), W3, lengths=L3, speed=5.0),
        ValueError,
        r"dimensionless time",
    ),
    ("min-speed-above-speed", lambda: net(min_speed=10.0), ValueError, r"below `min_speed`"),
    (
        "min-speed-and-max-delay",
        lambda: net(min_speed=2.0, max_delay=0.1),
        ValueError,
        r"either `max_delay` or `min_speed`",
    ),
    # spaces and sweeps
    ("grid-nan", lambda: rj.Space.grid(p=[1.0, np.nan]), ValueError, r"values of `p` must be"),
    ("grid-repeats", lambda: rj.Space.grid(p=[1.0, 1.0]), ValueError, r"values of `p` repeat"),
    (
        "bounds-reversed",
        lambda: rj.Space.random(8, p=(2.0, 1.0)),
        ValueError,
        r"Bounds of `p` must be \(low, high\)",
    ),
    (
        "n-samples-zero",
        lambda: rj.Space.sobol(0, p=(0.0, 1.0)),
        ValueError,
        r"number of samples must be a positive integer",
    ),
    ("samples-lengths", lambda: rj.Space.samples(p=[1.0, 2.0], a=[1.0]), ValueError, r"one length"),
    (
        "sweep-unknown-parameter",
        lambda: sweep(rj.Space.grid(q=[1.0])),
        ValueError,
        r"no parameter `q`",
    ),
    (
        "sweep-space-not-a-space",
        lambda: rj.sweep(JR(), {"p": [1.0]}, t1=1.0, dt=1e-4),
        TypeError,
        r"`space` must be a Space",
    ),
    (
        "sweep-unknown-feature",
        lambda: sweep(features=["peak"]),
        ValueError,
        r"Unknown feature 'peak'",
    ),
    ("sweep-discard", lambda: sweep(discard=1.5), ValueError, r"`discard` must be in \[0, 1\)"),
    ("sweep-nperseg", lambda: sweep(nperseg=10**6), ValueError, r"`nperseg` must be an integer"),
    ("sweep-t1", lambda: sweep(t1=-1.0), ValueError, r"t1 > t0"),
    (
        "sweep-speed-beyond-buffer",
        lambda: sweep(rj.Space.grid(speed=[5.0, 1.0]), model=net()),
        ValueError,
        r"speed=1.* min_speed",
    ),
    (
        "sweep-band-beyond-nyquist",
        lambda: sweep(features=["power_gamma"], save_every=100),
        ValueError,
        r"band of `power_gamma`.*Nyquist",
    ),
    # targets, objectives and fits
    (
        "freqs-not-increasing",
        lambda: fit.SpectrumTarget(F[::-1], 1.0 / F),
        ValueError,
        r"`freqs` must be strictly increasing",
    ),
    ("psd-negative", lambda: fit.SpectrumTarget(F, -1.0 / F), ValueError, r"`psd` must be > 0"),
    (
        "psd-nan",
        lambda: fit.SpectrumTarget(F, np.where(F > 30, np.nan, F)),
        ValueError,
        r"`psd` contains NaN",
    ),
    (
        "psd-rows",
        lambda: fit.SpectrumTarget(F, np.ones((5, 2))),
        ValueError,
        r"`psd` has 5 frequencies",
    ),
    (
        "fc-not-symmetric",
        lambda: fit.FCTarget(np.triu(np.ones((3, 3)))),
        ValueError,
        r"`fc` must be symmetric",
    ),
    ("fc-not-square", lambda: fit.FCTarget(np.ones((3, 2))), ValueError, r"`fc` must be square"),
    (
        "objective-target-type",
        lambda: fit.SpectrumObjective(1.0 / F, noise.Additive(1.0)),
        TypeError,
        r"`target` must be a SpectrumTarget",
    ),
    (
        "objective-band",
        lambda: spectrum_objective(band=(50.0, 60.0)),
        ValueError,
        r"`band` \(50.0, 60.0\) does not overlap",
    ),
    ("fit-steps-zero", lambda: fitted(steps=0), ValueError, r"`steps` and `n_starts` must be"),
    (
        "fit-transforms",
        lambda: fitted(transforms=[fit.Positive(), fit.Positive()]),
        ValueError,
        r"give one transform",
    ),
    (
        "fit-optimizer",
        lambda: fitted(optimizer="adam"),
        TypeError,
        r"`optimizer` must be an optax optimiser",
    ),
    ("fit-names", lambda: fitted(names=["a", "b"]), ValueError, r"`names` must name"),
    (
        "fit-checkpoint-is-a-file",
        lambda: fitted(checkpoint=__file__),
        ValueError,
        r"is a file, not a store directory",
    ),
    (
        "equilibrium-not-found",
        lambda: analysis.equilibrium(JR(), jnp.full(6, jnp.nan)),
        ValueError,
        r"Newton did not converge",
    ),
    # analysis
    (
        "welch-nperseg",
        lambda: analysis.welch(np.ones(64), 100.0, nperseg=128),
        ValueError,
        r"`nperseg`=128 is longer than the signal",
    ),
    ("welch-fs", lambda: analysis.welch(np.ones(64), -1.0, nperseg=32), ValueError, r"`fs`"),
    (
        "peak-band-empty",
        lambda: analysis.peak_frequency(F, 1.0 / F, (100.0, 200.0)),
        ValueError,
        r"`band` contains no frequency",
    ),
    (
        "fc-nan-signal",
        lambda: analysis.functional_connectivity(np.full((10, 2), np.nan)),
        ValueError,
        r"`x` contains 20 NaN",
    ),
]


@pytest.mark.parametrize("call, error, match", [a[1:] for a in API], ids=[a[0] for a in API])
def test_bad_input_gives_a_clear_error(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ----------------------------------------------------------------------------- files


def _sweep_dir(tmp_path):
    sweep(path=tmp_path)
    return tmp_path


def _edit_manifest(path, **changes):
    man = json.loads((path / "manifest.json").read_text())
    man.update(changes)
    (path / "manifest.json").write_text(json.dumps(man))


FILES = [
    (
        "manifest-other-version",
        lambda p: _edit_manifest(p, rosetta_jax="0.0.1"),
        lambda p: sweep(path=p),
        StoreMismatchError,
        r"made by rosetta-jax 0\.0\.1",
    ),
    (
        "manifest-garbage",
        lambda p: (p / "manifest.json").write_text("{not json"),
        lambda p: sweep(path=p),
        StoreMismatchError,
        r"manifest.json is not a readable manifest",
    ),
    (
        "manifest-other-inputs",
        lambda p: None,
        lambda p: sweep(path=p, t1=0.3),
        StoreMismatchError,
        r"made with other inputs: settings",
    ),
    (
        "manifest-edited-fingerprint",
        lambda p: _edit_manifest(p, fingerprint="0" * 64),
        lambda p: rj.load_sweep(p),
        StoreMismatchError,
        r"manifest.json is inconsistent",
    ),
    (
        "load-sweep-empty-dir",
        lambda p: (p / "manifest.json").unlink(),
        lambda p: rj.load_sweep(p),
        ValueError,
        r"holds no sweep",
    ),
    (
        "load-sweep-truncated-chunk",
        lambda p: (p / "chunks/chunk_000000.npz").write_bytes(b"PK"),
        lambda p: rj.load_sweep(p),
        ValueError,
        r"incomplete: chunks \[0\]",
    ),
]


@pytest.mark.parametrize(
    "damage, call, error, match", [f[1:] for f in FILES], ids=[f[0] for f in FILES]
)
def test_damaged_or_foreign_store_files(tmp_path, damage, call, error, match):
    _sweep_dir(tmp_path)
    damage(tmp_path)
    with pytest.warns(RuntimeWarning) if "chunk" in match else _no_warning():
        with pytest.raises(error, match=match):
            call(tmp_path)


class _no_warning:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


# ----------------------------------------------------------------------------- command line


def _npz_bytes(**arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


SIM = "[model]\nname = 'JansenRit'\n[simulation]\nt1 = 0.2\ndt = 1e-4\n"
NET = (
    "[model]\nname = 'JansenRit'\n[network]\nconnectome = 'c.npz'\n[simulation]\nt1 = 0.2\n"
    "dt = 1e-4\n"
)
CLI = [
    ("cli-dt-zero", "simulate", SIM.replace("dt = 1e-4", "dt = 0.0"), {}, r"needs dt > 0"),
    (
        "cli-negative-constant",
        "simulate",
        SIM.replace("'JansenRit'", "'JansenRit'\nparams = { a = -1.0 }"),
        {},
        r"a must be > 0",
    ),
    (
        "cli-nan-parameter",
        "simulate",
        SIM.replace("'JansenRit'", "'JansenRit'\nparams = { p = nan }"),
        {},
        r"p contains NaN",
    ),
    ("cli-save-every", "simulate", SIM + "save_every = 3\n", {}, r"`save_every`=3 must divide"),
    ("cli-noise-negative", "simulate", SIM + "noise = -1.0\n", {}, r"noise must be >= 0"),
    (
        "cli-discard",
        "sweep",
        SIM + "discard = 1.0\n[sweep]\n[sweep.params]\np = [1.0]\n",
        {},
        r"discard must be in \[0, 1\)",
    ),
    (
        "cli-speed-zero",
        "simulate",
        "[model]\nname = 'JansenRit'\n[network]\nconnectome = "
        "'dk68'\nspeed = 0.0\n[simulation]\nt1 = 0.2\ndt = 1e-4\n",
        {},
        r"`speed` must be a positive",
    ),
    (
        "cli-normalize",
        "simulate",
        "[model]\nname = 'JansenRit'\n[network]\nconnectome = 'dk68'"
        "\nnormalize = 'rows'\n[simulation]\nt1 = 0.2\ndt = 1e-4\n",
        {},
        r"`normalize` must be a connectome normalisation",
    ),
    (
        "cli-forcing-kind",
        "simulate",
        SIM + "[forcing]\nkind = 'square'\n",
        {},
        r"\[forcing\] kind must be",
    ),
    (
        "cli-forcing-regions",
        "simulate",
        "[model]\nname = 'JansenRit'\n[network]\nconnectome = "
        "'dk68'\n[forcing]\nfrequency = 10.0\nregions = [100]\n[simulation]\nt1 = 0.2\ndt = 1e-4\n",
        {},
        r"regions must be integers in \[0, 67\]",
    ),
    (
        "cli-regional-length",
        "simulate",
        "[model]\nname = 'JansenRit'\nparams = { p = [1.0, 2.0] }"
        "\n[network]\nconnectome = 'dk68'\n[simulation]\nt1 = 0.2\ndt = 1e-4\n",
        {},
        r"p has 2 values; the connectome has 68",
    ),
    (
        "cli-connectome-truncated",
        "simulate",
        NET,
        {"c.npz": lambda: _npz_bytes(weights=W3)[:40]},
        r"c\.npz is not a readable \.npz",
    ),
    (
        "cli-connectome-pickled",
        "simulate",
        NET,
        {"c.npz": lambda: _npz_bytes(weights=np.array([W3, None], dtype=object))},
        r"holds pickled objects",
    ),
    (
        "cli-connectome-no-weights",
        "simulate",
        NET,
        {"c.npz": lambda: _npz_bytes(w=W3)},
        r"has no array 'weights'",
    ),
    (
        "cli-connectome-not-square",
        "simulate",
        NET,
        {"c.npz": lambda: _npz_bytes(weights=np.ones((2, 3)))},
        r"'weights' must be a square",
    ),
    (
        "cli-connectome-negative",
        "simulate",
        NET,
        {"c.npz": lambda: _npz_bytes(weights=-W3)},
        r"`weights` must be >= 0",
    ),
    (
        "cli-fit-target-pickled",
        "fit",
        "[model]\nname = 'JansenRit'\n[fit]\ntask = 'spectrum'\ntarget = 't.npz'\nparams = ['p']\n",
        {"t.npz": lambda: _npz_bytes(freqs=np.array(["a"], dtype=object), psd=np.ones(1))},
        r"holds pickled objects",
    ),
    (
        "cli-fit-target-bad-psd",
        "fit",
        "[model]\nname = 'JansenRit'\n[fit]\ntask = 'spectrum'\ntarget = 't.npz'\nparams = ['p']\n",
        {"t.npz": lambda: _npz_bytes(freqs=F, psd=-F)},
        r"`psd` must be > 0",
    ),
    (
        "cli-sweep-empty-values",
        "sweep",
        SIM + "[sweep]\nfeatures = ['std']\n[sweep.params]\np = []\n",
        {},
        r"`p` must be a non-empty",
    ),
    (
        "cli-sweep-kind",
        "sweep",
        SIM + "[sweep]\nkind = 'grid2'\n[sweep.params]\np = [1.0]\n",
        {},
        r"kind",
    ),
    ("cli-fit-steps", "fit", "[fit]\ntask = 'regional_spectra'\nsteps = 0\n", {}, r"steps"),
    (
        "cli-unknown-key",
        "sweep",
        SIM + "[sweep]\nchunks = 2\n[sweep.params]\np = [1.0]\n",
        {},
        r"unknown key 'chunks' in \[sweep\]",
    ),
    (
        "cli-wrong-type",
        "bifurcation",
        "[model]\nname = 'JansenRit'\n[bifurcation]\nparam = 'p'\nstart = 'low'\nstop = 1.0\n",
        {},
        r"\[bifurcation\] start must be a number",
    ),
]


@pytest.mark.parametrize(
    "command, text, files, match", [c[1:] for c in CLI], ids=[c[0] for c in CLI]
)
def test_bad_config_exits_2_with_one_line(
    tmp_path, capsys, monkeypatch, command, text, files, match
):
    monkeypatch.chdir(tmp_path)  # outputs, if any, stay in the test's folder
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text + f"[output]\ndir = '{tmp_path / 'out'}'\n")
    for name, make in files.items():
        (tmp_path / name).write_bytes(make())
    assert main([command, str(cfg), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"rosetta-jax {command}: error: ") and str(cfg) in err, err
    assert __import__("re").search(match, err), err


def test_the_suite_has_at_least_fifty_bad_inputs():
    assert len(API) + len(FILES) + len(CLI) >= 50


# ----------------------------------------------------------------------------- fault injection


JOBS = Path(__file__).with_name("jobs.py")


def _start(kind, store, out, env):
    p = subprocess.Popen(
        [sys.executable, str(JOBS), kind, str(store), str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert p.stdout.readline().strip() == "ready"
    return p


def _run(kind, store, out, env) -> float:
    """Run a job to its end; return the seconds from "ready" to the end."""
    p = _start(kind, store, out, env)
    t0 = time.perf_counter()
    p.communicate(timeout=300)
    assert p.returncode == 0
    return time.perf_counter() - t0


def _assert_equal(out, reference):
    result = dict(np.load(out))
    assert result.keys() == reference.keys()
    for k, v in reference.items():
        np.testing.assert_array_equal(result[k], v, err_msg=k)  # bit for bit


def _kill_and_resume(kind, tmp_path, seed, n_kills=10):
    """Kill a job with SIGKILL at `n_kills` random moments, resuming it each time, and check
    that its final result is bit-identical to an uninterrupted run's."""
    tmp = tmp_path / kind
    # The persistent compilation cache keeps each restarted process's compilation short, so
    # most kills land while chunks or checkpoints are computed and written.
    env = {
        **os.environ,
        "JAX_PLATFORMS": "cpu",
        "JAX_COMPILATION_CACHE_DIR": str(tmp / "jax-cache"),
        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
        "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0",
    }
    _run(kind, tmp / "cold", tmp / "cold.npz", env)  # compiles and fills the cache
    work = _run(kind, tmp / "reference", tmp / "reference.npz", env)  # as a restart sees it
    reference = dict(np.load(tmp / "reference.npz"))
    _assert_equal(tmp / "cold.npz", reference)

    rng = np.random.default_rng(seed)
    store, out, kills, chains = tmp / "store-0", tmp / "out.npz", 0, 0
    while kills < n_kills:
        p = _start(kind, store, out, env)
        time.sleep(rng.uniform(0.0, work))
        p.kill()  # SIGKILL, unless it has finished already
        p.communicate(timeout=60)
        if p.returncode == -9:
            kills += 1
        else:  # it finished before the moment drawn: its result must be the reference's
            assert p.returncode == 0
            _assert_equal(out, reference)
            chains += 1
            store = tmp / f"store-{chains}"  # start a new chain of kills
    _run(kind, store, out, env)
    _assert_equal(out, reference)
    return kills, chains


# The default run kills each job at 4 random moments (about 2 minutes on 2 cores); the slow
# target at 10, with other seeds.
@pytest.mark.parametrize(
    "n_kills, seeds",
    [(4, (2026, 12)), pytest.param(10, (7, 99), marks=pytest.mark.slow)],
)
def test_a_sweep_and_a_fit_killed_at_random_moments_resume_bit_identical(tmp_path, n_kills, seeds):
    # The two jobs run side by side (their process start-ups overlap on two cores).
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        runs = [
            pool.submit(_kill_and_resume, kind, tmp_path, seed, n_kills)
            for kind, seed in zip(("sweep", "fit"), seeds, strict=True)
        ]
        results = [r.result() for r in runs]
    assert all(kills == n_kills for kills, _ in results)
