"""Bayesian inference attached to a `FitResult`: its posterior and Laplace approximation."""

from __future__ import annotations

import dataclasses

from ._laplace import laplace
from ._posterior import Posterior
from ._steps import _as_tuple


def with_laplace(
    result, params, transforms, priors, names, likelihood, u0=None, curvature="expected"
):
    """`result` with its `posterior` (the fitted model, objective, `params` selector,
    transforms, priors and `likelihood`) and its Laplace approximation at the mode found from
    the fit's optimum (or from `u0`), with the given `curvature` (see `laplace`)."""
    priors = tuple(priors) if priors is not None else (None,) * len(_as_tuple(transforms))
    posterior = Posterior(
        result.model, result.objective, params, transforms, priors, names, likelihood
    )
    approx = laplace(posterior, u0, curvature=curvature)
    meta = dict(result.meta, likelihood=posterior.likelihood.describe())
    return dataclasses.replace(result, posterior=posterior, laplace=approx, meta=meta)
