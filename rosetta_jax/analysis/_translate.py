"""Rung-to-rung translation: see any model in the language of a lower rung.

* At a stable focus, each complex mode $\\lambda = \\alpha \\pm i\\omega$ of the Jacobian is a
damped
  oscillator (rung 1).
* Near a Hopf point, the dynamics on the centre manifold is the Stuart-Landau normal form
  $\\dot z = (\\alpha + i\\omega) z - (\\gamma + i\\beta)|z|^2 z$ (rung 2), with
  $\\gamma + i\\beta = -c_1$,
  $c_1$ the first Lyapunov coefficient (Kuznetsov, Elements of Applied Bifurcation Theory, 3rd
  ed., eq. 5.39).
* A Stuart-Landau oscillator (or a weakly coupled network of them) reduces to phases: Kuramoto
  (-Sakaguchi) (Kuramoto 1984; see `phase_reduction`).
"""

from __future__ import annotations

import math
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import ArrayLike, Complex, Float, PyTree

from ..coupling import Diffusive, Sine
from ..models._base import AbstractModel
from ..models.oscillators import DampedOscillator, Kuramoto, StuartLandau
from ..network import Network
from ._dynamics import fixed_points, jacobian
from ._precision import in_float64


_State = Float[ArrayLike, "*state_shape"]  # a state shaped like `model.initial_state()`


class NormalForm(eqx.Module):
    """The Stuart-Landau normal form of a model near a Hopf point.

    Attributes:
        model: the `StuartLandau` oscillator (rates in the original model's time unit).
        state: the equilibrium $y^*$.
        q: the critical eigenvector (complex, $\\|q\\| = 1/\\sqrt2$):
            $y(t) \\approx y^* + 2\\,\\mathrm{Re}(z q)$.
        c1: the cubic coefficient $c_1 = -(\\gamma + i\\beta)$.
    """

    model: StuartLandau
    state: Float[np.ndarray, "*state_shape"]
    q: Complex[np.ndarray, " n_state"]
    c1: complex

    def observable_amplitude(self, model: AbstractModel) -> float:
        """Predicted peak amplitude of `model.observe` on the limit cycle ($2 r^* |c \\cdot q|$),
        or 0 below the Hopf."""
        sl = self.model
        if float(sl.alpha) <= 0 or float(sl.gamma) <= 0:
            return 0.0
        r = math.sqrt(float(sl.alpha) / float(sl.gamma))
        c = np.asarray(
            jax.grad(lambda y: model.observe(y.reshape(self.state.shape)))(
                jnp.asarray(self.state).reshape(-1)
            )
        )
        return 2 * r * abs(np.dot(c, self.q))

    def cycle_frequency(self) -> float:
        """Angular frequency on the limit cycle, $\\omega - \\beta\\alpha/\\gamma$ (rad per time
        unit)."""
        sl = self.model
        return float(sl.omega - sl.beta * sl.alpha / sl.gamma)


@in_float64
def damped_modes(
    model: AbstractModel, *, y_star: _State | None = None, args: PyTree = None
) -> tuple[DampedOscillator, ...]:
    """The damped oscillators equivalent to each complex mode at a stable focus.

    Returns:
        A tuple of `DampedOscillator(alpha, omega)`, least damped first; rates are in the model's
        time unit (1/s for Jansen-Rit, 1/ms for MPR).
    """
    y = _equilibrium(model, y_star, args, need_stable=True)
    ev = np.linalg.eigvals(np.asarray(jacobian(model, y, args)))
    pairs = sorted((e for e in ev if e.imag > 1e-9 * max(1.0, abs(e))), key=lambda e: -e.real)
    if not pairs:
        raise ValueError(
            "The equilibrium is a node (no complex eigenvalues): there is no "
            "oscillatory mode to translate."
        )
    return tuple(DampedOscillator(alpha=float(e.real), omega=float(e.imag)) for e in pairs)


@in_float64
def normal_form(
    model: AbstractModel, *, y_star: _State | None = None, args: PyTree = None
) -> NormalForm:
    """Stuart-Landau normal form of `model` at (or near) a Hopf point.

    The equilibrium's leading complex pair $\\lambda = \\alpha + i\\omega$ (with $\\alpha$ small
    near
    the Hopf) and the first Lyapunov coefficient give
    $\\dot z = \\lambda z + c_1 |z|^2 z$, i.e. `StuartLandau(alpha, omega, gamma=-Re c1,
    beta=-Im c1)`. $c_1$ is computed with the projection method (Kuznetsov eq. 5.39), valid in
    any dimension:
    $c_1 = \\tfrac12\\langle p, C(q,q,\\bar q) + 2B(q, -A^{-1}B(q,\\bar q))
    + B(\\bar q, (2i\\omega - A)^{-1}B(q,q))\\rangle$.

    Args:
        model: a model near a Hopf point (e.g. at a `continuation` Hopf point's parameter).
        y_star: the equilibrium (default: found by `fixed_points`; the one whose leading complex
            pair has the smallest |real part|).
        args: constant input.
    """
    y = _equilibrium(model, y_star, args, need_stable=False)
    shape = y.shape
    f = lambda x: model.vector_field(0.0, x.reshape(shape), args).reshape(-1)
    x0 = jnp.asarray(y).reshape(-1)
    A = np.asarray(jax.jacfwd(f)(x0))
    ev, V = np.linalg.eig(A)
    cand = [k for k in range(len(ev)) if ev[k].imag > 1e-9 * max(1.0, abs(ev[k]))]
    if not cand:
        raise ValueError("No complex eigenvalue at this equilibrium: not near a Hopf point.")
    k = min(cand, key=lambda k: abs(ev[k].real))
    lam = ev[k]
    omega = lam.imag
    # |q| = 1/sqrt(2): then y = y* + 2 Re(z q) makes the normal form of a Stuart-Landau
    # oscillator that oscillator itself (gamma and beta unchanged).
    q = V[:, k] / (np.sqrt(2.0) * np.linalg.norm(V[:, k]))
    evT, W = np.linalg.eig(A.T)
    kp = int(np.argmin(np.abs(evT - np.conj(lam))))
    p = W[:, kp]
    p = p / np.conj(np.vdot(p, q))  # <p, q> = conj(p) . q = 1

    def B(u, v):  # second derivative d^2 f (u, v), complex arguments by linearity
        return _bilinear(f, x0, u, v)

    def C(u, v, w):
        return _trilinear(f, x0, u, v, w)

    qb = np.conj(q)
    h11 = -np.linalg.solve(A, B(q, qb))
    h20 = np.linalg.solve(2j * omega * np.eye(len(q)) - A, B(q, q))
    c1 = 0.5 * np.vdot(p, C(q, q, qb) + 2 * B(q, h11) + B(qb, h20))
    sl = StuartLandau(
        alpha=float(lam.real), omega=float(omega), gamma=float(-c1.real), beta=float(-c1.imag)
    )
    return NormalForm(sl, np.asarray(y), q, complex(c1))


def _real_imag_dirs(u):
    u = np.asarray(u)
    return np.real(u), np.imag(u)


def _d2(f, x0, a, b):
    """Real second directional derivative d^2 f(x0)[a, b]."""
    a, b = jnp.asarray(a), jnp.asarray(b)
    return np.asarray(jax.jvp(lambda x: jax.jvp(f, (x,), (a,))[1], (x0,), (b,))[1])


def _d3(f, x0, a, b, c):
    a, b, c = jnp.asarray(a), jnp.asarray(b), jnp.asarray(c)
    g = lambda x: jax.jvp(lambda y: jax.jvp(f, (y,), (a,))[1], (x,), (b,))[1]
    return np.asarray(jax.jvp(g, (x0,), (c,))[1])


def _bilinear(f, x0, u, v):
    ur, ui = _real_imag_dirs(u)
    vr, vi = _real_imag_dirs(v)
    return (_d2(f, x0, ur, vr) - _d2(f, x0, ui, vi)) + 1j * (
        _d2(f, x0, ur, vi) + _d2(f, x0, ui, vr)
    )


def _trilinear(f, x0, u, v, w):
    parts = [_real_imag_dirs(z) for z in (u, v, w)]
    out = 0j
    for mask in range(8):
        picks = [(mask >> k) & 1 for k in range(3)]  # 0: real part, 1: imaginary part
        coef = 1j ** sum(picks)
        out = out + coef * _d3(f, x0, *[parts[k][picks[k]] for k in range(3)])
    return out


def _equilibrium(model, y_star, args, need_stable):
    if y_star is not None:
        return np.asarray(y_star)
    fps = fixed_points(model, args=args)
    if need_stable:
        fps = [fp for fp in fps if fp.stable]
        if not fps:
            raise ValueError("No stable equilibrium found; pass y_star.")
        return min(fps, key=lambda fp: float(np.max(fp.eigenvalues.real))).state
    complexes = [fp for fp in fps if np.any(np.abs(fp.eigenvalues.imag) > 1e-9)]
    if not complexes:
        raise ValueError("No equilibrium with complex eigenvalues found; pass y_star.")

    def distance(fp):
        c = fp.eigenvalues[np.abs(fp.eigenvalues.imag) > 1e-9]
        return float(np.min(np.abs(c.real)))

    return min(complexes, key=distance).state


def phase_reduction(model: StuartLandau | Network) -> Kuramoto | Network:
    """Kuramoto phase model of a Stuart-Landau oscillator or a diffusive SL network.

    A single `StuartLandau` becomes `Kuramoto(omega = omega - alpha beta / gamma)`. A `Network` of
    SL nodes with diffusive coupling $G\\sum_j C_{ij}(z_j - z_i)$ becomes, for weak coupling,
    $\\dot\\varphi_i = \\Omega_i + G\\frac{\\beta}{\\gamma}\\sum_j C_{ij}
    + G K\\sum_j C_{ij}\\sin(\\varphi_j - \\varphi_i - a)$ with $K = \\sqrt{1 +
    \\beta^2/\\gamma^2}$,
    $a = \\arctan(\\beta/\\gamma)$: a Kuramoto network with `coupling.Sine(lag=a)` and gain $GK$.

    Reference: Kuramoto (1984); the appendix on phase reduction of Castaldo et al.,
    arXiv:2512.10982v1, which prints the drift as $GK\\beta/\\gamma$; its own phase response
    curve gives $G\\beta/\\gamma$, used here (see docs/models.md, errata).
    """
    if isinstance(model, StuartLandau):
        return Kuramoto(omega=model.omega - model.beta * model.alpha / model.gamma)
    if (
        isinstance(model, Network)
        and isinstance(model.node, StuartLandau)
        and isinstance(model.coupling, Diffusive)
    ):
        sl = model.node
        if jnp.ndim(sl.gamma) or jnp.ndim(sl.beta):
            raise ValueError("The phase reduction needs shared (scalar) gamma and beta.")
        ratio = sl.beta / sl.gamma
        rowsum = jnp.sum(model.weights, axis=1)
        omega = sl.omega - sl.alpha * ratio + model.G * ratio * rowsum
        K = jnp.sqrt(1 + ratio**2)
        return Network(
            Kuramoto(omega=omega),
            model.weights,
            G=model.G * K,
            coupling=Sine(lag=jnp.arctan(ratio)),
            normalize=None,
            delays=model.delay_matrix(),
        )
    raise TypeError(
        "phase_reduction takes a StuartLandau oscillator or a Network of them with "
        "diffusive coupling."
    )


def translate(
    model: AbstractModel, to: str = "damped", **kwargs: Any
) -> tuple[DampedOscillator, ...] | AbstractModel:
    """One model in the language of a lower rung.

    Args:
        model: any model (or network).
        to: `"damped"` (the damped oscillator of each complex mode at a stable focus: a tuple
            of `DampedOscillator`, least damped first), `"stuart_landau"` (the
            `StuartLandau` normal form near a Hopf point; `normal_form` also returns the
            eigenvector mapping it back to the model's state), or `"kuramoto"` (the phase
            reduction of a Stuart-Landau oscillator or network; other models go through their
            normal form first).
        **kwargs: `y_star`, `args` for the equilibrium.
    """
    if to == "damped":
        return damped_modes(model, **kwargs)
    if to == "stuart_landau":
        return normal_form(model, **kwargs).model
    if to == "kuramoto":
        if isinstance(model, (StuartLandau, Network)):
            return phase_reduction(model)
        return phase_reduction(normal_form(model, **kwargs).model)
    raise ValueError(f"`to` must be 'damped', 'stuart_landau' or 'kuramoto'; got {to!r}.")
