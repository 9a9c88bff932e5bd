"""Fitting objectives: what a model should reproduce (EEG/MEG spectra, fMRI FC) and how far it
is from it. Each objective is a callable `objective(model, key) -> (loss, aux)`, with
`report(model, key)` (goodness of fit) and `plot(model, key)`.

The model's spectra and FC come from a method object (`fit/_methods.py`): `Linear(...)`, the
model linearised at a stable equilibrium (analytic, noise-free, fast: the spectrum $GDG^*$ or
the Lyapunov covariance), or `Simulated(...)`, simulations averaged over noise keys (any model,
any regime).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from ..analysis._signal import fcd, peak_frequency
from ..models._base import AbstractModel
from ..noise import AbstractNoise, Additive
from ._methods import Linear, Simulated, as_method, damping_ratio, moved_settings
from ._observed import Observed
from ._targets import FCTarget, SpectrumTarget


__all__ = ["FCObjective", "SpectrumObjective", "damping_ratio", "fcd_quantiles"]


def _upper(m):
    i, j = np.triu_indices(m.shape[-1], 1)
    return m[..., i, j]


def _corr(a, b):
    a = a - a.mean()
    b = b - b.mean()
    return jnp.sum(a * b) / jnp.sqrt(jnp.sum(a * a) * jnp.sum(b * b))


def _check_noise(noise):
    if not isinstance(noise, AbstractNoise):
        raise TypeError("`noise` must be a rosetta_jax.noise object (e.g. noise.Additive(1.0)).")


@eqx.filter_jit
def _compiled_spectra(objective, model, key):
    """`objective._spectra` compiled (reports and figures outside a fitting step)."""
    return objective._spectra(model, key)


@eqx.filter_jit
def _peaks(freqs, psd, band):
    """Each channel's peak frequency, compiled: a channel whose model spectrum is not finite
    (its fit found no stable focus) gets a NaN peak instead of stopping the others' report."""
    return peak_frequency(freqs, psd, band, axis=0)


class SpectrumObjective(eqx.Module):
    """Distance between a model's spectra and target spectra.

    loss = mean over channels and frequencies in `band` of
    $(\\log_{10} P_{model} - \\log_{10} P_{target} - c)^2$, where $c$ (per channel) removes the
    overall scale when `normalize` (model and recording units differ), plus
    `peak_weight` times the squared error [Hz] of the peak frequency in `peak_band`, plus the
    linear method's stability penalty.

    Args:
        target: a `SpectrumTarget`.
        noise: the noise driving the model (`noise.Additive`).
        method: `fit.Linear(...)` (analytic spectrum at a stable equilibrium; fast, smooth;
            the default) or `fit.Simulated(...)` (Welch spectra of simulations averaged over
            noise keys; default 20 s at 0.1 ms for models in s and 2 keys when given as the
            string `"simulation"`).
        band: frequency range compared [Hz].
        normalize: compare shapes only (default True).
        peak_weight, peak_band: weight and band of the peak-frequency term.
        lead_field: gain matrix (sensors x regions) when the target is in sensor space.
        regional: the model is a single node whose parameters are arrays with one value per
            target channel: each channel is fitted by its own node (vmapped, independent).
    """

    target: SpectrumTarget
    noise: AbstractNoise
    method: Linear | Simulated
    lead_field: Float[Array, "n_sensors n_regions"] | None
    band: tuple[float, float] = eqx.field(static=True)
    normalize: bool = eqx.field(static=True)
    peak_weight: float = eqx.field(static=True)
    peak_band: tuple[float, float] = eqx.field(static=True)
    regional: bool = eqx.field(static=True)

    def __init__(
        self,
        target: SpectrumTarget,
        noise: AbstractNoise,
        *,
        method: Linear | Simulated | str | None = None,
        band: tuple[float, float] | None = None,
        normalize: bool = True,
        peak_weight: float = 0.0,
        peak_band: tuple[float, float] = (7.0, 14.0),
        lead_field: Float[ArrayLike, "n_sensors n_regions"] | None = None,
        regional: bool = False,
        **moved,
    ):
        moved_settings("SpectrumObjective", moved)
        if not isinstance(target, SpectrumTarget):
            raise TypeError("`target` must be a SpectrumTarget (e.g. SpectrumTarget(freqs, psd)).")
        _check_noise(noise)
        if method == "simulation":
            method = Simulated(t1=None, n_keys=2)
        self.method = Linear() if method is None else as_method(method)
        f = np.asarray(target.freqs)
        band = (float(f[0]), float(f[-1])) if band is None else tuple(float(b) for b in band)
        if band[0] >= band[1] or band[1] < f[0] or band[0] > f[-1]:
            raise ValueError(
                f"`band` {band} does not overlap the target's frequencies ({f[0]:g}-{f[-1]:g} Hz)."
            )
        self.target, self.noise, self.band = target, noise, band
        self.normalize, self.peak_weight = bool(normalize), float(peak_weight)
        self.peak_band = tuple(float(b) for b in peak_band)
        self.lead_field = (
            None if lead_field is None else jnp.asarray(getattr(lead_field, "gain", lead_field))
        )
        self.regional = bool(regional)

    @property
    def linear(self) -> bool:
        return isinstance(self.method, Linear)

    def spectrum(
        self, model: AbstractModel, key: PRNGKeyArray | None = None
    ) -> Float[Array, "n_freqs n_channels"]:
        """The model's PSD at the target frequencies, shape `(n_freqs, n_channels)`."""
        return _compiled_spectra(self, model, key)[0]

    def model_spectrum(self, model, key=None):
        """One model's PSD `(n_freqs, n_outputs)` at the target frequencies and its damping
        ratio, by the objective's method (through `lead_field` when there is one)."""
        if isinstance(model, Observed):
            return model.spectrum(self.method, self.noise, self.target.freqs, key, self.lead_field)
        return self.method.spectrum(model, self.noise, self.target.freqs, key, self.lead_field)

    def _spectra(self, model, key):
        """PSD `(n_freqs, n_channels)` and the damping ratio of the equilibrium (per node for
        regional fits; 1 for the simulation method)."""
        if self.regional:
            n = self.target.n_channels
            axes = jax.tree.map(lambda p: 0 if jnp.ndim(p) == 1 else None, model)

            def one(m):
                psd, zeta = self.model_spectrum(m, key)
                return psd[:, 0], zeta

            psd, zeta = jax.vmap(one, in_axes=(axes,), axis_size=n)(model)
            return psd.T, zeta
        psd, zeta = self.model_spectrum(model, key)
        if psd.shape[1] != self.target.n_channels:
            raise ValueError(
                f"The model gives {psd.shape[1]} channel(s) but the target has "
                f"{self.target.n_channels}: fit a network with one node per channel, pass a "
                "lead_field for sensor targets, or regional=True for independent nodes."
            )
        return psd, zeta

    def __call__(
        self, model: AbstractModel, key: PRNGKeyArray | None = None
    ) -> tuple[Float[Array, ""], dict[str, Float[Array, ""]]]:
        """The loss and its parts (log-PSD error, smallest damping ratio, peak error [Hz])."""
        psd, zeta = self._spectra(model, key)
        d, mask = self._log_residual(psd)
        loss = jnp.sum(d**2) / (jnp.sum(mask) * psd.shape[1])
        aux = {"log_psd_mse": loss, "min_damping_ratio": jnp.min(zeta)}
        if self.linear:
            loss = loss + self.method.penalty(zeta)
        if self.peak_weight:
            err = self._peak(psd) - self._peak(self.target.psd)
            loss = loss + self.peak_weight * jnp.mean(err**2)
            aux["peak_error_hz"] = jnp.sqrt(jnp.mean(err**2))
        return loss, aux

    def channel_losses(
        self, model: AbstractModel, key: PRNGKeyArray | None = None
    ) -> Float[Array, " n_channels"]:
        """Each channel's part of the loss: its mean squared log-PSD error in the band plus
        `peak_weight` times its squared peak error [Hz] (without the stability penalty)."""
        psd, _ = _compiled_spectra(self, model, key)
        d, mask = self._log_residual(psd)
        loss = jnp.sum(d**2, axis=0) / jnp.sum(mask)
        if self.peak_weight:
            loss = loss + self.peak_weight * (self._peak(psd) - self._peak(self.target.psd)) ** 2
        return loss

    def _peak(self, psd):
        return _peaks(self.target.freqs, psd, self.peak_band)

    def _mask(self, f=None):
        """Which frequencies (the target's, or `f`: a numpy array keeps it on the host) are in
        the compared band."""
        f = self.target.freqs if f is None else f
        return (f >= self.band[0]) & (f <= self.band[1])

    def _log_residual(self, psd):
        mask = self._mask()
        d = jnp.log10(jnp.maximum(psd, 1e-300)) - jnp.log10(self.target.psd)
        if self.normalize:
            c = jnp.sum(jnp.where(mask[:, None], d, 0.0), axis=0) / jnp.sum(mask)
            d = d - c
        return jnp.where(mask[:, None], d, 0.0), mask

    def report(self, model: AbstractModel, key: PRNGKeyArray | None = None) -> dict[str, Any]:
        """Goodness of fit: R^2 of the log-PSD in the band and the peak-frequency error [Hz],
        per channel and on average."""
        psd, zeta = _compiled_spectra(self, model, key)
        d, mask = self._log_residual(psd)
        lt = jnp.log10(self.target.psd)
        lt = lt - jnp.sum(jnp.where(mask[:, None], lt, 0), 0) / jnp.sum(mask)
        ss_tot = jnp.sum(jnp.where(mask[:, None], lt, 0.0) ** 2, axis=0)
        r2 = 1 - jnp.sum(d**2, axis=0) / ss_tot
        peak_err = jnp.abs(self._peak(psd) - self._peak(self.target.psd))
        return {
            "r2_log_psd": np.asarray(r2),
            "r2_log_psd_mean": float(jnp.mean(r2)),
            "peak_error_hz": np.asarray(peak_err),
            "peak_error_hz_mean": float(jnp.mean(peak_err)),
            "model_psd": np.asarray(psd),
            "damping_ratio": np.asarray(zeta) if self.linear else None,
        }

    def plot(
        self,
        model: AbstractModel,
        key: PRNGKeyArray | None = None,
        channels: Sequence[int] | None = None,
        ax=None,
    ):
        """Target and model spectra (log scale) of a few channels."""
        import matplotlib.pyplot as plt

        psd = np.asarray(self.spectrum(model, key))
        tgt = np.asarray(self.target.psd)
        d, _ = self._log_residual(jnp.asarray(psd))
        shift = (
            np.asarray(jnp.log10(psd) - jnp.log10(self.target.psd) - d)[0]
            if self.normalize
            else np.zeros(psd.shape[1])
        )
        channels = range(min(4, psd.shape[1])) if channels is None else channels
        ax = plt.subplots(figsize=(6, 4))[1] if ax is None else ax
        f = np.asarray(self.target.freqs)
        for i, ch in enumerate(channels):
            color = f"C{i}"
            name = self.target.labels[ch] if self.target.labels else f"channel {ch}"
            ax.semilogy(f, tgt[:, ch], "o", ms=3, color=color, label=f"{name} (target)")
            ax.semilogy(f, psd[:, ch] / 10 ** shift[ch], "-", color=color, label="model")
        ax.set_xlabel("frequency [Hz]")
        ax.set_ylabel("power (target units)")
        ax.legend(fontsize=7)
        return ax


class FCObjective(eqx.Module):
    """Distance between a model's functional connectivity and a target FC.

    loss = $1 - \\mathrm{corr}(\\mathrm{upper}(FC_{model}), \\mathrm{upper}(FC_{target}))$
    + `mse_weight` * mean squared FC difference (+ `fcd_weight` * FCD quantile distance for the
    simulated method, when `fcd_target` quantiles are given), plus the linear method's
    stability penalty.

    Args:
        target: an `FCTarget`.
        noise: `noise.Additive` driving the model.
        method: `fit.Linear(...)` (the Lyapunov covariance of the model linearised at a stable
            equilibrium, e.g. the linearised Hopf model of fMRI; the default) or
            `fit.Simulated(...)` (the FC of simulated signals).
        mse_weight: weight of the mean squared difference (default 0: correlation only).
        fcd_target: quantiles of the target FCD values (simulated method; `fcd_quantiles`).
        fcd_window, fcd_step: FCD window and step in saved samples.
    """

    target: FCTarget
    noise: AbstractNoise
    method: Linear | Simulated
    fcd_target: Float[Array, " n_quantiles"] | None
    mse_weight: float = eqx.field(static=True)
    fcd_weight: float = eqx.field(static=True)
    fcd_window: int = eqx.field(static=True)
    fcd_step: int = eqx.field(static=True)

    def __init__(
        self,
        target: FCTarget,
        noise: Additive,
        *,
        method: Linear | Simulated | str | None = None,
        mse_weight: float = 0.0,
        fcd_target: Float[ArrayLike, " n_quantiles"] | None = None,
        fcd_weight: float = 0.0,
        fcd_window: int = 60,
        fcd_step: int = 10,
        **moved,
    ):
        moved_settings("FCObjective", moved)
        if not isinstance(target, FCTarget):
            raise TypeError("`target` must be an FCTarget (e.g. FCTarget(fc)).")
        if not isinstance(noise, Additive):
            raise TypeError("`noise` must be noise.Additive(...).")
        self.method = Linear() if method is None else as_method(method)
        if fcd_weight and (fcd_target is None or isinstance(self.method, Linear)):
            raise ValueError(
                "The FCD term needs method=fit.Simulated(...) and fcd_target quantiles."
            )
        self.target, self.noise = target, noise
        self.mse_weight, self.fcd_weight = float(mse_weight), float(fcd_weight)
        self.fcd_target = None if fcd_target is None else jnp.asarray(fcd_target)
        self.fcd_window, self.fcd_step = int(fcd_window), int(fcd_step)

    def fc(
        self, model: AbstractModel, key: PRNGKeyArray | None = None
    ) -> tuple[Float[Array, "n n"], Float[Array, "n_keys n_times n"] | None]:
        """The model's FC (and, for simulations, the signals; else None)."""
        fc, other = self.method.fc(model, self.noise, key)
        return fc, (None if isinstance(self.method, Linear) else other)

    def __call__(
        self, model: AbstractModel, key: PRNGKeyArray | None = None
    ) -> tuple[Float[Array, ""], dict[str, Float[Array, ""]]]:
        """The loss and its parts (FC correlation, smallest damping ratio, FC and FCD errors).
        With `fit.Linear`, `min_damping_ratio` is the method's `min_damping` whenever a cheap
        test proves every mode damped at least that much (the penalty is then 0); the exact
        ratio otherwise. `report` and `fit.damping_ratio` give the exact value."""
        fc, other = self.method.fc(model, self.noise, key)
        r = _corr(_upper(fc), _upper(self.target.fc))
        loss = 1.0 - r
        aux = {"fc_correlation": r}
        if isinstance(self.method, Linear):
            loss = loss + self.method.penalty(other)
            aux["min_damping_ratio"] = other
        if self.mse_weight:
            mse = jnp.mean((_upper(fc) - _upper(self.target.fc)) ** 2)
            loss = loss + self.mse_weight * mse
            aux["fc_mse"] = mse
        if self.fcd_weight:
            q = jnp.linspace(0.05, 0.95, self.fcd_target.shape[0])
            vals = _upper(fcd(other[0], self.fcd_window, self.fcd_step))
            d = jnp.mean((jnp.quantile(vals, q) - self.fcd_target) ** 2)
            loss = loss + self.fcd_weight * d
            aux["fcd_distance"] = d
        return loss, aux

    def report(self, model: AbstractModel, key: PRNGKeyArray | None = None) -> dict[str, Any]:
        """Goodness of fit: the FC correlation and RMS difference, and the model's FC."""
        fc, _ = self.fc(model, key)
        return {
            "fc_correlation": float(_corr(_upper(fc), _upper(self.target.fc))),
            "fc_rmse": float(jnp.sqrt(jnp.mean((_upper(fc) - _upper(self.target.fc)) ** 2))),
            "model_fc": np.asarray(fc),
        }

    def plot(self, model: AbstractModel, key: PRNGKeyArray | None = None, ax=None):
        """Model FC against target FC (scatter of the upper triangles)."""
        import matplotlib.pyplot as plt

        fc, _ = self.fc(model, key)
        ax = plt.subplots(figsize=(4.5, 4))[1] if ax is None else ax
        ax.plot(np.asarray(_upper(self.target.fc)), np.asarray(_upper(fc)), ".", ms=2, alpha=0.5)
        ax.set_xlabel("target FC")
        ax.set_ylabel("model FC")
        r = float(_corr(_upper(fc), _upper(self.target.fc)))
        ax.set_title(f"r = {r:.3f}")
        return ax


def fcd_quantiles(
    x: Float[ArrayLike, "n_times n_channels"], window: int, step: int, n: int = 19
) -> Float[Array, " n"]:
    """Quantiles (5 % to 95 %) of the FCD values of recorded signals (for `FCObjective`)."""
    vals = _upper(fcd(jnp.asarray(x), window, step))
    return jnp.quantile(vals, jnp.linspace(0.05, 0.95, n))
