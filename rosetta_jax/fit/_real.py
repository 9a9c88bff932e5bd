"""One-call fits of the bundled real data (MEG spectra of 68 DK regions, HCP FC of 80 AAL2
regions)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import PRNGKeyArray

from .. import data as _data, models
from ..analysis._dynamics import stable_equilibrium
from ..models._base import AbstractModel
from ..network import Network
from ..noise import Additive
from ._fit import FitResult, fit
from ._methods import Linear
from ._objectives import FCObjective, SpectrumObjective
from ._targets import FCTarget, SpectrumTarget
from ._transforms import AbstractTransform, Bounded, Positive


def _spectrum_objective(target, noise_sigma, y_guess, newton_iterations, min_damping, **kw):
    """The analytic-spectrum objective of the MEG fits: the model linearised at the stable
    equilibrium near `y_guess`, driven by white noise of amplitude `noise_sigma`; `kw`: band,
    peak_weight (and regional)."""
    method = Linear(y_guess=y_guess, newton_iterations=newton_iterations, min_damping=min_damping)
    return SpectrumObjective(target, Additive(noise_sigma), method=method, **kw)


def _adam_fit(model, objective, fitted, learning_rate, run) -> FitResult:
    """`fit` with Adam at `learning_rate`, the optimiser of the one-call fits. `fitted`: the
    selector, names and transforms of the fitted leaves; `run`: steps, checkpoint, progress,
    key (and n_starts)."""
    params, names, transforms = fitted
    return fit(
        model,
        objective,
        params=params,
        transforms=transforms,
        names=names,
        optimizer=optax.adam(learning_rate),
        **run,
    )


def fit_regional_spectra(
    node: AbstractModel | None = None,
    *,
    params: Sequence[str] | None = None,
    transforms: Sequence[AbstractTransform] | None = None,
    n_starts: int = 2,
    steps: int | None = None,
    learning_rate: float = 0.05,
    checkpoint: str | os.PathLike | None = None,
    progress: bool = True,
    key: PRNGKeyArray | None = None,
    **settings: Any,
) -> FitResult:
    """Fit one node per region to the bundled group-mean MEG spectra of the 68 DK regions:
    `fit_spectra` on the bundled data (`data.load_meg_spectra()`).

    Each region gets its own parameters (68 values each), fitted independently through the
    analytic spectrum of the node linearised at its stable focus (the noise-driven rhythm),
    seen through the aperiodic observation model (`fit.Observed`). Default: `JansenRit(p=20)`
    (its upper-branch equilibrium is a stable alpha focus) with its gains A, B, connectivity
    C, rate constants a, b and input p fitted in their physiological ranges
    (`fit.rung_parameters`).

    Args:
        node: the node model (default `models.JansenRit(p=20.0)`), or several generators.
        params, transforms: the fitted fields (names) and their transforms (default: the
            rung's, `fit.rung_parameters(node)`).
        n_starts: starting points per region.
        steps, learning_rate, checkpoint, progress, key: as for `fit_spectra`.
        **settings: `fit_spectra`'s other settings (aperiodic, dispersion, lowpass, band,
            peak_weight, min_damping, solver, ...); `dispersion` is off by default here
            (it multiplies the cost of a six-state node's spectrum by five).

    Returns:
        A `FitResult`: `params` holds 68 values per parameter, `goodness` the R^2 of the
        log-PSD and the alpha-peak error [Hz] per region.
    """
    from ._spectra_fit import fit_spectra

    target = SpectrumTarget.from_data(_data.load_meg_spectra())
    settings.setdefault("dispersion", False)
    return fit_spectra(
        target,
        models.JansenRit(p=20.0) if node is None else node,
        params=params,
        transforms=transforms,
        starts=n_starts,
        steps=steps,
        learning_rate=learning_rate,
        checkpoint=checkpoint,
        progress=progress,
        key=key,
        **settings,
    )


def fit_connectome_fc(
    node: AbstractModel | None = None,
    *,
    G: float = 0.5,
    noise_sigma: float = 0.02,
    steps: int = 300,
    learning_rate: float = 0.05,
    n_starts: int = 1,
    checkpoint: str | os.PathLike | None = None,
    progress: bool = True,
    key: PRNGKeyArray | None = None,
) -> FitResult:
    """Fit the global coupling G and the local bifurcation parameter of a network on the
    bundled 80-region HCP connectome to its empirical (BOLD) FC.

    The default node is the Stuart-Landau oscillator below its Hopf bifurcation (the
    "linearised Hopf" model of fMRI FC: alpha < 0, omega = 2 pi 0.05 rad/s); FC is the
    analytic correlation from the Lyapunov equation of the network linearised at rest. G is
    kept positive and alpha inside (-1, -1e-3) (below the bifurcation, where the analytic FC
    holds).

    Returns:
        A `FitResult` with `params` G and alpha and `goodness["fc_correlation"]`.
    """
    aal = _data.load_aal80()
    node = (
        models.StuartLandau(alpha=-0.05, omega=2 * np.pi * 0.05, gamma=1.0)
        if node is None
        else node
    )
    W = aal.weights / aal.weights.max()
    net = Network(node, W, G=G, normalize="max_eigenvalue")
    objective = FCObjective(
        FCTarget(aal.fc, aal.labels),
        Additive(noise_sigma),
        method=Linear(y_guess=jnp.zeros_like(net.initial_state())),
    )
    fitted = (lambda m: (m.G, m.node.alpha), ("G", "alpha"), (Positive(1.0), Bounded(-1.0, -1e-3)))
    run = dict(steps=steps, n_starts=n_starts, checkpoint=checkpoint, progress=progress, key=key)
    return _adam_fit(net, objective, fitted, learning_rate, run)


def fit_network_spectra(
    node: AbstractModel | None = None,
    *,
    G: float = 5.0,
    noise_sigma: float = 1.0,
    band: tuple[float, float] = (2.0, 45.0),
    peak_weight: float = 0.05,
    steps: int = 100,
    learning_rate: float = 0.02,
    min_damping: float = 0.03,
    checkpoint: str | os.PathLike | None = None,
    progress: bool = True,
    key: PRNGKeyArray | None = None,
) -> FitResult:
    """Fit a Jansen-Rit network on the bundled 68-region DK connectome jointly to the MEG
    spectra of all regions: the global coupling G and a regional input p (68 values).

    The spectra are the analytic spectra of the coupled network linearised at its stable
    equilibrium (no delays), so the regions influence each other's spectra through G.

    Returns:
        A `FitResult` with `params` G (scalar) and p (68 values).
    """
    dk = _data.load_dk68()
    target = SpectrumTarget.from_data(_data.load_meg_spectra())
    node = models.JansenRit(p=jnp.full(68, 20.0)) if node is None else node
    net = Network(node, dk.weights, G=G)
    # Every region starts at the alpha focus of the average node (a network equilibrium search
    # would also return mixed states, some regions up, others down).
    mean_node = jax.tree.map(lambda x: jnp.mean(x) if eqx.is_inexact_array(x) else x, node)
    y_guess = jnp.broadcast_to(stable_equilibrium(mean_node), net.initial_state().shape)
    objective = _spectrum_objective(
        target, noise_sigma, y_guess, 12, min_damping, band=band, peak_weight=peak_weight
    )
    fitted = (lambda m: (m.G, m.node.p), ("G", "p"), (Positive(1.0), Bounded(-20.0, 110.0)))
    run = dict(steps=steps, checkpoint=checkpoint, progress=progress, key=key)
    return _adam_fit(net, objective, fitted, learning_rate, run)
