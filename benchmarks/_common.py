"""Shared helpers for the benchmark scripts: machine description and timing."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

import jax


def machine() -> dict:
    """What the numbers were measured on."""
    dev = jax.devices()[0]
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "platform": dev.platform,
        "device": getattr(dev, "device_kind", str(dev)),
        "n_devices": jax.device_count(),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "jax": jax.__version__,
        "x64": bool(jax.config.jax_enable_x64),
        "date": time.strftime("%Y-%m-%d"),
    }


def time_call(fn, *args, repeats: int = 5) -> dict:
    """First call (compile + run) and the best of `repeats` later calls, in seconds."""
    t = time.perf_counter()
    jax.block_until_ready(fn(*args))
    first = time.perf_counter() - t
    runs = []
    for _ in range(repeats):
        t = time.perf_counter()
        jax.block_until_ready(fn(*args))
        runs.append(time.perf_counter() - t)
    run = min(runs)
    return {
        "first_call_s": first,
        "compile_s": max(first - run, 0.0),
        "run_s": run,
        "run_median_s": sorted(runs)[len(runs) // 2],
    }


def time_interleaved(calls: dict, repeats: int = 5, keep_runs: bool = False) -> dict:
    """Time several `(fn, args)` calls in alternation (first call separately), so that slow
    drifts of the machine affect them alike. Returns `time_call`-style dicts by name (with
    `keep_runs`, also each call's times in round order, `runs_s`, for paired ratios)."""
    out = {}
    for name, (fn, args) in calls.items():
        t = time.perf_counter()
        jax.block_until_ready(fn(*args))
        out[name] = {"first_call_s": time.perf_counter() - t, "runs": []}
    for _ in range(repeats):
        for name, (fn, args) in calls.items():
            t = time.perf_counter()
            jax.block_until_ready(fn(*args))
            out[name]["runs"].append(time.perf_counter() - t)
    for r in out.values():
        if keep_runs:
            r["runs_s"] = list(r["runs"])
        runs = sorted(r.pop("runs"))
        r["run_s"] = runs[0]
        r["run_median_s"] = runs[len(runs) // 2]
        r["compile_s"] = max(r["first_call_s"] - r["run_s"], 0.0)
    return out


def emit(name: str, payload: dict) -> None:
    """Print the result as JSON and keep a copy under benchmarks/results/."""
    text = json.dumps(payload, indent=2)
    print(text)
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / f"{name}-{payload['machine']['platform']}.json").write_text(text + "\n")
