"""Rungs 0-2: harmonic, damped and Stuart-Landau oscillators, and Kuramoto phase oscillators.

Time is dimensionless (`time_unit = None`): rates such as $\\omega$ and $\\alpha$ are per unit of
model time. The input channel carries a complex drive $F = F_x + i F_y$ that enters both
equations ($\\dot z = \\dots + F$); a real drive acts on $x$ only.

Reference: Castaldo et al., "Rosetta Stone of Neural Mass Models", Physics Reports (2026),
sections 2 (undamped and damped oscillators, Kuramoto) and 3 (Stuart-Landau).
"""

from __future__ import annotations

from typing import ClassVar

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Complex, Float

from ._base import AbstractModel, drive, param
from ._types import ComplexDrive, Scalar, State


def _complex_drive(args: ComplexDrive) -> tuple[Array, Array]:
    """The real and imaginary parts $(F_x, F_y)$ of the drive."""
    u = drive(args)
    return jnp.real(u), jnp.imag(u)


class _AbstractPlanarOscillator(AbstractModel):
    """A rung 0-2 oscillator in the plane, $z = x + iy$, driven by a complex $F$.

    State: `(x, y)`. Observable: `x`. Efferent: $z$.
    """

    state_names: ClassVar[tuple[str, ...]] = ("x", "y")
    time_unit: ClassVar[str | None] = None
    complex_input: ClassVar[bool] = True

    def input_gain(self, y: State) -> Float[Array, "n_states 2"]:
        """The complex drive's real and imaginary parts enter $\\dot x$ and $\\dot y$."""
        return jnp.eye(2, dtype=y.dtype)

    def observe(self, y: State) -> Scalar:
        return y[0]

    def efferent(self, y: State) -> Complex[Array, ""]:
        """The complex amplitude $z = x + iy$ (diffusive coupling, Castaldo et al. 2026,
        sections 2.2.2 and 3.2)."""
        return y[0] + 1j * y[1]


class HarmonicOscillator(_AbstractPlanarOscillator):
    """Undamped (phase-only) harmonic oscillator, rung 0 of the ladder.

    $$\\dot x = -\\omega y + F_x, \\qquad \\dot y = \\omega x + F_y \\quad
    (\\Leftrightarrow \\dot z = i\\omega z + F).$$

    The radius $|z|$ is conserved (neutral, not attracting). A constant drive moves the centre
    of rotation to $z^* = iF/\\omega$, i.e. $(x^*, y^*) = (-F_y/\\omega, F_x/\\omega)$. Castaldo
    et al. (2026), section 2.1.1, print $(-F_x/\\omega, 0)$ for a real $F$; setting
    $\\dot x = \\dot y = 0$ gives $(0, F_x/\\omega)$, as does the paper's own DC-shift appendix
    (see docs/models.md, errata).

    State: `(x, y)`. Observable: `x`.

    Args:
        omega: angular frequency [rad per unit time], default 1.

    Reference: Castaldo et al. (2026), section 2.1 (2.1.1: forcing; 2.1.3: network).
    Equations, units and errata: docs/models.md#harmonic-oscillator
    """

    omega: Array = param(1.0)
    affine: ClassVar[bool] = True

    def vector_field(self, t: ArrayLike, y: State, args: ComplexDrive) -> State:
        fx, fy = _complex_drive(args)
        x, yy = y[0], y[1]
        return jnp.stack([-self.omega * yy + fx, self.omega * x + fy])

    def initial_state(self) -> State:
        return jnp.array([1.0, 0.0])


class DampedOscillator(_AbstractPlanarOscillator):
    """Damped harmonic oscillator (rung 1), the linearisation of any rung at a focus.

    $$\\dot z = (\\alpha + i\\omega) z + F,\\qquad
    \\dot x = \\alpha x - \\omega y + F_x,\\quad \\dot y = \\omega x + \\alpha y + F_y.$$

    $\\alpha < 0$ decays with time constant $-1/\\alpha$; the natural frequency is
    $\\sqrt{\\alpha^2+\\omega^2}$. A constant complex drive gives the fixed point
    $z^* = -F/(\\alpha + i\\omega)$; a drive $f_0 e^{i\\omega_s t}$ gives the Lorentzian
    steady amplitude $|f_0|/\\sqrt{\\alpha^2 + (\\omega_s-\\omega)^2}$.

    State: `(x, y)`. Observable: `x`.

    Args:
        alpha: growth rate [1/unit time], default -0.1 (a stable focus).
        omega: angular frequency [rad per unit time], default 1.

    Reference: Castaldo et al. (2026), section 2.2 (2.2.2: network; 2.2.3: linear response).
    Equations, units and errata: docs/models.md#damped-oscillator
    """

    alpha: Array = param(-0.1)
    omega: Array = param(1.0)
    affine: ClassVar[bool] = True

    def vector_field(self, t: ArrayLike, y: State, args: ComplexDrive) -> State:
        fx, fy = _complex_drive(args)
        x, yy = y[0], y[1]
        a, w = self.alpha, self.omega
        return jnp.stack([a * x - w * yy + fx, w * x + a * yy + fy])

    def initial_state(self) -> State:
        return jnp.array([1.0, 0.0])


class StuartLandau(_AbstractPlanarOscillator):
    """Stuart-Landau oscillator: the normal form of a Hopf bifurcation (rung 2).

    $$\\dot z = (\\alpha + i\\omega) z - (\\gamma + i\\beta)|z|^2 z + F.$$

    For $\\gamma > 0$ the Hopf at $\\alpha = 0$ is supercritical; for $\\alpha > 0$ the limit
    cycle is a circle of radius $\\sqrt{\\alpha/\\gamma}$ travelled at
    $\\omega - \\beta\\alpha/\\gamma$.

    State: `(x, y)`. Observable: `x`.

    Args:
        alpha: bifurcation parameter [1/unit time], default 1 (limit cycle).
        omega: linear angular frequency [rad per unit time], default 1.
        gamma: amplitude saturation [1/unit time], default 1.
        beta: shear, amplitude-dependent frequency [1/unit time], default 0.

    Reference: Castaldo et al. (2026), section 3 (3.1: forcing; 3.2: network); the paper's
    bifurcation figure uses $\\gamma = 1, \\beta = 0, \\omega = 1$.
    Equations, units and errata: docs/models.md#stuart-landau
    """

    alpha: Array = param(1.0)
    omega: Array = param(1.0)
    gamma: Array = param(1.0)
    beta: Array = param(0.0)

    def vector_field(self, t: ArrayLike, y: State, args: ComplexDrive) -> State:
        fx, fy = _complex_drive(args)
        x, yy = y[0], y[1]
        r2 = x * x + yy * yy
        a, w, g, b = self.alpha, self.omega, self.gamma, self.beta
        dx = a * x - w * yy - g * r2 * x + b * r2 * yy + fx
        dy = a * yy + w * x - g * r2 * yy - b * r2 * x + fy
        return jnp.stack([dx, dy])

    def initial_state(self) -> State:
        return jnp.array([0.1, 0.0])


class Kuramoto(AbstractModel):
    """Kuramoto phase oscillators: a single phase, or an all-to-all population.

    $$\\dot\\theta_i = \\omega_i + \\frac{K}{N}\\sum_{j=1}^N \\sin(\\theta_j - \\theta_i) + u_i.$$

    With a scalar `omega` this is one phase oscillator (the network node of rung 0; networks
    add the connectome coupling). With `omega` of shape `(N,)` it is the classic all-to-all
    population of N oscillators with coupling `K`.

    State: `theta` (N phases, rad). Observable: $\\cos\\theta$ (scalar for a single phase).
    Noise and drive enter each phase equation.

    Args:
        omega: natural angular frequency [rad per unit time], scalar or shape `(N,)`.
        K: all-to-all coupling strength [rad per unit time], default 0.

    Reference: Castaldo et al. (2026), section 2.1.4; Kuramoto (1984).
    Equations, units and errata: docs/models.md#kuramoto
    """

    omega: Array = param(1.0)
    K: Array = param(0.0)

    time_unit: ClassVar[str | None] = None
    noise_enters_as_drive: ClassVar[bool] = True

    def __check_init__(self):
        if jnp.ndim(self.omega) > 1:
            raise ValueError(
                f"Kuramoto.omega must be a scalar or a 1-D array of N frequencies; "
                f"got shape {jnp.shape(self.omega)}."
            )

    @property
    def n(self) -> int:
        return int(jnp.size(self.omega))

    @property
    def state_names(self) -> tuple[str, ...]:  # type: ignore[override]
        if jnp.ndim(self.omega) == 0:
            return ("theta",)
        return tuple(f"theta_{i}" for i in range(self.n))

    def input_shape(self) -> tuple[int, ...]:
        return (self.n,)

    def vector_field(self, t: ArrayLike, y: State, args: Float[ArrayLike, "*n"] | None) -> State:
        theta = y
        diff = theta[None, :] - theta[:, None]  # theta_j - theta_i
        coupling = self.K * jnp.mean(jnp.sin(diff), axis=1)
        omega = jnp.broadcast_to(self.omega, theta.shape)
        return omega + coupling + drive(args)

    def input_gain(self, y: State) -> Float[Array, "n_states n_states"]:
        """The drive (and noise) adds to each phase's rate."""
        return jnp.eye(y.shape[0], dtype=y.dtype).reshape(y.shape + tuple(self.input_shape()))

    def initial_state(self) -> State:
        n = self.n
        return 2 * jnp.pi * jnp.arange(n, dtype=jnp.result_type(float)) / n

    def observe(self, y: State) -> Float[Array, "*n"]:
        c = jnp.cos(y)
        return c[0] if jnp.ndim(self.omega) == 0 else c

    def efferent(self, y: State) -> Complex[Array, "*n"]:
        """$e^{i\\theta}$: the sine coupling is
        $\\mathrm{Im}(e^{-i\\theta_i}\\sum_j C_{ij} e^{i\\theta_j})$."""
        e = jnp.exp(1j * y)
        return e[0] if jnp.ndim(self.omega) == 0 else e
