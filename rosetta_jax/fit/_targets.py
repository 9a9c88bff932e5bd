"""Fitting targets: recorded spectra and functional connectivity, checked on construction."""

from __future__ import annotations

from collections.abc import Sequence

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._validation import is_concrete


def _check_target(name: str, value, ndim: int) -> Array:
    v = jnp.asarray(value)
    if v.ndim != ndim:
        raise ValueError(f"`{name}` must be {ndim}-D; got shape {v.shape}.")
    if is_concrete(v) and not bool(jnp.all(jnp.isfinite(v))):
        raise ValueError(f"`{name}` contains NaN or inf; clean the data or drop those entries.")
    return v


class SpectrumTarget(eqx.Module):
    """Target power spectra, one column per channel (region or sensor).

    Args:
        freqs: frequencies [Hz], strictly increasing, shape `(n_freqs,)`.
        psd: power spectral densities (> 0), shape `(n_freqs, n_channels)` or `(n_freqs,)`.
        labels: optional channel names.

    Use `SpectrumTarget.from_amplitude` for amplitude (magnitude) spectra such as the bundled
    MEG data, `SpectrumTarget.from_data(data.load_meg_spectra())` for the bundled set.
    """

    freqs: Float[Array, " n_freqs"]
    psd: Float[Array, "n_freqs n_channels"]
    labels: tuple[str, ...] | None = eqx.field(default=None, static=True)

    def __init__(
        self,
        freqs: Float[ArrayLike, " n_freqs"],
        psd: Float[ArrayLike, " n_freqs *n_channels"],
        labels: Sequence[str] | None = None,
    ):
        f = _check_target("freqs", freqs, 1)
        p = jnp.asarray(psd)
        if p.ndim == 1:
            p = p[:, None]
        p = _check_target("psd", p, 2)
        if p.shape[0] != f.shape[0]:
            raise ValueError(
                f"`psd` has {p.shape[0]} frequencies (rows) but `freqs` has "
                f"{f.shape[0]}; pass psd with shape (n_freqs, n_channels)."
            )
        if is_concrete(f) and bool(jnp.any(jnp.diff(f) <= 0)):
            raise ValueError("`freqs` must be strictly increasing.")
        if is_concrete(p) and bool(jnp.any(p <= 0)):
            raise ValueError("`psd` must be > 0 everywhere (spectra are compared on a log scale).")
        if labels is not None and len(labels) != p.shape[1]:
            raise ValueError(f"{len(labels)} labels for {p.shape[1]} channels.")
        self.freqs, self.psd = f, p
        self.labels = None if labels is None else tuple(labels)

    @classmethod
    def from_amplitude(
        cls,
        freqs: Float[ArrayLike, " n_freqs"],
        amplitude: Float[ArrayLike, " n_freqs *n_channels"],
        labels: Sequence[str] | None = None,
    ) -> SpectrumTarget:
        """From amplitude (linear magnitude) spectra: power = amplitude squared."""
        return cls(freqs, jnp.asarray(amplitude) ** 2, labels)

    @classmethod
    def from_data(cls, spectra) -> SpectrumTarget:
        """From `rosetta_jax.data.load_meg_spectra()` (regions x freqs amplitudes)."""
        return cls.from_amplitude(spectra.freqs, np.asarray(spectra.amplitude).T, spectra.labels)

    @property
    def n_channels(self) -> int:
        return self.psd.shape[1]


class FCTarget(eqx.Module):
    """Target functional connectivity: a symmetric correlation matrix with unit diagonal."""

    fc: Float[Array, "n_regions n_regions"]
    labels: tuple[str, ...] | None = eqx.field(default=None, static=True)

    def __init__(
        self, fc: Float[ArrayLike, "n_regions n_regions"], labels: Sequence[str] | None = None
    ):
        m = _check_target("fc", fc, 2)
        if m.shape[0] != m.shape[1]:
            raise ValueError(f"`fc` must be square; got shape {m.shape}.")
        if is_concrete(m) and not bool(jnp.allclose(m, m.T, atol=1e-6)):
            raise ValueError("`fc` must be symmetric.")
        self.fc = m
        self.labels = None if labels is None else tuple(labels)
