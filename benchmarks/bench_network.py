"""Jansen-Rit network on the bundled 68-region connectome: `simulate` against a hand-written
`lax.scan` loop of the same network, without and with conduction delays.

Workload (issue "networks"): 68 DK regions, 10 s at dt = 0.1 ms (1e5 Heun steps), noise in
every node's input rate, EEG proxy saved at 1 kHz, float32.
Targets: (a) no delays <= 1.25x the hand-written loop; (b) delays at 5 m/s <= 2x (a).
For scale: on a 2-core CPU a 76-node version took a plain lax.scan loop 0.20 s, vbjax 0.95 s.

Usage: python benchmarks/bench_network.py [--t1 10] [--repeats 5]
"""

from __future__ import annotations

import argparse
import math

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from _common import emit, machine, time_interleaved

import rosetta_jax as rj
from rosetta_jax import data, models, noise


DT = 1e-4
SAVE_EVERY = 10
SIGMA = 2.0
G = 10.0
SPEED = 5.0


def baseline(W, key, n_saves, G=G, p=220.0, sigma=SIGMA):
    """The plainest loop: JR constants baked in, rate coupling W @ S(y1 - y2) into p."""
    A, B, a, b, C, e0, v0, r = 3.25, 22.0, 100.0, 50.0, 135.0, 2.5, 6.0, 0.56
    S = lambda v: 2 * e0 / (1 + jnp.exp(r * (v0 - v)))
    n = W.shape[0]

    def f(y, xi):
        y0, y1, y2, y3, y4, y5 = (y[:, k] for k in range(6))
        u = G * (W @ S(y1 - y2)) + xi
        return jnp.stack(
            [
                y3,
                y4,
                y5,
                A * a * S(y1 - y2) - 2 * a * y3 - a * a * y0,
                A * a * (p + u + 0.8 * C * S(C * y0)) - 2 * a * y4 - a * a * y1,
                B * b * 0.25 * C * S(0.25 * C * y0) - 2 * b * y5 - b * b * y2,
            ],
            axis=1,
        )

    def step(y, xi):
        k1 = f(y, xi)
        k2 = f(y + DT * k1, xi)
        return y + 0.5 * DT * (k1 + k2), None

    def interval(y, i):
        xi = sigma * jr.normal(jr.fold_in(key, i), (SAVE_EVERY, n)) / math.sqrt(DT)
        y, _ = jax.lax.scan(step, y, xi)
        return y, y[:, 1] - y[:, 2]

    _, obs = jax.lax.scan(interval, jnp.zeros((n, 6)), jnp.arange(n_saves))
    return obs


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--t1", type=float, default=10.0, help="simulated seconds")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    dk = data.load_dk68()
    # The template's weakest edges carry sub-millimetre lengths (see rosetta_jax/data/NOTICE.md);
    # a 1 mm floor keeps every delay above dt at 5 m/s.
    lengths = np.maximum(dk.lengths, 1.0)
    n = dk.n_regions
    key = jr.key(0)
    n_saves = int(round(args.t1 / DT)) // SAVE_EVERY
    n_steps = n_saves * SAVE_EVERY

    plain = rj.Network(models.JansenRit(), dk.weights.astype(np.float32), G=G)
    delayed = rj.Network(
        models.JansenRit(),
        dk.weights.astype(np.float32),
        lengths=lengths.astype(np.float32),
        speed=SPEED,
        G=G,
    )

    def ours(net, k):
        return rj.simulate(
            net,
            t1=args.t1,
            dt=DT,
            save_every=SAVE_EVERY,
            key=k,
            noise=noise.Additive(SIGMA),
            save_state=False,
        ).observed

    f_ours = jax.jit(ours)
    f_base = jax.jit(lambda W, k: baseline(W, k, n_saves))
    t = time_interleaved(
        {
            "plain": (f_ours, (plain, key)),
            "base": (f_base, (plain.weights, key)),
            "delay": (f_ours, (delayed, key)),
        },
        repeats=args.repeats,
        keep_runs=True,
    )
    t_plain, t_base, t_delay = t["plain"], t["base"], t["delay"]
    # The VM's speed drifts: besides best-of ratios, the median over rounds of the ratio of
    # the calls timed back to back in the same round.
    paired = lambda x, y: float(np.median(np.asarray(x["runs_s"]) / np.asarray(y["runs_s"])))
    a_paired, b_paired = paired(t_plain, t_base), paired(t_delay, t_plain)
    for r in (t_plain, t_base, t_delay):
        r.pop("runs_s")
    diff = float(jnp.max(jnp.abs(f_ours(plain, key) - f_base(plain.weights, key))))
    node_steps = n * n_steps
    emit(
        "bench_network",
        {
            "benchmark": "Jansen-Rit network on the DK68 connectome, noisy, with and without "
            "delays",
            "config": {
                "n_nodes": n,
                "t1_s": args.t1,
                "dt_s": DT,
                "n_steps": n_steps,
                "save_every": SAVE_EVERY,
                "G": G,
                "speed_m_per_s": SPEED,
                "sigma": SIGMA,
                "dtype": "float32",
                "repeats": args.repeats,
                "delay_buffer_steps": delayed.history_length(DT),
                "edges": int(np.count_nonzero(dk.weights)),
            },
            "machine": machine(),
            "results": {
                "a_no_delays": {
                    "rosetta_jax": t_plain,
                    "baseline_scan": t_base,
                    "ratio_to_baseline": t_plain["run_s"] / t_base["run_s"],
                    "ratio_to_baseline_paired_median": a_paired,
                    "node_steps_per_s": node_steps / t_plain["run_s"],
                },
                "b_delays_5m_s": {
                    "rosetta_jax": t_delay,
                    "ratio_to_no_delays": t_delay["run_s"] / t_plain["run_s"],
                    "ratio_to_no_delays_paired_median": b_paired,
                    "node_steps_per_s": node_steps / t_delay["run_s"],
                },
            },
            "max_abs_difference_mV_vs_baseline": diff,
            "targets": {"a": "ratio_to_baseline <= 1.25", "b": "ratio_to_no_delays <= 2"},
        },
    )


if __name__ == "__main__":
    main()
