"""Mixed-model networks: the same Jansen-Rit network as a homogeneous `Network` and as a
`MixedNetwork` of two groups, and two truly mixed networks for information.

Workload (issue "mixed-model networks"): 68 DK regions with conduction delays at 5 m/s, noise in
every node's input, 10 s at dt = 0.1 ms (1e5 Heun steps), observable saved at 1 kHz, float32.
Compared, timed in alternation in the same run:

* `homogeneous`: `Network(JansenRit(), ...)`;
* `two_groups`: the same network as two Jansen-Rit groups of 34 regions (0-33, 34-67), same
  parameters (contiguous groups: slices, no gathers);
* `two_groups_interleaved`: the same, with the groups interleaved (even and odd regions:
  gathers and an inverse permutation every step);
* `jr_wc`: Jansen-Rit on regions 0-33, Wilson-Cowan (10 ms per unit time) on 34-67 (state width
  6, the WC nodes padded; WC noise enters its E equation, so the network adds the noise term
  rather than folding it into the drive);
* `jr_lanmm`: Jansen-Rit on 0-33, LaNMM on 34-67 (state width 28: the JR nodes padded).

Target: `two_groups` / `homogeneous` <= 1.3 (median over rounds of the ratio of the two calls
timed back to back).

Usage: python benchmarks/bench_mixed.py [--t1 10] [--repeats 5]
"""

from __future__ import annotations

import argparse

import jax
import numpy as np
from _common import emit, machine, time_interleaved

import rosetta_jax as rj
from rosetta_jax import data, models, noise


DT = 1e-4
SAVE_EVERY = 10
SIGMA = 2.0
G = 10.0
SPEED = 5.0


def networks(W, L):
    """The networks compared, by name."""
    half = W.shape[0] // 2
    first, second = range(half), range(half, W.shape[0])
    even, odd = range(0, W.shape[0], 2), range(1, W.shape[0], 2)
    kw = dict(lengths=L, speed=SPEED, G=G)
    jr = models.JansenRit()
    wc = (models.WilsonCowan(), second, {"time_scale": 0.01, "efferent_scale": 5.0})
    return {
        "homogeneous": rj.Network(jr, W, **kw),
        "two_groups": rj.Network.mixed({"a": (jr, first), "b": (jr, second)}, W, **kw),
        "two_groups_interleaved": rj.Network.mixed({"a": (jr, even), "b": (jr, odd)}, W, **kw),
        "jr_wc": rj.Network.mixed({"jr": (jr, first), "wc": wc}, W, **kw),
        "jr_lanmm": rj.Network.mixed(
            {"jr": (jr, first), "lanmm": (models.LaNMM(), second)}, W, **kw
        ),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--t1", type=float, default=10.0, help="simulated seconds")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    dk = data.load_dk68()
    # A 1 mm floor keeps every delay above dt at 5 m/s (see bench_network.py).
    W = dk.weights.astype(np.float32)
    L = np.maximum(dk.lengths, 1.0).astype(np.float32)
    nets = networks(W, L)
    key = jax.random.key(0)

    def run(net, k):
        return rj.simulate(
            net,
            t1=args.t1,
            dt=DT,
            save_every=SAVE_EVERY,
            key=k,
            noise=noise.Additive(SIGMA),
            save_state=False,
        ).observed

    f = jax.jit(run)
    t = time_interleaved(
        {name: (f, (net, key)) for name, net in nets.items()}, repeats=args.repeats, keep_runs=True
    )
    # The VM's speed drifts: the median over rounds of the ratio of calls timed back to back.
    base = np.asarray(t["homogeneous"]["runs_s"])
    results = {}
    for name, r in t.items():
        runs = np.asarray(r.pop("runs_s"))
        results[name] = dict(
            r,
            ratio_to_homogeneous=r["run_s"] / t["homogeneous"]["run_s"],
            ratio_to_homogeneous_paired_median=float(np.median(runs / base)),
            state_width=int(nets[name].initial_state().shape[1]),
        )
    same = float(np.max(np.abs(f(nets["two_groups"], key) - f(nets["homogeneous"], key))))
    emit(
        "bench_mixed",
        {
            "benchmark": "Jansen-Rit network on the DK68 connectome (delays, noise): homogeneous "
            "Network vs MixedNetwork groups",
            "config": {
                "n_nodes": dk.n_regions,
                "t1_s": args.t1,
                "dt_s": DT,
                "n_steps": int(round(args.t1 / DT)),
                "save_every": SAVE_EVERY,
                "G": G,
                "speed_m_per_s": SPEED,
                "sigma": SIGMA,
                "dtype": "float32",
                "repeats": args.repeats,
            },
            "machine": machine(),
            "results": results,
            "max_abs_difference_mV_two_groups_vs_homogeneous": same,
            "targets": {"two_groups": "ratio_to_homogeneous_paired_median <= 1.3"},
        },
    )


if __name__ == "__main__":
    main()
