"""Detection of the bifurcations on a traced equilibrium branch: folds (sign changes of
$\\det J$) and Hopf points (zero crossings of the real part of a complex pair), each located by
bisection along the branch."""

from __future__ import annotations

import math

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Complex, Float, Inexact

from ..units import TimeUnit
from ._arclength import _corrector, _eigs


class SpecialPoint(eqx.Module):
    """A bifurcation on an equilibrium branch.

    Attributes:
        kind: `"fold"` or `"hopf"`.
        param: the parameter value there.
        state: the equilibrium state there, shaped like `model.initial_state()`.
        eigenvalues: the Jacobian's eigenvalues there, sorted by decreasing real part.
        frequency_hz: the Hopf frequency [Hz for a model with a time unit, else cycles per
            unit time]; None at a fold.
    """

    kind: str
    param: float
    state: Float[np.ndarray, "*state_shape"]
    eigenvalues: Inexact[np.ndarray, " n_state"]
    frequency_hz: float | None


def _complex_lead(ev, tol=1e-8) -> complex | None:
    """The complex eigenvalue (positive imaginary part) with the largest real part, if any."""
    c = ev[ev.imag > tol * max(1.0, float(np.max(np.abs(ev))))]
    return None if c.size == 0 else c[np.argmax(c.real)]


def _test_value(model, where, x, args, kind, scale) -> float:
    """The test function of a fold ($\\det J$) or a Hopf point (real part of the lead pair)."""
    e, d = _eigs(model, where, jnp.asarray(x), args, scale)
    if kind == "fold":
        return float(d)
    lead = _complex_lead(np.asarray(e))
    return np.nan if lead is None else float(lead.real)


def _locate(model, where, xa, xb, args, kind, rtol, scale):
    """Bisection along the chord between two branch points (scaled coordinates) for the zero of
    the test function, each trial point corrected back onto the branch."""
    ga = _test_value(model, where, xa, args, kind, scale)
    length = float(np.linalg.norm(xb - xa))
    direction = jnp.asarray((xb - xa) / max(length, 1e-300))
    s_lo, s_hi = 0.0, length
    x_lo, x_hi = jnp.asarray(xa), jnp.asarray(xb)
    for _ in range(200):
        s_mid = 0.5 * (s_lo + s_hi)
        x_mid, r = _corrector(
            model, where, jnp.asarray(xa) + s_mid * direction, direction, args, scale
        )
        g = _test_value(model, where, np.asarray(x_mid), args, kind, scale)
        if not np.isfinite(g) or not bool(jnp.isfinite(r)):
            break
        if np.sign(g) == np.sign(ga):
            s_lo, x_lo = s_mid, x_mid
        else:
            s_hi, x_hi = s_mid, x_mid
        # Parameter (scaled by the range) known to rtol, and the bracket tight in arclength.
        if abs(float(x_hi[-1] - x_lo[-1])) < rtol and s_hi - s_lo < 1e-9:
            break
    return np.asarray(0.5 * (x_lo + x_hi))


def _special(model, where, x, args, kind, hz, shape, scale) -> SpecialPoint:
    """The `SpecialPoint` at a located scaled point x, with its Hopf frequency."""
    e, _ = _eigs(model, where, jnp.asarray(x), args, scale)
    e = np.asarray(e)
    e = e[np.argsort(-e.real)]
    freq = None
    if kind == "hopf":
        lead = _complex_lead(e)
        freq = abs(float(lead.imag)) / (2 * math.pi) * hz
    xt = np.asarray(x) * np.asarray(scale)
    return SpecialPoint(kind, float(xt[-1]), xt[:-1].reshape(shape), e, freq)


def branch_spectra(model, where, X, args, scale) -> tuple[Complex[np.ndarray, "m n"], np.ndarray]:
    """Eigenvalues (sorted by decreasing real part) and Jacobian determinants at the scaled
    branch points X, shape `(m, n + 1)`."""
    eig_det = [_eigs(model, where, jnp.asarray(xp), args, scale) for xp in X]
    eigs = np.stack([np.asarray(e) for e, _ in eig_det])
    eigs = np.take_along_axis(eigs, np.argsort(-eigs.real, axis=1), axis=1)
    dets = np.array([float(d) for _, d in eig_det])
    return eigs, dets


def _brackets(eigs, dets) -> tuple[list[int], list[int]]:
    """Indices k where a fold or a Hopf point lies between branch points k and k + 1.

    A Hopf point needs the pair complex on both sides, so neutral saddles (real pairs
    $\\pm\\lambda$) are not reported."""
    folds, hopfs = [], []
    for k in range(len(dets) - 1):
        if np.sign(dets[k]) != np.sign(dets[k + 1]) and dets[k] != 0:
            folds.append(k)
        pair_k, pair_k1 = _complex_lead(eigs[k]), _complex_lead(eigs[k + 1])
        if (
            pair_k is not None
            and pair_k1 is not None
            and np.sign(pair_k.real) != np.sign(pair_k1.real)
        ):
            hopfs.append(k)
    return folds, hopfs


def bifurcations(
    model, where, X, eigs, dets, args, scale, shape, locate_tol
) -> tuple[list[SpecialPoint], list[SpecialPoint]]:
    """The folds and Hopf points between the scaled branch points X, located to `locate_tol`
    (relative to the parameter range)."""
    fold_ks, hopf_ks = _brackets(eigs, dets)

    def located(k, kind, hz):
        x = _locate(model, where, X[k], X[k + 1], args, kind, locate_tol, scale)
        return _special(model, where, x, args, kind, hz, shape, scale)

    folds = [located(k, "fold", None) for k in fold_ks]
    hopfs = [located(k, "hopf", TimeUnit.of(model).hz_factor) for k in hopf_ks]
    # A jump of the leading complex pair (another pair taking over) is not a crossing.
    hopfs = [
        h
        for h in hopfs
        if abs(_complex_lead(h.eigenvalues).real)
        < 1e-6 * max(1.0, abs(_complex_lead(h.eigenvalues).imag))
    ]
    return folds, hopfs
