"""MNE interop: spectrum targets from MNE objects, simulated signals as a RawArray."""

import jax.random as jr
import numpy as np
import pytest
from scipy import signal

import rosetta_jax as rj
from rosetta_jax import models, noise
from rosetta_jax.analysis import peak_frequency


mne = pytest.importorskip("mne")
from rosetta_jax.interop import spectrum_target, to_mne_raw  # noqa: E402


@pytest.fixture
def raw():
    rng = np.random.default_rng(0)
    fs = 250.0
    t = np.arange(int(60 * fs)) / fs
    freqs = [8.0, 10.0, 11.5, 20.0]
    x = np.stack([np.sin(2 * np.pi * f * t) + rng.normal(0, 1, t.size) for f in freqs]) * 1e-5
    info = mne.create_info(["O1", "Oz", "O2", "Cz"], fs, "eeg")
    return mne.io.RawArray(x, info, verbose="error"), freqs


def test_target_from_raw_is_its_welch_spectrum(raw):
    raw, freqs = raw
    target = spectrum_target(raw, fmin=2.0, fmax=45.0, n_fft=512)
    assert list(target.labels) == ["O1", "Oz", "O2", "Cz"] and target.psd.shape[1] == 4
    f = np.asarray(target.freqs)
    assert f[0] >= 2.0 and f[-1] <= 45.0
    # MNE's Welch: Hamming segments (n_fft points, passed through), no overlap, mean removed.
    fs_, P = signal.welch(
        raw.get_data(), 250.0, window="hamming", nperseg=512, noverlap=0, detrend="constant"
    )
    keep = (fs_ >= 2.0) & (fs_ <= 45.0)
    np.testing.assert_allclose(f, fs_[keep])
    np.testing.assert_allclose(np.asarray(target.psd), P[:, keep].T, rtol=1e-6)
    peaks = np.asarray(peak_frequency(target.freqs, target.psd, (5.0, 25.0)))
    np.testing.assert_allclose(peaks, freqs, atol=0.5)


def test_target_from_spectrum_and_from_arrays(raw):
    raw, _ = raw
    spec = raw.compute_psd(fmin=2.0, fmax=45.0, verbose="error")
    a = spectrum_target(spec, picks=["O1", "Oz"])
    b = spectrum_target(raw, picks=["O1", "Oz"])
    assert list(a.labels) == ["O1", "Oz"]
    np.testing.assert_allclose(np.asarray(a.psd), np.asarray(b.psd))
    data, f = spec.get_data(return_freqs=True)
    c = spectrum_target((f, data.T), fmin=5.0, fmax=30.0, labels=spec.ch_names)
    assert float(c.freqs[0]) >= 5.0 and c.psd.shape == (((f >= 5) & (f <= 30)).sum(), 4)
    np.testing.assert_allclose(np.asarray(c.psd), data.T[(f >= 5.0) & (f <= 30.0)])
    # channels x freqs (MNE's and most tables' layout) is read as the same target (issue 16);
    # a psd whose neither axis matches the frequencies is an error naming the layout.
    d = spectrum_target((f, data), fmin=5.0, fmax=30.0)
    np.testing.assert_allclose(np.asarray(d.psd), np.asarray(c.psd))
    with pytest.raises(ValueError, match="first axis"):
        spectrum_target((f, data[:, :-1]), labels=None)
    with pytest.raises(TypeError, match="MNE Spectrum or Raw"):
        spectrum_target([1, 2, 3])


def test_simulation_as_raw_array():
    sol = rj.simulate(
        models.JansenRit(), t1=2.0, dt=1e-4, save_every=10, noise=noise.Additive(2.0), key=jr.key(0)
    )
    raw = to_mne_raw(sol, ch_names=["Oz"], scale=1e-3)
    assert raw.info["sfreq"] == pytest.approx(1000.0)
    np.testing.assert_allclose(raw.get_data()[0], np.asarray(sol.observed) * 1e-3)
    raw2 = to_mne_raw(
        np.asarray(sol.observed)[:, None].repeat(2, 1),
        sfreq=1000.0,
        ch_names=["O1", "O2"],
        montage="standard_1020",
    )
    assert raw2.get_montage() is not None and raw2.n_times == 2000
    with pytest.raises(ValueError, match="2 names for 1 channels"):
        to_mne_raw(sol, ch_names=["a", "b"])
    with pytest.raises(ValueError, match="sfreq"):
        to_mne_raw(np.zeros((10, 2)))
