"""`simulate` against a minimal hand-written `lax.scan` Heun loop, in the same run.

Workloads (DESIGN.md, issue "ladder"): one noisy Jansen-Rit node, 100 s at dt = 0.1 ms
(1e6 Heun steps, the EEG proxy saved at 1 kHz), and a vmapped batch of 64 nodes with different
input rates p. float32 (JAX's default). Target: ratio to the baseline <= 1.25 in both cases.

Usage: python benchmarks/bench_simulate.py [--t1 100] [--batch 64] [--repeats 5]
"""

from __future__ import annotations

import argparse
import math

import jax
import jax.numpy as jnp
import jax.random as jr
from _common import emit, machine, time_interleaved

import rosetta_jax as rj
from rosetta_jax import models, noise


DT = 1e-4
SAVE_EVERY = 10
SIGMA = 2.0  # intensity [1/s * s^0.5]: like JR 1995 (p ~ U(120, 320) sampled at 1 kHz)


def baseline(p, key, n_saves):
    """The plainest fast loop: JR constants baked in, Heun, noise in p, observable saved."""
    A, B, a, b, C, e0, v0, r = 3.25, 22.0, 100.0, 50.0, 135.0, 2.5, 6.0, 0.56
    S = lambda v: 2 * e0 / (1 + jnp.exp(r * (v0 - v)))

    def f(y, u):
        y0, y1, y2, y3, y4, y5 = y
        return jnp.stack(
            [
                y3,
                y4,
                y5,
                A * a * S(y1 - y2) - 2 * a * y3 - a * a * y0,
                A * a * (p + u + 0.8 * C * S(C * y0)) - 2 * a * y4 - a * a * y1,
                B * b * 0.25 * C * S(0.25 * C * y0) - 2 * b * y5 - b * b * y2,
            ]
        )

    def step(y, xi):
        k1 = f(y, xi)
        k2 = f(y + DT * k1, xi)
        return y + 0.5 * DT * (k1 + k2), None

    def interval(y, i):
        xi = SIGMA * jr.normal(jr.fold_in(key, i), (SAVE_EVERY,)) / math.sqrt(DT)
        y, _ = jax.lax.scan(step, y, xi)
        return y, y[1] - y[2]

    _, obs = jax.lax.scan(interval, jnp.zeros(6), jnp.arange(n_saves))
    return obs


def ours(p, key, t1):
    sol = rj.simulate(
        models.JansenRit(p=p),
        t1=t1,
        dt=DT,
        save_every=SAVE_EVERY,
        noise=noise.Additive(SIGMA),
        key=key,
        save_state=False,
    )
    return sol.observed


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--t1", type=float, default=100.0, help="simulated seconds")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    n_saves = int(round(args.t1 / DT)) // SAVE_EVERY
    key = jr.key(0)
    n_steps = n_saves * SAVE_EVERY

    single_ours = jax.jit(lambda p, k: ours(p, k, args.t1))
    single_base = jax.jit(lambda p, k: baseline(p, k, n_saves))
    ps = jnp.linspace(100.0, 300.0, args.batch)
    keys = jr.split(key, args.batch)  # an independent noise realisation per batch member
    batch_ours = jax.jit(jax.vmap(lambda p, k: ours(p, k, args.t1)))
    batch_base = jax.jit(jax.vmap(lambda p, k: baseline(p, k, n_saves)))

    results = {}
    for name, (f_ours, f_base, p, k, n_nodes) in {
        "single_node": (single_ours, single_base, jnp.float32(220.0), key, 1),
        f"batch_{args.batch}": (batch_ours, batch_base, ps, keys, args.batch),
    }.items():
        t = time_interleaved(
            {"ours": (f_ours, (p, k)), "base": (f_base, (p, k))}, repeats=args.repeats
        )
        t_ours, t_base = t["ours"], t["base"]
        results[name] = {
            "n_nodes": n_nodes,
            "n_steps": n_steps,
            "rosetta_jax": t_ours,
            "baseline_scan": t_base,
            "ratio_to_baseline": t_ours["run_s"] / t_base["run_s"],
            "node_steps_per_s": n_nodes * n_steps / t_ours["run_s"],
        }
    # Same maths: the two loops agree (float32 rounding aside).
    diff = float(
        jnp.max(
            jnp.abs(single_ours(jnp.float32(220.0), key) - single_base(jnp.float32(220.0), key))
        )
    )
    emit(
        "bench_simulate",
        {
            "benchmark": "simulate vs hand-written lax.scan Heun loop, noisy Jansen-Rit",
            "config": {
                "t1_s": args.t1,
                "dt_s": DT,
                "save_every": SAVE_EVERY,
                "sigma": SIGMA,
                "dtype": "float32",
                "repeats": args.repeats,
            },
            "machine": machine(),
            "results": results,
            "max_abs_difference_mV": diff,
            "target": "ratio_to_baseline <= 1.25",
        },
    )


if __name__ == "__main__":
    main()
