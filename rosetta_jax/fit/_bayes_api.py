"""The public face of NUTS sampling and posterior plots (`fit/_mcmc.py`), imported on first
use: blackjax and arviz are an optional extra (`pip install "rosetta-jax[bayes]"`), and the
rest of `rosetta_jax.fit` (the Laplace approximation, model comparison by evidence) works
without them."""

from __future__ import annotations


def _mcmc():
    try:
        from . import _mcmc
    except ImportError as e:  # blackjax or arviz missing
        raise ImportError(
            f"NUTS sampling and the posterior plots need the optional extra `bayes` ({e.name} "
            'is not installed): pip install "rosetta-jax[bayes]" (blackjax, arviz, h5netcdf).'
        ) from e
    return _mcmc


def _lazy(name: str, doc: str):
    def call(*args, **kwargs):
        return getattr(_mcmc(), name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = doc + "\n\n(Full documentation: `rosetta_jax.fit._mcmc." + name + "`.)"
    return call


sample = _lazy(
    "sample",
    "NUTS (blackjax) on a fit's posterior: `sample(result, *, chains=4, draws=1000, "
    "warmup=500, problems=None, key=None, progress=True)` -> the `FitResult` with `mcmc`, an "
    "arviz InferenceData (chains vmapped, and regions in a regional fit; started from and "
    "preconditioned by the Laplace approximation, in its coordinates).",
)
diagnostics = _lazy(
    "diagnostics", "Per-parameter posterior summary with R-hat and effective sample sizes."
)
diagnostics_line = _lazy(
    "diagnostics_line",
    "One line: chains x draws, the largest R-hat, the smallest ESS, divergences.",
)
posterior_predictive = _lazy(
    "posterior_predictive",
    "Model predictions (spectra or FC) at posterior draws (NUTS, else Laplace), with bands.",
)
plot_predictive = _lazy(
    "plot_predictive", "The data with the posterior-predictive median and 90 % band."
)
plot_corner = _lazy("plot_corner", "Corner plot of the posterior (NUTS draws, else Laplace draws).")
