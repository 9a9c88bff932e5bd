"""Fitting layer: time per fitting step, gradient/forward time ratio, peak memory of a long
gradient with and without checkpointing, and fit quality on the bundled real data.

Workloads (issue "fitting layer"):
  step      seconds per optimiser step of `fit` for (i) 68 independent JR nodes against the
            MEG spectra (analytic spectra), (ii) the 80-region Hopf network against HCP FC
            (analytic FC), (iii) a 68-region JR network jointly against the MEG spectra
            (analytic spectra), (iv) one JR node against a simulated spectrum (2 noise keys,
            20 s each at dt = 0.1 ms, float32). The median wall time of the steps after the
            first (which compiles).
  ratio     value-and-gradient time over forward time of a Welch-spectrum loss of a 2 s
            simulation of the 68-region JR network (dt = 0.1 ms, Heun, noise, float32).
            Target <= 4.
  memory    peak resident memory of one gradient through a 60 s simulation of the same
            network, with and without checkpointing (each in a fresh process).
  quality   the three real-data fits with their default settings: R^2 of the log-PSD and
            alpha-peak error [Hz] per region; FC correlation.

Usage: python benchmarks/bench_fit.py [--only step,ratio,memory,quality]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from _common import emit, machine, time_interleaved

import rosetta_jax as rj
from rosetta_jax import data, fit, models, noise


DT = 1e-4


def _fit_time(run, steps=12):
    """Median wall time of the steps after the first (which includes compilation)."""
    r = run(steps)
    sec = np.asarray(r.meta["step_seconds"])
    return {
        "per_step_s": float(np.median(sec[1:])),
        "first_step_s": float(sec[0]),
        "steps": int(steps),
    }


def bench_steps():
    jax.config.update("jax_enable_x64", True)
    out = {}
    out["regional_spectra_68_jr_linear"] = _fit_time(
        lambda n: fit.fit_regional_spectra(steps=n, progress=False)
    )
    out["connectome_fc_80_hopf_linear"] = _fit_time(
        lambda n: fit.fit_connectome_fc(steps=n, progress=False)
    )
    out["network_spectra_68_jr_linear"] = _fit_time(
        lambda n: fit.fit_network_spectra(steps=n, progress=False), steps=5
    )
    jax.config.update("jax_enable_x64", False)
    target_model = models.JansenRit(p=150.0)
    obj0 = fit.SpectrumObjective(
        fit.SpectrumTarget(np.linspace(2, 40, 77), np.ones((77, 1))),
        noise.Additive(20.0),
        method=fit.Simulated(t1=20.0, dt=DT, save_every=10, n_keys=2),
        band=(2.0, 40.0),
    )
    target = fit.SpectrumTarget(obj0.target.freqs, obj0.spectrum(target_model, jr.key(1)))
    obj = fit.SpectrumObjective(
        target,
        noise.Additive(20.0),
        method=fit.Simulated(t1=20.0, dt=DT, save_every=10, n_keys=2),
        band=(2.0, 40.0),
    )
    out["single_jr_simulation_2x20s_f32"] = _fit_time(
        lambda n: fit.fit(
            models.JansenRit(p=120.0),
            obj,
            params=lambda m: m.p,
            transforms=fit.Positive(100.0),
            steps=n,
            progress=False,
            key=jr.key(0),
        )
    )
    return out


def _network_objective(t1, checkpoint=None, dtype=np.float32):
    dk = data.load_dk68()
    meg = data.load_meg_spectra()
    target = fit.SpectrumTarget.from_data(meg)
    net = rj.Network(
        models.JansenRit(p=jnp.full(68, 120.0, dtype)),
        dk.weights.astype(dtype),
        G=jnp.asarray(5.0, dtype),
    )
    obj = fit.SpectrumObjective(
        target,
        noise.Additive(20.0),
        method=fit.Simulated(
            t1=t1, dt=DT, save_every=10, n_keys=1, nperseg=1000, discard=0.1, checkpoint=checkpoint
        ),
        band=(2.0, 45.0),
    )
    return net, obj


def _plain_loop_loss(W, t1):
    """The same workload as a hand-written lax.scan (bench_network's baseline loop, loss
    mean(x^2)), to show what reverse mode costs XLA on this machine without rosetta-jax."""
    from bench_network import baseline

    n_saves = int(round(t1 / DT)) // 10

    def loss(params, key):
        G, p = params
        return jnp.mean(baseline(W, key, n_saves, G, p, sigma=20.0) ** 2)

    return loss


def bench_ratio(t1=2.0):
    import equinox as eqx

    key = jr.key(0)
    calls, pairs = {}, {}
    for label, ck in [("default", None), ("checkpointed", True)]:
        net, obj = _network_objective(t1, checkpoint=ck)

        def loss(params, key, net=net, obj=obj):
            G, p = params
            m = eqx.tree_at(lambda m: (m.G, m.node.p), net, (G, p))
            return obj(m, key)[0]

        params = (net.G, net.node.p)
        calls[f"{label}_forward"] = (jax.jit(loss), (params, key))
        calls[f"{label}_value_and_grad"] = (jax.jit(jax.value_and_grad(loss)), (params, key))
        pairs[label] = (f"{label}_forward", f"{label}_value_and_grad")
    plain = _plain_loop_loss(jnp.asarray(data.load_dk68().weights, jnp.float32), t1)
    params = (jnp.float32(5.0), jnp.full(68, 120.0, jnp.float32))
    calls["plain_loop_forward"] = (jax.jit(plain), (params, key))
    calls["plain_loop_value_and_grad"] = (jax.jit(jax.value_and_grad(plain)), (params, key))
    pairs["plain_loop"] = ("plain_loop_forward", "plain_loop_value_and_grad")
    # Many repeats: a 2 s forward run takes ~0.06 s here, where scheduler noise is ~10 %.
    t = time_interleaved(calls, repeats=15)
    out = {
        k: {
            "forward_s": t[f]["run_s"],
            "value_and_grad_s": t[g]["run_s"],
            "ratio": t[g]["run_s"] / t[f]["run_s"],
            "ratio_of_medians": t[g]["run_median_s"] / t[f]["run_median_s"],
        }
        for k, (f, g) in pairs.items()
    }
    out["ratio"] = out["default"]["ratio"]
    out["target"] = 4.0
    out["workload"] = (
        f"68-region JR network, {t1:g} s, dt 0.1 ms, Heun, noise, Welch log-PSD "
        "loss against the MEG spectra; gradient w.r.t. G and 68 regional p"
    )
    return out


def _memory_worker(t1, checkpoint):
    """Run in a fresh process: one gradient, print the peak RSS in MiB."""
    import resource

    import equinox as eqx

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    net, obj = _network_objective(t1, checkpoint)

    def loss(params):
        G, p = params
        m = eqx.tree_at(lambda m: (m.G, m.node.p), net, (G, p))
        return obj(m, jr.key(0))[0]

    t = time.perf_counter()
    g = jax.jit(jax.grad(loss))((net.G, net.node.p))
    jax.block_until_ready(g)
    wall = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "t1_s": t1,
                "checkpoint": checkpoint,
                "peak_rss_mib": peak,
                "rss_before_mib": base,
                "grad_finite": bool(np.all(np.isfinite(np.asarray(g[1])))),
                "wall_s": wall,
            }
        )
    )


def _measure(t1, checkpoint):
    r = subprocess.run(
        [sys.executable, __file__, "--memory-worker", str(t1), str(int(checkpoint))],
        capture_output=True,
        text=True,
    )
    if r.returncode != 0:
        return {"t1_s": t1, "checkpoint": checkpoint, "error": r.stderr[-500:]}
    return json.loads(r.stdout.strip().splitlines()[-1])


def bench_memory(max_rss_mib=16000):
    rows = [_measure(60.0, True)]
    # Without checkpointing memory grows linearly with the run: measure short runs first and
    # attempt 60 s only when the extrapolation fits in memory.
    short = [_measure(t1, False) for t1 in (5.0, 10.0)]
    rows += short
    slope = (short[1]["peak_rss_mib"] - short[0]["peak_rss_mib"]) / 5.0
    estimate = short[1]["peak_rss_mib"] + slope * 50.0
    out = {"runs": rows, "no_checkpoint_60s_estimate_mib": estimate}
    if estimate < max_rss_mib:
        rows.append(_measure(60.0, False))
    for r in rows:
        if r["t1_s"] == 60.0 and "peak_rss_mib" in r:
            out["checkpoint_60s_mib" if r["checkpoint"] else "no_checkpoint_60s_mib"] = r[
                "peak_rss_mib"
            ]
    return out


def _stats(v):
    v = np.asarray(v)
    return {
        "mean": float(v.mean()),
        "median": float(np.median(v)),
        "min": float(v.min()),
        "max": float(v.max()),
    }


def bench_quality():
    jax.config.update("jax_enable_x64", True)
    out = {}
    for name, run in [
        ("regional_spectra", fit.fit_regional_spectra),
        ("connectome_fc", fit.fit_connectome_fc),
        ("network_spectra", fit.fit_network_spectra),
    ]:
        t = time.perf_counter()
        r = run(progress=False, key=jr.key(0))
        row = {
            "wall_s": time.perf_counter() - t,
            "steps": int(r.loss_history.shape[0]),
            "best_loss": r.best_loss,
        }
        g = r.goodness
        if "r2_log_psd" in g:
            row["r2_log_psd"] = _stats(g["r2_log_psd"])
            row["alpha_peak_error_hz"] = _stats(g["peak_error_hz"])
            row["r2_log_psd_per_region"] = np.round(g["r2_log_psd"], 4).tolist()
            row["alpha_peak_error_hz_per_region"] = np.round(g["peak_error_hz"], 3).tolist()
        if "fc_correlation" in g:
            row["fc_correlation"] = g["fc_correlation"]
        row["params"] = {
            k: (float(v) if np.size(v) == 1 else _stats(v)) for k, v in r.params.items()
        }
        out[name] = row
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="step,ratio,memory,quality")
    ap.add_argument("--memory-worker", nargs=2, metavar=("T1", "CHECKPOINT"))
    args = ap.parse_args()
    if args.memory_worker:
        _memory_worker(float(args.memory_worker[0]), bool(int(args.memory_worker[1])))
        return
    parts = args.only.split(",")
    result = {
        "benchmark": "fit",
        "machine": machine(),
        "notes": "Analytic (linear) and real-data fits run in float64; the simulation "
        "workloads (ratio, memory, single-node simulation fit) in float32.",
    }
    if "ratio" in parts:
        result["gradient_forward_ratio_2s_network"] = bench_ratio()
    if "memory" in parts:
        result["gradient_memory_60s_network"] = bench_memory()
    if "step" in parts:
        result["time_per_step"] = bench_steps()
    if "quality" in parts:
        result["real_data_quality"] = bench_quality()
    # A partial run (--only) keeps the other sections of the last results file of this platform.
    previous = Path(__file__).parent / "results" / f"bench_fit-{result['machine']['platform']}.json"
    if previous.exists() and set(parts) != {"step", "ratio", "memory", "quality"}:
        old = json.loads(previous.read_text())
        for k, v in old.items():
            result.setdefault(k, v)
    emit("bench_fit", result)


if __name__ == "__main__":
    main()
