"""The Laplace approximation's statistics from a problem's mode and derivatives there, on the
host in numpy float64 (small matrices: nothing to compile, and more precise than a float32
program): the precision's eigendecomposition, the covariance, standard deviations and
correlations, the data's information relative to the prior's, the contraction, the Laplace
log-evidence and the Newton decrement (see `_laplace.py`)."""

from __future__ import annotations

import numpy as np


def _eigen(precision, prior_prec, root):
    """Eigenvalues and eigenvectors of the precisions `(n, dim, dim)`: with a square root of
    the data's information (`root`, rows) and a prior precision with a non-negative diagonal,
    from the singular values of the stacked square root $[R; P^{1/2}]$, which keep the small
    eigenvalues of a sloppy model accurate; else from the precision itself."""
    w, v = np.linalg.eigh(0.5 * (precision + np.swapaxes(precision, -1, -2)))
    if root.shape[-2] == 0:
        return w, v
    p = np.diagonal(prior_prec, axis1=-2, axis2=-1)
    stacked = np.concatenate([root, _diag(np.sqrt(np.maximum(p, 0.0)))], axis=-2)
    _, s, vt = np.linalg.svd(stacked, full_matrices=False)
    use = np.all(p >= 0, axis=-1)
    w = np.where(use[:, None], s[:, ::-1] ** 2, w)
    return w, np.where(use[:, None, None], np.swapaxes(vt[:, ::-1], -1, -2), v)


def _diag(x):
    """Diagonal matrices `(..., n, n)` of the rows of `x` `(..., n)`."""
    return x[..., :, None] * np.eye(x.shape[-1])


def statistics(raw):
    """Every problem's Laplace statistics from its mode and derivatives (numpy, float64)."""
    dtype = raw["u"].dtype
    f64 = {k: np.asarray(v, np.float64) for k, v in raw.items()}
    precision, prior_prec, grad = f64["precision"], f64["prior_prec"], f64["grad"]
    finite = np.all(np.isfinite(precision), axis=(-2, -1)) & np.all(
        np.isfinite(f64["root"]), axis=(-2, -1)
    )
    eye = np.eye(precision.shape[-1])
    precision = np.where(finite[:, None, None], precision, eye)  # NaN there below
    root = np.where(finite[:, None, None], f64["root"], 0.0)
    w_raw, v = _eigen(precision, np.where(finite[:, None, None], prior_prec, eye), root)
    w_raw = np.where(finite[:, None], w_raw, np.nan)
    w = np.maximum(w_raw, 1e-10 * np.maximum(np.max(w_raw, axis=-1, keepdims=True), 1e-30))
    cov = np.einsum("nik,nk,njk->nij", v, 1.0 / w, v)
    sd = np.sqrt(np.diagonal(cov, axis1=-2, axis2=-1))
    pv = f64["prior_var"]
    psd = np.where(np.isfinite(pv), np.sqrt(pv), 1e6)
    scaled = psd[:, :, None] * (precision - prior_prec) * psd[:, None, :]
    ratio, directions = np.linalg.eigh(np.where(finite[:, None, None], scaled, eye))
    d = precision.shape[-1]
    log_det = np.sum(np.log(w), axis=-1)
    out = {
        "u": raw["u"],
        "cov": cov,
        "sd": sd,
        "corr": cov / (sd[:, :, None] * sd[:, None, :]),
        "ratio": ratio,
        "directions": directions,
        "contraction": 1.0 - np.diagonal(cov, axis1=-2, axis2=-1) / pv,
        "loglik": f64["loglik"],
        "logprior": f64["logprior"],
        "log_evidence": f64["loglik"]
        + f64["logprior"]
        + 0.5 * d * np.log(2 * np.pi)
        - 0.5 * log_det,
        "decrement": np.einsum("ni,nij,nj->n", grad, cov, grad),
        "grad": raw["grad"],
        "precision": raw["precision"],
        "prior_prec": raw["prior_prec"],
        "definite": finite & (np.min(np.where(finite[:, None], w_raw, -1.0), axis=-1) > 0),
    }
    return {k: (x.astype(dtype) if x.dtype == np.float64 else x) for k, x in out.items()}
