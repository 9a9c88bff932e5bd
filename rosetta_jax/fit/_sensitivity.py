"""Gradient-based sensitivity analysis: how features (spectral peak, band powers, FC) change
with parameters, with a finite-difference check and a noise-robustness diagnostic."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray, PyTree

from .. import features as F
from ..noise import AbstractNoise
from ..units import TimeUnit
from ._methods import Linear, Simulated, as_method, moved_settings


# `(model, key) -> {feature name: scalar value}`.
FeatureFunction = Callable[[PyTree, PRNGKeyArray | None], dict[str, Float[Array, " *dims"]]]


def feature_function(
    features: Any,
    noise: AbstractNoise,
    *,
    method: Any = None,
    bands: dict[str, tuple[float, float]] | None = None,
) -> FeatureFunction:
    """A feature function `(model, key) -> {name: value}` from feature objects or names
    (`rosetta_jax.features`), computed from a simulation or the linearised model.

    Args:
        features: feature objects or names (as for `sweep`).
        noise: the driving noise.
        method: `fit.Simulated(...)` (default: one run of the unit's default length; features
            read its signals) or `fit.Linear(...)` (the analytic spectrum or FC at the
            equilibrium near `y_guess`).
        bands: extra named bands for `power_<name>` features.
    """
    method = Simulated() if method is None else as_method(method)
    feats = F.from_names(features, bands)
    spectral = any(isinstance(f, (F.PeakFrequency, F.BandPower, F.PSD)) for f in feats)
    if isinstance(method, Linear):
        needs_x = [f.name for f in feats if isinstance(f, _SIGNAL_FEATURES)]
        if needs_x:
            raise ValueError(
                f"The features {needs_x} need simulated signals: use method=fit.Simulated(...)."
            )

    def features_of(model, key):
        act, top = method.activity(model, noise, key, spectral=spectral)
        if isinstance(method, Linear) and any(isinstance(f, _FC_FEATURES) for f in feats):
            act = eqx.tree_at(
                lambda a: a.fc_matrix, act, method.fc(model, noise)[0], is_leaf=lambda x: x is None
            )
        return F.compute(F.bind_all(feats, model, top), act)

    return features_of


_SIGNAL_FEATURES = (F.FCD, F.OrderParameter, F.Mean, F.Std, F.Custom)
_FC_FEATURES = (F.FC, F.FCStatistic, F.FCSCCorrelation)


def spectral_features(
    noise: AbstractNoise,
    *,
    method: Any = None,
    bands: dict[str, tuple[float, float]] | None = None,
    peak_band: tuple[float, float] | None = None,
    **moved,
) -> FeatureFunction:
    """A feature function `(model, key) -> {name: value}`: the peak frequency and the log10
    relative power of each band, of the channel-mean spectrum.

    Frequencies follow the model's time unit (`rosetta_jax.units`): Hz for models in s or ms,
    cycles per time unit for dimensionless ones.

    Args:
        noise: the driving noise.
        method: `fit.Simulated(...)` (Welch spectrum of one run; the default) or
            `fit.Linear(...)` (analytic spectrum at the equilibrium near its `y_guess`, on its
            `freqs` grid).
        bands: named bands `{name: (low, high)}` (default, for models in s or ms: delta 1-4,
            theta 4-8, alpha 8-13, beta 13-30, gamma 30-80 Hz, those below the top of the
            spectrum; none for dimensionless models). A band beyond the top of the spectrum
            (the Nyquist frequency, or the linear grid's end) is an error.
        peak_band: where to look for the spectral peak (default the model's `rhythm_band`).
    """
    moved_settings("spectral_features", moved)
    method = Simulated() if method is None else as_method(method)

    def features_of(model, key):
        act, top = method.activity(model, noise, key)
        unit = TimeUnit.of(model)
        named = (
            dict(bands)
            if bands is not None
            else {k: b for k, b in unit.bands().items() if b[1] <= top}
        )
        feats = [F.PeakFrequency(peak_band)] + [
            F.BandPower(b, log=True, label=f"log_power_{k}") for k, b in named.items()
        ]
        return F.compute(F.bind_all(feats, model, top), act)

    return features_of


def fc_features(noise: AbstractNoise, *, method: Any = None, **moved) -> FeatureFunction:
    """A feature function `(model, key) -> {name: value}` for networks: the mean FC and its
    spread across region pairs.

    Args:
        noise: the driving noise.
        method: `fit.Linear(...)` (Lyapunov covariance at the equilibrium near its `y_guess`;
            the default) or `fit.Simulated(...)`.
    """
    moved_settings("fc_features", moved)
    return feature_function(
        ["mean_fc", "std_fc"], noise, method=Linear() if method is None else method
    )


class SensitivityResult(eqx.Module):
    """Result of `sensitivity`.

    Attributes:
        feature_names, param_names: row and column labels.
        features: feature values at the parameters (mean over noise keys), shape
            `(n_features,)`.
        params: parameter values, shape `(n_params,)`.
        jacobian: $\\partial F_i / \\partial \\theta_j$, shape `(n_features, n_params)` (mean over
            noise keys).
        elasticity: $(\\partial F_i/\\partial\\theta_j)(\\theta_j / F_i)$: the % change of a
            feature per % change of a parameter, shape `(n_features, n_params)`.
        jacobian_std: spread of the Jacobian across noise keys (0 with one key).
        gradient_check: max relative difference between autodiff and central differences per
            parameter, shape `(n_params,)` (None if not checked).
    """

    feature_names: tuple[str, ...]
    param_names: tuple[str, ...]
    features: Float[np.ndarray, " n_features"]
    params: Float[np.ndarray, " n_params"]
    jacobian: Float[np.ndarray, "n_features n_params"]
    elasticity: Float[np.ndarray, "n_features n_params"]
    jacobian_std: Float[np.ndarray, "n_features n_params"]
    gradient_check: Float[np.ndarray, " n_params"] | None

    @property
    def health(self) -> Float[np.ndarray, "n_features n_params"]:
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
    model: PyTree,
    features: FeatureFunction,
    params: Callable[[PyTree], Any],
    *,
    names: Sequence[str] | None = None,
    key: PRNGKeyArray | None = None,
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
            "pass fit.Linear(y_guess=analysis.stable_equilibrium(model)) or change the "
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
