"""The posterior mode of the Laplace approximation (`fit/_laplace.py`): damped Newton steps
taken on the host in float64, each point's derivatives (`Posterior.derivatives`) computed for
every problem by one compiled program.

In one compiled loop (the steps inside the program), XLA took half as long again to compile
the model's derivatives and ran each step more slowly (Jansen-Rit, 68 regions,
`benchmarks/bench_laplace.py`).
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from .._xla import cpu_jit
from ._probit import to_v


# The names of `Posterior.derivatives`'s outputs, and the prior variances added to them.
_DERIVS = ("lp", "grad", "precision", "prior_prec", "loglik", "logprior", "root", "rms")


def _derivatives_impl(posterior, u, curvature):
    """`Posterior.derivatives` and the prior variances of every problem at `u`."""

    def one(u, part):
        derivs = posterior.derivatives(u, part, curvature)
        return dict(zip(_DERIVS, derivs, strict=True), prior_var=posterior.prior_variances(u, part))

    return posterior.over(one, u)


_derivatives_program = cpu_jit(_derivatives_impl, level=1)


def derivatives(posterior, u, curvature):
    """`_derivatives_impl` at `u` `(n_problems, dim)`, compiled (on CPU with
    `cpu_compiler_options` at LLVM level 1: compiling is most of its cost; at level 0
    Jansen-Rit's model ran 5x slower), as numpy arrays."""
    out = _derivatives_program(posterior, jnp.asarray(u), curvature)
    return {k: np.asarray(v) for k, v in out.items()}


@eqx.filter_jit
def first_point(posterior, u0, mask):
    """The starting point in v: the posterior's model's values, or `u0` (in u) moved to v."""
    return posterior.initial() if u0 is None else to_v(u0, np.asarray(mask, dtype=bool))


@eqx.filter_jit
def with_sigma(posterior, u, rms):
    """`Posterior.with_sigma_at` for every problem."""
    return posterior.over(lambda u, rms, part: posterior.with_sigma_at(u, rms), u, rms)


def refine(posterior, u, steps: int, curvature: str, set_sigma: bool = False):
    """The posterior mode of every problem from `u` `(n_problems, dim)` by up to `steps`
    damped Newton steps on the log posterior (the precision's eigenvalues taken in absolute
    value so that a saddle is left uphill, Levenberg-Marquardt damping; a step is taken only
    when it raises the density), stopping once every problem's Newton decrement is below
    1e-8; and the derivatives there (`_DERIVS`, and `u`).

    With `set_sigma`, the first evaluation only reads the residuals' scale at `u` and the
    steps start from `u` with the noise level set to it (`Posterior.with_sigma_at`)."""
    dtype = u.dtype
    u = np.asarray(u, np.float64)
    if set_sigma:
        rms = derivatives(posterior, u.astype(dtype), curvature)["rms"]
        u = np.asarray(with_sigma(posterior, jnp.asarray(u.astype(dtype)), rms), np.float64)
    n = u.shape[0]
    best, lam, cand, accepted = np.full(n, -np.inf), np.full(n, 1e-3), u, None
    for _ in range(steps + 1):
        new = derivatives(posterior, cand.astype(dtype), curvature)
        if accepted is None:  # nothing accepted yet: no density, zero derivatives
            accepted = {k: np.where(k == "lp", -np.inf, np.zeros_like(v)) for k, v in new.items()}
        finite = np.all(np.isfinite(new["precision"]), axis=(-2, -1))
        ok = np.isfinite(new["lp"]) & (new["lp"] > best) & finite
        u = np.where(ok[:, None], cand, u)
        best = np.where(ok, new["lp"], best)
        for k, v in new.items():
            accepted[k] = np.where(ok.reshape((n,) + (1,) * (v.ndim - 1)), v, accepted[k])
        lam = np.where(ok, lam / 3, lam * 4)
        grad = np.asarray(accepted["grad"], np.float64)
        h = np.asarray(accepted["precision"], np.float64)
        w, v = np.linalg.eigh(0.5 * (h + np.swapaxes(h, 1, 2)))
        big = np.max(np.abs(w), axis=1, keepdims=True)
        scale = (
            np.maximum(np.abs(w), 1e-8 * big) + lam[:, None] * np.mean(np.abs(w), axis=1)[:, None]
        )
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            step = np.einsum("nij,nj->ni", v, np.einsum("nji,nj->ni", v, grad) / scale)
        good = np.all(np.isfinite(step), axis=1)
        decrement = np.where(
            good, np.einsum("ni,ni->n", grad, np.where(good[:, None], step, 0.0)), np.inf
        )
        cand = u + np.where(good[:, None], step, 0.0)
        if np.all(decrement < 1e-8):
            break
    return dict(accepted, u=u.astype(dtype))
