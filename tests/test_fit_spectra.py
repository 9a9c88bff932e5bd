"""`fit.fit_spectra`: every input format, the aperiodic observation model (recovery of a known
exponent and knee from synthetic spectra), and the CLI task."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rosetta_jax import fit, models


F = np.linspace(2.0, 45.0, 40)


def _synthetic(exponent=2.0, knee=8.0, f0=10.0):
    """Aperiodic component with a knee (closed form) plus a Lorentzian alpha peak."""
    ap = 1.0 / (knee**exponent + F**exponent)
    peak = 1.0 / (1.0 + ((F - f0) / 1.5) ** 2)
    return ap * (1.0 + 3.0 * peak)


def test_every_input_format_gives_the_same_target(tmp_path):
    psd = np.stack([_synthetic(), _synthetic(1.5, 4.0, 9.0)], axis=1)  # freqs x channels
    np.savez(tmp_path / "s.npz", freqs=F, psd=psd.T, labels=np.array(["a", "b"]))
    np.savez(tmp_path / "amp.npz", freqs=F, amplitude=np.sqrt(psd))
    header = "freq,a,b"
    np.savetxt(
        tmp_path / "s.csv", np.column_stack([F, psd]), delimiter=",", header=header, comments=""
    )
    mne = pytest.importorskip("mne")
    info = mne.create_info(["a", "b"], 200.0, "eeg")
    spectrum = mne.time_frequency.SpectrumArray(psd.T, info, F)
    targets = {
        "tuple": fit.as_target((F, psd)),
        "tuple_channels_first": fit.as_target((F, psd.T)),
        "target": fit.as_target(fit.SpectrumTarget(F, psd)),
        "npz": fit.as_target(tmp_path / "s.npz"),
        "npz_amplitude": fit.as_target(str(tmp_path / "amp.npz")),
        "csv": fit.as_target(str(tmp_path / "s.csv")),
        "mne_spectrum": fit.as_target(spectrum),
    }
    for name, t in targets.items():
        np.testing.assert_allclose(np.asarray(t.psd), psd, rtol=1e-6, err_msg=name)
        np.testing.assert_allclose(np.asarray(t.freqs), F, err_msg=name)
    assert targets["csv"].labels == ("a", "b")
    assert targets["npz"].labels == ("a", "b")
    band = fit.as_target((F, psd), band=(5.0, 30.0))
    assert float(band.freqs[0]) >= 5.0 and float(band.freqs[-1]) <= 30.0


def test_a_raw_recording_and_a_fif_file_are_read(tmp_path):
    mne = pytest.importorskip("mne")
    rng = np.random.default_rng(0)
    t = np.arange(0, 20.0, 1 / 200.0)
    x = np.sin(2 * np.pi * 10 * t) + rng.normal(size=(2, t.size))
    raw = mne.io.RawArray(x * 1e-6, mne.create_info(["c1", "c2"], 200.0, "eeg"), verbose=False)
    raw.save(tmp_path / "r_raw.fif", verbose=False)
    for source in (raw, str(tmp_path / "r_raw.fif")):
        t_ = fit.as_target(source, band=(2.0, 45.0))
        assert t_.n_channels == 2 and t_.labels == ("c1", "c2")
        f = np.asarray(t_.freqs)
        assert abs(f[np.argmax(np.asarray(t_.psd)[:, 0])] - 10.0) < 1.0


def test_bad_spectrum_inputs_name_the_problem(tmp_path):
    np.savez(tmp_path / "bad.npz", f=F, p=F)
    with pytest.raises(ValueError, match="freqs"):
        fit.as_target(tmp_path / "bad.npz")
    with pytest.raises(FileNotFoundError):
        fit.as_target(str(tmp_path / "missing.csv"))
    with pytest.raises(ValueError, match="aperiodic"):
        fit.fit_spectra((F, _synthetic()), aperiodic="pink", progress=False)
    with pytest.raises(ValueError, match="No default fitted parameters"):
        fit.rung_parameters(models.WilsonCowan())


def test_the_observation_model_is_the_closed_form():
    """`Observed` with one damped oscillator equals A(f) (1 + g S/max S) + floor computed
    independently from the oscillator's closed-form spectrum (two Lorentzians at +-omega)."""
    jax.config.update("jax_enable_x64", True)
    gen = models.DampedOscillator(alpha=-8.0, omega=2 * np.pi * 11.0)
    obs = fit.Observed(
        gen, log_gain=0.7, exponent=1.8, knee=6.0, log_floor=-5.0, dispersion_nodes=1
    )
    from rosetta_jax import noise

    psd, _ = obs.spectrum(fit.Linear(), noise.Additive(1.0), jnp.asarray(F))
    w = 2 * np.pi * F
    s = 1 / (64 + (w - 2 * np.pi * 11) ** 2) + 1 / (64 + (w + 2 * np.pi * 11) ** 2)
    expected = (1 + 10**0.7 * s / s.max()) / (6.0**1.8 + F**1.8) + 1e-5
    np.testing.assert_allclose(np.asarray(psd)[:, 0], expected, rtol=1e-8)


@pytest.mark.parametrize("dtype", ["float64", pytest.param("float32", marks=pytest.mark.slow)])
def test_recovers_a_known_aperiodic_exponent_and_knee(dtype):
    """Synthetic spectra made from known exponents and knees (plus an alpha peak from a
    damped oscillator) are fitted back: exponent within 0.15, knee within 1.5 Hz."""
    jax.config.update("jax_enable_x64", dtype == "float64")
    truth = [(2.0, 8.0), (1.5, 5.0)]
    gen = models.DampedOscillator(alpha=-10.0, omega=2 * np.pi * 10.0)
    from rosetta_jax import noise

    cols = []
    for chi, knee in truth:
        obs = fit.Observed(gen, log_gain=0.8, exponent=chi, knee=knee, dispersion_nodes=1)
        cols.append(np.asarray(obs.spectrum(fit.Linear(), noise.Additive(1.0), F)[0])[:, 0])
    res = fit.fit_spectra(
        (F, np.stack(cols, 1)),
        gen,
        dispersion=False,
        starts=2,
        progress=False,
        key=jax.random.key(1),
        laplace=False,
    )
    # float32: the log-PSD residual is resolved to about 1e-4, which leaves the exponent and
    # knee (correlated below the knee) less sharply determined.
    tol_chi, tol_knee = (0.15, 1.5) if dtype == "float64" else (0.3, 3.0)
    np.testing.assert_allclose(res.params["exponent"], [t[0] for t in truth], atol=tol_chi)
    np.testing.assert_allclose(res.params["knee"], [t[1] for t in truth], atol=tol_knee)
    assert np.all(res.goodness["r2_log_psd"] > 0.99)
    assert np.all(res.goodness["peak_error_hz"] < 0.3)
    jax.config.update("jax_enable_x64", True)


@pytest.mark.slow  # about 60 s of compilation; the CLI reading of .csv is covered above
def test_the_fit_command_fits_a_csv_recording(tmp_path):
    """`rosetta-jax fit` with task 'spectra' and a .csv target (aperiodic component with a
    knee plus a Lorentzian alpha peak, in closed form): the written R^2 of the log-PSD exceeds
    0.95, the alpha peak is placed within 0.5 Hz, one value per channel is written."""
    import json

    from rosetta_jax.cli import main

    psd = np.stack([_synthetic(2.0, 8.0), _synthetic(1.5, 5.0, 9.0)], axis=1)
    np.savetxt(
        tmp_path / "rec.csv",
        np.column_stack([F, psd]),
        delimiter=",",
        header="freq,O1,O2",
        comments="",
    )
    (tmp_path / "fit.toml").write_text(
        '[fit]\ntask = "spectra"\ntarget = "rec.csv"\nsteps = 150\n'
        f'[output]\ndir = "{tmp_path / "out"}"\n'
    )
    assert main(["fit", str(tmp_path / "fit.toml"), "--quiet"]) == 0
    out = json.loads((tmp_path / "out" / "fit.json").read_text())
    r2 = np.asarray(out["goodness"]["r2_log_psd"])
    assert np.all(r2 > 0.95)
    assert all(np.size(v) == 2 for v in out["params"].values())
    assert {"exponent", "knee", "log_floor"} <= set(out["params"])
    assert np.all(np.asarray(out["goodness"]["peak_error_hz"]) < 0.5)


def test_the_low_pass_filter_is_a_butterworth_response():
    """`Observed(lowpass=fc, lowpass_order=n)` multiplies the whole spectrum by
    1 / (1 + (f/fc)^(2n)), written out here."""
    jax.config.update("jax_enable_x64", True)
    from rosetta_jax import noise

    gen = models.DampedOscillator(alpha=-8.0, omega=2 * np.pi * 11.0)
    plain = fit.Observed(gen, log_gain=0.7, log_floor=-5.0, dispersion_nodes=1)
    filtered = fit.Observed(
        gen, log_gain=0.7, log_floor=-5.0, dispersion_nodes=1, lowpass=38.0, lowpass_order=6
    )
    p0 = np.asarray(plain.spectrum(fit.Linear(), noise.Additive(1.0), F)[0])[:, 0]
    p1 = np.asarray(filtered.spectrum(fit.Linear(), noise.Additive(1.0), F)[0])[:, 0]
    np.testing.assert_allclose(p1, p0 / (1.0 + (F / 38.0) ** 12), rtol=1e-10)


@pytest.mark.slow  # two fits of their own structure (compilation); the filter is checked above
def test_recovers_a_recording_low_pass_cutoff():
    """Spectra low-passed at a known cutoff (a steep Butterworth response applied in numpy to
    the closed-form aperiodic + alpha spectrum) are fitted back with `lowpass="fit"`: the
    cutoff within 1 Hz and R^2 > 0.99; without the filter the fit is visibly worse."""
    jax.config.update("jax_enable_x64", True)
    cutoffs = np.array([40.0, 36.0])
    clean = np.stack([_synthetic(2.0, 8.0), _synthetic(1.5, 5.0, 9.0)], axis=1)
    psd = clean / (1.0 + (F[:, None] / cutoffs) ** 32)
    kw = dict(dispersion=False, starts=2, progress=False, key=jax.random.key(2), laplace=False)
    res = fit.fit_spectra((F, psd), lowpass="fit", **kw)
    np.testing.assert_allclose(res.params["lowpass"], cutoffs, atol=1.0)
    assert np.all(res.goodness["r2_log_psd"] > 0.99)
    plain = fit.fit_spectra((F, psd), **kw)
    assert np.all(plain.goodness["r2_log_psd"] < res.goodness["r2_log_psd"] - 0.01)


def test_a_checkpointed_fit_resumes_where_it_left_off(tmp_path):
    """A Levenberg-Marquardt fit stopped after 10 steps and resumed to 30 ends exactly where an
    uninterrupted 30-step fit does; a checkpoint made from another recording is refused."""
    from rosetta_jax.store import StoreMismatchError

    jax.config.update("jax_enable_x64", True)
    psd = np.stack([_synthetic(2.0, 8.0), _synthetic(1.5, 5.0, 9.0)], axis=1)
    kw = dict(dispersion=False, starts=2, progress=False, key=jax.random.key(3), laplace=False)
    ckpt = tmp_path / "ckpt"
    fit.fit_spectra((F, psd), steps=10, checkpoint=ckpt, **kw)
    resumed = fit.fit_spectra((F, psd), steps=30, checkpoint=ckpt, **kw)
    whole = fit.fit_spectra((F, psd), steps=30, **kw)
    for name, value in whole.params.items():
        np.testing.assert_allclose(resumed.params[name], value, rtol=1e-12, err_msg=name)
    np.testing.assert_allclose(resumed.loss_history, whole.loss_history, rtol=1e-12)
    with pytest.raises(StoreMismatchError):
        fit.fit_spectra((F, psd * (1.0 + 0.1 * F[:, None])), steps=30, checkpoint=ckpt, **kw)


def test_observation_settings_are_checked():
    gen = models.DampedOscillator()
    for kw, name in (
        ({"exponent": -1.0}, "exponent"),
        ({"knee": -2.0}, "knee"),
        ({"dispersion": -0.1}, "dispersion"),
        ({"log_gain": [0.0, 1.0]}, "log_gain"),
        ({"dispersion_nodes": 0}, "dispersion_nodes"),
        ({"lowpass": -3.0}, "lowpass"),
        ({"lowpass": True}, "lowpass"),
    ):
        with pytest.raises(ValueError, match=name):
            fit.Observed(gen, **kw)
    for kw, name in (
        ({"lowpass": "auto"}, "lowpass"),
        ({"solver": "bfgs"}, "solver"),
        ({"steps": 0}, "steps"),
    ):
        with pytest.raises(ValueError, match=name):
            fit.fit_spectra((F, _synthetic()), progress=False, **kw)
    with pytest.raises(TypeError, match="generators"):
        fit.Observed("JansenRit")
    for ranges, match in (({"slope": (1.0, 2.0)}, "exponent"), ({"knee": (5.0, 1.0)}, "knee")):
        with pytest.raises(ValueError, match=match):
            fit.fit_spectra((F, _synthetic()), progress=False, ranges=ranges)


def test_ranges_bound_the_named_coordinates():
    from rosetta_jax.fit._rungs import with_ranges

    names, wide = ("alpha", "exponent"), (fit.Bounded(-80.0, -2.0), fit.Bounded(0.05, 6.0))
    out = with_ranges(names, wide, {"exponent": (1.0, 2.0)})
    assert out[0] is wide[0]
    assert (float(out[1].low), float(out[1].high)) == (1.0, 2.0)
    assert float(out[1].forward(jnp.asarray(-30.0))) >= 1.0  # kept inside, however far


@pytest.mark.slow  # its own compilation; the 36-subject cohort is timed in benchmarks
def test_a_cohort_is_fitted_in_one_call():
    """Two subjects x two channels of closed-form spectra with known exponents and knees: one
    `fit_cohort` call returns a subject x region x parameter Dataset whose exponents and knees
    are the known ones and whose R^2 exceeds 0.99 in every region."""
    jax.config.update("jax_enable_x64", True)
    truth = np.array([[(2.0, 8.0), (1.5, 5.0)], [(1.2, 3.0), (2.4, 10.0)]])  # sub x ch x 2
    psd = np.stack(
        [np.stack([_synthetic(c, k, 9.5) for c, k in sub], axis=1) for sub in truth]
    )  # sub x freq x ch
    ds = fit.fit_cohort(
        psd,
        freqs=F,
        subjects=["s1", "s2"],
        dispersion=False,
        starts=2,
        progress=False,
        key=jax.random.key(4),
    )
    assert ds["params"].dims == ("subject", "region", "parameter")
    assert list(ds["subject"].values) == ["s1", "s2"]
    np.testing.assert_allclose(ds["params"].sel(parameter="exponent"), truth[..., 0], atol=0.2)
    np.testing.assert_allclose(ds["params"].sel(parameter="knee"), truth[..., 1], atol=2.0)
    assert float(ds["r2_log_psd"].min()) > 0.99
    assert ds["model_psd"].shape == (2, 2, F.size)
    assert ds.attrs["rosetta_jax"]
