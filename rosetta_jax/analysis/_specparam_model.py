"""The specparam model and its solvers: the aperiodic component plus Gaussian peaks in log10
power, projected Levenberg–Marquardt, the robust aperiodic fit and the greedy peak seeds
(Donoghue et al. 2020, Nat. Neurosci. 23:1655–1665). Fixed iteration counts and no
data-dependent Python control flow, so all of it runs under `jit`, `vmap` and `grad`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
from jaxtyping import Array


_HIGHEST = jax.lax.Precision.HIGHEST
_FWHM_TO_STD = 1.0 / math.sqrt(2.0 * math.log(2.0))  # half width at half max -> std
_N_AP = 3  # aperiodic parameters: offset, knee, exponent


def _aperiodic(theta: Array, f: Array) -> Array:
    """The aperiodic part $b - \\log_{10}(k + f^{\\chi})$ of parameters theta = (b, k, chi, ...)."""
    return theta[0] - jnp.log10(theta[1] + f ** theta[2])


def _model(theta: Array, f: Array) -> Array:
    """The full model: the aperiodic part plus the Gaussian peaks (c, a, w) after it in theta."""
    peaks = theta[_N_AP:].reshape(-1, 3)
    c, a, w = peaks[:, 0:1], peaks[:, 1:2], peaks[:, 2:3]
    gauss = jnp.sum(a * jnp.exp(-((f - c) ** 2) / (2 * w * w)), axis=0)
    return _aperiodic(theta, f) + gauss


def _levenberg_marquardt(
    residual: Callable[[Array], Array],
    theta: Array,
    free: Array,
    project: Callable[[Array], Array],
    n_iterations: int,
) -> Array:
    """Projected Levenberg–Marquardt with Marquardt's diagonal scaling and a fixed step count.

    A step is kept only if it lowers the cost; otherwise the damping grows and the step is
    redone. Parameters with `free == 0` stay fixed (their row of the normal matrix is the
    identity and their gradient is zero).
    """

    def cost(th):
        r = residual(th)
        return jnp.sum(r * r)

    def body(_, carry):
        th, c, lam = carry
        r = residual(th)
        J = jax.jacfwd(residual)(th) * free
        H = jnp.matmul(J.T, J, precision=_HIGHEST)
        g = jnp.matmul(J.T, r, precision=_HIGHEST)
        diag = jnp.diagonal(H)
        # Floor the scaling so directions with no information (a peak of zero power) stay
        # well-posed: they get a tiny, damped, zero-gradient step.
        scale = jnp.maximum(diag, 1e-9 * jnp.max(diag) + jnp.finfo(th.dtype).tiny)
        A = H + jnp.diag(lam * scale + (1 - free))
        candidate = project(th - jnp.linalg.solve(A, g))
        c_new = cost(candidate)
        ok = jnp.isfinite(c_new) & (c_new < c)
        th = jnp.where(ok, candidate, th)
        c = jnp.where(ok, c_new, c)
        lam = jnp.clip(jnp.where(ok, lam * 0.3, lam * 10.0), 1e-12, 1e12)
        return th, c, lam

    lam0 = jnp.asarray(1e-3, dtype=theta.dtype)
    theta, _, _ = jax.lax.fori_loop(0, n_iterations, body, (theta, cost(theta), lam0))
    return theta


def _line_fit(lf: Array, y: Array, w: Array) -> Array:
    """Closed-form weighted fit of $y = b - \\chi \\log_{10} f$ (knee 0): returns (b, 0, chi)."""
    sw = jnp.sum(w)
    xm = jnp.sum(w * lf) / sw
    ym = jnp.sum(w * y) / sw
    slope = jnp.sum(w * (lf - xm) * (y - ym)) / jnp.sum(w * (lf - xm) ** 2)
    return jnp.stack([ym - slope * xm, jnp.zeros_like(slope), -slope])


def _robust_aperiodic(
    f: Array, y: Array, w: Array, fmin: Array, fmax: Array, knee: bool, n_iterations: int
) -> Array:
    """Aperiodic parameters fitted to the points that peaks do not lift.

    The first fit uses all points. Three rounds then refit to the lower half of the
    residuals, which drops the peaks but biases the offset low in noise. Two rounds of
    one-sided sigma clipping (keep residual - median <= 2.5 robust sigma) bring back all the
    points that are consistent with noise.
    """
    lf = jnp.log10(f)
    free = jnp.asarray([1.0, 1.0, 1.0], dtype=y.dtype)

    def project(th):
        return th.at[1].set(jnp.maximum(th[1], 0.0))

    def fit(weights):
        line = _line_fit(lf, y, weights)
        if not knee:
            return line
        # Multi-start over knee frequencies across the fitted range; keep the best.
        fk = jnp.exp(jnp.linspace(0.0, 1.0, 5, dtype=y.dtype) * jnp.log(fmax / fmin)) * fmin
        chi0 = jnp.maximum(line[2], 0.5)
        knees = jnp.concatenate([jnp.zeros((1,), y.dtype), fk**chi0])

        def start(k):
            off = jnp.sum(weights * (y + jnp.log10(k + f**chi0))) / jnp.sum(weights)
            th0 = jnp.stack([off, k, chi0])
            th = _levenberg_marquardt(
                lambda t: jnp.sqrt(weights) * (_aperiodic(t, f) - y),
                th0,
                free,
                project,
                n_iterations,
            )
            r = _aperiodic(th, f) - y
            return th, jnp.sum(weights * r * r)

        thetas, costs = jax.vmap(start)(knees)
        return thetas[jnp.argmin(costs)]

    def round_(i, th):
        # One loop over all rounds, so `fit` (a multi-start LM with a knee) is traced once.
        r = y - _aperiodic(th, f)
        r_fit = jnp.where(w > 0, r, jnp.nan)
        med = jnp.nanquantile(r_fit, 0.5)
        mad = jnp.nanquantile(jnp.abs(r_fit - med), 0.5)
        sigma = jnp.maximum(1.4826 * mad, 100 * jnp.finfo(y.dtype).eps)
        lower_half = r <= med
        consistent = r - med <= 2.5 * sigma
        keep = jnp.where(i == 0, True, jnp.where(i <= 3, lower_half, consistent))
        return fit(w * keep)

    # Rounds: 0 all points; 1-3 lower half; 4-5 sigma clipping. The initial value is unused.
    return jax.lax.fori_loop(0, 6, round_, jnp.zeros(3, dtype=y.dtype).at[2].set(1.0))


def _seed_peaks(f: Array, flat: Array, w: Array, n_peaks: int, wmin: Array, wmax: Array) -> Array:
    """Greedy peak seeds from the maxima of the aperiodic-removed spectrum (as specparam).

    Each seed sits at the current maximum. Its height is the residual there and its width
    comes from the nearer half-height crossing. The seeded Gaussian is subtracted before the
    next seed.
    """
    idx = jnp.arange(f.shape[0])
    seeds = []
    for _ in range(n_peaks):
        masked = jnp.where(w > 0, flat, -jnp.inf)
        k = jnp.argmax(masked)
        height = jnp.maximum(flat[k], 0.0)
        below = (w > 0) & (flat <= height / 2)
        left = jnp.max(jnp.where(below & (idx < k), idx, -1))
        right = jnp.min(jnp.where(below & (idx > k), idx, f.shape[0]))
        d_left = jnp.where(left >= 0, f[k] - f[jnp.maximum(left, 0)], jnp.inf)
        d_right = jnp.where(
            right < f.shape[0], f[jnp.minimum(right, f.shape[0] - 1)] - f[k], jnp.inf
        )
        half_width = jnp.minimum(d_left, d_right)
        std = jnp.where(jnp.isfinite(half_width), half_width * _FWHM_TO_STD, wmax)
        std = jnp.clip(std, wmin, wmax)
        center = f[k]
        flat = flat - height * jnp.exp(-((f - center) ** 2) / (2 * std * std))
        seeds.append(jnp.stack([center, height, std]))
    if not seeds:
        return jnp.zeros((0,), dtype=f.dtype)
    return jnp.concatenate(seeds)
