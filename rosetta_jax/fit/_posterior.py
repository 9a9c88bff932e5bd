"""The log posterior density of a fit's parameters, in the unconstrained space where the
optimiser, the Laplace approximation (`fit/_laplace.py`) and NUTS (`fit/_mcmc.py`) work:

$$\\log p(u \\mid y) = \\log p(y \\mid T(u)) + \\log p_u(u) + \\text{const},$$

the likelihood a noise model of the recording (`fit/_likelihoods.py`: log-normal spectra,
Fisher-z FC), the prior each parameter's (`fit/_priors.py`). The model's spectra and FC come
from the objective's analytic method (`fit.Linear`); a model outside the stable region the
method requires (damping ratio below its `min_damping`) is penalised by a steep soft wall.

A regional spectral fit (one node per channel, every fitted leaf one value per channel) is a
batch of independent problems, one per channel: each has its own posterior over a few
coordinates. Any other fit is one problem over all fitted values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import PyTree

from ._likelihoods import FisherZ, LogNormal, gaussian_pointwise
from ._methods import Linear
from ._objectives import FCObjective, SpectrumObjective, _upper
from ._priors import is_proper, log_prior, prior_variance
from ._transforms import Bounded


_WALL = 0.05  # width of the soft wall at the stability limit (relative damping shortfall)
_Z_CLIP = 0.999  # |r| limit before the Fisher z transform


def _rms(r):
    return jnp.sqrt(jnp.mean(r**2))


def _sigma_transform(likelihood) -> Bounded:
    lo, hi = likelihood.sigma_range
    return Bounded(np.log(lo), np.log(hi))


class Posterior(eqx.Module):
    """A fit's log posterior over unconstrained values (see the module's docstring).

    Coordinates: the fitted values (each element of an array leaf, named `name[i]`; in a
    regional fit one value per leaf and channel) and, when the likelihood's noise level is
    fitted, `noise_sigma` last (its unconstrained value is the bounded log of sigma).

    Attributes:
        model: the fitted model (its other leaves stay fixed).
        objective: a `SpectrumObjective` or `FCObjective` with `method=fit.Linear(...)`, or
            `fit_fc`'s analytic Hopf FC.
        likelihood: `LogNormal` (spectra) or `FisherZ` (FC).
        transforms, priors: one per fitted leaf (`None`: the transform's default prior).
        sigma_transform: the transform of a fitted noise level's coordinate to $\\log\\sigma$
            (a `Bounded` over the log of `likelihood.sigma_range`, uniform prior).
        params: the selector of the fitted leaves; names: their names.
        batched: one independent problem per channel (a regional spectral fit).
    """

    model: PyTree
    objective: Any
    likelihood: LogNormal | FisherZ
    transforms: tuple
    priors: tuple
    sigma_transform: Bounded
    params: Callable = eqx.field(static=True)
    names: tuple[str, ...] = eqx.field(static=True)
    batched: bool = eqx.field(static=True)
    shapes: tuple[tuple[int, ...], ...] = eqx.field(static=True)
    band_index: tuple[int, ...] = eqx.field(static=True)

    def __init__(self, model, objective, params, transforms, priors, names, likelihood=None):
        from ._fc import HopfFC

        analytic = isinstance(objective, (SpectrumObjective, FCObjective)) and isinstance(
            objective.method, Linear
        )
        if not (analytic or isinstance(objective, HopfFC)):
            raise TypeError(
                "A posterior (Laplace, NUTS, evidence) needs a SpectrumObjective or "
                "FCObjective with the analytic method fit.Linear(...) (or fit_fc's analytic "
                "Hopf FC without edge gains): simulated objectives are noisy estimates, not "
                "likelihoods."
            )
        spectra = isinstance(objective, SpectrumObjective)
        if likelihood is None:
            likelihood = LogNormal() if spectra else FisherZ()
        if not isinstance(likelihood, LogNormal if spectra else FisherZ):
            want = "fit.LogNormal(...)" if spectra else "fit.FisherZ(...)"
            raise TypeError(f"`likelihood` for this objective must be {want}.")
        leaves = tuple(params(model))
        self.model, self.objective, self.likelihood = model, objective, likelihood
        self.transforms, self.priors = tuple(transforms), tuple(priors)
        self.sigma_transform = _sigma_transform(likelihood)
        self.params, self.names = params, tuple(names)
        n = objective.target.n_channels if spectra else 0
        self.batched = bool(
            spectra and objective.regional and all(jnp.shape(x) == (n,) for x in leaves)
        )
        self.shapes = tuple(() if self.batched else tuple(jnp.shape(x)) for x in leaves)
        # (On the host: eager jnp comparisons would compile a program each.)
        freqs = np.asarray(objective.target.freqs) if spectra else None
        mask = objective._mask(freqs) if spectra else np.zeros(0, bool)
        self.band_index = tuple(int(i) for i in np.nonzero(mask)[0])

    def with_likelihood(self, likelihood: LogNormal | FisherZ) -> Posterior:
        """The same posterior under another noise model of the same kind (e.g. another
        `n_segments`)."""
        if type(likelihood) is not type(self.likelihood) or (
            likelihood.fitted_sigma != self.likelihood.fitted_sigma
        ):
            raise TypeError(
                "`likelihood` must be of the same kind as the posterior's, with the noise level "
                "known in both or fitted in both; build a new posterior otherwise."
            )
        new = (likelihood, _sigma_transform(likelihood))
        return eqx.tree_at(lambda p: (p.likelihood, p.sigma_transform), self, new)

    def anchored(self) -> Posterior:
        """The same posterior with each non-affine generator's equilibrium followed along its
        branch from the fitted values (`fit/_observed.py`'s `anchored`), for samplers that
        move far from the mode; `self` where there is nothing to follow."""
        from ._observed import anchored

        model = anchored(self.model, getattr(self.objective, "method", None), self.parts)
        return self if model is self.model else eqx.tree_at(lambda p: p.model, self, model)

    # ---- coordinates -------------------------------------------------------------------

    @property
    def n_problems(self) -> int:
        return self.objective.target.n_channels if self.batched else 1

    @property
    def coords(self) -> tuple[str, ...]:
        """The name of every coordinate of one problem."""
        out = []
        for name, shape in zip(self.names, self.shapes, strict=True):
            size = int(np.prod(shape))
            out += [name] if shape == () else [f"{name}[{i}]" for i in range(size)]
        return tuple(out) + (("noise_sigma",) if self.likelihood.fitted_sigma else ())

    @property
    def dim(self) -> int:
        return len(self.coords)

    def parts(self):
        """What differs between problems, and its batch axes (None: one problem): the model,
        the transforms, the priors and the data in the likelihood's space."""
        data = self._data()
        part = (self.model, self.transforms, self.priors, data)
        if not self.batched:
            return part, None
        n = self.n_problems
        per = lambda x: 0 if (jnp.ndim(x) >= 1 and jnp.shape(x)[0] == n) else None
        axes = jax.tree.map(per, part[:3]) + (0,)
        return part[:3] + (jnp.moveaxis(data, 1, 0)[..., None],), axes

    def over(self, fn: Callable, *arrays):
        """`fn(*rows, part)` for every problem: the arrays' leading axis is the problem axis
        (of size `n_problems`), and so is the outputs'. Vmapped in a regional fit."""
        part, axes = self.parts()
        if axes is None:
            out = fn(*(a[0] for a in arrays), part)
            return jax.tree.map(lambda x: x[None], out)
        return jax.vmap(fn, in_axes=(0,) * len(arrays) + (axes,))(*arrays, part)

    def _split(self, u):
        sizes = np.cumsum([int(np.prod(s)) for s in self.shapes])[:-1]
        pieces = jnp.split(u[: sum(int(np.prod(s)) for s in self.shapes)], sizes)
        leaves = tuple(p.reshape(s) for p, s in zip(pieces, self.shapes, strict=True))
        return leaves, (u[-1] if self.likelihood.fitted_sigma else None)

    def sigma(self, u):
        """The noise level at `u` (the known one, or the fitted coordinate's)."""
        known = self.likelihood.sigma_known()
        if known is not None:
            return jnp.asarray(known).astype(u.dtype)
        return jnp.exp(self.sigma_transform.forward(u[-1]))

    def natural(self, u, part):
        """The parameter values (natural units) of every coordinate."""
        leaves, s = self._split(u)
        vals = [t.forward(x).reshape(-1) for t, x in zip(part[1], leaves, strict=True)]
        if s is not None:
            vals.append(self.sigma(u)[None])
        return jnp.concatenate(vals)

    def with_values(self, u, part):
        """The model with the fitted leaves set from `u`."""
        leaves, _ = self._split(u)
        vals = tuple(t.forward(x) for t, x in zip(part[1], leaves, strict=True))
        return eqx.tree_at(lambda m: tuple(self.params(m)), part[0], vals)

    def initial(self) -> jax.Array:
        """Unconstrained values of the model's current parameters, `(n_problems, dim)`; a
        fitted noise level's coordinate is 0 here (`with_sigma_at` sets it, per problem)."""
        leaves = tuple(self.params(self.model))
        us = [t.inverse(jnp.asarray(x)) for t, x in zip(self.transforms, leaves, strict=True)]
        if self.batched:
            u = jnp.stack(us, axis=-1)
        else:
            u = jnp.concatenate([x.reshape(-1) for x in us])[None]
        if not self.likelihood.fitted_sigma:
            return u
        return jnp.concatenate([u, jnp.zeros((u.shape[0], 1), u.dtype)], axis=1)

    def with_sigma_at(self, u, rms):
        """`u` (one problem) with a fitted noise level set to `rms`, the residuals'
        root-mean-square (clipped into the noise level's range; `u` unchanged when the noise
        level is known)."""
        if not self.likelihood.fitted_sigma:
            return u
        lo, hi = self.likelihood.sigma_range
        s = self.sigma_transform.inverse(jnp.log(jnp.clip(rms, 1.2 * lo, hi / 1.2)))
        return u.at[-1].set(s.astype(u.dtype))

    # ---- the density -------------------------------------------------------------------

    def _data(self):
        if not isinstance(self.objective, SpectrumObjective):
            return jnp.arctanh(jnp.clip(_upper(self.objective.target.fc), -_Z_CLIP, _Z_CLIP))
        return self._log_psd(self.objective.target.psd)

    def _log_psd(self, psd):
        """log10 PSD in the band `(n_band, n_channels)`, each channel's mean removed when
        its scale is free."""
        x = jnp.log10(jnp.maximum(psd[np.asarray(self.band_index)], 1e-300))
        return x - jnp.mean(x, axis=0) if self.objective.normalize else x

    def predict(self, u, part):
        """The model's prediction in the likelihood's space (log10 PSD in the band
        `(n_band, n_channels)`, or Fisher-z FC `(n_pairs,)`) and its damping ratio."""
        m = self.with_values(u, part)
        if isinstance(self.objective, FCObjective):
            fc, zeta = self.objective.method.fc(m, self.objective.noise, None)
            return jnp.arctanh(jnp.clip(_upper(fc), -_Z_CLIP, _Z_CLIP)), zeta
        if not isinstance(self.objective, SpectrumObjective):  # fit_fc's Hopf FC
            fc, _ = self.objective.fc(m)
            return jnp.arctanh(jnp.clip(_upper(fc), -_Z_CLIP, _Z_CLIP)), jnp.ones(())
        if self.batched:
            psd, zeta = self.objective.model_spectrum(m)
        else:
            psd, zeta = self.objective._spectra(m, None)
        return self._log_psd(psd), zeta

    def residual(self, u, part):
        """Data minus prediction, 2-D `(n_points, n_groups)`, and the damping ratio."""
        pred, zeta = self.predict(u, part)
        r = part[3] - pred
        return (r if r.ndim == 2 else r[:, None]), zeta

    def pointwise(self, u, part):
        """The log-likelihood of each data point (flattened)."""
        r, _ = self.residual(u, part)
        return gaussian_pointwise(r, self.sigma(u), self._free()).reshape(-1)

    def log_prior(self, u, part):
        """The parameters' log prior density in u (a fitted noise level: uniform in log)."""
        leaves, s = self._split(u)
        total = sum(log_prior(t, p, x) for t, p, x in zip(part[1], part[2], leaves, strict=True))
        if s is not None:
            total = total + log_prior(self.sigma_transform, None, s)
        return total

    def wall(self, zeta):
        """The soft wall at the method's stability limit (0 inside)."""
        if not self._walled():
            return jnp.zeros(())
        short = jax.nn.relu(1.0 - zeta / self.objective.method.min_damping)
        return -jnp.sum(short**2) / (2 * _WALL**2)

    def log_prob(self, u, part):
        """The log posterior density (unnormalised) of one problem at `u`."""
        return self.parts_of_log_prob(u, part)[0]

    def parts_of_log_prob(self, u, part):
        """The log posterior at `u` and its parts `(log likelihood, log prior, wall, rms)`,
        rms the residuals' root-mean-square."""
        r, zeta = self.residual(u, part)
        loglik = jnp.sum(gaussian_pointwise(r, self.sigma(u), self._free()))
        logprior, wall = self.log_prior(u, part), self.wall(zeta)
        return loglik + logprior + wall, (loglik, logprior, wall, _rms(r))

    def derivatives(self, u, part, curvature: str = "observed"):
        """Derivatives at `u`: the log posterior, its exact gradient, its negative Hessian
        (`curvature="observed"`: exact, forward over reverse mode; `"expected"`: the Fisher
        information of the data, $J^\\top J/\\sigma^2$ from the predictions' Jacobian $J$, see
        `_expected`), the prior's precision alone (exact), the log likelihood and log prior,
        a square root $R$ of the data's information ($R^\\top R$; with the expected
        curvature only, else no rows), whose singular values keep the precision's small
        eigenvalues accurate in float32 (those of $R^\\top R$ are lost below about 1e-7
        times the largest), and the residuals' root-mean-square."""
        prior_prec = self.prior_precision(u, part)
        if curvature == "expected":
            lp, grad, root, loglik, logprior, rms = self._expected(u, part)
            info = root.T @ root + prior_prec
            return lp, grad, info, prior_prec, loglik, logprior, root, rms

        def value_and_grad(v):
            (lp, parts), g = jax.value_and_grad(self.parts_of_log_prob, has_aux=True)(v, part)
            return g, (lp, g, parts)

        hess, (lp, grad, (loglik, logprior, _, rms)) = jax.jacfwd(value_and_grad, has_aux=True)(u)
        no_rows = jnp.zeros((0, u.shape[0]), u.dtype)
        return lp, grad, -hess, prior_prec, loglik, logprior, no_rows, rms

    def prior_precision(self, u, part):
        """The prior's negative Hessian in u: diagonal, as every transform and prior acts on
        each value alone (one forward-over-reverse product along the ones vector)."""
        grad = jax.grad(self.log_prior)
        _, diag = jax.jvp(lambda v: grad(v, part), (u,), (jnp.ones_like(u),))
        return jnp.diag(-diag)

    def _expected(self, u, part):
        """The log posterior, its gradient and a square root $R$ of the data's expected
        (Fisher) information $R^\\top R$ at `u`, from one forward-mode Jacobian of the
        residuals, the log noise level and the damping ratios (the generalised Gauss-Newton
        curvature of SPM's variational Laplace, Friston et al. 2007, NeuroImage 34:220). The
        Gaussian's Fisher information is $1/\\sigma^2$ per residual and $2m$ for
        $\\log\\sigma$ ($m$ the residuals' degrees of freedom); the stability wall, a sum of
        squares, adds its own Gauss-Newton term."""

        def outputs(v):
            r, zeta = self.residual(v, part)
            out = (r, jnp.log(self.sigma(v)), jnp.reshape(zeta, (-1,)))
            return out, out

        jac, (r, log_s, zeta) = jax.jacfwd(outputs, has_aux=True)(u)
        j_r, j_s, j_z = jac[0].reshape(-1, u.shape[0]), jac[1], jac[2]

        def outer(r, log_s, zeta):
            return jnp.sum(gaussian_pointwise(r, jnp.exp(log_s), self._free())), self.wall(zeta)

        (loglik, wall), vjp = jax.vjp(outer, r, log_s, zeta)
        d_r, d_s, _ = vjp((jnp.ones_like(loglik), jnp.zeros_like(wall)))
        _, _, d_z = vjp((jnp.zeros_like(loglik), jnp.ones_like(wall)))
        logprior, g_prior = jax.value_and_grad(self.log_prior)(u, part)
        grad = j_r.T @ d_r.reshape(-1) + j_s * d_s + j_z.T @ d_z + g_prior
        m = r.shape[1] * (r.shape[0] - 1 if self._free() else r.shape[0])
        rows = [j_r / jnp.exp(log_s), jnp.sqrt(2.0 * m) * j_s[None]]
        # The wall -sum(short^2)/(2 w^2), short = relu(1 - zeta/min_damping): Gauss-Newton.
        if self._walled():
            method = self.objective.method
            active = (zeta < method.min_damping).astype(u.dtype)
            rows.append(j_z * (jnp.sqrt(active) / (method.min_damping * _WALL))[:, None])
        root = jnp.concatenate(rows, axis=0)
        return loglik + logprior + wall, grad, root, loglik, logprior, _rms(r)

    def information_rows(self, part) -> int:
        """The number of rows of `_expected`'s square root: one per data point (the residuals
        have the data's shape), one for the noise level and, with the wall, one per damping
        ratio (one per channel of a regional fit that is one problem, else one). From the
        shapes alone: tracing the model for them took a third of a second on Jansen-Rit."""
        walls = 0
        if self._walled():
            spectra = isinstance(self.objective, SpectrumObjective)
            several = spectra and self.objective.regional and not self.batched
            walls = self.objective.target.n_channels if several else 1
        return int(np.prod(jnp.shape(part[3]))) + 1 + walls

    def _walled(self) -> bool:
        """Whether the stability wall is on (the method is `Linear` with a stability weight)."""
        method = getattr(self.objective, "method", None)
        return isinstance(method, Linear) and bool(method.stability_weight)

    def _free(self) -> bool:
        return isinstance(self.objective, SpectrumObjective) and self.objective.normalize

    def prior_variances(self, u, part):
        """Each coordinate's prior variance in u (for identifiability)."""
        leaves, s = self._split(u)
        v = [
            prior_variance(t, p, x).reshape(-1)
            for t, p, x in zip(part[1], part[2], leaves, strict=True)
        ]
        if s is not None:
            v.append(prior_variance(self.sigma_transform, None, s[None]))
        return jnp.concatenate(v)

    @property
    def proper(self) -> bool:
        """Whether every parameter's prior is proper (the evidence is defined)."""
        return all(is_proper(t, p) for t, p in zip(self.transforms, self.priors, strict=True))

    @property
    def n_points(self) -> int:
        """Data points per problem."""
        shape = jax.eval_shape(self._data).shape  # (shapes only: nothing to compile)
        return int(np.prod(shape[:1])) * (1 if self.batched else int(np.prod(shape[1:])))
