"""Gradient-based sensitivity analysis: how features (spectral peak, band powers, FC) change
with parameters, with a finite-difference check and a noise-robustness diagnostic."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from .._simulate import simulate
from ..analysis._dynamics import equilibrium
from ..analysis._linear import linear_fc, linear_spectrum
from ..analysis._signal import band_power, functional_connectivity, peak_frequency, welch
from ..noise import AbstractNoise
from ..units import TimeUnit, check_band


METHODS = ("simulation", "linear")


def _check_method(method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"`method` must be one of {METHODS}; got {method!r}.")
    return method


def spectral_features(
    noise: AbstractNoise,
    *,
    method: str = "simulation",
    freqs: Any = None,
    bands: dict[str, tuple[float, float]] | None = None,
    peak_band: tuple[float, float] | None = None,
    t1: float | None = None,
    dt: float | None = None,
    save_every: int | None = None,
    discard: float = 0.1,
    nperseg: int = 2048,
    y_guess: Any = None,
) -> Callable:
    """A feature function `(model, key) -> {name: value}`: the peak frequency and the log10
    relative power of each band, averaged over channels.

    Frequencies follow the model's time unit (`rosetta_jax.units`): Hz for models in s or ms,
    cycles per time unit for dimensionless ones.

    Args:
        noise: the driving noise.
        method: `"simulation"` (Welch spectrum of one run) or `"linear"` (analytic spectrum at
            the equilibrium near `y_guess`).
        freqs: frequency grid of the linear method (default: 400 points up to 1.5 times the
            top of the model's `rhythm_band` and at least 100 Hz, or up to 1 cycle per unit
            for dimensionless models).
        bands: named bands `{name: (low, high)}` (default, for models in s or ms: delta 1-4,
            theta 4-8, alpha 8-13, beta 13-30, gamma 30-80 Hz, those below the top of the
            spectrum; none for dimensionless models). A band beyond the top of the spectrum
            (the Nyquist frequency, or the linear grid's end) is an error.
        peak_band: where to look for the spectral peak (default the model's `rhythm_band`).
        t1, dt, save_every: simulation settings in the model's time unit (default
            `units.TimeUnit.default_run`: 10 s at dt = 0.1 ms for models in s; 2000 ms at
            dt = 0.01 ms for models in ms; 500 units at dt = 0.01 for dimensionless ones; saving
            every 10 steps).
        discard, nperseg: transient fraction and Welch segment length.
        y_guess: the state the equilibrium search (linear) or the simulation starts from, e.g.
            `analysis.stable_equilibrium(model)` (default `initial_state()`).
    """
    _check_method(method)

    def features(model, key):
        unit = TimeUnit.of(model)
        if method == "linear":
            top = max(1.5 * model.rhythm_band[1], 100.0) if model.rhythm_band else 1.0
            grid = jnp.linspace(top / 400, top, 400) if freqs is None else jnp.asarray(freqs)
            y0 = model.initial_state() if y_guess is None else y_guess
            y = equilibrium(model, y0)
            f, p = grid, linear_spectrum(model, grid, noise, y_star=y).psd
            top_f = float(grid[-1])
        else:
            d1, ddt, dse = unit.default_run
            t_1, d_t, s_e = t1 or d1, dt or ddt, save_every or dse
            sol = simulate(
                model,
                t1=t_1,
                dt=d_t,
                save_every=s_e,
                noise=noise,
                key=key,
                y0=y_guess,
                save_state=False,
                throw=False,
            )
            x = sol.observed[int(discard * sol.observed.shape[0]) :]
            x = x.reshape(x.shape[0], -1)
            fs = unit.hz_factor / (d_t * s_e)
            f, p = welch(x, fs, nperseg=min(nperseg, x.shape[0]))
            top_f = fs / 2
        pk = _default_peak_band(model, peak_band, top_f, unit)
        out = {"peak_frequency": jnp.mean(peak_frequency(f, p, pk))}
        all_bands = (
            dict(bands)
            if bands is not None
            else {k: b for k, b in unit.bands().items() if b[1] <= top_f}
        )
        total = band_power(f, p, (float(f[1]), float(f[-1])))
        for name, b in all_bands.items():
            b = check_band(f"bands[{name!r}]", b, top_f, unit.frequency_unit)
            out[f"log_power_{name}"] = jnp.mean(jnp.log10(band_power(f, p, b) / total))
        return out

    return features


def _default_peak_band(model, peak_band, top, unit):
    if peak_band is not None:
        return check_band("peak_band", peak_band, top, unit.frequency_unit)
    lo, hi = model.rhythm_band or (0.0, top)
    return lo, min(hi, top)


def fc_features(
    noise: AbstractNoise,
    *,
    method: str = "linear",
    t1: float = 600.0,
    dt: float = 0.05,
    save_every: int = 20,
    y_guess: Any = None,
) -> Callable:
    """A feature function `(model, key) -> {name: value}` for networks: the mean FC and its
    spread across region pairs.

    Args:
        noise: the driving noise.
        method: `"linear"` (Lyapunov covariance at the equilibrium near `y_guess`) or
            `"simulation"`.
        t1, dt, save_every: simulation settings (model time unit).
        y_guess: a state near the equilibrium (linear method).
    """
    _check_method(method)

    def features(model, key):
        if method == "linear":
            y0 = model.initial_state() if y_guess is None else y_guess
            fc = linear_fc(model, noise, y_star=equilibrium(model, y0))
        else:
            sol = simulate(
                model,
                t1=t1,
                dt=dt,
                save_every=save_every,
                noise=noise,
                key=key,
                save_state=False,
                throw=False,
            )
            fc = functional_connectivity(sol.observed)
        i, j = np.triu_indices(fc.shape[0], 1)
        return {"mean_fc": jnp.mean(fc[i, j]), "std_fc": jnp.std(fc[i, j])}

    return features


@dataclasses.dataclass
class SensitivityResult:
    """Result of `sensitivity`.

    Attributes:
        feature_names, param_names: row and column labels.
        features: feature values at the parameters.
        params: parameter values.
        jacobian: $\\partial F_i / \\partial \\theta_j$, shape `(n_features, n_params)` (mean over
            noise keys).
        elasticity: $(\\partial F_i/\\partial\\theta_j)(\\theta_j / F_i)$: the % change of a
        feature per
            % change of a parameter.
        jacobian_std: spread of the Jacobian across noise keys (0 with one key).
        gradient_check: max relative difference between autodiff and central differences per
            parameter (None if not checked).
    """

    feature_names: tuple[str, ...]
    param_names: tuple[str, ...]
    features: np.ndarray
    params: np.ndarray
    jacobian: np.ndarray
    elasticity: np.ndarray
    jacobian_std: np.ndarray
    gradient_check: np.ndarray | None

    @property
    def health(self) -> np.ndarray:
        """Coefficient of variation of each gradient across noise keys (> 0.5: the gradient is
        dominated by noise, typical of oscillatory or chaotic regimes; use longer windows,
        averaged statistics or the linearised spectrum)."""
        return self.jacobian_std / np.maximum(np.abs(self.jacobian), 1e-300)

    def ranking(self) -> list[tuple[str, float]]:
        """Parameters ranked by their root-mean-square elasticity over the features."""
        score = np.sqrt(np.nanmean(self.elasticity**2, axis=0))
        order = np.argsort(-score)
        return [(self.param_names[k], float(score[k])) for k in order]

    def table(self) -> str:
        """A text table of elasticities, parameters ranked by influence."""
        order = [self.param_names.index(n) for n, _ in self.ranking()]
        width = max(len(n) for n in self.feature_names) + 2
        head = " " * width + "".join(f"{self.param_names[k]:>14}" for k in order)
        rows = [head]
        for i, name in enumerate(self.feature_names):
            rows.append(
                f"{name:<{width}}" + "".join(f"{self.elasticity[i, k]:>14.4g}" for k in order)
            )
        return "\n".join(rows)

    def plot(self, ax=None):
        """Heat map of the elasticities (features x parameters, ranked)."""
        import matplotlib.pyplot as plt

        order = [self.param_names.index(n) for n, _ in self.ranking()]
        E = self.elasticity[:, order]
        ax = (
            plt.subplots(figsize=(1.2 * len(order) + 3, 0.5 * len(self.feature_names) + 2))[1]
            if ax is None
            else ax
        )
        lim = np.nanmax(np.abs(E)) or 1.0
        im = ax.imshow(E, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
        ax.set_xticks(range(len(order)))
        ax.set_xticklabels([self.param_names[k] for k in order], rotation=45, ha="right")
        ax.set_yticks(range(len(self.feature_names)))
        ax.set_yticklabels(self.feature_names)
        for i in range(E.shape[0]):
            for j in range(E.shape[1]):
                ax.text(j, i, f"{E[i, j]:.2g}", ha="center", va="center", fontsize=7)
        ax.figure.colorbar(im, ax=ax, label="elasticity")
        return ax


def sensitivity(
    model,
    features: Callable,
    params: Callable,
    *,
    names: Sequence[str] | None = None,
    key: Any = None,
    n_keys: int = 1,
    check: bool = False,
    rel_step: float = 1e-4,
) -> SensitivityResult:
    """Jacobian of features with respect to scalar parameters, and normalised elasticities.

    Args:
        model: a model or network.
        features: `(model, key) -> dict of scalars` (e.g. `spectral_features(...)`,
            `fc_features(...)`, or your own).
        params: selector of scalar leaves, e.g. `lambda m: (m.A, m.B, m.p)`.
        names: parameter names (default `param_0`, ...).
        key: PRNG key for the features' noise (default `jax.random.key(0)`).
        n_keys: noise realisations: the Jacobian is their mean and `jacobian_std` their spread.
        check: compare with central differences (same keys) per parameter.
        rel_step: relative step of the central differences.
    """
    leaves = params(model)
    leaves = tuple(leaves) if isinstance(leaves, (tuple, list)) else (leaves,)
    if any(jnp.ndim(x) != 0 for x in leaves):
        raise ValueError(
            "sensitivity() takes scalar parameters; select regional ones element by element."
        )
    names = tuple(names) if names is not None else tuple(f"param_{i}" for i in range(len(leaves)))
    theta = jnp.stack([jnp.asarray(x, dtype=jnp.result_type(float)) for x in leaves])
    where = lambda m: tuple(params(m)) if isinstance(params(m), (tuple, list)) else (params(m),)
    key = jr.key(0) if key is None else key
    keys = jr.split(key, n_keys)
    feat_names = tuple(features(model, keys[0]).keys())

    def F(th, k):
        m = eqx.tree_at(where, model, tuple(th[i] for i in range(len(leaves))))
        out = features(m, k)
        return jnp.stack([out[nm] for nm in feat_names])

    values = np.asarray(jnp.mean(jax.vmap(lambda k: F(theta, k))(keys), axis=0))
    if not np.all(np.isfinite(values)):
        bad = [nm for nm, v in zip(feat_names, values, strict=True) if not np.isfinite(v)]
        raise ValueError(
            f"The features {bad} are NaN or inf at these parameters (no "
            "equilibrium found from `y_guess`, or a simulation that blew up); "
            "pass y_guess=analysis.stable_equilibrium(model) or change the "
            "parameters."
        )
    jac_keys = np.asarray(jax.vmap(lambda k: jax.jacfwd(F)(theta, k))(keys))
    jac = jac_keys.mean(axis=0)
    jstd = jac_keys.std(axis=0) if n_keys > 1 else np.zeros_like(jac)
    th = np.asarray(theta)
    elasticity = jac * th[None, :] / np.where(values[:, None] == 0, np.nan, values[:, None])
    gcheck = None
    if check:
        gcheck = np.zeros(len(leaves))
        for j in range(len(leaves)):
            h = rel_step * max(abs(th[j]), 1e-3)
            e = np.zeros(len(leaves))
            e[j] = h
            fd = np.mean(
                [
                    (np.asarray(F(theta + e, k)) - np.asarray(F(theta - e, k))) / (2 * h)
                    for k in keys
                ],
                axis=0,
            )
            scale = np.maximum(np.abs(jac[:, j]), 1e-12 * np.max(np.abs(jac)) + 1e-300)
            gcheck[j] = float(np.max(np.abs(fd - jac[:, j]) / scale))
    return SensitivityResult(feat_names, names, values, th, jac, elasticity, jstd, gcheck)
