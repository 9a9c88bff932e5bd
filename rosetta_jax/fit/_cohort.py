"""`fit_cohort`: every subject's regional spectra fitted in one compiled call, the result as an
xarray Dataset (subject x region x parameter)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import numpy as np

from ..models._base import AbstractModel
from ._observed import Observed
from ._spectra_fit import as_target, fit_spectra
from ._targets import SpectrumTarget


def _cohort_targets(targets, freqs, band) -> tuple[list[SpectrumTarget], list[str]]:
    """One `SpectrumTarget` per subject, all on the same frequencies and channels."""
    if isinstance(targets, np.ndarray) or (
        hasattr(targets, "shape") and not isinstance(targets, SpectrumTarget)
    ):
        arr = np.asarray(targets, dtype=float)
        if arr.ndim != 3 or freqs is None:
            raise ValueError(
                "`targets` as an array must be (subjects, freqs, channels), with `freqs`."
            )
        targets = [(np.asarray(freqs), a) for a in arr]
    tgts = [as_target(t, band) for t in targets]
    if not tgts:
        raise ValueError("`targets` is empty.")
    f0, n0 = np.asarray(tgts[0].freqs), tgts[0].n_channels
    for i, t in enumerate(tgts):
        if t.n_channels != n0 or not np.allclose(np.asarray(t.freqs), f0):
            raise ValueError(
                f"`targets`: subject {i} has {t.n_channels} channels on {t.freqs.shape[0]} "
                f"frequencies; subject 0 has {n0} on {f0.shape[0]}: a cohort shares both."
            )
    labels = list(tgts[0].labels) if tgts[0].labels else [f"ch{i}" for i in range(n0)]
    return tgts, labels


def fit_cohort(
    targets: Any,
    node: AbstractModel | Sequence[AbstractModel] | Observed | None = None,
    *,
    freqs: Any = None,
    subjects: Sequence[str] | None = None,
    **kwargs: Any,
):
    """Fit every subject's regional spectra at once: one compiled, vmapped problem of
    subjects x regions x starts nodes (each region of each subject fitted independently, as
    `fit_spectra` does for one subject).

    Args:
        targets: a sequence of recordings (anything `fit_spectra` takes, same frequencies and
            channels), or an array `(subjects, freqs, channels)` of power with `freqs`.
        node: as for `fit_spectra`.
        freqs: frequencies [Hz] of an array `targets`.
        subjects: subject names (default `sub-00`, ...).
        **kwargs: `fit_spectra`'s settings (aperiodic, dispersion, band, peak_weight,
            starts, steps, learning_rate, progress, key, ...). No lead field: source space.

    Returns:
        An `xarray.Dataset` with `params` (subject x region x parameter), `r2_log_psd` and
        `peak_error_hz` (subject x region), the target and model spectra (subject x region x
        freq) and, in `attrs`, the settings, steps run, wall time and versions.
    """
    import time

    import xarray as xr

    from .._version import __version__

    if kwargs.get("lead_field") is not None:
        raise ValueError("`fit_cohort` fits regional (source-space) spectra: no `lead_field`.")
    tgts, labels = _cohort_targets(targets, freqs, kwargs.pop("band", (2.0, 45.0)))
    n_sub, n_ch = len(tgts), tgts[0].n_channels
    subjects = [f"sub-{i:02d}" for i in range(n_sub)] if subjects is None else list(subjects)
    if len(subjects) != n_sub:
        raise ValueError(f"`subjects` names {len(subjects)} subjects; there are {n_sub}.")
    f = np.asarray(tgts[0].freqs)
    psd = np.concatenate([np.asarray(t.psd) for t in tgts], axis=1)  # freqs x (sub*ch)
    t0 = time.perf_counter()
    res = fit_spectra(SpectrumTarget(f, psd), node, band=None, **kwargs)
    seconds = time.perf_counter() - t0
    names = list(res.params)
    values = np.stack([np.asarray(res.params[n]) for n in names], axis=-1)
    g = res.goodness
    model_psd = np.asarray(g["model_psd"])  # freqs x (sub*ch), its scale free: match it
    model_psd = model_psd / 10 ** np.mean(np.log10(model_psd / psd), axis=0)
    model_psd = model_psd.T.reshape(n_sub, n_ch, -1)
    return xr.Dataset(
        {
            "params": (("subject", "region", "parameter"), values.reshape(n_sub, n_ch, -1)),
            "r2_log_psd": (("subject", "region"), np.asarray(g["r2_log_psd"]).reshape(n_sub, n_ch)),
            "peak_error_hz": (
                ("subject", "region"),
                np.asarray(g["peak_error_hz"]).reshape(n_sub, n_ch),
            ),
            "target_psd": (("subject", "region", "freq"), psd.T.reshape(n_sub, n_ch, -1)),
            "model_psd": (("subject", "region", "freq"), model_psd),
        },
        coords={"subject": subjects, "region": labels, "parameter": names, "freq": f},
        attrs={
            "steps_run": int(res.meta["stopped_at"]),
            "stop_reason": str(res.meta.get("stop_reason")),
            "seconds": seconds,
            "model_psd_scale": "each model spectrum scaled to its target (shapes are fitted)",
            "rosetta_jax": __version__,
            "jax": jax.__version__,
        },
    )
