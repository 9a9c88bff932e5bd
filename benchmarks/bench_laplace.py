"""What the Laplace approximation adds to a 68-region regional spectral fit (target: < 10 s).

In one fresh process: the regional fit of the bundled MEG spectra without the Laplace step,
then the Laplace step on its result (the first call includes compiling its program), then the
Laplace step again (compiled: what every later fit of the same structure pays). Two nodes: the
default alpha + beta damped oscillators (`fit_spectra`'s default) and Jansen-Rit
(`fit_regional_spectra`'s default). Also reports how many regions reached their posterior
mode and the total log-evidence.

With `--compilation-cache DIR` (run twice) it measures what a later session pays when the
programs were compiled before (`rosetta_jax.enable_compilation_cache`).

Run: python benchmarks/bench_laplace.py [--nodes oscillators jansen_rit] [--compilation-cache DIR]
Prints JSON (with the machine) and writes benchmarks/results/bench_laplace-cpu.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import jax
import numpy as np

from rosetta_jax import data, fit, models
from rosetta_jax.fit._inference import with_laplace
from rosetta_jax.fit._least_squares import Selection
from rosetta_jax.fit._spectra_fit import _fitted


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def one_node(name: str) -> dict:
    target = fit.SpectrumTarget.from_data(data.load_meg_spectra())
    node = None if name == "oscillators" else models.JansenRit(p=20.0)
    kw = dict(dispersion=False, progress=False, laplace=False)
    res, fit_s = _timed(lambda: fit.fit_spectra(target, node, **kw))
    f_hi = float(np.asarray(res.objective.target.freqs)[-1])
    fitted = _fitted(res.model, None, None, f_hi, False, node is None)
    args = (Selection(fitted.selectors), fitted.transforms, None, fitted.names, None)
    out = {"node": name, "fit_s": fit_s}
    for curvature in ("expected", "observed"):  # the default first: its cold time is a user's
        lap, cold = _timed(lambda c=curvature: with_laplace(res, *args, curvature=c))
        _, warm = _timed(lambda c=curvature: with_laplace(res, *args, curvature=c))
        lap = lap.laplace
        out.update(regions=int(lap.mode.shape[0]), parameters_per_region=lap.k)
        out[curvature] = {
            "laplace_first_call_s": cold,
            "laplace_compiled_s": warm,
            "laplace_added_fraction_of_fit": cold / fit_s,
            "regions_at_mode": int(np.sum(lap.converged)),
            "total_log_evidence": lap.total_log_evidence,
            "median_noise_sigma_log10": float(np.median(lap.mode[:, -1])),
            "median_se": dict(zip(lap.coords, np.median(lap.se, axis=0).tolist(), strict=True)),
        }
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nodes", nargs="+", default=["oscillators", "jansen_rit"])
    p.add_argument("--out", default=str(Path(__file__).parent / "results"))
    p.add_argument(
        "--compilation-cache",
        metavar="DIR",
        help="use a persistent compilation cache in DIR (run twice: the second run's first "
        "calls are what a later session pays)",
    )
    args = p.parse_args()
    cache = None
    if args.compilation_cache:
        from rosetta_jax import enable_compilation_cache

        folder = Path(args.compilation_cache)
        cache = "warm" if folder.is_dir() and any(folder.iterdir()) else "cold"
        enable_compilation_cache(folder)
    result = {
        "benchmark": "bench_laplace",
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            "device": str(jax.devices()[0]),
            "jax": jax.__version__,
            "precision": "float64" if jax.config.jax_enable_x64 else "float32",
        },
        "compilation_cache": cache or "off",
        "runs": [one_node(n) for n in args.nodes],
    }
    print(json.dumps(result, indent=2))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = "bench_laplace" + (f"-cache-{cache}" if cache else "")
    (out / f"{name}-cpu.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
