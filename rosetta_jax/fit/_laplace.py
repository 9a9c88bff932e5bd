"""The Laplace approximation of a fit's posterior: a Gaussian in the unconstrained space at the
posterior mode, with the curvature there as precision (MacKay 1992, Neural Comput. 4:415;
Friston et al. 2007, NeuroImage 34:220, the variational Laplace of SPM's DCM).

The Gaussian lives in the coordinates v in which the prior is closest to Gaussian: u (the
fit's unconstrained values) for every parameter but those with a uniform prior on a bounded
range (`Bounded` without a prior, and a fitted noise level), whose v is the probit of the
value's position in the range, $v = \\Phi^{-1}((\\theta - a)/(b - a))$, where the uniform
prior is exactly a standard normal (in the logistic u of `Bounded` it is a logistic density).

The mode is the fit's optimum refined by damped Newton steps on the log posterior (the fit's
own loss has extra terms, such as the alpha-peak term, that are not data), with the exact
gradient. The precision there is the prior's curvature plus the data's information, by default
the expected (Fisher) information $J^\\top J/\\sigma^2$ from one forward-mode Jacobian of the
predictions, as in SPM's variational Laplace (the steps are then Levenberg-Marquardt's); with
`curvature="observed"`, the exact negative Hessian (forward over reverse mode), which also
counts the residuals' own curvature: on a model that misfits real recordings it is larger in
sloppy directions (narrower intervals), and its program takes about 1.5 times as long to
compile. On data the model can produce, the two agree (`benchmarks/bench_calibration.py`).
The Newton steps are taken on the host in float64, each point's derivatives by one compiled
program; everything after them is computed on the host in float64 too (small matrices,
nothing more to compile but the natural units' few transforms). From them:

- standard errors and credible intervals in natural units: a uniform-prior parameter's from
  the likelihood's Gaussian in its own units truncated to its range (`_probit.py`),
  the others' intervals in v mapped through their increasing transforms;
- the correlation matrix;
- identifiability: the eigenvalues $\\lambda$ of the data's information relative to the
  prior's ($F x = \\lambda P x$, $P$ the prior precision): a direction with $\\lambda < 1$ is
  constrained more by the prior than by the data;
- the Laplace log-evidence $\\log p(y) \\approx \\log p(y\\mid\\hat v) + \\log p_v(\\hat v)
  + \\tfrac d2 \\log 2\\pi - \\tfrac12 \\log\\det H$, BIC and AIC.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._xla import cpu_jit
from ._laplace_mode import first_point, refine, with_sigma
from ._laplace_statistics import statistics
from ._posterior import Posterior
from ._probit import box_intervals, probit_coordinates, probit_mask, to_u


_Z90, _Z95 = 1.6448536269514722, 1.959963984540054


@dataclasses.dataclass(frozen=True)
class Laplace:
    """The Laplace approximation of a fit's posterior (one row per problem: per channel in a
    regional spectral fit, else one).

    Attributes:
        coords: the coordinates' names (`noise_sigma` last when the noise level is fitted).
        mode: the posterior mode in natural units, `(n_problems, dim)`.
        se: standard errors in natural units (delta method).
        ci90, ci95: 90 % and 95 % credible intervals in natural units, `(..., dim, 2)`
            (see the module's docstring); `fit.importance` corrects them by sampling.
        mode_v, cov_v: the Gaussian's mean and covariance in its coordinates v (see the
            module's docstring); `probit`: which coordinates of v are probits (else v = u).
        mode_u, cov_u: the same Gaussian moved to the fit's unconstrained space u (the mode
            mapped, the covariance by the delta method), e.g. to start and precondition NUTS;
            `draws_u` maps exact draws of the Gaussian instead.
        correlation: the posterior correlation matrix.
        info_ratio: eigenvalues of the data's information relative to the prior's
            (ascending); `directions` their eigenvectors (columns; in prior-scaled u).
        contraction: 1 - posterior variance / prior variance, per coordinate (0: the data
            taught nothing; 1: the prior does not matter).
        log_likelihood, log_prior: at the mode; log_evidence: the Laplace log-evidence (NaN
            when a prior is improper or the precision is not positive definite); bic, aic.
        n_points: data points per problem; k: parameters per problem.
        converged: whether the Newton refinement reached a mode (Newton decrement below
            0.01, the log density within about 0.005 of its maximum; Hessian negative
            definite).
        labels: the problems' names (channels), or None.
    """

    coords: tuple[str, ...]
    mode: np.ndarray
    se: np.ndarray
    ci90: np.ndarray
    ci95: np.ndarray
    mode_v: np.ndarray
    cov_v: np.ndarray
    probit: np.ndarray
    mode_u: np.ndarray
    cov_u: np.ndarray
    correlation: np.ndarray
    info_ratio: np.ndarray
    directions: np.ndarray
    contraction: np.ndarray
    log_likelihood: np.ndarray
    log_prior: np.ndarray
    log_evidence: np.ndarray
    bic: np.ndarray
    aic: np.ndarray
    n_points: int
    k: int
    converged: np.ndarray
    labels: tuple[str, ...] | None = None

    @property
    def total_log_evidence(self) -> float:
        """The log-evidence of all problems together (independent: the sum)."""
        return float(np.sum(self.log_evidence))

    def draws_u(self, problem: int, z) -> np.ndarray:
        """Draws of one problem's Gaussian in the fit's unconstrained space u, from standard
        normal `z` `(n, dim)`: $v = \\hat v + L z$ ($L L^\\top$ the covariance in v), mapped
        to u."""
        chol = np.linalg.cholesky(self.cov_v[problem] + 1e-12 * np.eye(self.k))
        v = self.mode_v[problem] + np.asarray(z) @ chol.T
        return np.asarray(to_u(jnp.asarray(v), self.probit))

    def unidentified(self, threshold: float = 1.0) -> list[tuple[int, str]]:
        """The directions the data leave to the prior: `(problem, description)` for every
        eigenvalue of the relative information below `threshold`, described by its largest
        loadings."""
        out = []
        for b in range(self.info_ratio.shape[0]):
            for j in np.nonzero(self.info_ratio[b] < threshold)[0]:
                v = self.directions[b][:, j]
                top = np.argsort(-np.abs(v))[:2]
                desc = " ".join(f"{v[i]:+.2f} {self.coords[i]}" for i in top)
                out.append((b, f"{desc} (information ratio {self.info_ratio[b, j]:.2g})"))
        return out

    def table(self, problem: int | None = None):
        """A pandas DataFrame: mode, se and the 90 %/95 % intervals per coordinate (one
        problem, or the median over problems when `problem` is None and there are several)."""
        import pandas as pd

        pick = (lambda a: np.median(a, axis=0)) if problem is None else (lambda a: a[problem])
        ci90, ci95 = pick(self.ci90), pick(self.ci95)
        return pd.DataFrame(
            {
                "mode": pick(self.mode),
                "se": pick(self.se),
                "ci90_low": ci90[:, 0],
                "ci90_high": ci90[:, 1],
                "ci95_low": ci95[:, 0],
                "ci95_high": ci95[:, 1],
                "contraction": pick(self.contraction),
            },
            index=list(self.coords),
        )

    def summary(self) -> str:
        """Evidence, information criteria and the parameters' modes with errors, as text."""
        several = self.mode.shape[0] > 1
        defined = np.isfinite(self.log_evidence)
        where = "" if defined.all() else f" ({int(defined.sum())} problems with a defined one)"
        head = (
            f"Laplace: log-evidence {np.sum(self.log_evidence[defined]):.6g}{where}, "
            f"BIC {np.sum(self.bic):.6g}, "
            f"AIC {np.sum(self.aic):.6g} ({self.mode.shape[0]} problem(s) x {self.k} "
            f"parameters, {self.n_points} points each)"
        )
        lines = [head + (" - medians over problems:" if several else ":")]
        t = self.table()
        for name, row in t.iterrows():
            lines.append(
                f"  {name} = {row['mode']:.4g} +- {row['se']:.2g} "
                f"(95 % CI {row['ci95_low']:.4g} to {row['ci95_high']:.4g})"
            )
        weak = self.unidentified()
        if weak:
            lines.append(f"  {len(weak)} direction(s) left to the prior, e.g. {weak[0][1]}")
        if not np.all(self.converged):
            lines.append(f"  mode not reached in {int(np.sum(~self.converged))} problem(s)")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """Every field as plain lists and numbers (for JSON)."""
        out = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            out[f.name] = v.tolist() if isinstance(v, np.ndarray) else v
        return out

    def arrays(self) -> dict[str, np.ndarray]:
        """The numeric fields, for an .npz file (prefixed `laplace_`)."""
        return {
            f"laplace_{f.name}": np.asarray(getattr(self, f.name))
            for f in dataclasses.fields(self)
            if isinstance(getattr(self, f.name), np.ndarray)
        }


def laplace(
    posterior: Posterior, u0=None, newton_steps: int = 50, curvature: str = "expected"
) -> Laplace:
    """The Laplace approximation of `posterior` at its mode, found from `u0` (default the
    posterior's model's values, `(n_problems, dim)`) by up to `newton_steps` damped Newton
    steps.

    `curvature`: the precision's data term, `"expected"` (the Fisher information, as in
    SPM's variational Laplace: one forward-mode Jacobian, so it compiles in about two thirds
    of the time) or `"observed"` (the exact Hessian, which also counts the residuals' curvature).
    """
    if curvature not in ("expected", "observed"):
        raise ValueError(f"`curvature` must be 'expected' or 'observed'; got {curvature!r}.")
    start = u0 is None
    mask = probit_mask(posterior)
    view = probit_coordinates(posterior)
    out = _compute(view, None if start else jnp.asarray(u0), newton_steps, curvature, mask)
    if np.any(mask):  # uniform-prior coordinates: truncated Gaussians (`_probit.py`)
        args = (out["u"], out["grad"], out["precision"], out["prior_prec"])
        ends = np.moveaxis(box_intervals(posterior, *args, curvature), 1, -1)
        for name, pair in (("ci90", ends[..., :2]), ("ci95", ends[..., 2:])):
            out[name] = np.where(np.isfinite(pair), pair, out[name]).astype(out[name].dtype)
    k, n = posterior.dim, posterior.n_points
    proper = posterior.proper
    # Without a proper prior, or away from a mode (the precision not positive definite), the
    # Laplace evidence is undefined.
    valid = proper & out["definite"]
    evidence = np.where(valid, out["log_evidence"], np.nan)
    labels = posterior.objective.target.labels if posterior.batched else None
    return Laplace(
        coords=posterior.coords,
        mode=out["mode"],
        se=out["se"],
        ci90=out["ci90"],
        ci95=out["ci95"],
        mode_v=out["u"],
        cov_v=out["cov"],
        probit=mask,
        mode_u=out["mode_u"],
        cov_u=out["cov_u"],
        correlation=out["corr"],
        info_ratio=out["ratio"],
        directions=out["directions"],
        contraction=out["contraction"],
        log_likelihood=out["loglik"],
        log_prior=out["logprior"],
        log_evidence=evidence,
        bic=-2 * out["loglik"] + k * np.log(n),
        aic=-2 * out["loglik"] + 2 * k,
        n_points=n,
        k=k,
        converged=(out["decrement"] < 1e-2) & out["definite"],
        labels=labels,
    )


def _compute(posterior: Posterior, u0, newton_steps: int, curvature: str, mask):
    """Every problem's mode and the derivatives there, from `u0` (in the fit's u; None: the
    posterior's model's values, with a fitted noise level at the residuals' scale), by Newton's
    steps on the host, each point's derivatives one compiled program (`_laplace_mode.py`);
    then the statistics, on the host in float64 (`_laplace_statistics.py`)."""
    flags = tuple(bool(m) for m in mask)
    u = np.asarray(first_point(posterior, None if u0 is None else jnp.asarray(u0), flags))
    set_sigma = u0 is None and posterior.likelihood.fitted_sigma
    zeros = np.zeros((posterior.n_problems, 5, posterior.dim), u.dtype)
    # The small programs compile on another thread meanwhile (an error is left to the real
    # calls below).
    args = (posterior, zeros, flags, set_sigma)
    early = threading.Thread(target=_compiled_ahead, args=args, daemon=True)
    early.start()
    raw = refine(posterior, u, newton_steps, curvature, set_sigma)
    early.join()
    out = statistics(raw)
    # Mode, slope along sd and interval ends in natural units, in one batched call.
    z = np.array([0.0, -_Z90, _Z90, -_Z95, _Z95])[:, None]
    points = raw["u"][:, None, :] + z * out["sd"][:, None, :]
    tangents = np.zeros_like(points)
    tangents[:, 0] = out["sd"]
    u_dtype = raw["u"].dtype
    vals, slopes, mode_u, slope_u = map(
        np.asarray,
        _natural(posterior, points.astype(u_dtype), tangents.astype(u_dtype), flags),
    )
    out.update(
        mode=vals[:, 0],
        se=np.abs(slopes[:, 0]),
        ci90=np.stack([vals[:, 1], vals[:, 2]], axis=-1),
        ci95=np.stack([vals[:, 3], vals[:, 4]], axis=-1),
        mode_u=mode_u,
        cov_u=slope_u[:, :, None] * out["cov"] * slope_u[:, None, :],
    )
    return out


def _natural_impl(posterior, points, tangents, mask):
    """The natural values at `points` `(n_problems, k, dim)` and their derivatives along
    `tangents`; and the first point (the mode) in the fit's u, with the slope that moves the
    Gaussian's covariance there."""
    mask = np.asarray(mask, dtype=bool)

    def one(x, t, part):
        nat = lambda x, t: jax.jvp(lambda y: posterior.natural(y, part), (x,), (t,))
        mode_u, slope = jax.jvp(lambda v: to_u(v, mask), (x[0],), (jnp.ones_like(x[0]),))
        return *jax.vmap(nat)(x, t), mode_u, slope

    return posterior.over(one, points, tangents)


# (A few elementwise transforms: on CPU XLA's level 0 compiles them in 0.35 s instead of 0.55.)
_natural = cpu_jit(_natural_impl, level=0)


def _compiled_ahead(posterior, zeros, mask, set_sigma):
    """The small programs at `zeros`, only to compile them (on another thread); errors
    ignored."""
    try:
        _natural(posterior, zeros, zeros, mask)
        if set_sigma:
            with_sigma(posterior, zeros[:, 0], zeros[:, 0, 0])
    except Exception:  # noqa: BLE001 - the real call reports it
        pass
