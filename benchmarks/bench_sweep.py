"""Sweep throughput: a noisy Jansen-Rit network on the bundled 68-region connectome, 2 s at
dt = 0.1 ms, float32, features (peak frequency, alpha power) computed inside, for batch sizes
64 to 4096, against a hand-written vmapped `lax.scan` loop of the same network in the same run.

Yardstick: cuBNM ran 32,768 simulations x 60 s x 100 nodes in 5.6 min on one A100 (about 6e9
node-steps/s); the projected time of that workload at our throughput is printed.
Target on one H100: >= 1e10 node-steps/s.

Usage: python benchmarks/bench_sweep.py [--batches 64 256 1024 4096] [--repeats 3]
(default batches: up to 4096 on an accelerator, up to 1024 on CPU).
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.random as jr
import numpy as np
from _common import emit, machine
from bench_network import DT, SAVE_EVERY, SIGMA, G, baseline

import rosetta_jax as rj
from rosetta_jax import data, models, noise


T1 = 2.0
CUBNM_NODE_STEPS = 32768 * 100 * 60.0 / DT  # their workload, counted at our dt


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", type=int, nargs="*", default=None)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    on_cpu = jax.devices()[0].platform == "cpu"
    batches = args.batches or ([64, 256, 1024] if on_cpu else [64, 256, 1024, 4096])
    dk = data.load_dk68()
    n = dk.n_regions
    net = rj.Network(models.JansenRit(), dk.weights.astype(np.float32), G=G)
    n_steps = int(round(T1 / DT))
    n_saves = n_steps // SAVE_EVERY
    results = {}
    for B in batches:
        space = rj.Space.random(B, {"G": (5.0, 15.0), "node.p": (120.0, 320.0)}, seed=0)
        run = lambda space=space, B=B: rj.sweep(
            net,
            space,
            features=["peak_frequency", "power_alpha"],
            t1=T1,
            dt=DT,
            save_every=SAVE_EVERY,
            noise=noise.Additive(SIGMA),
            chunk_size=B,
            progress=False,
        )
        t = time.perf_counter()
        ds = run()
        first = time.perf_counter() - t
        runs = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            run()
            runs.append(time.perf_counter() - t)
        best = min(runs)
        keys = jr.split(jr.key(1), B)
        base = jax.jit(jax.vmap(lambda k: baseline(net.weights, k, n_saves)))
        jax.block_until_ready(base(keys))
        bruns = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            jax.block_until_ready(base(keys))
            bruns.append(time.perf_counter() - t)
        node_steps = B * n * n_steps
        rate = node_steps / best
        results[str(B)] = {
            "sweep_first_call_s": first,
            "sweep_run_s": best,
            "sweep_run_median_s": sorted(runs)[len(runs) // 2],
            "baseline_scan_run_s": min(bruns),
            "ratio_to_baseline": best / min(bruns),
            "node_steps_per_s": rate,
            "diverged": int(ds["diverged"].sum()),
            "projected_cubnm_workload_min": CUBNM_NODE_STEPS / rate / 60.0,
        }
        print(
            f"batch {B}: {best:.2f} s, {rate:.3g} node-steps/s, baseline {min(bruns):.2f} s",
            flush=True,
        )
    emit(
        "bench_sweep",
        {
            "benchmark": "sweep throughput, noisy JR network on DK68, 2 s, features inside",
            "config": {
                "n_nodes": n,
                "t1_s": T1,
                "dt_s": DT,
                "n_steps": n_steps,
                "save_every": SAVE_EVERY,
                "sigma": SIGMA,
                "dtype": "float32",
                "space": "random G in (5, 15), node.p in (120, 320)",
                "features": ["peak_frequency", "power_alpha"],
                "repeats": args.repeats,
                "baseline": "hand-written vmapped lax.scan Heun loop, no features",
            },
            "machine": machine(),
            "results": results,
            "yardstick": "cuBNM: 32768 x 60 s x 100 nodes in 5.6 min on one A100 "
            "(~6e9 node-steps/s)",
            "target": "node_steps_per_s >= 1e10 on one H100",
        },
    )


if __name__ == "__main__":
    main()
