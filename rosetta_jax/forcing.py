"""Deterministic external drives: DC, tACS-like sinusoids, pulse trains, sampled data.

A forcing is a callable `f(t)` of time (in the model's time unit) returning the drive that
enters the model's input channel: the E population for Wilson-Cowan, NMM1 and NMM2 (JR's input
rate $p$, MPR's current $I$), the paper's convention (Castaldo et al. 2026, sections 2.1.2, 5.3,
7.1), and the complex drive $F = F_x + iF_y$ for the harmonic, damped and Stuart-Landau
oscillators (see docs/models.md). Forcings add (`f + g`), scale by a number or by
a per-node spatial pattern (`f * weights`, `weights * f`) and are `eqx.Module`s: every number
is an array leaf, so amplitudes and frequencies can be vmapped, fitted and differentiated.

A forcing is evaluated at the model's time, so its frequencies are in cycles per model time
unit: Hz for models in seconds (Jansen-Rit), cycles per ms (kHz: 0.04 for 40 Hz) for models in
ms (MPR, ING, PING), cycles per unit time for the dimensionless rungs. (Frequencies the package
reports, such as spectral peaks, are in Hz for models in s or ms; see `rosetta_jax.units`.)

Example:
    >>> from rosetta_jax import forcing
    >>> tacs = forcing.Sinusoid(amplitude=20.0, frequency=10.0)   # 10 Hz into JR's p
    >>> dc = forcing.Constant(50.0, t_on=1.0, t_off=2.0)           # a switched DC step
    >>> drive = tacs + dc
"""

from __future__ import annotations

import abc

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Inexact

from ._validation import check_finite, check_positive, is_concrete


def _arr(x):
    return jnp.asarray(x)


class AbstractForcing(eqx.Module):
    """A drive $f(t)$; subclasses implement `__call__(t)`."""

    @abc.abstractmethod
    def __call__(self, t: Float[ArrayLike, ""]) -> Inexact[Array, "*nodes"]:
        """Value of the drive at time `t` (model time unit): a scalar or one value per node."""

    def __add__(self, other: AbstractForcing | ArrayLike) -> AbstractForcing:
        if not isinstance(other, AbstractForcing):
            if np.isscalar(other) or eqx.is_array(other):
                other = Constant(other)
            else:
                return NotImplemented
        return Sum((self, other))

    __radd__ = __add__

    def __mul__(self, weights: Inexact[ArrayLike, "*nodes"]) -> Scaled:
        return Scaled(self, weights)

    __rmul__ = __mul__

    @property
    def is_complex(self) -> bool:
        """True when the drive is complex-valued (only oscillators accept it)."""
        return False


def _window(t, t_on, t_off):
    return (t >= t_on) & (t < t_off)


class Constant(AbstractForcing):
    """A constant drive (DC), optionally switched on at `t_on` and off at `t_off`.

    Args:
        value: the drive (real or complex; an array gives one value per node).
        t_on, t_off: switch-on and switch-off times, default always on.
    """

    value: Inexact[Array, "*nodes"] = eqx.field(converter=_arr)
    t_on: Array = eqx.field(default=-jnp.inf, converter=_arr)
    t_off: Array = eqx.field(default=jnp.inf, converter=_arr)

    def __check_init__(self):
        check_finite("Constant", "value", self.value)

    def __call__(self, t: Float[ArrayLike, ""]) -> Inexact[Array, "*nodes"]:
        return jnp.where(_window(t, self.t_on, self.t_off), self.value, 0.0 * self.value)

    @property
    def is_complex(self) -> bool:
        return jnp.iscomplexobj(self.value)


class Sinusoid(AbstractForcing):
    """A sinusoidal (tACS-like) drive $A \\sin(2\\pi f t + \\varphi)$.

    With `analytic=True` it is the complex exponential $A e^{i(2\\pi f t + \\varphi)}$, the
    rotating drive $f_0 e^{i\\omega_s t}$ of the linear-response results (oscillators only).

    Args:
        amplitude: $A$, in the input channel's unit (an array gives one per node).
        frequency: $f$ in cycles per model time unit (Hz for models in s), >= 0.
        phase: $\\varphi$ [rad], default 0.
        analytic: complex exponential instead of a sine (static), default False.
        t_on, t_off: active window, default always.
    """

    amplitude: Inexact[Array, "*nodes"] = eqx.field(converter=_arr)
    frequency: Float[Array, "*nodes"] = eqx.field(converter=_arr)
    phase: Array = eqx.field(default=0.0, converter=_arr)
    analytic: bool = eqx.field(default=False, static=True)
    t_on: Array = eqx.field(default=-jnp.inf, converter=_arr)
    t_off: Array = eqx.field(default=jnp.inf, converter=_arr)

    def __check_init__(self):
        for name in ("amplitude", "frequency", "phase"):
            check_finite("Sinusoid", name, getattr(self, name))
        v = self.frequency
        if is_concrete(v) and np.any(np.asarray(v) < 0):
            raise ValueError(f"Sinusoid.frequency must be >= 0; got {v}.")

    def __call__(self, t: Float[ArrayLike, ""]) -> Inexact[Array, "*nodes"]:
        arg = 2 * jnp.pi * self.frequency * t + self.phase
        wave = jnp.exp(1j * arg) if self.analytic else jnp.sin(arg)
        on = _window(t, self.t_on, self.t_off)
        return jnp.where(on, self.amplitude * wave, 0.0 * wave)

    @property
    def is_complex(self) -> bool:
        return self.analytic


class PulseTrain(AbstractForcing):
    """Rectangular pulses (TMS-like, ERP stimuli): `amplitude` for `width` every `period`.

    Pulse k occupies $[t_{on} + k T, t_{on} + kT + w)$; pulses stop at `t_off` or after
    `n_pulses`.

    Args:
        amplitude: pulse height (an array gives one per node).
        period: $T$, time between pulse onsets (model time unit), > 0.
        width: $w$, pulse duration, > 0 and <= period.
        t_on: first onset, default 0.
        t_off: no pulses from this time on, default never.
        n_pulses: number of pulses (static int), default unlimited.
    """

    amplitude: Inexact[Array, "*nodes"] = eqx.field(converter=_arr)
    period: Float[Array, "*nodes"] = eqx.field(converter=_arr)
    width: Float[Array, "*nodes"] = eqx.field(converter=_arr)
    t_on: Array = eqx.field(default=0.0, converter=_arr)
    t_off: Array = eqx.field(default=jnp.inf, converter=_arr)
    n_pulses: int | None = eqx.field(default=None, static=True)

    def __check_init__(self):
        check_finite("PulseTrain", "amplitude", self.amplitude)
        check_positive("PulseTrain", "period", self.period, "time between pulse onsets")
        check_positive("PulseTrain", "width", self.width, "pulse duration")
        if is_concrete(self.width) and is_concrete(self.period):
            if np.any(np.asarray(self.width) > np.asarray(self.period)):
                raise ValueError("PulseTrain.width must not exceed PulseTrain.period.")
        if self.n_pulses is not None and self.n_pulses < 1:
            raise ValueError(f"PulseTrain.n_pulses must be >= 1 or None; got {self.n_pulses}.")

    def __call__(self, t: Float[ArrayLike, ""]) -> Inexact[Array, "*nodes"]:
        s = t - self.t_on
        k = jnp.floor(s / self.period)
        on = (s >= 0) & (s - k * self.period < self.width) & (t < self.t_off)
        if self.n_pulses is not None:
            on = on & (k < self.n_pulses)
        return jnp.where(on, self.amplitude, 0.0 * self.amplitude)


class Interpolated(AbstractForcing):
    """A drive from sampled data, linearly interpolated (zero outside the sampled range).

    Args:
        ts: sample times, shape `(n,)`, strictly increasing (model time unit).
        values: samples, shape `(n,)` or `(n, n_nodes)`.
    """

    ts: Float[Array, " n"] = eqx.field(converter=_arr)
    values: Inexact[Array, " n *nodes"] = eqx.field(converter=_arr)

    def __check_init__(self):
        if jnp.ndim(self.ts) != 1 or jnp.shape(self.ts)[0] < 2:
            raise ValueError(
                f"Interpolated.ts must be 1-D with at least 2 samples; got shape "
                f"{jnp.shape(self.ts)}."
            )
        if jnp.ndim(self.values) < 1 or jnp.shape(self.values)[0] != jnp.shape(self.ts)[0]:
            raise ValueError(
                f"Interpolated.values must have the samples along its first axis, "
                f"shape ({jnp.shape(self.ts)[0]}, ...); got {jnp.shape(self.values)}."
            )
        check_finite("Interpolated", "values", self.values)
        check_finite("Interpolated", "ts", self.ts)
        if is_concrete(self.ts) and np.any(np.diff(np.asarray(self.ts)) <= 0):
            raise ValueError("Interpolated.ts must be strictly increasing.")

    def __call__(self, t: Float[ArrayLike, ""]) -> Inexact[Array, "*nodes"]:
        ts, vs = self.ts, self.values
        i = jnp.clip(jnp.searchsorted(ts, t, side="right") - 1, 0, ts.shape[0] - 2)
        w = (t - ts[i]) / (ts[i + 1] - ts[i])
        w = jnp.reshape(w, w.shape + (1,) * (vs.ndim - 1))
        val = (1 - w) * vs[i] + w * vs[i + 1]
        inside = (t >= ts[0]) & (t <= ts[-1])
        return jnp.where(inside, val, 0.0 * val)

    @property
    def is_complex(self) -> bool:
        return jnp.iscomplexobj(self.values)


class Sum(AbstractForcing):
    """The sum of several forcings (built by `f + g`)."""

    terms: tuple[AbstractForcing, ...]

    def __call__(self, t: Float[ArrayLike, ""]) -> Inexact[Array, "*nodes"]:
        out = self.terms[0](t)
        for term in self.terms[1:]:
            out = out + term(t)
        return out

    def __add__(self, other: AbstractForcing | ArrayLike) -> AbstractForcing:
        if isinstance(other, Sum):
            return Sum(self.terms + other.terms)
        if isinstance(other, AbstractForcing):
            return Sum(self.terms + (other,))
        return super().__add__(other)

    @property
    def is_complex(self) -> bool:
        return any(term.is_complex for term in self.terms)


class Scaled(AbstractForcing):
    """A forcing times a number or a per-node spatial pattern (built by `f * weights`)."""

    forcing: AbstractForcing
    weights: Inexact[Array, "*nodes"] = eqx.field(converter=_arr)

    def __check_init__(self):
        check_finite("Scaled", "weights", self.weights)

    def __call__(self, t: Float[ArrayLike, ""]) -> Inexact[Array, "*nodes"]:
        return self.weights * self.forcing(t)

    @property
    def is_complex(self) -> bool:
        return self.forcing.is_complex or jnp.iscomplexobj(self.weights)


def as_forcing(value: AbstractForcing | ArrayLike | None) -> AbstractForcing | None:
    """`None` stays `None`; a number or array becomes a `Constant`; a forcing is returned as is."""
    if value is None or isinstance(value, AbstractForcing):
        return value
    if callable(value):
        raise TypeError(
            "`forcing` must be a rosetta_jax.forcing object (Constant, Sinusoid, PulseTrain, "
            "Interpolated or a sum of them), a number or an array; wrap custom drives in "
            "forcing.Interpolated."
        )
    return Constant(value)
