"""Bundled datasets (rosetta_jax.data): shapes, dtypes, invariants, provenance-level facts.

Reads only the files shipped in rosetta_jax/data/ (never the raw sources).
"""

import numpy as np
import pytest

from rosetta_jax import data


@pytest.fixture(scope="module")
def dk():
    return data.load_dk68()


@pytest.fixture(scope="module")
def aal():
    return data.load_aal80()


@pytest.fixture(scope="module")
def meg():
    return data.load_meg_spectra()


def test_available_names_the_datasets():
    assert data.available() == ["dk68", "aal80", "meg_spectra"]


def _check_connectome(c, n):
    assert c.n_regions == n
    for a in (c.weights, c.lengths):
        assert a.shape == (n, n)
        assert a.dtype == np.float64
        assert np.all(np.isfinite(a))
        assert np.all(a >= 0)
        np.testing.assert_array_equal(a, a.T)
        np.testing.assert_array_equal(np.diag(a), 0.0)
    assert np.any(c.weights > 0)
    assert np.all(c.lengths[c.weights > 0] > 0)
    assert c.lengths.max() < 300.0  # mm
    assert isinstance(c.labels, tuple) and len(c.labels) == n
    assert all(isinstance(x, str) and x for x in c.labels)
    assert len(set(c.labels)) == n
    assert isinstance(c.name, str) and c.name in data.available()
    assert isinstance(c.citation, str) and "doi" in c.citation


def test_dk68_connectome(dk):
    _check_connectome(dk, 68)
    assert dk.name == "dk68"
    assert dk.labels[0] == "lh.bankssts" and dk.labels[-1] == "rh.transversetemporal"
    assert all(x.startswith("lh.") for x in dk.labels[:34])
    assert all(x.startswith("rh.") for x in dk.labels[34:])
    assert [x[3:] for x in dk.labels[:34]] == [x[3:] for x in dk.labels[34:]]
    assert list(dk.labels[:34]) == sorted(dk.labels[:34])
    assert "Human Connectome Project" in dk.citation


def test_dk68_centres(dk):
    c = dk.centres
    assert c.shape == (68, 3) and c.dtype == np.float64 and np.all(np.isfinite(c))
    assert np.all(np.abs(c[:, 0]) < 80)
    assert np.all(np.abs(c[:, 1]) < 110)
    assert np.all(np.abs(c[:, 2]) < 90)
    left = np.array([x.startswith("lh.") for x in dk.labels])
    assert np.all(c[left, 0] < 0) and np.all(c[~left, 0] > 0)
    # a few anatomical sanity checks: occipital is posterior, frontal pole anterior
    i = dk.labels.index
    assert c[i("lh.lateraloccipital"), 1] < -70 and c[i("rh.frontalpole"), 1] > 50
    assert c[i("lh.paracentral"), 2] > c[i("lh.temporalpole"), 2]


def test_dk68_lengths_track_distance_for_strong_edges(dk):
    """Name mapping check: for well-connected pairs, fibre length follows centre distance."""
    dist = np.linalg.norm(dk.centres[:, None] - dk.centres[None], axis=-1)
    iu = np.triu_indices(68, 1)
    w, length, d = dk.weights[iu], dk.lengths[iu], dist[iu]
    strong = w >= np.median(w[w > 0])
    assert np.corrcoef(d[strong], length[strong])[0, 1] > 0.5


def test_aal80_connectome_and_fc(aal):
    _check_connectome(aal, 80)
    assert aal.name == "aal80"
    assert aal.centres is None
    assert aal.tr == pytest.approx(0.72)
    assert isinstance(aal.tr, float)
    assert aal.labels[:2] == ("Precentral_L", "Precentral_R")
    assert aal.labels[-1] == "Temporal_Inf_R"
    assert all(aal.labels[2 * k].endswith("_L") for k in range(40))
    assert all(aal.labels[2 * k + 1].endswith("_R") for k in range(40))
    for dropped in ("Hippocampus_L", "ParaHippocampal_R", "Amygdala_L", "Thalamus_R", "Caudate_L"):
        assert dropped not in aal.labels
    assert "WU-Minn" in aal.citation

    for fc in (aal.fc, *aal.fc_subjects):
        assert fc.shape == (80, 80) and fc.dtype == np.float64
        assert np.all(np.isfinite(fc))
        np.testing.assert_array_equal(np.diag(fc), 1.0)
        np.testing.assert_array_equal(fc, fc.T)
        assert np.all(fc >= -1.0) and np.all(fc <= 1.0)
    assert aal.fc_subjects.shape == (7, 80, 80)
    off = ~np.eye(80, dtype=bool)
    assert 0.2 < aal.fc[off].mean() < 0.6
    # homologous left/right pairs are strongly coupled, in structure and function
    homol = np.array([aal.fc[2 * k, 2 * k + 1] for k in range(40)])
    assert homol.mean() > aal.fc[off].mean() + 0.1
    left = np.array([x.endswith("_L") for x in aal.labels])
    same = np.equal.outer(left, left)
    assert aal.weights[same & off].mean() > 3 * aal.weights[~same].mean()


def test_meg_spectra(meg, dk):
    assert meg.freqs.shape == (40,) and meg.freqs.dtype == np.float64
    np.testing.assert_allclose(meg.freqs, np.linspace(2.0, 45.0, 40))
    assert meg.freqs[0] == 2.0 and meg.freqs[-1] == 45.0
    for a in (meg.amplitude, meg.amplitude_std):
        assert a.shape == (68, 40) and a.dtype == np.float64
        assert np.all(np.isfinite(a)) and np.all(a >= 0)
    assert np.all(meg.amplitude > 0)
    assert meg.n_subjects == 36 and isinstance(meg.n_subjects, int)
    assert meg.labels == dk.labels
    assert "10.1002/hbm.24991" in meg.citation

    band = (meg.freqs >= 7.0) & (meg.freqs <= 13.0)
    mean = meg.amplitude.mean(axis=0)
    peak = meg.freqs[band][np.argmax(mean[band])]
    assert 8.5 <= peak <= 11.0


def test_meg_alpha_is_occipital(meg):
    """Region order check: relative alpha amplitude is highest over occipital cortex."""
    alpha = (meg.freqs >= 8.0) & (meg.freqs <= 12.0)
    rel = meg.amplitude[:, alpha].mean(axis=1) / meg.amplitude.mean(axis=1)
    top = {meg.labels[i].split(".")[1] for i in np.argsort(-rel)[:6]}
    assert top <= {"cuneus", "pericalcarine", "lateraloccipital", "lingual"}


@pytest.mark.parametrize("loader", [data.load_dk68, data.load_aal80, data.load_meg_spectra])
def test_loaders_return_fresh_arrays(loader):
    first = loader()
    arrays = [v for v in first if isinstance(v, np.ndarray)]
    assert arrays
    saved = [a.copy() for a in arrays]
    for a in arrays:
        assert a.flags.writeable
        a[...] = -12345.0
    second = loader()
    for a, b in zip(saved, [v for v in second if isinstance(v, np.ndarray)], strict=True):
        np.testing.assert_array_equal(a, b)
