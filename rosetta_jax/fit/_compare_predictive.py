"""The predictive side of model comparison: WAIC and PSIS-LOO from NUTS samples (Vehtari,
Gelman & Gabry 2017, Stat. Comput. 27:1413), per data point and per problem."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np


_PROBLEM_DIMS, _DRAWS = ("problem", "channel", "region"), ("chain", "draw")
_ELPD_COLUMNS = ("elpd_waic", "elpd_waic_se", "p_waic", "elpd_loo", "elpd_loo_se", "p_loo")


def _elpd(idata) -> tuple[dict[str, float], Any, Any]:
    """WAIC and PSIS-LOO over every data point of `y` (the row), and their pointwise elpd."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # arviz's, on import
        warnings.simplefilter("ignore", UserWarning)  # high p_waic or Pareto k: in the table
        warnings.simplefilter("ignore", RuntimeWarning)
        import arviz as az

        w = az.waic(idata, pointwise=True, var_name="y", scale="log")
        lo = az.loo(idata, pointwise=True, var_name="y", scale="log")
    values = (w["elpd_waic"], w["se"], w["p_waic"], lo["elpd_loo"], lo["se"], lo["p_loo"])
    row = {k: float(v) for k, v in zip(_ELPD_COLUMNS, values, strict=True)}
    row["pareto_k_max"] = float(np.max(np.asarray(lo["pareto_k"])))
    return row, w["waic_i"], lo["loo_i"]


def _sampled(fits) -> bool:
    """Every fit has NUTS samples with a pointwise log-likelihood `y` over the same data
    points (the same channels, when only some were sampled)."""
    try:
        ys = [r.mcmc.log_likelihood["y"] for r in fits.values()]
    except (AttributeError, KeyError):
        return False
    points = lambda y: [(d, np.asarray(y[d]).tolist()) for d in y.dims if d not in _DRAWS]
    return all(points(y) == points(ys[0]) for y in ys)


def _by_problem(pointwise, n: int) -> np.ndarray:
    """Pointwise elpd summed within each of `n` problems: over every data point when `n` is 1,
    else over all but the problem axis (a dimension named problem, channel or region, else the
    first or last of length `n`)."""
    values, dims = np.asarray(pointwise), list(getattr(pointwise, "dims", []))
    if n == 1:
        return np.array([values.sum()])
    named = [i for i, d in enumerate(dims) if any(w in str(d) for w in _PROBLEM_DIMS)]
    axes = [i for i in named + [0, values.ndim - 1] if values.shape[i] == n]
    if not axes:
        raise ValueError(f"the log-likelihood's axes do not hold the {n} problems (channels).")
    return np.moveaxis(values, axes[0], 0).reshape(n, -1).sum(axis=1)
