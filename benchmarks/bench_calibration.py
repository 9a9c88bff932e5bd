"""Calibration of the Bayesian inversion on synthetic spectra with known parameters and a known
noise level, and model recovery between two rungs.

1. Coverage. `--sets` synthetic recordings (default 100): a damped oscillator's spectrum (two
   Lorentzians, written in numpy) on a power-law background with a measurement floor, seen
   through the exact noise of an average of `--segments` periodograms (each frequency
   $P\\,\\Gamma(n, 1/n)$). All are fitted in one regional `fit_spectra` call with
   `fit.LogNormal(n_segments=n)`; the share of 90 % credible intervals that contain the true
   value is reported for the Laplace approximation and for NUTS (`fit.sample`), per parameter
   and overall (target 0.85-0.95).
2. Model recovery. Half the sets are drawn from a damped oscillator (numpy, as above), half
   from Jansen-Rit (its linearised spectrum through `fit.Observed` at random parameters around
   the standard alpha regime, each at a stable focus); both rungs are fitted to every set and
   each set is attributed to the rung with the larger Laplace log-evidence (target >= 90 %
   right).

Run: python benchmarks/bench_calibration.py [--sets 100] [--draws 500] [--no-nuts]
Prints JSON (with the machine) and writes benchmarks/results/bench_calibration-cpu.json.
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

from rosetta_jax import fit, models, noise


F = np.arange(2.0, 45.01, 0.5)
DO_BOUNDS = ((-40.0, -2.0), (2 * np.pi * 6, 2 * np.pi * 14))


def lorentzians(f, alpha, omega):
    w = 2 * np.pi * f
    return 1 / (alpha**2 + (w - omega) ** 2) + 1 / (alpha**2 + (w + omega) ** 2)


def observation(s, truth):
    """Normalised generator spectra `s` (n_freqs, n) seen on the power-law background."""
    s = s / s.max(axis=0)
    background = F[:, None] ** -truth["exponent"]
    return background * (1 + 10 ** truth["log_gain"] * s) + 10 ** truth["log_floor"]


def observation_truth(rng, n):
    return {
        "log_gain": rng.uniform(0.3, 0.9, n),
        "exponent": rng.uniform(1.0, 2.0, n),
        "log_floor": rng.uniform(-3.4, -2.6, n),
    }


def oscillator_sets(rng, n):
    """True parameters and exact spectra `(n_freqs, n)` of damped-oscillator recordings."""
    truth = {
        "alpha": rng.uniform(-20.0, -6.0, n),
        "omega": 2 * np.pi * rng.uniform(8.0, 12.0, n),
        **observation_truth(rng, n),
    }
    return truth, observation(lorentzians(F[:, None], truth["alpha"], truth["omega"]), truth)


def jansen_rit_sets(rng, n):
    """Jansen-Rit recordings: gains, rates and input drawn around the alpha regime (each kept
    only at a stable focus), their linearised spectra through `fit.Observed`."""
    method, out = fit.Linear(min_damping=0.02), []
    while len(out) < n:
        node = models.JansenRit(
            A=3.25 * rng.uniform(0.9, 1.1),
            B=22.0 * rng.uniform(0.9, 1.1),
            a=100.0 * rng.uniform(0.85, 1.15),
            b=50.0 * rng.uniform(0.85, 1.15),
            C=135.0 * rng.uniform(0.9, 1.1),
            p=rng.uniform(15.0, 25.0),
        )
        try:
            psd, zeta = method.spectrum(node, noise.Additive(1.0), F)
        except ValueError:
            continue
        if float(zeta) > 0.03 and np.all(np.isfinite(psd)):
            out.append(np.asarray(psd)[:, 0])
    truth = observation_truth(rng, n)
    return truth, observation(np.stack(out, axis=1), truth)


def with_noise(rng, psd, n_segments):
    return psd * rng.gamma(n_segments, 1.0 / n_segments, size=psd.shape)


def fit_oscillator(psd, n_segments):
    return fit.fit_spectra(
        (F, psd),
        models.DampedOscillator(alpha=-12.0, omega=2 * np.pi * 10.0),
        params=("alpha", "omega"),
        transforms=tuple(fit.Bounded(*b) for b in DO_BOUNDS),
        aperiodic="fixed",
        dispersion=False,
        band=None,
        likelihood=fit.LogNormal(n_segments=n_segments),
        progress=False,
    )


def fit_jansen_rit(psd, n_segments):
    return fit.fit_spectra(
        (F, psd),
        models.JansenRit(p=20.0),
        aperiodic="fixed",
        dispersion=False,
        band=None,
        likelihood=fit.LogNormal(n_segments=n_segments),
        progress=False,
    )


def coverage(low, high, truth, coords) -> dict:
    """Share of intervals `(n, dim)` containing the truth, per coordinate and overall."""
    inside = {c: (low[:, i] <= truth[c]) & (truth[c] <= high[:, i]) for i, c in enumerate(coords)}
    out = {c: float(np.mean(v)) for c, v in inside.items()}
    out["overall"] = float(np.mean(np.concatenate(list(inside.values()))))
    return out


def nuts_intervals(res, draws, n_sets):
    """90 % central intervals of the NUTS samples of the first `n_sets` channels, `(n, dim)`
    each."""
    res = fit.sample(
        res, chains=4, draws=draws, warmup=draws, problems=list(range(n_sets)), progress=False
    )
    post = res.mcmc.posterior
    coords = res.laplace.coords
    q = [post[c].quantile([0.05, 0.95], dim=("chain", "draw")).values for c in coords]
    low = np.stack([x[0] for x in q], axis=-1)
    high = np.stack([x[1] for x in q], axis=-1)
    return low, high, res


def calibration(args, rng) -> dict:
    truth, psd = oscillator_sets(rng, args.sets)
    t0 = time.perf_counter()
    res = fit_oscillator(with_noise(rng, psd, args.segments), args.segments)
    lap = res.laplace
    out = {
        "laplace_coverage_90": coverage(lap.ci90[..., 0], lap.ci90[..., 1], truth, lap.coords),
        "laplace_coverage_95": coverage(lap.ci95[..., 0], lap.ci95[..., 1], truth, lap.coords),
        "laplace_converged": float(np.mean(lap.converged)),
        "fit_and_laplace_s": time.perf_counter() - t0,
    }
    if args.draws:
        t0 = time.perf_counter()
        k = min(args.nuts_sets, args.sets)
        low, high, sampled = nuts_intervals(res, args.draws, k)
        first = {c: v[:k] for c, v in truth.items()}
        out["nuts_sets"] = k
        out["nuts_coverage_90"] = coverage(low, high, first, lap.coords)
        out["laplace_coverage_90_same_sets"] = coverage(
            lap.ci90[:k, :, 0], lap.ci90[:k, :, 1], first, lap.coords
        )
        out["nuts_s"] = time.perf_counter() - t0
        out["nuts_diagnostics"] = fit.diagnostics_line(sampled.mcmc)
    return out


def recovery(args, rng) -> dict:
    half = args.sets // 2
    _, psd_do = oscillator_sets(rng, half)
    _, psd_jr = jansen_rit_sets(rng, args.sets - half)
    psd = with_noise(rng, np.concatenate([psd_do, psd_jr], axis=1), args.segments)
    t0 = time.perf_counter()
    ev_do = fit_oscillator(psd, args.segments).laplace.log_evidence
    ev_jr = fit_jansen_rit(psd, args.segments).laplace.log_evidence
    right = np.concatenate([ev_do[:half] > ev_jr[:half], ev_jr[half:] > ev_do[half:]])
    # A set where either rung's Laplace mode was not reached (NaN evidence) counts as wrong in
    # `recovery_rate`; `recovery_rate_both_at_mode` is the rate over the other sets.
    both = np.isfinite(ev_do) & np.isfinite(ev_jr)
    return {
        "recovery_rate": float(np.mean(right)),
        "sets_with_both_at_mode": int(np.sum(both)),
        "damped_oscillator_at_mode": float(np.mean(np.isfinite(ev_do))),
        "jansen_rit_at_mode": float(np.mean(np.isfinite(ev_jr))),
        "recovery_rate_both_at_mode": float(np.mean(right[both])) if both.any() else None,
        "recovered_damped_oscillator": float(np.mean(right[:half])),
        "recovered_jansen_rit": float(np.mean(right[half:])),
        "median_log_bayes_factor_right_vs_wrong": float(
            np.median((np.abs(ev_do - ev_jr) * np.where(right, 1, -1))[both])
        ),
        "recovery_s": time.perf_counter() - t0,
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sets", type=int, default=100)
    p.add_argument("--segments", type=int, default=10)
    p.add_argument("--draws", type=int, default=500, help="NUTS draws per chain (0: no NUTS)")
    p.add_argument("--nuts-sets", type=int, default=100, help="recordings sampled by NUTS")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = p.parse_args()
    rng = np.random.default_rng(args.seed)
    result = {
        "benchmark": "bench_calibration",
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            "device": str(jax.devices()[0]),
            "jax": jax.__version__,
        },
        "sets": args.sets,
        "segments": args.segments,
        "nuts_draws_per_chain": args.draws,
        **calibration(args, rng),
        **recovery(args, rng),
    }
    print(json.dumps(result, indent=2))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_calibration-cpu.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
