"""Fitting objectives: what a model should reproduce (EEG/MEG spectra, fMRI FC) and how far it
is from it. Each objective is a callable `objective(model, key) -> (loss, aux)`, with
`report(model, key)` (goodness of fit) and `plot(model, key)`.

Features come from a simulation (averaged over noise keys; any model, any regime) or from the
model linearised at a stable equilibrium (analytic, noise-free, fast: the spectrum $GDG^*$ or
the Lyapunov covariance).
"""

from __future__ import annotations

import math
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, ArrayLike

from .._simulate import simulate
from .._validation import is_concrete
from ..analysis._dynamics import equilibrium, jacobian
from ..analysis._linear import linear_fc, linear_spectrum
from ..analysis._signal import fcd, functional_connectivity, peak_frequency, welch
from ..noise import AbstractNoise, Additive
from ..units import TimeUnit


METHODS = ("linear", "simulation")


def damping_ratio(model, y) -> Array:
    """The smallest damping ratio $-\\mathrm{Re}\\,\\lambda / |\\lambda|$ over the eigenvalues of
    the model's Jacobian at `y` (1 for a pure decay, 0 at a Hopf or fold point, < 0 beyond).

    Differentiable through first-order perturbation theory of the least-damped eigenvalue
    alone, $d\\lambda = u^T dJ\\, v / u^T v$ with its right and left eigenvectors: the
    synaptic kernels of neural mass models give the Jacobian repeated (defective)
    eigenvalues, at which differentiating the whole eigendecomposition returns NaN."""
    J = jacobian(model, y)
    Js = jax.lax.stop_gradient(J)
    lam, V = jnp.linalg.eig(Js)
    zeta = -lam.real / jnp.maximum(jnp.abs(lam), 1e-12)
    k = jnp.argmin(zeta)
    lam_k, v = lam[k], V[:, k]
    mu, U = jnp.linalg.eig(Js.T)  # left eigenvectors: u^T J = lambda u^T
    u = U[:, jnp.argmin(jnp.abs(mu - lam_k))]
    dJ = (J - Js).astype(v.dtype)
    lam_k = lam_k + (u @ dJ @ v) / (u @ v)  # value unchanged, gradient first order
    return -lam_k.real / jnp.maximum(jnp.abs(lam_k), 1e-12)


def _stability_penalty(zeta, min_damping):
    """0 while every mode has damping ratio >= min_damping; 1 at the bifurcation; growing
    quadratically beyond (the analytic spectrum and covariance hold only at a stable state)."""
    return jnp.mean(jax.nn.relu(1.0 - zeta / min_damping) ** 2)


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

    freqs: Array
    psd: Array
    labels: tuple[str, ...] | None = eqx.field(default=None, static=True)

    def __init__(self, freqs, psd, labels=None):
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
    def from_amplitude(cls, freqs, amplitude, labels=None) -> SpectrumTarget:
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

    fc: Array
    labels: tuple[str, ...] | None = eqx.field(default=None, static=True)

    def __init__(self, fc, labels=None):
        m = _check_target("fc", fc, 2)
        if m.shape[0] != m.shape[1]:
            raise ValueError(f"`fc` must be square; got shape {m.shape}.")
        if is_concrete(m) and not bool(jnp.allclose(m, m.T, atol=1e-6)):
            raise ValueError("`fc` must be symmetric.")
        self.fc = m
        self.labels = None if labels is None else tuple(labels)


def _upper(m):
    i, j = np.triu_indices(m.shape[-1], 1)
    return m[..., i, j]


def _corr(a, b):
    a = a - a.mean()
    b = b - b.mean()
    return jnp.sum(a * b) / jnp.sqrt(jnp.sum(a * a) * jnp.sum(b * b))


class _Simulated(eqx.Module):
    """Settings of a simulation objective."""

    noise: AbstractNoise
    t1: float = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    save_every: int = eqx.field(static=True)
    discard: float = eqx.field(static=True)
    n_keys: int = eqx.field(static=True)
    checkpoint: bool | None = eqx.field(static=True, default=None)

    def run(self, model, key):
        """Observed signals of `n_keys` noise realisations, transient discarded."""

        def one(k):
            sol = simulate(
                model,
                t1=self.t1,
                dt=self.dt,
                save_every=self.save_every,
                noise=self.noise,
                key=k,
                save_state=False,
                throw=False,
                checkpoint=self.checkpoint,
            )
            return sol.observed[int(self.discard * sol.observed.shape[0]) :]

        x = jax.vmap(one)(jr.split(key, self.n_keys))
        return x.reshape(x.shape[0], x.shape[1], -1)  # (keys, time, channels)


class SpectrumObjective(eqx.Module):
    """Distance between a model's spectra and target spectra.

    loss = mean over channels and frequencies in `band` of
    $(\\log_{10} P_{model} - \\log_{10} P_{target} - c)^2$, where $c$ (per channel) removes the
    overall scale when `normalize` (model and recording units differ), plus
    `peak_weight` times the squared error [Hz] of the peak frequency in `peak_band`.

    Args:
        target: a `SpectrumTarget`.
        noise: the noise driving the model (`noise.Additive`).
        method: `"linear"` (analytic spectrum at a stable equilibrium; fast, smooth) or
            `"simulation"` (Welch spectra of simulations averaged over `n_keys` noise keys).
        band: frequency range compared [Hz].
        normalize: compare shapes only (default True).
        peak_weight, peak_band: weight and band of the peak-frequency term.
        lead_field: gain matrix (sensors x regions) when the target is in sensor space.
        t1, dt, save_every, discard, n_keys, nperseg: simulation settings (model time unit).
        checkpoint: rematerialise the simulation in the backward pass, so the memory of a
            gradient stays bounded for long runs (default None: decided by `simulate` from the
            run's size; True/False force it).
        y_guess: a state near the equilibrium (linear method), e.g.
            `analysis.stable_equilibrium(model)`; default `initial_state()`.
        regional: the model is a single node whose parameters are arrays with one value per
            target channel: each channel is fitted by its own node (vmapped, independent).
        newton_iterations: Newton iterations for the equilibrium (linear method).
        min_damping, stability_weight: the linear method adds `stability_weight` times
            $\\mathrm{relu}(1 - \\zeta/\\zeta_{min})^2$, where $\\zeta$ is the smallest damping
            ratio of the equilibrium's modes: the analytic spectrum holds only at a stable
            state, and a peak sharper than a damping ratio of `min_damping` (default 0.01, a
            quality factor of 50) is never seen in recordings. 0 switches it off.
    """

    target: SpectrumTarget
    noise: AbstractNoise
    lead_field: Array | None
    y_guess: Array | None
    sim: _Simulated | None
    method: str = eqx.field(static=True)
    band: tuple[float, float] = eqx.field(static=True)
    normalize: bool = eqx.field(static=True)
    peak_weight: float = eqx.field(static=True)
    peak_band: tuple[float, float] = eqx.field(static=True)
    nperseg: int = eqx.field(static=True)
    regional: bool = eqx.field(static=True)
    newton_iterations: int = eqx.field(static=True)
    min_damping: float = eqx.field(static=True)
    stability_weight: float = eqx.field(static=True)

    def __init__(
        self,
        target,
        noise,
        *,
        method="linear",
        band=None,
        normalize=True,
        peak_weight=0.0,
        peak_band=(7.0, 14.0),
        lead_field=None,
        t1=20.0,
        dt=1e-4,
        save_every=10,
        discard=0.1,
        n_keys=2,
        nperseg=None,
        y_guess=None,
        regional=False,
        newton_iterations=40,
        checkpoint=None,
        min_damping=0.01,
        stability_weight=1.0,
    ):
        if not isinstance(target, SpectrumTarget):
            raise TypeError("`target` must be a SpectrumTarget (e.g. SpectrumTarget(freqs, psd)).")
        if not isinstance(noise, AbstractNoise):
            raise TypeError(
                "`noise` must be a rosetta_jax.noise object (e.g. noise.Additive(1.0))."
            )
        if method not in METHODS:
            raise ValueError(f"`method` must be one of {METHODS}; got {method!r}.")
        f = np.asarray(target.freqs)
        band = (float(f[0]), float(f[-1])) if band is None else tuple(float(b) for b in band)
        if band[0] >= band[1] or band[1] < f[0] or band[0] > f[-1]:
            raise ValueError(
                f"`band` {band} does not overlap the target's frequencies ({f[0]:g}-{f[-1]:g} Hz)."
            )
        self.target, self.noise, self.method, self.band = target, noise, method, band
        self.normalize, self.peak_weight = bool(normalize), float(peak_weight)
        self.peak_band = tuple(float(b) for b in peak_band)
        self.lead_field = (
            None if lead_field is None else jnp.asarray(getattr(lead_field, "gain", lead_field))
        )
        self.y_guess = None if y_guess is None else jnp.asarray(y_guess)
        ck = None if checkpoint is None else bool(checkpoint)
        self.sim = (
            None
            if method == "linear"
            else _Simulated(
                noise, float(t1), float(dt), int(save_every), float(discard), int(n_keys), ck
            )
        )
        if nperseg is None:  # resolve the target's frequency spacing
            step = float(np.min(np.diff(f))) if len(f) > 1 else 1.0
            nperseg = int(2 ** math.ceil(math.log2(max(8.0, 1.0 / (save_every * dt * step)))))
        self.nperseg = int(nperseg)
        self.regional = bool(regional)
        self.newton_iterations = int(newton_iterations)
        if min_damping <= 0 or stability_weight < 0:
            raise ValueError("`min_damping` must be > 0 and `stability_weight` >= 0.")
        self.min_damping, self.stability_weight = float(min_damping), float(stability_weight)

    def spectrum(self, model, key=None) -> Array:
        """The model's PSD at the target frequencies, shape `(n_freqs, n_channels)`."""
        return self._spectra(model, key)[0]

    def _spectra(self, model, key):
        """PSD `(n_freqs, n_channels)` and the damping ratio of the equilibrium (per node for
        regional fits; 1 for the simulation method)."""
        if self.regional:
            n = self.target.n_channels
            axes = jax.tree.map(lambda p: 0 if jnp.ndim(p) == 1 else None, model)

            def one(m):
                psd, zeta = self._spectrum(m, key)
                return psd[:, 0], zeta

            psd, zeta = jax.vmap(one, in_axes=(axes,), axis_size=n)(model)
            return psd.T, zeta
        psd, zeta = self._spectrum(model, key)
        if psd.shape[1] != self.target.n_channels:
            raise ValueError(
                f"The model gives {psd.shape[1]} channel(s) but the target has "
                f"{self.target.n_channels}: fit a network with one node per channel, pass a "
                "lead_field for sensor targets, or regional=True for independent nodes."
            )
        return psd, zeta

    def _spectrum(self, model, key):
        freqs = self.target.freqs
        if self.method == "linear":
            y0 = model.initial_state() if self.y_guess is None else self.y_guess
            y = equilibrium(model, y0, iterations=self.newton_iterations)
            psd = linear_spectrum(
                model, freqs, self.noise, y_star=y, lead_field=self.lead_field
            ).psd
            zeta = damping_ratio(model, y) if self.stability_weight else jnp.ones(())
            return psd, zeta
        key = jr.key(0) if key is None else key
        x = self.sim.run(model, key)
        if self.lead_field is not None:
            x = x @ self.lead_field.T
        fs = TimeUnit.of(model).hz_factor / (self.sim.dt * self.sim.save_every)
        f, P = welch(x, fs, nperseg=min(self.nperseg, x.shape[1]), axis=1)
        P = P.mean(axis=0)
        return jax.vmap(lambda p: jnp.interp(freqs, f, p), in_axes=1, out_axes=1)(P), jnp.ones(())

    def _mask(self):
        f = self.target.freqs
        return (f >= self.band[0]) & (f <= self.band[1])

    def _log_residual(self, psd):
        mask = self._mask()
        d = jnp.log10(jnp.maximum(psd, 1e-300)) - jnp.log10(self.target.psd)
        if self.normalize:
            c = jnp.sum(jnp.where(mask[:, None], d, 0.0), axis=0) / jnp.sum(mask)
            d = d - c
        return jnp.where(mask[:, None], d, 0.0), mask

    def __call__(self, model, key=None):
        psd, zeta = self._spectra(model, key)
        d, mask = self._log_residual(psd)
        loss = jnp.sum(d**2) / (jnp.sum(mask) * psd.shape[1])
        aux = {"log_psd_mse": loss, "min_damping_ratio": jnp.min(zeta)}
        if self.method == "linear" and self.stability_weight:
            loss = loss + self.stability_weight * _stability_penalty(zeta, self.min_damping)
        if self.peak_weight:
            err = self._peak(psd) - self._peak(self.target.psd)
            loss = loss + self.peak_weight * jnp.mean(err**2)
            aux["peak_error_hz"] = jnp.sqrt(jnp.mean(err**2))
        return loss, aux

    def _peak(self, psd):
        return peak_frequency(self.target.freqs, psd, self.peak_band, axis=0)

    def report(self, model, key=None) -> dict[str, Any]:
        """Goodness of fit: R^2 of the log-PSD in the band and the peak-frequency error [Hz],
        per channel and on average."""
        psd, zeta = self._spectra(model, key)
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
            "damping_ratio": np.asarray(zeta) if self.method == "linear" else None,
        }

    def plot(self, model, key=None, channels=None, ax=None):
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
    simulation method, when `fcd_target` quantiles are given).

    Args:
        target: an `FCTarget`.
        noise: `noise.Additive` driving the model.
        method: `"linear"` (the Lyapunov covariance of the model linearised at a stable
            equilibrium, e.g. the linearised Hopf model of fMRI) or `"simulation"`.
        mse_weight: weight of the mean squared difference (default 0: correlation only).
        fcd_target: quantiles of the target FCD values (simulation method).
        fcd_window, fcd_step: FCD window and step in saved samples.
        t1, dt, save_every, discard, n_keys: simulation settings.
        checkpoint: rematerialise the simulation in the backward pass (default None: decided
            by `simulate` from the run's size).
        y_guess: a state near the equilibrium (linear method), e.g.
            `analysis.stable_equilibrium(model)`; default `initial_state()`.
        min_damping, stability_weight: keep the linearised network stable, as for
            `SpectrumObjective` (the Lyapunov covariance exists only at a stable state).
    """

    target: FCTarget
    noise: AbstractNoise
    y_guess: Array | None
    fcd_target: Array | None
    sim: _Simulated | None
    method: str = eqx.field(static=True)
    mse_weight: float = eqx.field(static=True)
    fcd_weight: float = eqx.field(static=True)
    fcd_window: int = eqx.field(static=True)
    fcd_step: int = eqx.field(static=True)
    min_damping: float = eqx.field(static=True)
    stability_weight: float = eqx.field(static=True)

    def __init__(
        self,
        target,
        noise,
        *,
        method="linear",
        mse_weight=0.0,
        fcd_target=None,
        fcd_weight=0.0,
        fcd_window=60,
        fcd_step=10,
        t1=600.0,
        dt=0.05,
        save_every=20,
        discard=0.1,
        n_keys=1,
        y_guess=None,
        checkpoint=None,
        min_damping=0.01,
        stability_weight=1.0,
    ):
        if not isinstance(target, FCTarget):
            raise TypeError("`target` must be an FCTarget (e.g. FCTarget(fc)).")
        if not isinstance(noise, Additive):
            raise TypeError("`noise` must be noise.Additive(...).")
        if method not in METHODS:
            raise ValueError(f"`method` must be one of {METHODS}; got {method!r}.")
        if fcd_weight and (fcd_target is None or method != "simulation"):
            raise ValueError("The FCD term needs method='simulation' and fcd_target quantiles.")
        self.target, self.noise, self.method = target, noise, method
        self.mse_weight, self.fcd_weight = float(mse_weight), float(fcd_weight)
        self.fcd_target = None if fcd_target is None else jnp.asarray(fcd_target)
        self.fcd_window, self.fcd_step = int(fcd_window), int(fcd_step)
        self.y_guess = None if y_guess is None else jnp.asarray(y_guess)
        ck = None if checkpoint is None else bool(checkpoint)
        self.sim = (
            None
            if method == "linear"
            else _Simulated(
                noise, float(t1), float(dt), int(save_every), float(discard), int(n_keys), ck
            )
        )
        if min_damping <= 0 or stability_weight < 0:
            raise ValueError("`min_damping` must be > 0 and `stability_weight` >= 0.")
        self.min_damping, self.stability_weight = float(min_damping), float(stability_weight)

    def fc(self, model, key=None):
        """The model's FC (and, for simulations, the signals)."""
        return self._fc(model, key)[:2]

    def _fc(self, model, key):
        if self.method == "linear":
            y0 = model.initial_state() if self.y_guess is None else self.y_guess
            y = equilibrium(model, y0)
            zeta = damping_ratio(model, y) if self.stability_weight else jnp.ones(())
            return linear_fc(model, self.noise, y_star=y), None, zeta
        x = self.sim.run(model, jr.key(0) if key is None else key)
        return jnp.mean(jax.vmap(functional_connectivity)(x), axis=0), x, jnp.ones(())

    def __call__(self, model, key=None):
        fc, x, zeta = self._fc(model, key)
        r = _corr(_upper(fc), _upper(self.target.fc))
        loss = 1.0 - r
        aux = {"fc_correlation": r, "min_damping_ratio": zeta}
        if self.method == "linear" and self.stability_weight:
            loss = loss + self.stability_weight * _stability_penalty(zeta, self.min_damping)
        if self.mse_weight:
            mse = jnp.mean((_upper(fc) - _upper(self.target.fc)) ** 2)
            loss = loss + self.mse_weight * mse
            aux["fc_mse"] = mse
        if self.fcd_weight:
            q = jnp.linspace(0.05, 0.95, self.fcd_target.shape[0])
            vals = _upper(fcd(x[0], self.fcd_window, self.fcd_step))
            d = jnp.mean((jnp.quantile(vals, q) - self.fcd_target) ** 2)
            loss = loss + self.fcd_weight * d
            aux["fcd_distance"] = d
        return loss, aux

    def report(self, model, key=None) -> dict[str, Any]:
        fc, _ = self.fc(model, key)
        return {
            "fc_correlation": float(_corr(_upper(fc), _upper(self.target.fc))),
            "fc_rmse": float(jnp.sqrt(jnp.mean((_upper(fc) - _upper(self.target.fc)) ** 2))),
            "model_fc": np.asarray(fc),
        }

    def plot(self, model, key=None, ax=None):
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


def fcd_quantiles(x: ArrayLike, window: int, step: int, n: int = 19) -> Array:
    """Quantiles (5 % to 95 %) of the FCD values of recorded signals (for `FCObjective`)."""
    vals = _upper(fcd(jnp.asarray(x), window, step))
    return jnp.quantile(vals, jnp.linspace(0.05, 0.95, n))
