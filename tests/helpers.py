"""Small numerical helpers shared by the tests (independent of the package)."""

import contextlib

import jax
import numpy as np
from scipy.optimize import brentq


def mean_frequency(ts, x):
    """Mean frequency (cycles per time unit) from upward zero crossings of `x - mean(x)`,
    interpolated between samples."""
    ts = np.asarray(ts)
    x = np.asarray(x) - np.mean(x)
    i = np.where((x[:-1] < 0) & (x[1:] >= 0))[0]
    if len(i) < 2:
        return 0.0
    tc = ts[i] - x[i] * (ts[i + 1] - ts[i]) / (x[i + 1] - x[i])
    return (len(tc) - 1) / (tc[-1] - tc[0])


def unwrapped_phase_rate(ts, x, y):
    """Slope of the unwrapped phase of x + iy (rad per time unit), by least squares."""
    phase = np.unwrap(np.arctan2(np.asarray(y), np.asarray(x)))
    return np.polyfit(np.asarray(ts), phase, 1)[0]


def peak_to_peak(x):
    x = np.asarray(x)
    return float(x.max() - x.min())


def _jr_sigmoid(v):
    return 5.0 / (1.0 + np.exp(0.56 * (6.0 - v)))


def jansen_rit_state_of_v(v, A=3.25, B=22.0, a=100.0, b=50.0, C=135.0):
    """The standard Jansen-Rit equilibrium with v = y1 - y2 (numpy): y0 and y2 follow from v in
    closed form, y1 = v + y2, derivatives zero."""
    y0 = A / a * _jr_sigmoid(v)
    y2 = B / b * 0.25 * C * _jr_sigmoid(0.25 * C * y0)
    return np.array([y0, v + y2, y2, 0.0, 0.0, 0.0])


def jansen_rit_p_of_v(v, A=3.25, B=22.0, a=100.0, b=50.0, C=135.0):
    """The input rate p at which the equilibrium has v = y1 - y2 (the reduced equilibrium
    equation solved for p)."""
    y0, y1, _, _, _, _ = jansen_rit_state_of_v(v, A, B, a, b, C)
    return y1 * a / A - 0.8 * C * _jr_sigmoid(C * y0)


def jansen_rit_branch(p, v_lo, v_hi, A=3.25, B=22.0, a=100.0, b=50.0, C=135.0):
    """Fixed point of the standard Jansen-Rit model with v = y1 - y2 in (v_lo, v_hi),
    by a scalar root solve of the reduced equilibrium equation (numpy/scipy only)."""
    prm = dict(A=A, B=B, a=a, b=b, C=C)
    v = brentq(lambda v: jansen_rit_p_of_v(v, **prm) - p, v_lo, v_hi, xtol=1e-14)
    return jansen_rit_state_of_v(v, **prm)


def jansen_rit_folds():
    """The two fold (saddle-node) points of the standard Jansen-Rit equilibrium curve, as
    sorted input rates p: the extrema of p(v), found by brentq on a central difference of
    p(v) in the two brackets that hold them (v in (1, 4) and (4, 6))."""
    dp = lambda v: (jansen_rit_p_of_v(v + 1e-6) - jansen_rit_p_of_v(v - 1e-6)) / 2e-6
    v_folds = [brentq(dp, 1.0, 4.0, xtol=1e-14), brentq(dp, 4.0, 6.0, xtol=1e-14)]
    return sorted(float(jansen_rit_p_of_v(v)) for v in v_folds)


def jansen_rit_linear_psd(freqs_hz, p, v_lo, v_hi, h=1e-6, **params):
    """The shape of the power spectrum of y1 - y2 of the Jansen-Rit model (standard values, or
    `params` among A, B, a, b, C) linearised at its equilibrium with v in (v_lo, v_hi), driven
    by white noise in the input rate p (numpy only): |c^T (2 pi i f - J)^-1 b|^2, with J and
    b = df/dp by central differences of the reference vector field (tests/reference_numpy.py)
    and c picking y1 - y2. Returns the spectrum and the eigenvalues of J."""
    from reference_numpy import jansen_rit

    prm = dict(A=3.25, B=22.0, a=100.0, b=50.0, C=135.0, e0=2.5, v0=6.0, r=0.56, p=p)
    prm.update(c1=1.0, c2=0.8, c3=0.25, c4=0.25, **params)
    y = jansen_rit_branch(p, v_lo, v_hi, **{k: prm[k] for k in ("A", "B", "a", "b", "C")})
    f = lambda y, u=0.0: jansen_rit(y, prm, u)
    J = np.stack([(f(y + h * e) - f(y - h * e)) / (2 * h) for e in np.eye(6)], axis=1)
    b = (f(y, h) - f(y, -h)) / (2 * h)
    c = np.array([0.0, 1.0, -1.0, 0.0, 0.0, 0.0])
    H = [c @ np.linalg.solve(2j * np.pi * fk * np.eye(6) - J, b) for fk in np.asarray(freqs_hz)]
    return np.abs(np.array(H)) ** 2, np.linalg.eigvals(J)


def r2_of_log_spectra(model_psd, target_psd):
    """R^2 of log10 spectra (frequencies x channels) after removing each channel's mean
    log-ratio (the overall scale): 1 - sum(residual^2) / sum((log target - its mean)^2)."""
    d = np.log10(model_psd) - np.log10(target_psd)
    d = d - d.mean(axis=0)
    lt = np.log10(target_psd)
    return 1 - np.sum(d**2, axis=0) / np.sum((lt - lt.mean(axis=0)) ** 2, axis=0)


def newton(f, jac, x0, tol=1e-13, maxiter=100):
    """Plain Newton iteration for f(x) = 0 (numpy), with a residual check."""
    x = np.asarray(x0, dtype=float)
    for _ in range(maxiter):
        fx = np.asarray(f(x))
        if np.max(np.abs(fx)) < tol:
            return x
        x = x - np.linalg.solve(np.asarray(jac(x)), fx)
    raise RuntimeError(f"Newton did not converge: residual {np.max(np.abs(f(x)))}")


def hopf_amplitude_exponent(deltas, amplitudes):
    """Exponent b of A = c |p - p_c|^b (1 + k |p - p_c|), fitted in log space.

    The linear correction absorbs the next order of the normal form, so b is the leading
    exponent (1/2 at a generic Hopf) even when the deltas are not tiny."""
    d = np.asarray(deltas, dtype=float)
    X = np.stack([np.ones_like(d), np.log(d), d], axis=1)
    return np.linalg.lstsq(X, np.log(np.asarray(amplitudes)), rcond=None)[0][1]


@contextlib.contextmanager
def count_compilations():
    """Count XLA compilations inside the block (JAX's monitoring events): a call that reuses
    compiled code adds none."""
    events = []

    def listener(name, duration, **kwargs):
        if name == "/jax/core/compile/backend_compile_duration":
            events.append(duration)

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        yield events
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
