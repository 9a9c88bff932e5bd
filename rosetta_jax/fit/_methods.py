"""How a model's spectra and FC are computed for fitting and sensitivity: `Linear` (the model
linearised at a stable equilibrium: analytic, noise-free, smooth in the parameters) or
`Simulated` (Welch spectra and correlations of noisy simulations, averaged over keys: any model,
any regime). Both are objects holding their own settings, shared by `SpectrumObjective`,
`FCObjective` and `spectral_features`/`fc_features`.
"""

from __future__ import annotations

import math
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from .._validation import is_concrete
from ..analysis._dynamics import _flat_field, continued, equilibrium, jacobian
from ..analysis._linear import linear_fc, linear_spectrum
from ..analysis._signal import functional_connectivity, welch
from ..engine import simulate
from ..features import Activity
from ..models._base import AbstractModel
from ..noise import AbstractNoise
from ..units import TimeUnit


# What `spectrum` takes and gives: the frequencies [Hz], and the PSD per channel with the least
# damping ratio of the equilibrium's modes (`lead_field`: gain matrix, sensors x regions).
Freqs = Float[Array, " n_freqs"]
PSDAndDamping = tuple[Float[Array, "n_freqs n_channels"], Float[Array, ""]]


def damping_ratio(model: AbstractModel, y: Float[ArrayLike, " *state"]) -> Float[Array, ""]:
    """The smallest damping ratio $-\\mathrm{Re}\\,\\lambda / |\\lambda|$ over the eigenvalues of
    the model's Jacobian at `y` (1 for a pure decay, 0 at a Hopf or fold point, < 0 beyond).

    Differentiable through first-order perturbation theory of the least-damped eigenvalue
    alone, $d\\lambda = u^T dJ\\, v / u^T v$ with its right and left eigenvectors: the
    synaptic kernels of neural mass models give the Jacobian repeated (defective)
    eigenvalues, at which differentiating the whole eigendecomposition returns NaN.

    One eigendecomposition gives both eigenvector sets, and $dJ\\,v$ comes from two
    Jacobian-vector products (the real and imaginary parts of $v$), so that the gradient does
    not go through the whole Jacobian."""
    x = jnp.asarray(y).reshape(-1)
    return _least_damped(model, x, _stopped_jacobian(model, x))


def _stopped_jacobian(model: AbstractModel, x: Array) -> Array:
    """The Jacobian at the flat state `x`, without gradients."""
    return jax.lax.stop_gradient(jacobian(jax.lax.stop_gradient(model), x))


def _planar_damping(J: Array) -> Array:
    """The smallest damping ratio of a 2 x 2 Jacobian in closed form, from its trace $t$ and
    determinant $d$: $-t / 2\\sqrt{d}$ for a complex pair ($t^2 < 4d$), else
    $-\\mathrm{sign}$ of the larger real eigenvalue. Differentiable as it is."""
    t = J[0, 0] + J[1, 1]
    d = J[0, 0] * J[1, 1] - J[0, 1] * J[1, 0]
    disc = 0.25 * t**2 - d
    focus = disc < 0
    complex_zeta = -t / (2.0 * jnp.sqrt(jnp.where(focus, d, 1.0)))
    top = 0.5 * t + jnp.sqrt(jnp.where(focus, 0.0, disc))
    return jnp.where(focus, complex_zeta, -jnp.sign(top))


def _least_damped(model: AbstractModel, x: Array, Js: Array) -> Array:
    """`damping_ratio` at the flat state `x`, given the Jacobian `Js` there (two states: in
    closed form)."""
    if Js.shape[-1] == 2:
        return _planar_damping(jacobian(model, x))
    f, _ = _flat_field(model)
    # LAPACK's left eigenvectors w satisfy w^H J = lambda w^H.
    lam, W, V = jax.lax.linalg.eig(
        Js, compute_left_eigenvectors=True, compute_right_eigenvectors=True
    )
    zeta = -lam.real / jnp.maximum(jnp.abs(lam), 1e-12)
    k = jnp.argmin(zeta)
    lam_k, v, u = lam[k], V[:, k], jnp.conj(W[:, k])  # u^T J = lambda u^T
    dv = jax.vmap(lambda t: jax.jvp(f, (x,), (t,))[1])(jnp.stack([v.real, v.imag]))
    d = u @ jax.lax.complex(dv[0], dv[1]) / (u @ v)  # lambda, carrying u^T dJ v
    lam_k = lam_k + (d - jax.lax.stop_gradient(d))  # value unchanged, gradient first order
    return -lam_k.real / jnp.maximum(jnp.abs(lam_k), 1e-12)


def _sector_damped(J: Array, zeta_min: float) -> Array:
    """Whether every eigenvalue of `J` has a damping ratio of at least `zeta_min`, by a
    sufficient test: one Cholesky factorisation per rotation instead of an eigendecomposition.

    The damping ratio is at least $\\zeta_{min} = \\sin\\gamma$ where $e^{i\\gamma}\\lambda$ and
    $e^{-i\\gamma}\\lambda$ both have negative real parts. Where the Hermitian part of
    $e^{\\pm i\\gamma}J$ is negative definite, the numerical range of $J$, which holds its
    eigenvalues, is in that sector. The test is exact for a normal $J$ (e.g. a network of
    Hopf oscillators on symmetric weights) and conservative otherwise (False where it cannot
    tell). A real $J$ needs one rotation (its numerical range is symmetric about the real
    axis)."""
    gamma = math.asin(zeta_min)
    ok = jnp.asarray(True)
    for g in (gamma,) if not jnp.iscomplexobj(J) else (gamma, -gamma):
        w = complex(math.cos(g), math.sin(g))
        negated = -0.5 * (w * J + w.conjugate() * jnp.conj(J).T)
        ok = ok & jnp.all(jnp.isfinite(jnp.linalg.cholesky(negated)))  # NaN: not definite
    return ok


class Linear(eqx.Module):
    """The model linearised at the stable equilibrium near `y_guess`: the analytic spectrum
    $S(\\omega) = G D G^*$ and the Lyapunov covariance (FC). Exact, noise-free and smooth in
    the parameters, but only valid at a stable state, so it comes with a stability penalty.

    Args:
        y_guess: a state near the wanted equilibrium, e.g. `analysis.stable_equilibrium(model)`
            (default `initial_state()`). Newton's method must converge from it (else the loss
            is NaN and a fitting step is rejected).
        freqs: frequency grid of spectral features [Hz] (default: 400 points up to 1.5 times
            the top of the model's `rhythm_band` and at least 100 Hz; up to 1 cycle per unit
            for dimensionless models). Objectives use their target's frequencies instead.
        newton_iterations: Newton iterations for the equilibrium.
        anchor: a model whose equilibrium `y_guess` is: Newton then starts from that branch
            continued to the model (`continuation_steps` steps), so that a bistable model
            keeps its branch instead of jumping to the saddle (ignored by affine models).
        min_damping, stability_weight: the penalty `stability_weight` times
            $\\mathrm{relu}(1 - \\zeta/\\zeta_{min})^2$, where $\\zeta$ is the smallest damping
            ratio of the equilibrium's modes: the analytic spectrum holds only at a stable
            state, and a peak sharper than a damping ratio of `min_damping` (default 0.01, a
            quality factor of 50) is never seen in recordings. 0 switches it off.
    """

    y_guess: Float[Array, " *state"] | None = None
    freqs: Float[Array, " n_freqs"] | None = None
    newton_iterations: int = eqx.field(default=40, static=True)
    min_damping: float = eqx.field(default=0.01, static=True)
    stability_weight: float = eqx.field(default=1.0, static=True)
    anchor: AbstractModel | None = None
    continuation_steps: int = eqx.field(default=4, static=True)

    def __check_init__(self):
        if not (self.min_damping > 0 and self.stability_weight >= 0):
            raise ValueError("`min_damping` must be > 0 and `stability_weight` >= 0.")

    def equilibrium(self, model: AbstractModel) -> Float[Array, " *state"]:
        y0 = model.initial_state() if self.y_guess is None else jnp.asarray(self.y_guess)
        if self.anchor is not None and not getattr(model, "affine", False):
            y0 = continued(self.anchor, model, y0, self.continuation_steps)
        return equilibrium(model, y0, iterations=self.newton_iterations)

    def damping(self, model: AbstractModel, y: Float[Array, " *state"]) -> Float[Array, ""]:
        """The smallest damping ratio at `y` (1 when the penalty is off: not computed)."""
        return damping_ratio(model, y) if self.stability_weight else jnp.ones(())

    def penalised_damping(
        self, model: AbstractModel, y: Float[Array, " *state"]
    ) -> Float[Array, ""]:
        """The damping ratio that the stability penalty needs: the smallest one at `y`, or
        `min_damping` itself where a cheaper sufficient test (a Cholesky factorisation of the
        Jacobian's rotated Hermitian part, instead of an eigendecomposition) shows that every
        mode is damped at least that much, so that the penalty is 0. The penalty, the loss and
        its gradient are the same as with `damping`. 1 when the penalty is off."""
        if not self.stability_weight:
            return jnp.ones(())
        x = jnp.asarray(y).reshape(-1)
        if x.shape[0] == 2:  # closed form (`damping_ratio`): cheaper than the test
            return damping_ratio(model, x)
        Js = _stopped_jacobian(model, x)
        bound = jnp.full((), self.min_damping, jnp.finfo(Js.dtype).dtype)
        return jax.lax.cond(
            _sector_damped(Js, self.min_damping),
            lambda: bound,
            lambda: _least_damped(model, x, Js),
        )

    def penalty(self, zeta: Float[Array, " *nodes"]) -> Float[Array, ""]:
        """0 while every mode has damping ratio >= min_damping; 1 at the bifurcation; growing
        quadratically beyond."""
        if not self.stability_weight:
            return jnp.zeros(())
        return self.stability_weight * jnp.mean(jax.nn.relu(1.0 - zeta / self.min_damping) ** 2)

    def spectrum(self, model, noise, freqs: Freqs, key=None, lead_field=None) -> PSDAndDamping:
        """PSD at `freqs` [Hz], shape `(n_freqs, n_channels)`, and the damping ratio."""
        del key
        y = self.equilibrium(model)
        psd = linear_spectrum(model, freqs, noise, y_star=y, lead_field=lead_field).psd
        return psd, self.damping(model, y)

    def fc(
        self, model: AbstractModel, noise: AbstractNoise, key: PRNGKeyArray | None = None
    ) -> tuple[Float[Array, "n_regions n_regions"], Float[Array, ""]]:
        """The FC of the linearised model, and the damping ratio as the stability penalty
        reads it (`penalised_damping`).

        A concrete call (a report or figure of a fitted model) runs compiled programs, once
        per model structure, of what it needs only: no Newton solve where `y_guess` is
        already at rest (its residual at rounding level, where Newton takes no step), and no
        eigendecomposition where the damping test holds.

        Raises:
            ValueError: (concrete inputs) Newton did not converge from `y_guess`, as in
                `analysis.equilibrium`.
        """
        del key
        if not all(map(is_concrete, jax.tree.leaves((self, model, noise)))):
            y = self.equilibrium(model)
            return linear_fc(model, noise, y_star=y), self.penalised_damping(model, y)
        y = self._concrete_equilibrium(model)
        fc, damped = _fc_and_damping_test(self, model, noise, y)
        if not self.stability_weight:
            return fc, jnp.ones(())
        return fc, (jnp.asarray(self.min_damping, fc.dtype) if damped else _damping_ratio(model, y))

    def _concrete_equilibrium(self, model: AbstractModel) -> Float[Array, " *state"]:
        """`equilibrium` for concrete inputs: `y_guess` itself where it is at rest, else the
        compiled Newton solve (raising, as `analysis.equilibrium` does, where it fails)."""
        y0 = model.initial_state() if self.y_guess is None else jnp.asarray(self.y_guess)
        residual, scale = _residual(model, y0)
        if residual <= 1e3 * jnp.finfo(y0.dtype).eps * (1.0 + scale):
            return y0
        y = _equilibrium(self, model)
        if not np.all(np.isfinite(np.asarray(y))):
            self.equilibrium(model)  # raises, naming the failed Newton solve
        return y

    def default_freqs(self, model: AbstractModel) -> Float[np.ndarray, " n_freqs"]:
        """The grid of spectral features [Hz]: `freqs`, or 400 points up to the default top."""
        if self.freqs is not None:
            return np.asarray(self.freqs)  # concrete: a feature grid is a setting, not traced
        top = max(1.5 * model.rhythm_band[1], 100.0) if model.rhythm_band else 1.0
        return np.linspace(top / 400, top, 400)

    def activity(self, model, noise, key=None, *, spectral=True) -> tuple[Activity, float]:
        """What features read (the analytic spectrum, or the FC) and the spectrum's top."""
        del key
        if spectral:
            f = self.default_freqs(model)
            psd, _ = self.spectrum(model, noise, jnp.asarray(f, dtype=psd_dtype(model)))
            return Activity(freqs=jnp.asarray(f, dtype=psd.dtype), psd=psd), float(f[-1])
        return Activity(fc_matrix=self.fc(model, noise)[0]), np.inf


# The compiled pieces of a concrete `Linear.fc`.


@eqx.filter_jit
def _residual(model: AbstractModel, y: Array) -> tuple[Array, Array]:
    """$|f(y)|$ and $|y|$."""
    return jnp.linalg.norm(model.vector_field(0.0, y, None)), jnp.linalg.norm(y)


@eqx.filter_jit
def _equilibrium(method: Linear, model: AbstractModel) -> Array:
    """`method.equilibrium(model)`, NaN where Newton failed."""
    return method.equilibrium(model)


@eqx.filter_jit
def _fc_and_damping_test(method: Linear, model: AbstractModel, noise: AbstractNoise, y: Array):
    """The FC at the equilibrium `y`, and whether every mode is damped by at least
    `min_damping` by the sufficient test of `penalised_damping`."""
    Js = _stopped_jacobian(model, jnp.reshape(y, -1))
    return linear_fc(model, noise, y_star=y), _sector_damped(Js, method.min_damping)


_damping_ratio = eqx.filter_jit(damping_ratio)


class Simulated(eqx.Module):
    """Noisy simulations of the model, averaged over `n_keys` noise realisations.

    Args:
        t1, dt, save_every: the run, in the model's time unit (default
            `units.TimeUnit.default_run`: 10 s at dt = 0.1 ms for models in s, 2000 ms at
            dt = 0.01 ms for models in ms, 500 units at dt = 0.01 for dimensionless ones,
            saved every 10 steps).
        discard: the fraction of each run dropped as transient.
        n_keys: noise realisations averaged (spectra, FC).
        nperseg: Welch segment length (default: objectives resolve their target's frequency
            spacing; features use 2048 samples, at most the run).
        checkpoint: rematerialise the simulation in the backward pass, so the memory of a
            gradient stays bounded for long runs (default None: decided by `simulate` from the
            run's size; True/False force it).
        y0: the state the runs start from (default `initial_state()`).
    """

    t1: float | None = eqx.field(default=None, static=True)
    dt: float | None = eqx.field(default=None, static=True)
    save_every: int | None = eqx.field(default=None, static=True)
    discard: float = eqx.field(default=0.1, static=True)
    n_keys: int = eqx.field(default=1, static=True)
    nperseg: int | None = eqx.field(default=None, static=True)
    checkpoint: bool | None = eqx.field(default=None, static=True)
    y0: Float[Array, " *state"] | None = None

    def __check_init__(self):
        if not 0 <= self.discard < 1:
            raise ValueError(f"`discard` must be in [0, 1); got {self.discard!r}.")
        if int(self.n_keys) != self.n_keys or self.n_keys < 1:
            raise ValueError(f"`n_keys` must be a positive integer; got {self.n_keys!r}.")

    def run_settings(self, model) -> tuple[float, float, int]:
        t1, dt, save = TimeUnit.of(model).default_run
        return (self.t1 or t1, self.dt or dt, self.save_every or save)

    def sampling_rate(self, model) -> float:
        """Samples per second (Hz), or per time unit for dimensionless models."""
        _, dt, save = self.run_settings(model)
        return TimeUnit.of(model).hz_factor / (dt * save)

    def signals(
        self, model: AbstractModel, noise: AbstractNoise, key: PRNGKeyArray | None
    ) -> Float[Array, "n_keys n_times n_channels"]:
        """The observable of `n_keys` runs after the transient: (keys, time, channels)."""
        t1, dt, save = self.run_settings(model)
        run = dict(t1=t1, dt=dt, save_every=save, y0=self.y0, checkpoint=self.checkpoint)

        def one(k):
            sol = simulate(model, noise=noise, key=k, save_state=False, throw=False, **run)
            return sol.observed[int(self.discard * sol.observed.shape[0]) :]

        key = jr.key(0) if key is None else key
        x = jax.vmap(one)(jr.split(key, self.n_keys))
        return x.reshape(x.shape[0], x.shape[1], -1)

    def segment_length(self, model, freqs=None) -> int:
        """Welch segment length: `nperseg`, or enough to resolve the spacing of `freqs`."""
        if self.nperseg is not None:
            return int(self.nperseg)
        if freqs is None:
            return 2048
        f = np.asarray(freqs)
        step = float(np.min(np.diff(f))) if len(f) > 1 else 1.0
        return int(2 ** math.ceil(math.log2(max(8.0, self.sampling_rate(model) / step))))

    def spectrum(self, model, noise, freqs: Freqs, key=None, lead_field=None) -> PSDAndDamping:
        """Welch PSD averaged over keys, interpolated at `freqs` [Hz]: `(n_freqs, n_channels)`;
        and a damping ratio of 1 (no stability constraint)."""
        x = self.signals(model, noise, key)
        if lead_field is not None:
            x = x @ lead_field.T
        nperseg = min(self.segment_length(model, freqs), x.shape[1])
        f, P = welch(x, self.sampling_rate(model), nperseg=nperseg, axis=1)
        P = P.mean(axis=0)
        psd = jax.vmap(lambda p: jnp.interp(freqs, f, p), in_axes=1, out_axes=1)(P)
        return psd, jnp.ones(())

    def fc(
        self, model: AbstractModel, noise: AbstractNoise, key: PRNGKeyArray | None = None
    ) -> tuple[Float[Array, "n_channels n_channels"], Float[Array, "n_keys n_times n_channels"]]:
        """The FC averaged over keys, and the signals `(keys, time, channels)`."""
        x = self.signals(model, noise, key)
        return jnp.mean(jax.vmap(functional_connectivity)(x), axis=0), x

    def activity(self, model, noise, key=None, *, spectral=True) -> tuple[Activity, float]:
        """The first run's signals for features (with their sampling rate), and Nyquist."""
        x = self.signals(model, noise, key)[0]
        fs = self.sampling_rate(model)
        nperseg = min(self.segment_length(model), x.shape[0])
        return Activity(x=x, fs=fs, nperseg=nperseg), fs / 2


def psd_dtype(model):
    """The floating dtype of the model's state (the precision its spectra are computed in)."""
    return jnp.finfo(model.initial_state().dtype).dtype


def as_method(method: Any) -> Linear | Simulated:
    """A method object from `Linear(...)`, `Simulated(...)`, or the shorthands `"linear"` and
    `"simulation"` (default settings)."""
    if isinstance(method, (Linear, Simulated)):
        return method
    if method == "linear":
        return Linear()
    if method == "simulation":
        return Simulated()
    raise ValueError(
        f"`method` must be fit.Linear(...) or fit.Simulated(...) (or 'linear', "
        f"'simulation'); got {method!r}."
    )


def moved_settings(owner: str, legacy: dict) -> None:
    """Raise a clear error for settings that moved into the method objects."""
    if not legacy:
        return
    lin = {"y_guess", "newton_iterations", "min_damping", "stability_weight"}
    which = "Linear" if set(legacy) <= lin else "Simulated"
    names = ", ".join(f"{k}=..." for k in legacy)
    raise TypeError(
        f"{owner}: {', '.join(legacy)} moved into the method object: pass "
        f"method=fit.{which}({names})."
    )
