"""NUTS on one region of the bundled MEG spectra: wall time of `fit.sample` (4 chains x 1000
draws after 500 warm-up draws) in a fresh process (compilation included), the part of it JAX
spent tracing and compiling, and the time of a compiled run (measured by a second run for the
cases in `--repeat`, else the first run minus its compile time), with the run's diagnostics
(largest R-hat, smallest bulk and tail ESS, divergences, tree depth).

Cases (each in its own process): the default generators (`damped_oscillators`: two damped
oscillators, `node=None`) and the Jansen-Rit node (`jansen_rit`, `models.JansenRit(p=20.0)`,
6 states; not in the default run: 223 s and badly mixed, see the README), both on the first
MEG region, without dispersion, the aperiodic background with a knee, the noise level fitted
(`fit.LogNormal()`); and `synthetic_oscillator`, a well-identified region: one synthetic
recording of `bench_calibration.py` (one damped oscillator on a power-law background with a
floor, 10 segments, the noise level known, uniform priors on the ranges its truth is drawn
from).
Target: < 60 s per case including compilation. `--region N` samples the MEG region N instead
of the first (results in `bench_nuts-regionN-<platform>.json`).

Usage: python benchmarks/bench_nuts.py [--only damped_oscillators,synthetic_oscillator,jansen_rit]
       [--repeat CASES] [--region INDEX]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np


CASES = ("jansen_rit", "damped_oscillators", "synthetic_oscillator")
CHAINS, DRAWS, WARMUP = 4, 1000, 500


class _CompileSpans:
    """The wall time JAX spends tracing, lowering and compiling (the union of its time spans:
    nested traces count once)."""

    def __init__(self):
        import jax.monitoring

        self.spans = []
        jax.monitoring.register_event_time_span_listener(self._record)

    def _record(self, event, start, end, **kwargs):
        if event.startswith("/jax/core/compile/"):
            self.spans.append((start, end))

    def total(self) -> float:
        out, last = 0.0, -np.inf
        for start, end in sorted(self.spans):
            out += max(0.0, end - max(start, last))
            last = max(last, end)
        return out


def _one(case: str, repeat: bool, region: int = 0) -> dict:
    """Fit one region (`region`: its index in the MEG spectra), then sample (and, with
    `repeat`, sample again: compiled)."""
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.random as jr

    from rosetta_jax import data, fit, models
    from rosetta_jax.fit._mcmc import sample
    from rosetta_jax.fit._saving import arviz

    spans = _CompileSpans()
    t = time.perf_counter()
    if case == "synthetic_oscillator":
        import bench_calibration as bc

        rng = np.random.default_rng(0)
        _, psd = bc.oscillator_sets(rng, 1)
        result = bc.fit_oscillator(bc.with_noise(rng, psd, 10), 10, bc.TRUTH)
    else:
        spectra = fit.SpectrumTarget.from_data(data.load_meg_spectra())
        target = fit.SpectrumTarget(
            spectra.freqs, spectra.psd[:, region : region + 1], spectra.labels[region : region + 1]
        )
        node = models.JansenRit(p=20.0) if case == "jansen_rit" else None
        result = fit.fit_spectra(target, node, dispersion=False, progress=False)
    out = {"coords": list(result.posterior.coords), "fit_s": time.perf_counter() - t}
    az = arviz()  # imported before the timed runs
    spans.spans.clear()
    t = time.perf_counter()
    idata = sample(result, chains=CHAINS, draws=DRAWS, warmup=WARMUP, progress=False).mcmc
    out["sample_first_s"] = time.perf_counter() - t
    out["compile_s"] = spans.total()
    out["sample_after_compile_s"] = out["sample_first_s"] - out["compile_s"]
    out["after_compile"] = "estimate: first run minus compile time"
    if repeat:
        t = time.perf_counter()
        idata = sample(
            result, chains=CHAINS, draws=DRAWS, warmup=WARMUP, key=jr.key(1), progress=False
        )
        idata = idata.mcmc
        out["sample_after_compile_s"] = time.perf_counter() - t
        out["after_compile"] = "measured: a second run (key 1), diagnostics of this run"
    worst = lambda ds, f: float(f([f(np.asarray(v)) for v in ds.data_vars.values()]))
    stats = idata.sample_stats
    out.update(
        max_rhat=worst(az.rhat(idata), np.nanmax),
        min_ess_bulk=worst(az.ess(idata, method="bulk"), np.nanmin),
        min_ess_tail=worst(az.ess(idata, method="tail"), np.nanmin),
        divergences=int(np.sum(np.asarray(stats["diverging"]))),
        mean_tree_depth=float(np.mean(np.asarray(stats["tree_depth"]))),
        mean_n_steps=float(np.mean(np.asarray(stats["n_steps"]))),
        mean_step_size=float(np.mean(np.asarray(stats["step_size"]))),
        mean_acceptance=float(np.mean(np.asarray(stats["acceptance_rate"]))),
        nuts_sd_over_laplace_se=_sd_ratio(result, idata),
    )
    return out


def _sd_ratio(result, idata) -> dict:
    """Posterior sd (NUTS) over the Laplace standard error, per coordinate (natural units)."""
    post = idata.posterior
    out = {}
    for i, name in enumerate(result.posterior.coords):
        if name in post:
            out[name] = float(np.std(np.asarray(post[name])) / result.laplace.se[0, i])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="damped_oscillators,synthetic_oscillator")
    ap.add_argument(
        "--repeat",
        default="damped_oscillators",
        help="cases sampled a second time to measure the compiled run (else estimated)",
    )
    ap.add_argument(
        "--region",
        type=int,
        default=0,
        help="index of the MEG region sampled (default 0, the first; not the synthetic case)",
    )
    ap.add_argument("--case", help=argparse.SUPPRESS)  # internal: run one case here
    args = ap.parse_args()
    if args.case:
        print(json.dumps(_one(args.case, args.case in args.repeat.split(","), args.region)))
        return
    from _common import emit, machine

    results = {}
    for case in args.only.split(","):
        t = time.perf_counter()
        proc = subprocess.run(
            [
                sys.executable,
                "-X",
                "faulthandler",
                __file__,
                "--case",
                case,
                "--repeat",
                args.repeat,
                "--region",
                str(args.region),
            ],
            capture_output=True,
            text=True,
        )
        if proc.returncode:
            results[case] = {"error": f"exit status {proc.returncode}: {proc.stderr[-2000:]}"}
            continue
        results[case] = json.loads(proc.stdout.strip().splitlines()[-1])
        results[case]["process_s"] = time.perf_counter() - t
    import jax

    jax.config.update("jax_enable_x64", True)
    settings = {"chains": CHAINS, "draws": DRAWS, "warmup": WARMUP, "region": args.region}
    name = "bench_nuts" if args.region == 0 else f"bench_nuts-region{args.region}"
    emit(name, {"machine": machine(), "settings": settings, "results": results})


if __name__ == "__main__":
    main()
