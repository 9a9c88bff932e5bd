"""The interface every model of the ladder implements."""

from __future__ import annotations

import abc
from typing import Any, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Bool, Float, Inexact

from .._validation import check_finite, check_positive


def param(default: float, **kwargs: Any):
    """A model parameter: an array leaf, so a new value never recompiles."""
    return eqx.field(default=default, converter=jnp.asarray, **kwargs)


class AbstractModel(eqx.Module):
    """A model of the Rosetta ladder: a pure vector field plus what is needed to run it.

    Subclasses are final `eqx.Module`s whose numeric fields are array leaves (so they can be
    traced, vmapped and differentiated). The state is a flat vector; its layout is given by
    `state_names`.

    Class attributes:
        state_names: names of the state variables, in order.
        time_unit: `"s"`, `"ms"` or `None` (dimensionless time).
        complex_input: True when the input channel carries a complex drive $F = F_x + i F_y$
            (harmonic, damped and Stuart-Landau oscillators).
        positive_params: names of parameters that must be strictly positive
            (time constants, rates, widths); checked at construction.
        rhythm_band: where the model's rhythms lie, `(low, high)` in Hz for models in s or
            ms and in cycles per time unit for dimensionless ones; the default search band
            of peak-frequency features (`sweep`, `fit.spectral_features`). None: the whole
            resolved spectrum.
        noise_enters_as_drive: True when white noise in the input channel enters exactly as
            the drive does ($g = \\partial f/\\partial u$): the engine then evaluates
            $f(t, y, u + \\xi)$, one fused evaluation, rather than $f(t, y, u) + g\\,\\xi$
            (the same value; measured 15-40 % faster for noisy Jansen-Rit runs on CPU).
        affine: True when the vector field is affine in the state (a linear system, as the
            harmonic and damped oscillators): its equilibrium is one linear solve, without
            Newton's iteration, and every Jacobian is the same.
    """

    state_names: ClassVar[tuple[str, ...]] = ()
    time_unit: ClassVar[str | None] = None
    complex_input: ClassVar[bool] = False
    positive_params: ClassVar[tuple[str, ...]] = ()
    rhythm_band: ClassVar[tuple[float, float] | None] = None
    noise_enters_as_drive: ClassVar[bool] = False
    affine: ClassVar[bool] = False

    def __check_init__(self):
        owner = type(self).__name__
        for name, value in _numeric_fields(self):
            check_finite(owner, name, value)
        for name in self.positive_params:
            check_positive(owner, name, getattr(self, name))

    @abc.abstractmethod
    def vector_field(
        self, t: ArrayLike, y: Float[Array, " n_states"], args: Any
    ) -> Float[Array, " n_states"]:
        """Time derivative of the state.

        Args:
            t: time, in `time_unit`.
            y: state, shape `(len(state_names),)`.
            args: external drive into the model's input channel (a scalar, complex for the
                oscillators), or `None` for no input.

        Returns:
            $dy/dt$, same shape as `y`.
        """

    @abc.abstractmethod
    def initial_state(self) -> Float[Array, " n_states"]:
        """A default initial state."""

    @abc.abstractmethod
    def observe(self, y: Float[Array, " n_states"]) -> Float[Array, ""]:
        """The canonical observable (e.g. the EEG proxy $y_1 - y_2$ for Jansen-Rit)."""

    def efferent(self, y: Float[Array, " n_states"]) -> Inexact[Array, "*input"]:
        """What the node sends to other nodes in a `Network` (docs/models.md, network
        coupling conventions).

        The coupling weights it and adds it to the receiving node's input channel: a firing
        rate for NMM1, a synaptic activation for NMM2, the E activity for Wilson-Cowan, the
        complex amplitude $z$ for the oscillators, $e^{i\\theta}$ for Kuramoto.
        """
        raise TypeError(
            f"{type(self).__name__} does not define `efferent`, so it cannot be a network node."
        )

    def input_shape(self) -> tuple[int, ...]:
        """Shape of one sample of the drive (and of white noise) in the input channel."""
        return ()

    def noise_shape(self) -> tuple[int, ...]:
        """Shape of one white-noise sample: `input_shape()`, with a trailing axis of the real
        and imaginary parts for models with a complex input channel."""
        shape = tuple(self.input_shape())
        return (*shape, 2) if self.complex_input else shape

    def input_entry(self) -> tuple[int | slice, ArrayLike] | None:
        """Where white noise in the input channel enters the state, for models whose noise
        adds to a few equations: `(index, gain)`, the state entries (an integer or a
        contiguous slice) and their gains, so that $g(y)\\,\\xi$ is `gain * xi` there and
        zero elsewhere. Every neural mass model of the ladder declares it; None (the default):
        `input_gain` gives the gain instead."""
        return None

    def input_gain(self, y: Float[Array, " n_states"]) -> Float[Array, " n_states *noise"]:
        """How white noise in the input channel enters the state: the matrix $g(y)$ of
        $dy = f(t, y, u)\\,dt + g(y)\\,\\sigma\\,dW$, shape `y.shape + noise_shape()`.

        From `input_entry` where the model declares it. Otherwise $\\partial f/\\partial u$ at
        $u = 0$, exact for models whose input enters the vector field additively; a model
        with its input inside a nonlinearity (a sigmoid) must declare the equation the noise
        enters (`input_entry`) or override this method.
        """
        entry = self.input_entry()
        if entry is not None:
            index, gain = entry
            return jnp.zeros_like(y).at[index].set(jnp.asarray(gain, dtype=y.dtype))
        shape = self.noise_shape()
        zero = jnp.zeros(shape, dtype=y.dtype)

        def f(u):
            drive_u = u[..., 0] + 1j * u[..., 1] if self.complex_input else u
            return self.vector_field(0.0, y, drive_u)

        return jax.jacfwd(f)(zero)

    def apply_input_gain(
        self, y: Float[Array, " n_states"], xi: Float[Array, "*noise"]
    ) -> Float[Array, " n_states"]:
        """$g(y)\\,\\xi$: the rate of change the noise sample `xi` (shape `noise_shape()`)
        adds to the state."""
        entry = self.input_entry()
        if entry is not None and jnp.ndim(xi) == 0:
            # Scattering the product, rather than multiplying a gain vector, keeps the noise
            # term inside the step's fused loop on CPU (measured 1.7x on a noisy JR batch).
            index, gain = entry
            return jnp.zeros_like(y).at[index].set(jnp.asarray(gain * xi, dtype=y.dtype))
        return jnp.tensordot(self.input_gain(y), xi, axes=jnp.ndim(xi)).astype(y.dtype)

    def noisy_vector_field(
        self, t: ArrayLike, y: Float[Array, " n_states"], args: Any, xi: Float[Array, "*noise"]
    ) -> Float[Array, " n_states"]:
        """The drift plus the noise term: $f(t, y, u) + g(y)\\,\\xi$, with `xi`
        ($\\sigma\\,\\Delta W/\\Delta t$, shape `noise_shape()`) white noise in the input
        channel."""
        if self.noise_enters_as_drive:
            return self.vector_field(t, y, xi if args is None else args + xi)
        return self.vector_field(t, y, args) + self.apply_input_gain(y, xi)

    def admissible(self, y: Float[Array, " n_states"]) -> Bool[Array, ""]:
        """Whether a state is physically meaningful (e.g. firing rates >= 0); used to discard
        spurious equilibria of the equations."""
        return jnp.asarray(True)

    def history_length(self, dt: float) -> int:
        """Slots of the engine's delay ring buffer at step `dt` (0: no delays)."""
        return 0

    def check_delays(self, dt: float) -> None:
        """Raise ValueError when the delays do not suit the step `dt` (no delays: nothing)."""

    def delay_edges(self, dt: float) -> Any:
        """The delayed edges the engine's ring buffer reads (`engine.DelayEdges`: sources,
        weights, delays in steps), or None for a model without delays."""
        return None

    def delayed_vector_field(
        self, t: ArrayLike, y: Float[Array, " ..."], args: Any, afferent: Float[Array, " n"]
    ) -> Float[Array, " ..."]:
        """The drift given the delayed afferent sums read by the engine (models whose
        `delay_edges` is not None)."""
        raise TypeError(f"{type(self).__name__} has no delayed inputs.")

    @property
    def n_states(self) -> int:
        return len(self.state_names)


def drive(args: Any) -> Any:
    """The input `args`, with `None` meaning zero."""
    return 0.0 if args is None else args


def _numeric_fields(module: eqx.Module):
    import dataclasses

    for f in dataclasses.fields(module):
        if f.metadata.get("static", False):
            continue
        value = getattr(module, f.name, None)
        if eqx.is_array(value):
            yield f.name, value
