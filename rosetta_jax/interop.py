"""Interoperability with MNE-Python (optional: `pip install rosetta-jax[mne]`).

* `spectrum_target`: a fitting target (`fit.SpectrumTarget`) from an MNE `Spectrum`, a `Raw`
  (its Welch spectrum), a `.fif` file, or plain arrays `(freqs, psd)`.
* `to_mne_raw`: simulated signals (a `Solution`, e.g. sensor data through a `LeadField`) as an
  MNE `RawArray`, ready for MNE's plotting and analysis.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from jaxtyping import ArrayLike, Float

from .fit import SpectrumTarget
from .units import TimeUnit


if TYPE_CHECKING:
    import mne

    from .engine import Solution


def _mne():
    try:
        import mne
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "This needs MNE-Python: pip install 'rosetta-jax[mne]' (or pip install mne)."
        ) from e
    return mne


def spectrum_target(
    source: mne.time_frequency.Spectrum
    | mne.time_frequency.EpochsSpectrum
    | mne.io.BaseRaw
    | str
    | tuple[Float[ArrayLike, " n_freqs"], Float[ArrayLike, " n_freqs *channels"]],
    *,
    fmin: float = 2.0,
    fmax: float = 45.0,
    picks: Any = None,
    labels: list[str] | None = None,
    **psd_kwargs,
) -> SpectrumTarget:
    """A spectrum target from MNE data or plain arrays.

    Args:
        source: an MNE `Spectrum` (or `EpochsSpectrum`, averaged over epochs), an MNE `Raw`
            (its spectrum is computed with `raw.compute_psd(fmin=..., fmax=..., picks=...,
            **psd_kwargs)`, Welch by default), a path to a raw `.fif` file, or a tuple
            `(freqs, psd)` of arrays with `psd` shaped `(n_freqs,)`, `(n_freqs, n_channels)`
            or `(n_channels, n_freqs)`, a `fit.SpectrumTarget`, or a path to a `.npz` (arrays
            `freqs` and `psd` or `amplitude`, optional `labels`) or a `.csv` file (header row;
            first column frequencies [Hz], one column per channel).
        fmin, fmax: frequency range kept [Hz].
        picks: MNE channel selection (MNE inputs only).
        labels: channel names for array input (MNE inputs use their channel names).

    Returns:
        A `fit.SpectrumTarget` with one column per channel.
    """
    if isinstance(source, SpectrumTarget):
        labels = labels if labels is not None else source.labels
        source = (np.asarray(source.freqs), np.asarray(source.psd))
    if isinstance(source, (str, os.PathLike)) and Path(source).suffix.lower() in (".npz", ".csv"):
        source, file_labels = _read_table(Path(source))
        labels = labels if labels is not None else file_labels
    if isinstance(source, tuple):
        if len(source) != 2:
            raise ValueError("Array input must be a tuple (freqs, psd).")
        freqs, psd = (np.asarray(a, dtype=float) for a in source)
        if psd.ndim == 2 and psd.shape[0] != freqs.shape[0] and psd.shape[1] == freqs.shape[0]:
            psd = psd.T  # channels x freqs, as MNE and most tables store it
        keep = (freqs >= fmin) & (freqs <= fmax)
        if not np.any(keep):
            raise ValueError(f"No frequency of `freqs` lies in [{fmin}, {fmax}] Hz.")
        if psd.shape[0] != freqs.shape[0]:
            raise ValueError(
                f"`psd` must have its frequencies on the first axis "
                f"({freqs.shape[0]}); got shape {psd.shape}."
            )
        return SpectrumTarget(freqs[keep], psd[keep], labels)
    mne = _mne()
    if isinstance(source, os.PathLike):
        source = str(source)
    if isinstance(source, str):
        source = mne.io.read_raw_fif(source, preload=True, verbose="error")
    if isinstance(source, mne.io.BaseRaw):
        source = source.compute_psd(
            fmin=fmin, fmax=fmax, picks=picks, verbose="error", **psd_kwargs
        )
        picks = None
    if not hasattr(source, "get_data") or not hasattr(source, "freqs"):
        raise TypeError("`source` must be an MNE Spectrum or Raw, a .fif path, or (freqs, psd).")
    if picks is not None:
        source = source.copy().pick(picks)
    data, freqs = source.get_data(fmin=fmin, fmax=fmax, return_freqs=True)
    if data.ndim == 3:  # epochs x channels x freqs
        data = data.mean(axis=0)
    names = source.ch_names
    return SpectrumTarget(np.asarray(freqs), np.asarray(data).T, list(names))


def _read_table(path: Path) -> tuple[tuple[np.ndarray, np.ndarray], list[str] | None]:
    """`(freqs, psd)` and channel labels from a `.npz` (arrays `freqs` and `psd`, or
    `amplitude` which is squared; optional `labels`) or a `.csv` (a header row, first column
    the frequencies [Hz], one column per channel)."""
    if not path.exists():
        raise FileNotFoundError(f"No spectrum file {path}.")
    if path.suffix.lower() == ".npz":
        with np.load(path, allow_pickle=False) as z:
            keys = set(z.files)
            freq_key = next((k for k in ("freqs", "freqs_hz", "frequencies") if k in keys), None)
            if freq_key is None or not keys & {"psd", "amplitude"}:
                raise ValueError(
                    f"{path.name} needs an array 'freqs' and an array 'psd' (power) or "
                    f"'amplitude'; it has {sorted(keys)}."
                )
            psd = z["psd"] if "psd" in keys else np.asarray(z["amplitude"], float) ** 2
            labels = [str(x) for x in z["labels"]] if "labels" in keys else None
            return (np.asarray(z[freq_key], float), np.asarray(psd, float)), labels
    with open(path) as fh:
        header = fh.readline().strip().split(",")
    try:
        float(header[0])
        header, skip = None, 0
    except ValueError:
        skip = 1
    table = np.loadtxt(path, delimiter=",", skiprows=skip, ndmin=2)
    if table.shape[1] < 2:
        raise ValueError(f"{path.name} needs a frequency column and at least one channel.")
    labels = [h.strip() for h in header[1:]] if header else None
    return (table[:, 0], table[:, 1:]), labels


def to_mne_raw(
    solution: Solution | Float[ArrayLike, "n_times n_channels"],
    *,
    ch_names: list[str] | None = None,
    ch_types: str | list[str] = "eeg",
    sfreq: float | None = None,
    scale: float = 1.0,
    montage: str | None = None,
) -> mne.io.RawArray:
    """Simulated signals as an MNE `RawArray`.

    Args:
        solution: a `Solution` (its `observed`, e.g. sensor signals through a `LeadField`), or an
            array shaped `(n_times, n_channels)`.
        ch_names: channel names (default `sim0`, `sim1`, ...).
        ch_types: MNE channel type(s).
        sfreq: sampling rate [Hz] (default from the solution's save times and time unit).
        scale: factor to MNE's units (volts for EEG): e.g. `1e-3` for a signal in mV.
        montage: an MNE standard montage name (e.g. `"standard_1020"`) to attach, for channel
            names that it knows.

    Returns:
        `mne.io.RawArray` with data shaped `(n_channels, n_times)`.
    """
    mne = _mne()
    if hasattr(solution, "observed"):
        x = np.asarray(solution.observed)
        if sfreq is None:
            ts = np.asarray(solution.ts)
            if ts.size < 2:
                raise ValueError("The solution has fewer than two samples; pass `sfreq`.")
            sfreq = TimeUnit.of(solution).hz_factor / float(ts[1] - ts[0])
    else:
        x = np.asarray(solution)
        if sfreq is None:
            raise ValueError("Pass `sfreq` [Hz] with array input.")
    x = x.reshape(x.shape[0], -1)
    if not np.all(np.isfinite(x)):
        raise ValueError("The signals contain NaN or inf.")
    n = x.shape[1]
    ch_names = ch_names or [f"sim{i}" for i in range(n)]
    if len(ch_names) != n:
        raise ValueError(f"`ch_names` has {len(ch_names)} names for {n} channels.")
    info = mne.create_info(list(ch_names), float(sfreq), ch_types)
    raw = mne.io.RawArray(x.T * scale, info, verbose="error")
    if montage is not None:
        raw.set_montage(montage, on_missing="ignore", verbose="error")
    return raw
