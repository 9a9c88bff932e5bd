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


def jansen_rit_branch(p, v_lo, v_hi, A=3.25, B=22.0, a=100.0, b=50.0, C=135.0):
    """Fixed point of the standard Jansen-Rit model with v = y1 - y2 in (v_lo, v_hi),
    by a scalar root solve of the reduced equilibrium equation (numpy/scipy only)."""
    S = lambda v: 5.0 / (1.0 + np.exp(0.56 * (6.0 - v)))

    def state(v):
        y0 = A / a * S(v)
        y2 = B / b * 0.25 * C * S(0.25 * C * y0)
        return np.array([y0, v + y2, y2, 0.0, 0.0, 0.0])

    def p_of_v(v):
        y = state(v)
        return y[1] * a / A - 0.8 * C * S(C * y[0])

    v = brentq(lambda v: p_of_v(v) - p, v_lo, v_hi, xtol=1e-14)
    return state(v)


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
