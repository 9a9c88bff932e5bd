"""`fit_fc`: regional parameters and effective connectivity fitted to a user's FC in one call.

The network: $\\dot z_i = (\\alpha_i + i\\omega_i) z_i + G\\sum_j C_{ij}(z_j - z_i) + \\eta_i$
(Stuart-Landau nodes below their Hopf bifurcation, diffusive coupling, time in s), effective
weights $C_{ij} = W_{ij} g_{ij}$ (structural weights times a positive gain per existing edge).
Its FC: analytic (`hopf_covariance`, the network linearised at rest) or from simulated BOLD
(`SimulatedBold`: noisy runs through the Balloon-Windkessel model, FC and FCD quantiles).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
from collections.abc import Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from .. import models
from ..analysis._connectivity import fcd, functional_connectivity
from ..analysis._dynamics import stable_equilibrium
from ..analysis._lyapunov import lyapunov_covariance
from ..coupling import Diffusive
from ..models._base import AbstractModel
from ..network import Network
from ..noise import Additive
from ..observation import BalloonWindkessel, bold
from ..units import TimeUnit
from ._fit import FitResult, fit
from ._methods import Linear, Simulated
from ._objectives import FCObjective, _corr, _upper
from ._selectors import reject_mixed
from ._targets import FCTarget
from ._transforms import AbstractTransform, Bounded, Identity, Positive


# Default bounds of fitted node parameters: alpha below the Hopf bifurcation (where the
# analytic FC holds) [1/s]; omega inside the 0.01-0.1 Hz band of resting BOLD [rad/s].
BOUNDS = {"alpha": (-1.0, -1e-3), "omega": (2 * math.pi * 0.01, 2 * math.pi * 0.1)}


class EdgeGains(AbstractTransform):
    """Effective weights from unconstrained log-gains $u$: $C = W \\odot e^{u - \\bar u}$ on the
    existing edges ($W_{ij} > 0$), 0 elsewhere. The log-gains are centred (mean 0 over the
    edges: a geometric-mean gain of 1), so that G alone carries the overall scale.

    Args:
        structural: the structural weights $W$ as the network holds them, shape `(n, n)`.
        symmetric: one gain per undirected edge, from $(u + u^T)/2$.
    """

    structural: Float[Array, "n n"]
    symmetric: bool = eqx.field(static=True)

    @property
    def mask(self):
        return self.structural > 0

    def forward(self, u):
        u = jnp.where(self.mask, 0.5 * (u + u.T) if self.symmetric else u, 0.0)
        u = jnp.where(self.mask, u - jnp.sum(u) / jnp.sum(self.mask), 0.0)
        return self.structural * jnp.exp(u)

    def inverse(self, theta):
        """The log-gains $\\log(C_{ij} / W_{ij})$ of effective weights (0 off the edges)."""
        m = self.mask
        return jnp.where(
            m, jnp.log(jnp.where(m, theta, 1.0) / jnp.where(m, self.structural, 1.0)), 0
        )


def hopf_covariance(
    net: Network, sigma: Float[ArrayLike, ""], *, symmetric: bool | None = None
) -> Float[Array, "n n"]:
    """Covariance of $x = \\mathrm{Re}\\,z$ in a Stuart-Landau network with diffusive coupling,
    linearised at rest and driven by `noise.Additive(sigma)` ($\\sigma^2/2$ per real part):
    the closed form $-\\sigma^2 S^{-1}/4$ when omega is shared and the weights `symmetric`
    (None: checked when concrete, else False), else the Lyapunov equation of the real $2n$
    system."""
    W, node = net.weights, net.node
    n = W.shape[0]
    S = jnp.diag(jnp.broadcast_to(node.alpha, (n,))) - net.G * (jnp.diag(W.sum(1)) - W)
    if symmetric is None:
        symmetric = not isinstance(W, jax.core.Tracer) and bool(np.allclose(W, W.T))
    if jnp.ndim(node.omega) == 0 and symmetric:
        return -(sigma**2 / 4) * jnp.linalg.inv(S)
    Om = jnp.diag(jnp.broadcast_to(node.omega, (n,)).astype(S.dtype))
    J = jnp.block([[S, -Om], [Om, S]])
    return lyapunov_covariance(J, (sigma**2 / 2) * jnp.eye(2 * n, dtype=S.dtype))[:n, :n]


def _fc_loss(fc, target, mse_weight):
    r = _corr(_upper(fc), _upper(target))
    mse = jnp.mean((_upper(fc) - _upper(target)) ** 2)
    return 1.0 - r + mse_weight * mse, {"fc_correlation": r, "fc_mse": mse}


class HopfFC(eqx.Module):
    """Objective $1 - r$ (+ `mse_weight` times the mean squared FC difference) with the FC of
    `hopf_covariance` (no Jacobian by autodiff, no equilibrium search); `symmetric`: the
    weights stay symmetric (symmetric gains). `report` and `plot` as `FCObjective`."""

    target: FCTarget
    sigma: Float[Array, ""]
    symmetric: bool = eqx.field(static=True)
    mse_weight: float = eqx.field(default=0.0, static=True)

    def fc(self, model: Network, key: PRNGKeyArray | None = None):
        del key
        C = hopf_covariance(model, self.sigma, symmetric=self.symmetric)
        d = jnp.sqrt(jnp.diagonal(C))
        return C / (d[:, None] * d[None, :]), None

    def __call__(self, model: Network, key: PRNGKeyArray | None = None):
        return _fc_loss(self.fc(model)[0], self.target.fc, self.mse_weight)

    report = FCObjective.report
    plot = FCObjective.plot


class SimulatedBold(eqx.Module):
    """The FC of simulated BOLD: `simulated.signals` (noisy runs of the model's observable,
    time in s), each through `observation.bold` (Balloon-Windkessel `balloon`, Euler steps of
    at most `bold_dt` s; its fastest rate is ~3 /s) sampled every `tr` s, the first
    `discard_s` s of BOLD dropped; the FC averaged over the runs. With `fcd_target` (quantiles
    from `fit.fcd_quantiles` of recorded BOLD, windows of `fcd_window` TRs every `fcd_step`)
    the objective adds `fcd_weight` times the mean squared difference of the quantiles of the
    first run's FCD."""

    simulated: Simulated
    tr: float = eqx.field(default=0.72, static=True)
    balloon: BalloonWindkessel = eqx.field(default_factory=BalloonWindkessel)
    discard_s: float = eqx.field(default=15.0, static=True)
    bold_dt: float = eqx.field(default=0.05, static=True)
    fcd_target: Float[Array, " n_quantiles"] | None = None
    fcd_weight: float = eqx.field(default=0.0, static=True)
    fcd_window: int = eqx.field(default=30, static=True)
    fcd_step: int = eqx.field(default=5, static=True)

    def __check_init__(self):
        if self.fcd_weight and self.fcd_target is None:
            raise ValueError("SimulatedBold: `fcd_weight` > 0 needs `fcd_target` quantiles.")

    def signals(self, model: AbstractModel, noise: Additive, key: PRNGKeyArray | None):
        """BOLD of each run, shape `(n_keys, n_tr, n_regions)`."""
        x = self.simulated.signals(model, noise, key)
        dt = 1.0 / self.simulated.sampling_rate(model)
        sub = max(1, math.ceil(dt / self.bold_dt - 1e-9))
        y = jax.vmap(lambda xi: bold(xi, dt, self.tr, self.balloon, sub)[1])(x)
        skip = math.ceil(self.discard_s / self.tr)
        if y.shape[1] - skip < max(10, self.fcd_window if self.fcd_weight else 0):
            raise ValueError(
                f"The simulated BOLD has {y.shape[1]} samples (TR {self.tr} s), too few after "
                f"the first {self.discard_s} s: lengthen the run (Simulated(t1=...))."
            )
        return y[:, skip:]

    @eqx.filter_jit
    def fc(self, model: AbstractModel, noise: Additive, key: PRNGKeyArray | None = None):
        y = self.signals(model, noise, key)
        return jnp.mean(jax.vmap(functional_connectivity)(y), axis=0), y

    def fcd_distance(self, y: Float[Array, "n_keys n_tr n"]) -> Float[Array, ""]:
        q = jnp.linspace(0.05, 0.95, self.fcd_target.shape[0])
        vals = _upper(fcd(y[0], self.fcd_window, self.fcd_step))
        return jnp.mean((jnp.quantile(vals, q) - self.fcd_target) ** 2)


class BoldFC(eqx.Module):
    """Objective through simulated BOLD: as `HopfFC`, with a `SimulatedBold`'s FC (and FCD)."""

    target: FCTarget
    noise: Additive
    method: SimulatedBold
    mse_weight: float = eqx.field(default=0.0, static=True)

    def fc(self, model: AbstractModel, key: PRNGKeyArray | None = None):
        return self.method.fc(model, self.noise, key)

    def __call__(self, model: AbstractModel, key: PRNGKeyArray | None = None):
        fc, y = self.fc(model, key)
        loss, aux = _fc_loss(fc, self.target.fc, self.mse_weight)
        if self.method.fcd_weight:
            aux["fcd_distance"] = self.method.fcd_distance(y)
            loss = loss + self.method.fcd_weight * aux["fcd_distance"]
        return loss, aux

    report = FCObjective.report
    plot = FCObjective.plot


class GainPenalty(eqx.Module):
    """An FC objective plus `weight` times the mean over the existing edges of the squared
    log-gain $(\\log g_{ij})^2$ of the model's weights: pulls the effective connectivity
    towards the structural weights."""

    objective: Any
    gains: EdgeGains
    weight: Float[Array, ""] = eqx.field(converter=jnp.asarray)

    def __call__(self, model: Network, key: PRNGKeyArray | None = None):
        loss, aux = self.objective(model, key)
        ms = jnp.sum(self.gains.inverse(model.weights) ** 2) / jnp.sum(self.gains.mask)
        aux["log_gain_rms"] = jnp.sqrt(ms)  # aux only: sqrt has no gradient at 0
        return loss + self.weight * ms, aux

    def report(self, model: Network, key: PRNGKeyArray | None = None) -> dict[str, Any]:
        lg = np.asarray(self.gains.inverse(model.weights))[np.asarray(self.gains.mask)]
        out = self.objective.report(model, key)
        return {**out, "log_gain_rms": float(np.sqrt(np.mean(lg**2)))}

    def plot(self, model: Network, key: PRNGKeyArray | None = None, ax=None):
        return self.objective.plot(model, key, ax=ax)


def fit_fc(
    fc: Float[ArrayLike, "n n"] | FCTarget,
    weights: Float[ArrayLike, "n n"],
    lengths: Float[ArrayLike, "n n"] | None = None,
    *,
    node: AbstractModel | None = None,
    heterogeneity: Sequence[str] | str = ("alpha",),
    shared: Sequence[str] | str = ("alpha",),
    edge_gains: bool = True,
    gain_weight: float = 0.01,
    symmetric_gains: bool = True,
    G: float = 0.5,
    fit_G: bool | None = None,
    noise_sigma: float = 0.02,
    mse_weight: float = 0.0,
    method: Linear | Simulated | SimulatedBold | str = "linear",
    speed: float | None = None,
    bounds: dict[str, tuple[float, float]] | None = None,
    steps: int = 300,
    learning_rate: float = 0.05,
    n_starts: int = 1,
    checkpoint: str | os.PathLike | None = None,
    progress: bool = True,
    key: PRNGKeyArray | None = None,
    **fit_options,
) -> FitResult:
    """Fit regional node parameters, effective connectivity and the global coupling G of a
    network on `weights` to an FC matrix, by gradient (Adam, through `fit`).

    Fitted: each node parameter in `heterogeneity`, one value per region; each one in
    `shared` (and not regional) as one value; with `edge_gains`, a positive gain per existing
    edge ($W_{ij} > 0$), $C_{ij} = W_{ij} g_{ij}$, pulled towards the structural weights by
    adding `gain_weight` times the mean over the edges of $(\\log g_{ij})^2$ to the loss
    $1 - r$ (r: correlation of the upper triangles of the model and target FC); and G (> 0)
    where it is identifiable (a `MixedNetwork`: `fit.fit` with an `FCObjective`).

    Identifiability. The log-gains are centred (geometric-mean gain 1): G alone carries the
    overall coupling scale. The analytic (zero-lag) FC does not change when every rate (G,
    alpha, omega) is scaled by one factor, and with a shared omega and symmetric weights it
    does not depend on omega: there G and alpha are not separately identifiable, so by default
    (`fit_G=None`) G stays at its initial value in the analytic path (alpha carries the ratio
    of coupling to decay) and is fitted in the simulated-BOLD path (the haemodynamics and the
    TR set a time scale). A correlation matrix does not fix the regional variances either:
    regional alpha and the edge gains together are identifiable only up to a node-wise
    rescaling $g_{ij} \\to k_i k_j g_{ij}$ that alpha absorbs; the gain penalty picks the
    solution nearest the structural weights. Each alone (G known) is recoverable.

    Args:
        fc: target FC, shape `(n, n)`, symmetric (or an `FCTarget`).
        weights: structural connectome, shape `(n, n)`, >= 0, diagonal ignored; scaled to a
            largest eigenvalue of 1 before G multiplies it.
        lengths: fibre lengths [mm], shape `(n, n)`: delays `lengths / speed` (`speed` in m/s)
            in simulations (dt below the shortest delay); the analytic FC ignores them.
        node: the node (default `models.StuartLandau(alpha=-0.05, omega=2 pi 0.05,
            gamma=1)`, time in s: the linearised Hopf model of BOLD FC). Another node is
            linearised by autodiff (`FCObjective` with `Linear`), much slower.
        heterogeneity: node parameters fitted per region: `("alpha",)`, `("alpha", "omega")`
            or `()`.
        shared: node parameters fitted as one shared value (unless regional).
        edge_gains, gain_weight, symmetric_gains: fit the edge gains; the weight of their
            penalty (its choice: benchmarks/bench_fc_heterogeneous.py); one gain per edge pair.
        G: (initial) global coupling; fit_G: fit it (default: see Identifiability).
        noise_sigma: the `noise.Additive` amplitude.
        mse_weight: weight of the mean squared FC difference added to the loss.
        method: `"linear"` (analytic FC) or the FC of simulated BOLD:
            `fit.SimulatedBold(fit.Simulated(t1=..., dt=..., save_every=..., n_keys=...),
            tr=..., fcd_target=..., fcd_weight=...)` (a bare `fit.Simulated` gets TR 0.72 s).
        bounds: `{name: (low, high)}` of node parameters (default `BOUNDS`: alpha in
            (-1, -1e-3) 1/s, below the bifurcation; omega in 2 pi (0.01, 0.1) rad/s); a
            parameter without bounds is unconstrained.
        steps, learning_rate, n_starts, checkpoint, progress, key: as for `fit`;
            `**fit_options`: further keyword arguments of `fit` (e.g. `optimizer`, default
            `optax.adam(learning_rate)`; `clip_norm`).

    Returns:
        A `FitResult`: `params` G, the node parameters and, with `edge_gains`, the effective
        `weights` and `edge_gain` (`(n, n)`, 1 off the edges); `goodness["fc_correlation"]` is
        the r on the target (train r), `goodness["model_fc"]` the model's FC.

    Raises:
        ValueError: `fc` not square or not symmetric; `weights` or `lengths` not `(n, n)`;
            a name in `heterogeneity` or `shared` that is not a fittable node parameter.
    """
    target = fc if isinstance(fc, FCTarget) else FCTarget(fc)
    W = _checked_weights(weights, lengths, target.fc.shape[0])
    node = models.StuartLandau(alpha=-0.05, omega=0.1 * math.pi) if node is None else node
    method = SimulatedBold(method) if isinstance(method, Simulated) else method
    heterogeneity, shared = _checked_names(node, heterogeneity, shared, method)
    net = _network(node, W, lengths, speed, G, heterogeneity, method)
    gains = EdgeGains(net.weights, symmetric_gains and bool(np.allclose(W, W.T)))
    objective = _objective(net, target, Additive(noise_sigma), method, gains.symmetric, mse_weight)
    if edge_gains:
        objective = GainPenalty(objective, gains, gain_weight)
    fit_G = isinstance(method, SimulatedBold) if fit_G is None else fit_G
    names = ("G",) * bool(fit_G) + (*shared, *heterogeneity) + ("weights",) * edge_gains
    bounds = {**BOUNDS, **(bounds or {}), "G": Positive(G), "weights": gains}
    transforms = tuple(_transform(bounds.get(k)) for k in names)
    fit_options.setdefault("optimizer", optax.adam(learning_rate))
    run = dict(steps=steps, n_starts=n_starts, checkpoint=checkpoint, progress=progress, key=key)
    result = fit(
        net, objective, params=_selector(names), transforms=transforms, names=names,
        **run, **fit_options,
    )  # fmt: skip
    if edge_gains:
        params = dict(result.params, edge_gain=np.exp(gains.inverse(result.params["weights"])))
        result = dataclasses.replace(result, params=params)
    return result


def _transform(b):
    return b if isinstance(b, AbstractTransform) else Identity() if b is None else Bounded(*b)


def _checked_weights(weights, lengths, n):
    W = np.array(weights, dtype=float)
    for name, m in (("weights", W), ("lengths", lengths)):
        if m is not None and np.shape(m) != (n, n):
            raise ValueError(
                f"`{name}` has shape {np.shape(m)} but `fc` is ({n}, {n}): give one row and "
                "column per region of the FC, in the same order."
            )
    if not np.all(np.isfinite(W)) or np.any(W < 0):
        raise ValueError("`weights` must be finite and >= 0.")
    np.fill_diagonal(W, 0.0)
    if not np.any(W > 0):
        raise ValueError("`weights` has no edge (no positive off-diagonal entry).")
    return W


def _checked_names(node, heterogeneity, shared, method):
    reject_mixed(node, "fit_fc")  # before reading a node's fields
    het = (heterogeneity,) if isinstance(heterogeneity, str) else tuple(heterogeneity)
    shared = (shared,) if isinstance(shared, str) else tuple(shared)
    known = [k for k, v in vars(node).items() if eqx.is_inexact_array(v)]
    if isinstance(node, models.StuartLandau) and not isinstance(method, SimulatedBold):
        known = ["alpha", "omega"]  # the FC at rest depends on these only
    for arg, names in (("heterogeneity", het), ("shared", shared)):
        bad = [k for k in names if k not in known]
        if bad:
            raise ValueError(
                f"`{arg}` names {bad}, not a fittable parameter of {type(node).__name__} "
                f"here; choose from {known}."
            )
    return het, tuple(k for k in shared if k not in het)


def _network(node, W, lengths, speed, G, heterogeneity, method):
    n = W.shape[0]
    for k in heterogeneity:
        node = eqx.tree_at(lambda m, k=k: getattr(m, k), node, jnp.full(n, getattr(node, k)))
    if lengths is None or not isinstance(method, SimulatedBold):
        return Network(node, W, G=G)
    if speed is None:
        raise ValueError("`lengths` with a simulated method needs a conduction `speed` [m/s].")
    L = np.asarray(lengths, dtype=float)
    if TimeUnit.of(node).seconds is None:  # time in s here: mm / (m/s) = ms
        return Network(node, W, G=G, delays=L / speed / 1000.0)
    return Network(node, W, G=G, lengths=L, speed=speed)


def _objective(net, target, noise, method, symmetric, mse_weight):
    if isinstance(method, SimulatedBold):
        return BoldFC(target, noise, method, mse_weight)
    if not (method == "linear" or isinstance(method, Linear)):
        raise ValueError(
            "`method` must be 'linear', fit.Linear(), fit.Simulated(...) or "
            f"fit.SimulatedBold(...); got {method!r}."
        )
    if isinstance(net.node, models.StuartLandau) and isinstance(net.coupling, Diffusive):
        return HopfFC(target, jnp.asarray(noise.sigma), symmetric, mse_weight)
    mean = jax.tree.map(lambda x: jnp.mean(x) if eqx.is_inexact_array(x) else x, net.node)
    y = jnp.broadcast_to(stable_equilibrium(mean), net.initial_state().shape)
    return FCObjective(target, noise, method=Linear(y_guess=y), mse_weight=mse_weight)


@functools.cache  # one selector per names, so that `fit` sees the same function each call
def _selector(names):
    return lambda m: tuple(getattr(m if k in ("G", "weights") else m.node, k) for k in names)
