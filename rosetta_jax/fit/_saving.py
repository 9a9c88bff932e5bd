"""The records of a fit: the arviz `InferenceData` of a NUTS run (`fit.sample`) with its
diagnostics, and the files `FitResult.save` writes to a folder:

- `fit.json`: the fitted values, best loss, scalar goodness-of-fit, settings and versions, the
  Laplace summary and the NUTS diagnostics line (plain JSON; NaN written as null);
- `fit.npz`: the loss history, every fitted value (`param_<name>`) and every Laplace array
  (`laplace_<field>`);
- `posterior.nc`: the NUTS draws (netCDF, read back with `load_posterior`).
"""

from __future__ import annotations

import datetime
import json
import math
import os
import pathlib
import warnings
from typing import Any

import numpy as np

from .._version import __version__


def arviz():
    """The arviz module (imported with its FutureWarnings about arviz 1.0 silenced)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        import arviz as az
    return az


def _attrs(settings: dict, idx) -> dict:
    import blackjax

    az = arviz()
    return dict(
        {k: settings[k] for k in ("chains", "draws", "warmup", "target_accept")},
        created_at=datetime.datetime.now(datetime.UTC).isoformat(),
        arviz_version=az.__version__,
        inference_library="blackjax",
        inference_library_version=blackjax.__version__,
        sampler="NUTS",
        rosetta_jax=__version__,
        max_tree_depth=settings["max_tree_depth"],
        key_data=np.asarray(settings["key_data"], dtype=np.int64),
        problems=np.asarray(idx, dtype=np.int64),
    )


def _parameters(posterior, natural, cut, ch) -> dict:
    """One variable per fitted leaf (and `noise_sigma`) from the natural values `(chain,
    draw, problem, dim)`; an array leaf keeps its shape in extra dims `<name>_dim_k`."""
    out, start = {}, 0
    leaves = list(zip(posterior.names, posterior.shapes, strict=True))
    for name, shape in leaves + (
        [("noise_sigma", ())] if posterior.likelihood.fitted_sigma else []
    ):
        size = int(np.prod(shape))
        x = cut(natural[..., start : start + size])
        x = x.reshape(*x.shape[:-1], *shape)
        dims = ["chain", "draw", *ch] + [f"{name}_dim_{k}" for k in range(len(shape))]
        out[name], start = (dims, x), start + size
    return out


def inference_data(posterior, idx, draws: dict, data, settings: dict):
    """The arviz InferenceData of a NUTS run.

    Args:
        posterior: the fit's `Posterior`; idx: the problems sampled.
        draws: numpy arrays `(chain, draw, problem, ...)`: `u` (unconstrained values),
            `natural`, `loglik` (pointwise) and the sampler's statistics.
        data: the data in the likelihood's space, `(problem, point)`.
        settings: the run's settings (chains, draws, warmup, target_accept, max_tree_depth,
            key_data).
    """
    import xarray as xr

    draws = dict(draws)
    u, natural, loglik = draws.pop("u"), draws.pop("natural"), draws.pop("loglik")
    cut = (lambda x: x) if posterior.batched else (lambda x: x[:, :, 0])
    ch = ["channel"] if posterior.batched else []
    coords = {"chain": np.arange(u.shape[0]), "draw": np.arange(u.shape[1])}
    labels = posterior.objective.target.labels
    if posterior.batched:
        coords["channel"] = [labels[i] for i in idx] if labels else list(idx)
    attrs = _attrs(settings, idx)
    ds = lambda v, c=coords: xr.Dataset(v, coords=c, attrs=attrs)
    chain_draw = ["chain", "draw", *ch]
    groups = dict(
        posterior=ds(_parameters(posterior, natural, cut, ch)),
        unconstrained_posterior=ds(
            {"u": ([*chain_draw, "coord"], cut(u))}, dict(coords, coord=list(posterior.coords))
        ),
        log_likelihood=ds({"y": ([*chain_draw, "point"], cut(loglik))}),
        sample_stats=ds({k: (chain_draw, cut(v)) for k, v in draws.items()}),
        observed_data=ds(
            {"y": ([*ch, "point"], data if ch else data[0])},
            {"channel": coords["channel"]} if ch else {},
        ),
    )
    if hasattr(posterior.objective.target, "freqs"):
        f = np.asarray(posterior.objective.target.freqs)[list(posterior.band_index)]
        groups["constant_data"] = ds({"freqs": (["freq"], f)}, {})
    return arviz().InferenceData(**groups)


def diagnostics_line(idata) -> str:
    """One line on a NUTS run: chains x draws, the largest R-hat, the smallest bulk effective
    sample size (over parameters and channels) and the number of divergent transitions."""
    az = arviz()
    n_chain, n_draw = idata.posterior.sizes["chain"], idata.posterior.sizes["draw"]
    worst = lambda ds, f: f([f(np.asarray(v)) for v in ds.data_vars.values()])
    rhat = f"{worst(az.rhat(idata), np.nanmax):.3f}" if n_chain > 1 else "n/a (1 chain)"
    ess = worst(az.ess(idata, method="bulk"), np.nanmin)
    n_div = int(np.sum(np.asarray(idata.sample_stats["diverging"])))
    return (
        f"NUTS: {n_chain} chains x {n_draw} draws, max R-hat {rhat}, min bulk ESS {ess:.0f}, "
        f"{n_div} divergences"
    )


def diagnostics(idata):
    """A pandas DataFrame, one row per parameter (and channel): posterior mean, sd, the 90 %
    highest-density interval (`hdi_5%`, `hdi_95%`), Monte Carlo errors, bulk and tail
    effective sample sizes and R-hat (`arviz.summary`)."""
    return arviz().summary(idata, hdi_prob=0.9)


def _jsonable(x: Any) -> Any:
    """`x` as plain JSON values: arrays as (nested) lists, NaN and inf as None, other
    objects by their repr."""
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if hasattr(x, "__array__") and not isinstance(x, (str, bytes)):
        x = np.asarray(x)
        return _jsonable(x.tolist()) if x.ndim else _jsonable(x.item())
    if isinstance(x, np.generic):
        return _jsonable(x.item())
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if x is None or isinstance(x, (bool, int, str)):
        return x
    return repr(x)


def _scalar(v) -> bool:
    return (
        v is None
        or isinstance(v, (bool, int, float, str, np.generic))
        or (hasattr(v, "__array__") and np.ndim(v) == 0)
    )


def save_result(result, path: str | os.PathLike) -> None:
    """Write `result` (a `FitResult`) to the folder `path` (created if needed): `fit.json`,
    `fit.npz` and, when `fit.sample` has run, `posterior.nc` (see the module's docstring)."""
    path = pathlib.Path(path)
    path.mkdir(parents=True, exist_ok=True)
    meta = {k: v for k, v in result.meta.items() if _scalar(v) or isinstance(v, (dict, str))}
    doc = {
        "params": result.params,
        "best_loss": result.best_loss,
        "best_start": result.best_start,
        "goodness": {k: v for k, v in result.goodness.items() if _scalar(v)},
        "meta": meta,
        "laplace": None if result.laplace is None else result.laplace.to_dict(),
        "mcmc": None,
    }
    if result.mcmc is not None:
        from ._mcmc import diagnostics_line

        doc["mcmc"] = {"diagnostics": diagnostics_line(result.mcmc), "file": "posterior.nc"}
    with open(path / "fit.json", "w") as fh:
        json.dump(_jsonable(doc), fh, indent=2, allow_nan=False)
    arrays = {"loss_history": np.asarray(result.loss_history)}
    arrays.update({f"param_{k}": np.asarray(v) for k, v in result.params.items()})
    if result.laplace is not None:
        arrays.update(result.laplace.arrays())
    np.savez(path / "fit.npz", **arrays)
    if result.mcmc is not None:
        result.mcmc.to_netcdf(str(path / "posterior.nc"))


def load_posterior(path: str | os.PathLike):
    """The NUTS draws saved by `FitResult.save`: an arviz InferenceData read from
    `path/posterior.nc` (or from `path` itself when it is the .nc file)."""
    path = pathlib.Path(path)
    if path.is_dir():
        path = path / "posterior.nc"
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: save a result after fit.sample(...).")
    return arviz().from_netcdf(str(path))
