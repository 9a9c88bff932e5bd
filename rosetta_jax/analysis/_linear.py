"""Linearised (analytic) spectra at a stable equilibrium: $S(\\omega) = G(\\omega) D G(\\omega)^*$.

For $\\dot u = J u + \\xi$ with white noise of covariance $D$, the cross-spectral density is
$S(\\omega) = G(\\omega) D G(\\omega)^*$ with $G(\\omega) = (i\\omega I - J(\\omega))^{-1}$
(Castaldo et al. 2026, section 2.2.3; $J$ is taken by autodiff, see docs/models.md, errata,
for the sign of the paper's printed $J$). In a
network with conduction delays, each delayed coupling term carries $e^{-i\\omega\\tau_{ij}}$, so
$J(\\omega) = A + \\sum_{ij} K_{ij} e^{-i\\omega\\tau_{ij}}$. Everything is differentiable, so a
fit can
use the analytic spectrum as a fast objective.
"""

from __future__ import annotations

import math
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Complex, Float, PyTree

from .._network_base import AbstractNetwork
from ..models._base import AbstractModel
from ..noise import AbstractNoise, Additive, OrnsteinUhlenbeck
from ..units import TimeUnit
from ._dynamics import stable_equilibrium
from ._lyapunov import lyapunov_covariance


_State = Float[ArrayLike, "*state_shape"]  # a state shaped like `model.initial_state()`


class LinearSpectrum(eqx.Module):
    """Analytic spectra of the observable (or of the sensors, with a lead field).

    Attributes:
        freqs: frequencies [Hz, or cycles per unit time for dimensionless models].
        psd: one-sided power spectral density per unit frequency, shape `(n_freqs, n_channels)`
            (comparable to `welch(..., scaling="density")` of a simulation).
        csd: the one-sided cross-spectral densities, shape `(n_freqs, n_ch, n_ch)`, when asked
            (else None).
        state: the equilibrium the system was linearised at.
    """

    freqs: Float[Array, " n_freqs"]
    psd: Float[Array, "n_freqs n_channels"]
    csd: Complex[Array, "n_freqs n_channels n_channels"] | None
    state: Float[Array, "*state_shape"]


def _as_real(z: Array) -> Array:
    """Complex scalars as trailing [real, imag] components (real input: one component)."""
    if jnp.iscomplexobj(z):
        return jnp.stack([jnp.real(z), jnp.imag(z)], axis=-1)
    return z[..., None]


def _complex_block(w: Array, k: int) -> Array:
    """The real (k, k) matrix of multiplication by w (k = 2) or w itself (k = 1)."""
    if k == 1:
        return jnp.real(w)[..., None, None]
    wr, wi = jnp.real(w), jnp.imag(w)
    return jnp.stack([jnp.stack([wr, -wi], -1), jnp.stack([wi, wr], -1)], -2)


def _noise_covariance(model, y, args, noise):
    """The noise covariance rate $D(\\omega)$ (N x N), as a function of the angular frequency.

    White noise enters through the model's declared input gain $g$: $D = g \\Sigma g^T$ with
    $\\Sigma$ the noise intensities ($\\sigma^2$, halved per part of a complex input), the
    same at every frequency. Ornstein-Uhlenbeck noise is a drive, so it enters through
    $\\partial f/\\partial u$ (inside the sigmoid of the sigmoid-input models), with its
    Lorentzian spectrum; the gains are computed here once, only the weights per frequency."""
    N = y.size
    in_shape = tuple(model.input_shape())
    cplx = model.complex_input
    if isinstance(noise, Additive):
        n_shape = tuple(model.noise_shape())
        B = model.input_gain(y).reshape(N, -1)
        sigma2 = jnp.broadcast_to(_per_input(noise.sigma, n_shape) ** 2, n_shape).reshape(-1)
        D = (B * (sigma2 / 2 if cplx else sigma2)) @ B.T
        return lambda omega: D
    zeros = jnp.zeros(in_shape, dtype=y.dtype)

    def f_drive(xr, xi):
        x = xr + 1j * xi if cplx else xr
        return model.vector_field(0.0, y, x if args is None else args + x).reshape(-1)

    B = jax.jacfwd(lambda x: f_drive(x, zeros))(zeros).reshape(N, -1)
    sigma2 = jnp.broadcast_to(_per_input(noise.sigma, in_shape) ** 2, in_shape).reshape(-1)
    tau = jnp.broadcast_to(_per_input(noise.tau, in_shape), in_shape).reshape(-1)
    if cplx:  # both parts of a complex input, each with half the variance
        Bi = jax.jacfwd(lambda x: f_drive(zeros, x))(zeros).reshape(N, -1)
        B, sigma2, tau = jnp.concatenate([B, Bi], 1), jnp.tile(sigma2 / 2, 2), jnp.tile(tau, 2)

    def at(omega):
        # OU input of stationary variance sigma^2: spectral density 2 sigma^2 tau / (1 + w^2 tau^2).
        return (B * (2 * sigma2 * tau / (1 + (omega * tau) ** 2))) @ B.T

    return at


def _per_input(v, in_shape):
    v = jnp.asarray(v)
    if v.ndim == 1 and len(in_shape) > 1 and v.shape[0] == in_shape[0]:
        return v.reshape(v.shape + (1,) * (len(in_shape) - 1))
    return v


def _network_blocks(net: AbstractNetwork, y, args):
    """A (N x N) with delayed inputs held fixed, and per-edge blocks K_ij (s x s) so that
    J(w) = A + sum_ij K_ij exp(-i w tau_ij)."""
    n, s = y.shape
    e0 = net.efferent(y)
    afferent0 = net._effective_weights() @ e0
    ka = _as_real(e0).shape[-1]

    def fields(yy, aff_real):
        aff = aff_real[..., 0] if ka == 1 else aff_real[..., 0] + 1j * aff_real[..., 1]
        e_now = net.efferent(yy)
        return net._node_fields(0.0, yy, net._input(yy, aff, args, e_now))

    aff_r = _as_real(afferent0)
    A = jax.jacfwd(lambda yy: fields(yy.reshape(n, s), aff_r).reshape(-1))(y.reshape(-1))
    # T_i = d f_i / d afferent_i (s x ka), per node (the afferent of node i only reaches node i).
    dF = jax.jacfwd(lambda a: fields(y, a))(aff_r)  # (n, s, n, ka)
    T = dF[jnp.arange(n), :, jnp.arange(n), :]  # (n, s, ka)
    # c_j = d e_j / d y_j (ka x s).
    dE = jax.jacfwd(lambda yy: _as_real(net.efferent(yy)))(y)  # (n, ka, n, s)
    c = dE[jnp.arange(n), :, jnp.arange(n), :]  # (n, ka, s)
    R = _complex_block(net._effective_weights(), ka)  # (n, n, ka, ka)
    K = jnp.einsum("iak,ijkl,jlb->ijab", T, R, c)  # (n, n, s, s)
    return A, K


def _fields_jacobian(model, y, args):
    N = y.size
    f = lambda x: model.vector_field(0.0, x.reshape(y.shape), args).reshape(-1)
    return jax.jacfwd(f)(y.reshape(-1)).reshape(N, N)


def _inverse(m: Array) -> Array:
    """`inv(m)`; a 2 x 2 matrix by its adjugate, which XLA fuses across frequencies and
    parameters (several times faster than LAPACK's batched call, which costs more than the
    arithmetic at this size; for larger matrices LAPACK is the faster)."""
    if m.shape[-1] != 2:
        return jnp.linalg.inv(m)
    a, b, c, d = m[..., 0, 0], m[..., 0, 1], m[..., 1, 0], m[..., 1, 1]
    adj = jnp.stack([jnp.stack([d, -b], -1), jnp.stack([-c, a], -1)], -2)
    return adj / (a * d - b * c)[..., None, None]


def _transfer(cobs: Array, m: Array) -> Array:
    """The observable's transfer `cobs @ inv(m)`: for fewer observables than states (e.g. a
    neural mass's one pyramidal potential), one solve $m^T h = c^T$ per frequency instead of
    the whole inverse (Jansen-Rit: its Laplace derivatives 2.5 times faster); `_inverse`
    otherwise."""
    if m.shape[-1] == 2 or cobs.shape[0] >= m.shape[-1]:
        return _matmul(cobs, _inverse(m))
    return jnp.linalg.solve(m.T, cobs.T.astype(m.dtype)).T


def _matmul(a: Array, b: Array) -> Array:
    """`a @ b`; for small matrices as a broadcast sum, which XLA fuses with its neighbours
    (a tiny batched dot is slower on CPU, more so under `jax.jacfwd`)."""
    if a.shape[-1] > 8 or a.shape[0] * b.shape[-1] > 64:
        return a @ b
    return jnp.sum(a[:, :, None] * b[None, :, :], axis=1)


def linear_spectrum(
    model: AbstractModel,
    freqs: Float[ArrayLike, " n_freqs"],
    noise: AbstractNoise,
    *,
    y_star: _State | None = None,
    args: PyTree = None,
    lead_field: Any = None,
    cross: bool = False,
) -> LinearSpectrum:
    """Analytic power spectrum of a model (or network) linearised at a stable equilibrium.

    $S(\\omega) = G(\\omega) D G(\\omega)^*$, $G(\\omega) = (i\\omega I - J(\\omega))^{-1}$,
    projected on the
    observable (`model.observe`) and, optionally, through a lead field. Conduction delays enter
    as $e^{-i\\omega\\tau_{ij}}$ on each coupling term. Differentiable with respect to the model's
    parameters (when `y_star` is given or found outside the differentiated function).

    Args:
        model: a model, `Network` or `MixedNetwork`.
        freqs: frequencies [Hz for models in s or ms; cycles per unit time otherwise].
        noise: `noise.Additive(sigma)` (white, in the input channel, as in `simulate`) or
            `noise.OrnsteinUhlenbeck(sigma, tau)`.
        y_star: the equilibrium (default: `stable_equilibrium(model)`, the least-damped stable
            equilibrium, which carries the noise-driven rhythm).
        args: constant input.
        lead_field: a `LeadField` or gain matrix (sensors x regions) for sensor spectra.
        cross: also return the full cross-spectral matrices.

    Returns:
        A `LinearSpectrum(freqs, psd, csd, state)`; `psd` is one-sided, per Hz (or per cycle per
        unit time), like `welch(..., scaling="density")` of a simulation's observable.
    """
    if not isinstance(noise, (Additive, OrnsteinUhlenbeck)):
        raise TypeError("`noise` must be noise.Additive(...) or noise.OrnsteinUhlenbeck(...).")
    freqs = jnp.asarray(freqs)
    if freqs.ndim != 1:
        raise ValueError(f"`freqs` must be 1-D; got shape {freqs.shape}.")
    y = stable_equilibrium(model, args) if y_star is None else jnp.asarray(y_star)
    unit = TimeUnit.of(model)
    hz = unit.hz_factor
    seconds_per_unit = unit.seconds or 1.0  # spectral density per Hz (per cycle/unit)
    omegas = 2 * math.pi * freqs / hz  # rad per model time unit
    N = y.size
    cobs = jax.jacfwd(lambda x: jnp.atleast_1d(model.observe(x.reshape(y.shape))))(y.reshape(-1))
    if lead_field is not None:
        gain = jnp.asarray(getattr(lead_field, "gain", lead_field))
        cobs = gain @ cobs
    delayed = isinstance(model, AbstractNetwork) and model.has_delays
    if delayed:
        A, K = _network_blocks(model, y, args)
        tau = model.delay_matrix()
        n, s = y.shape
    else:
        J0 = _fields_jacobian(model, y, args)
    noise_covariance = _noise_covariance(model, y, args, noise)
    # White noise: one covariance for every frequency, computed outside the per-frequency map.
    D0 = noise_covariance(0.0) if isinstance(noise, Additive) else None

    def at(omega):
        if delayed:
            phase = jnp.exp(-1j * omega * tau)
            Kw = jnp.einsum("ijab,ij->iajb", K, phase).reshape(N, N)
            J = A + Kw
        else:
            J = J0
        D = noise_covariance(omega) if D0 is None else D0
        H = _transfer(cobs, 1j * omega * jnp.eye(N) - J)
        S = _matmul(_matmul(H, D), jnp.conj(H).T)
        return 2 * seconds_per_unit * S

    csd = jax.vmap(at)(omegas)
    psd = jnp.real(jnp.diagonal(csd, axis1=1, axis2=2))
    return LinearSpectrum(freqs, psd, csd if cross else None, y)


def linear_covariance(
    model: AbstractModel, noise: AbstractNoise, *, y_star: _State | None = None, args: PyTree = None
) -> Float[Array, "n_obs n_obs"]:
    """Stationary covariance of the observable of a model linearised at a stable equilibrium.

    Solves $J\\Sigma + \\Sigma J^T = -D$ (`lyapunov_covariance`) and projects on the observable:
    the analytic FC of a noise-driven network below its bifurcation (e.g. the linearised Hopf
    model of fMRI FC). Networks with delays are linearised without them. Differentiable.

    Returns:
        Covariance matrix of `model.observe`, shape `(n_obs, n_obs)`.
    """
    if not isinstance(noise, Additive):
        raise TypeError("`noise` must be noise.Additive(...) (white noise).")
    y = stable_equilibrium(model, args) if y_star is None else jnp.asarray(y_star)
    J = _fields_jacobian(model, y, args)
    D = _noise_covariance(model, y, args, noise)(0.0)
    sigma = lyapunov_covariance(J, D)
    cobs = jax.jacfwd(lambda x: jnp.atleast_1d(model.observe(x.reshape(y.shape))))(y.reshape(-1))
    return cobs @ sigma @ cobs.T


def linear_fc(
    model: AbstractModel, noise: AbstractNoise, *, y_star: _State | None = None, args: PyTree = None
) -> Float[Array, "n_obs n_obs"]:
    """Analytic functional connectivity (correlation of the observable) of a linearised model."""
    C = linear_covariance(model, noise, y_star=y_star, args=args)
    d = jnp.sqrt(jnp.diagonal(C))
    return C / (d[:, None] * d[None, :])
