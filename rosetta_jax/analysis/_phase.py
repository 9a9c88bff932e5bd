"""Phase measures of simulated activity: the analytic signal and phase, Kuramoto order
parameter, phase locking, and entrainment by a periodic drive."""

from __future__ import annotations

import math
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Complex, Float

from ._checks import (
    _check_finite,
    _checked_input,
    _normalise_axis,
    _positive_scalar,
    _real_array,
    _time_grid,
)


# --------------------------------------------------------------------------------------------
# Phase synchrony
# --------------------------------------------------------------------------------------------


def order_parameter(theta: ArrayLike, axis: int = -1) -> Complex[Array, "*batch"]:
    """Complex Kuramoto order parameter $Z = \\langle e^{i\\theta_j} \\rangle_j$.

    $R = |Z| \\in [0, 1]$ measures phase coherence (1 means all phases equal) and
    $\\psi = \\arg Z$ is the mean phase. Use `jnp.abs(order_parameter(theta))` for $R$. It is
    a real function and so can be differentiated.

    Args:
        theta: phases [rad]; for `(n_times, n_nodes)` phases the default `axis=-1` averages
            over nodes and gives $Z(t)$.
        axis: the axis to average over (the oscillators).

    Returns:
        $Z$, complex (complex64 for float32 input), with the shape of `theta` less `axis`.

    Raises:
        ValueError: for a scalar, complex or (when concrete) non-finite `theta`.
    """
    theta, ax = _checked_input("theta", theta, axis, "at least one dimension")
    return jnp.mean(jax.lax.complex(jnp.cos(theta), jnp.sin(theta)), axis=ax)


def _plv(dphi: Array, axis: int) -> Array:
    """$|\\langle e^{i\\Delta\\phi} \\rangle|$ along `axis`."""
    c = jnp.mean(jnp.cos(dphi), axis=axis)
    s = jnp.mean(jnp.sin(dphi), axis=axis)
    return jnp.sqrt(c * c + s * s)


def phase_locking_value(
    phase_a: ArrayLike, phase_b: ArrayLike, axis: int = 0
) -> Float[Array, "*batch"]:
    """Phase-locking value $\\mathrm{PLV} = |\\langle e^{i(\\phi_a - \\phi_b)} \\rangle_t|$.

    It is 1 for a constant phase difference and tends to 0 for unrelated phases (Lachaux et
    al. 1999, Hum. Brain Mapp. 8:194–208).

    Args:
        phase_a: phases [rad], time along `axis` (e.g. from `analytic_phase`).
        phase_b: phases [rad], broadcastable against `phase_a`.
        axis: the time axis (after broadcasting).

    Returns:
        PLV in [0, 1], with the broadcast shape less `axis`.

    Raises:
        ValueError: for shapes that do not broadcast, complex or non-finite phases.
    """
    a = _real_array("phase_a", phase_a)
    b = _real_array("phase_b", phase_b)
    try:
        shape = jnp.broadcast_shapes(a.shape, b.shape)
    except ValueError as err:
        raise ValueError(
            f"`phase_a` {a.shape} and `phase_b` {b.shape} must have broadcastable shapes."
        ) from err
    if len(shape) == 0:
        raise ValueError("the phases must have a time axis; got scalars.")
    ax = _normalise_axis("phase_a - phase_b", len(shape), axis)
    _check_finite("phase_a", a)
    _check_finite("phase_b", b)
    return _plv(a - b, ax)


@eqx.filter_jit
def _analytic_signal(x, ax):
    """FFT analytic signal along `ax`: negative frequencies zeroed, positive ones doubled."""
    n = x.shape[ax]
    h = np.zeros(n)
    h[0] = 1.0
    if n % 2 == 0:
        h[n // 2] = 1.0
        h[1 : n // 2] = 2.0
    else:
        h[1 : (n + 1) // 2] = 2.0
    h_shape = [1] * x.ndim
    h_shape[ax] = n
    spec = jnp.fft.fft(x, axis=ax)
    return jnp.fft.ifft(spec * jnp.asarray(h.reshape(h_shape), dtype=x.dtype), axis=ax)


def analytic_signal(x: ArrayLike, axis: int = 0) -> Complex[Array, "*batch"]:
    """Analytic signal $x + i\\,\\mathcal{H}[x]$ via the FFT, equal to `scipy.signal.hilbert`.

    The negative frequencies are zeroed and the positive ones doubled. The transform assumes
    the signal is periodic, so expect edge effects over about one period at each end. Remove
    the mean first if only the oscillation matters.

    Args:
        x: real signal, time along `axis`, uniformly sampled.
        axis: the time axis.

    Returns:
        The complex analytic signal, same shape as `x`. Its modulus is the amplitude
        envelope.

    Raises:
        ValueError: for a scalar, complex or (when concrete) non-finite `x`.
    """
    x, ax = _checked_input("x", x, axis, "a time axis")
    return _analytic_signal(x, ax)


def analytic_phase(x: ArrayLike, axis: int = 0) -> Float[Array, "*batch"]:
    """Instantaneous phase from the Hilbert transform: `np.angle(scipy.signal.hilbert(x))`.

    Args:
        x: real signal, time along `axis`, uniformly sampled. Remove its mean first; a DC
            offset distorts the phase. See `analytic_signal` for edge effects.
        axis: the time axis.

    Returns:
        Phase in $(-\\pi, \\pi]$ [rad], same shape and real dtype as `x`.

    Raises:
        ValueError: for a scalar, complex or (when concrete) non-finite `x`.
    """
    return jnp.angle(analytic_signal(x, axis=axis))


# --------------------------------------------------------------------------------------------
# Entrainment by periodic forcing
# --------------------------------------------------------------------------------------------


def _trimmed_input(x: Any, ts: Any, axis: int, trim: Any) -> tuple[Array, Array, int]:
    """Validated signal (time first), times and the number of samples dropped at each end."""
    x, ax = _checked_input("x", x, axis, "a time axis")
    x = jnp.moveaxis(x, ax, 0)
    n = x.shape[0]
    t = _time_grid(ts, n, "x").astype(x.dtype)
    if isinstance(trim, bool) or not isinstance(trim, (int, float)) or not 0 <= trim < 0.5:
        raise ValueError(f"`trim` must be a Python float in [0, 0.5); got {trim!r}.")
    cut = int(math.floor(trim * n))
    if n - 2 * cut < 2:
        raise ValueError(f"`x` has too few samples ({n}) to keep any after trim={trim}.")
    return x, t, cut


def _driven_input(
    x: Any, ts: Any, drive_frequency: Any, axis: int, trim: Any
) -> tuple[Array, Array, int, Array]:
    """`_trimmed_input` and the validated drive frequency in the signal's dtype."""
    x, t, cut = _trimmed_input(x, ts, axis, trim)
    return x, t, cut, _positive_scalar("drive_frequency", drive_frequency, x.dtype)


def _trimmed_phase(x: Array, t: Array, cut: int) -> tuple[Array, Array]:
    """Analytic phase of the demeaned signal (time first) and its times, less `cut` samples at
    each end."""
    n = x.shape[0]
    phase = jnp.angle(_analytic_signal(x - jnp.mean(x, axis=0), 0))
    return phase[cut : n - cut], t[cut : n - cut]


@eqx.filter_jit
def _entrainment(x, t, f_d, cut):
    """PLV between the trimmed signal phase and the drive phase $2\\pi f_d t$."""
    phase, t = _trimmed_phase(x, t, cut)
    drive = (2 * jnp.pi) * f_d * t
    return _plv(phase - drive.reshape(drive.shape + (1,) * (phase.ndim - 1)), 0)


@eqx.filter_jit
def _mean_frequency(x, t, cut):
    """Least-squares slope of the unwrapped trimmed phase over $2\\pi$ [Hz]."""
    phase, t = _trimmed_phase(x, t, cut)
    phi = jnp.unwrap(phase, axis=0)
    tc = t - jnp.mean(t)
    tc = tc.reshape(tc.shape + (1,) * (phi.ndim - 1))
    slope = jnp.sum(tc * (phi - jnp.mean(phi, axis=0)), axis=0) / jnp.sum(tc * tc)
    return slope / (2 * jnp.pi)


def entrainment(
    x: ArrayLike, ts: ArrayLike, drive_frequency: ArrayLike, *, axis: int = 0, trim: float = 0.1
) -> Float[Array, "*batch"]:
    """Entrainment by a periodic drive: the PLV between the signal phase and the drive phase.

    $E = |\\langle e^{i(\\phi(t) - 2\\pi f_d t)} \\rangle_t|$, where $\\phi$ is the
    analytic phase of the demeaned signal. $E = 1$ means 1:1 phase locking to the drive.
    Near 0 means no locking, for example a detuned oscillator that drifts through all phase
    differences. All inputs may be traced, so an Arnold-tongue map is a `jax.vmap` over
    drive frequency and amplitude of (simulate, then `entrainment`).

    Args:
        x: real signal, time along `axis`, uniformly sampled, e.g. `Solution.observed`.
        ts: sample times, shape `(n_times,)` [s], e.g. `Solution.ts`.
        drive_frequency: drive frequency $f_d$ [Hz], a scalar.
        axis: the time axis of `x`.
        trim: fraction of samples dropped at each end before averaging, against Hilbert
            edge effects (static, in [0, 0.5)).

    Returns:
        $E \\in [0, 1]$, with the shape of `x` less `axis` (one value per node).

    Raises:
        ValueError: for mismatched `ts`, a non-scalar or non-positive `drive_frequency`, a
            bad `trim`, or non-finite concrete input.
    """
    x, t, cut, f_d = _driven_input(x, ts, drive_frequency, axis, trim)
    return _entrainment(x, t, f_d, cut)


def mean_frequency(
    x: ArrayLike, ts: ArrayLike, *, axis: int = 0, trim: float = 0.1
) -> Float[Array, "*batch"]:
    """Mean oscillation frequency from the slope of the unwrapped analytic phase.

    $\\bar f = \\frac{1}{2\\pi} \\frac{d\\phi}{dt}$, with the slope fitted by least squares
    to the unwrapped phase of the demeaned signal. This is well defined for an oscillation
    that goes round its phase once per cycle. It is not a good measure for broadband noise.

    Args:
        x: real signal, time along `axis`, uniformly sampled and well above the Nyquist
            limit for its frequency.
        ts: sample times, shape `(n_times,)` [s].
        axis: the time axis of `x`.
        trim: fraction of samples dropped at each end (see `entrainment`).

    Returns:
        Mean frequency [Hz], with the shape of `x` less `axis`.

    Raises:
        ValueError: as `entrainment`.
    """
    x, t, cut = _trimmed_input(x, ts, axis, trim)
    return _mean_frequency(x, t, cut)


def frequency_ratio(
    x: ArrayLike, ts: ArrayLike, drive_frequency: ArrayLike, *, axis: int = 0, trim: float = 0.1
) -> Float[Array, "*batch"]:
    """Ratio of the signal's mean frequency to the drive frequency, $\\bar f / f_d$.

    Inside a 1:1 Arnold tongue the ratio is 1. Plateaus at other rationals p/q show p:q
    locking (the devil's staircase).

    Args:
        x: real signal, time along `axis`.
        ts: sample times, shape `(n_times,)` [s].
        drive_frequency: drive frequency $f_d$ [Hz], a scalar > 0.
        axis: the time axis of `x`.
        trim: fraction of samples dropped at each end (see `entrainment`).

    Returns:
        The dimensionless ratio, with the shape of `x` less `axis`.

    Raises:
        ValueError: as `entrainment`.
    """
    x, t, cut, f_d = _driven_input(x, ts, drive_frequency, axis, trim)
    return _mean_frequency(x, t, cut) / f_d
