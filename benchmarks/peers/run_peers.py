"""rosetta-jax against The Virtual Brain (tvb-library) and vbjax on the same workloads, in one
session on one machine. Run it inside the benchmark environment (see README.md here):

    benchmarks/peers/.venv/bin/python benchmarks/peers/run_peers.py [--repeats 5] [--quick]

Writes results/peers.json, results/peers.md (the table) and results/peers.png (bar chart).

Every (tool, workload) row runs in its own subprocess (clean peak memory): one warm-up call
(compile or set-up, reported separately), then `--repeats` timed calls (median, min, max). A
peer's time counts only when its dynamics match ours: the EEG-proxy standard deviation within
25 % and the spectral peak within 1 Hz (for MPR: the rate's mean and standard deviation within
25 %). neurolib has neither Jansen-Rit nor Montbrio-Pazo-Roxin, so it has no rows.

Workloads (noise everywhere, dt = 0.1 ms, float32 for JAX tools, float64 for TVB, which has
only that):
  W1  JR network, 76 regions (tvb-data connectivity), 10 s, no delays
  W2  the same with conduction delays at 5 m/s
  W3  a sweep of 1024 parameter sets (G, p) x 2 s of the W1 network (peers estimated from a
      subset of runs and scaled, as stated in the row)
  W4  gradient of a spectral loss through a 2 s W1 run (rosetta-jax only)
  W5  a single JR node and a single MPR node, 100 s each
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path


HERE = Path(__file__).parent
DT_MS = 0.1
G = 10.0
SIGMA = 2.0  # white noise in JR's input rate p [Hz]
MPR_SIGMA = 1.0  # white noise in MPR's membrane-potential equation
SPEED = 5.0  # m/s = mm/ms
A, a_s = 3.25, 100.0  # JR gain [mV] and excitatory rate [1/s]


# ----------------------------------------------------------------------------- shared inputs


def connectome():
    """tvb-data's 76-region connectivity, weights normalised by the largest eigenvalue (the
    rosetta-jax default), tract lengths floored at 1 mm."""
    import numpy as np
    from tvb.datatypes.connectivity import Connectivity

    conn = Connectivity.from_file()
    W = np.asarray(conn.weights, float)
    W = W / np.max(np.abs(np.linalg.eigvals(W)))
    L = np.maximum(np.asarray(conn.tract_lengths, float), 1.0)
    return W, L


def jr_initial():
    import numpy as np

    import rosetta_jax as rj

    y = np.asarray(rj.models.JansenRit().initial_state(), float)  # s units
    return y


def summary_jr(eeg, fs):
    """EEG-proxy std and the spectral peak of the node-mean spectrum (after 1 s)."""
    import numpy as np
    from scipy import signal

    x = np.asarray(eeg, float).reshape(len(eeg), -1)
    x = x[min(int(fs), len(x) // 2) :]
    f, P = signal.welch(x, fs, nperseg=min(len(x), int(2 * fs)), axis=0)
    P = P.mean(axis=1)
    band = (f >= 2) & (f <= 40)
    return {"std": float(x.std(axis=0).mean()), "peak_hz": float(f[band][np.argmax(P[band])])}


def summary_mpr(r):
    import numpy as np

    r = np.asarray(r, float).reshape(-1)[len(r) // 10 :]
    return {"mean": float(r.mean()), "std": float(r.std())}


# ----------------------------------------------------------------------------- rosetta-jax


def rj_jobs(workload):
    import jax
    import jax.numpy as jnp
    import jax.random as jr
    import numpy as np

    import rosetta_jax as rjx
    from rosetta_jax import models, noise

    W, L = connectome()
    key = jr.key(0)
    if workload in ("W1", "W2", "W4"):
        t1 = 2.0 if workload == "W4" else 10.0
        kw = dict(lengths=L.astype(np.float32), speed=SPEED) if workload == "W2" else {}
        net = rjx.Network(models.JansenRit(), W.astype(np.float32), G=G, normalize=None, **kw)

        def run(net, k):
            return rjx.simulate(
                net,
                t1=t1,
                dt=DT_MS * 1e-3,
                save_every=10,
                key=k,
                noise=noise.Additive(SIGMA),
                save_state=False,
            ).observed

        if workload != "W4":
            f = jax.jit(run)
            call = lambda: f(net, key)
            check = lambda out: summary_jr(np.asarray(out), 1000.0)
            return call, check, net.weights.shape[0] * int(round(t1 / (DT_MS * 1e-3)))
        from rosetta_jax.analysis import welch

        target = jnp.ones(81)

        def loss(net, k):
            x = run(net, k)[200:]
            f_, P = welch(x, 1000.0, nperseg=400)
            logp = jnp.log(P[4:85].mean(axis=1))
            return jnp.mean((logp - logp.mean() - target + target.mean()) ** 2)

        def of_params(g, p):  # the loss as a function of G and the 76 regional p
            return loss(
                rjx.Network(models.JansenRit(p=p), W.astype(np.float32), G=g, normalize=None), key
            )

        fwd = jax.jit(of_params)
        grad = jax.jit(jax.value_and_grad(of_params, argnums=(0, 1)))
        p0 = jnp.full(W.shape[0], 220.0, jnp.float32)
        g0 = jnp.asarray(G, jnp.float32)
        calls = {"forward": lambda: fwd(g0, p0), "value_and_grad": lambda: grad(g0, p0)}
        return calls, None, net.weights.shape[0] * 20000
    if workload == "W3":
        net = rjx.Network(models.JansenRit(), W.astype(np.float32), G=G, normalize=None)
        space = rjx.Space.random(1024, {"G": (5.0, 15.0), "node.p": (120.0, 320.0)}, seed=0)
        call = lambda: (
            rjx.sweep(
                net,
                space,
                features=["peak_frequency"],
                t1=2.0,
                dt=1e-4,
                save_every=10,
                noise=noise.Additive(SIGMA),
                key=key,
                chunk_size=256,
                progress=False,
            )["peak_frequency"].values
        )
        return call, lambda out: {"peak_hz_mean": float(np.nanmean(out))}, 1024 * 76 * 20000
    if workload == "W5_jr":
        m = models.JansenRit()
        f = jax.jit(
            lambda k: (
                rjx.simulate(
                    m,
                    t1=100.0,
                    dt=1e-4,
                    save_every=10,
                    key=k,
                    noise=noise.Additive(SIGMA),
                    save_state=False,
                ).observed
            )
        )
        return lambda: f(key), lambda out: summary_jr(np.asarray(out), 1000.0), 10**6
    if workload == "W5_mpr":
        m = models.MontbrioPazoRoxin(tau=1.0)
        f = jax.jit(
            lambda k: (
                rjx.simulate(
                    m,
                    t1=1e5,
                    dt=DT_MS,
                    save_every=10,
                    key=k,
                    noise=noise.Additive(MPR_SIGMA),
                    save_state=False,
                    y0=jnp.array([0.1, -2.0]),
                ).observed
            )
        )
        return lambda: f(key), lambda out: summary_mpr(out), 10**6
    raise KeyError(workload)


# ----------------------------------------------------------------------------- TVB


def tvb_sim(W, L, *, t1_ms, delays, model="jr", G_=G, p=220.0, n=None, monitor_period=1.0):
    import numpy as np
    from tvb.datatypes.connectivity import Connectivity
    from tvb.simulator import coupling, integrators, models, monitors, noise, simulator

    if n is not None:  # a single node
        W = np.zeros((1, 1))
        L = np.zeros((1, 1))
    conn = Connectivity(
        weights=W,
        tract_lengths=L,
        region_labels=np.array([f"r{i}" for i in range(W.shape[0])]),
        centres=np.zeros((W.shape[0], 3)),
        speed=np.array([SPEED if delays else 1e9]),
    )
    conn.configure()
    if model == "jr":
        m = models.JansenRit(v0=np.array([6.0]), mu=np.array([p / 1000.0]))
        m.variables_of_interest = ("y1", "y2")
        nsig = np.zeros(6)
        nsig[4] = (A * (a_s / 1000.0) * SIGMA / np.sqrt(1000.0)) ** 2 / 2
        cpl = coupling.SigmoidalJansenRit(a=np.array([G_]))
    else:
        m = models.MontbrioPazoRoxin(tau=np.array([1.0]))
        m.variables_of_interest = ("r",)
        nsig = np.array([0.0, MPR_SIGMA**2 / 2])
        cpl = coupling.Linear(a=np.array([0.0]))
    sim = simulator.Simulator(
        model=m,
        connectivity=conn,
        coupling=cpl,
        integrator=integrators.HeunStochastic(
            dt=DT_MS, noise=noise.Additive(nsig=nsig, noise_seed=42)
        ),
        monitors=(monitors.SubSample(period=monitor_period),),
        simulation_length=t1_ms,
    )
    sim.configure()
    # Start from rosetta-jax's initial state (derivatives in 1/ms).
    if model == "jr":
        y = jr_initial() * np.array([1, 1, 1, 1e-3, 1e-3, 1e-3])
    else:
        y = np.array([0.1, -2.0])
    ic = np.broadcast_to(
        y[None, :, None, None], (sim.connectivity.horizon, len(y), W.shape[0], 1)
    ).copy()
    sim.initial_conditions = ic
    sim.configure()
    return sim


def tvb_jobs(workload):
    import numpy as np

    W, L = connectome()
    if workload in ("W1", "W2"):

        def call():
            sim = tvb_sim(W, L, t1_ms=10000.0, delays=workload == "W2")
            ((t, x),) = sim.run()
            return x[:, 0, :, 0] - x[:, 1, :, 0]

        return call, lambda out: summary_jr(out, 1000.0), 76 * 100000
    if workload == "W3":
        rng = np.random.default_rng(0)
        n_runs = 2

        def call():
            out = []
            for _ in range(n_runs):
                g, p = rng.uniform(5, 15), rng.uniform(120, 320)
                sim = tvb_sim(W, L, t1_ms=2000.0, delays=False, G_=g, p=p)
                ((t, x),) = sim.run()
                out.append(float(np.std(x)))
            return out

        return call, None, n_runs * 76 * 20000, 1024 / n_runs
    if workload == "W5_jr":

        def call():
            ((t, x),) = tvb_sim(W, L, t1_ms=1e5, delays=False, n=1).run()
            return x[:, 0, 0, 0] - x[:, 1, 0, 0]

        return call, lambda out: summary_jr(out, 1000.0), 10**6
    if workload == "W5_mpr":

        def call():
            ((t, x),) = tvb_sim(W, L, t1_ms=1e5, delays=False, n=1, model="mpr").run()
            return x[:, 0, 0, 0]

        return call, summary_mpr, 10**6
    raise KeyError(workload)


# ----------------------------------------------------------------------------- vbjax


def vbjax_jobs(workload):
    import jax
    import jax.numpy as jnp
    import jax.random as jr
    import numpy as np
    import vbjax as vb

    W, L = connectome()
    Wj = jnp.asarray(W, jnp.float32)
    n = W.shape[0]
    theta = vb.jr_default_theta._replace(v0=6.0)
    sig4 = A * (a_s / 1000.0) * SIGMA / np.sqrt(1000.0)
    y0 = jnp.asarray(jr_initial() * np.array([1, 1, 1, 1e-3, 1e-3, 1e-3]), jnp.float32)

    def S(v, p):
        return 2.0 * p.nu_max / (1.0 + jnp.exp(p.r * (p.v0 - v)))

    gsig = jnp.zeros((6, 1), jnp.float32).at[4, 0].set(sig4)

    if workload in ("W1", "W3"):

        def dfun(x, p):
            th, g = p
            c = g * (Wj @ S(x[1] - x[2], th))
            return vb.jr_dfun(x, c, th)

        _, loop = vb.make_sde(DT_MS, dfun, gsig)
        n_steps = 100000 if workload == "W1" else 20000

        def run(key, th, g):
            zs = jr.normal(key, (n_steps, 6, n), jnp.float32)
            xs = loop(jnp.broadcast_to(y0[:, None], (6, n)), zs, (th, g))
            return xs[9::10, 1] - xs[9::10, 2]  # decimated to 1 kHz, as the others

        if workload == "W1":
            f = jax.jit(lambda k: run(k, theta, G))
            return (
                (lambda: f(jr.key(0))),
                (lambda out: summary_jr(np.asarray(out), 1000.0)),
                n * n_steps,
            )
        batch = 16  # the full trajectories of more runs do not fit in memory at once
        rng = np.random.default_rng(0)
        gs = jnp.asarray(rng.uniform(5, 15, batch), jnp.float32)
        ps = jnp.asarray(rng.uniform(120, 320, batch) / 1000.0, jnp.float32)
        f = jax.jit(jax.vmap(lambda k, g, p: run(k, theta._replace(mu=p), g).std()))
        keys = jr.split(jr.key(0), batch)
        return (lambda: f(keys, gs, ps)), None, batch * n * n_steps, 1024 / batch
    if workload == "W2":
        lags = np.floor(L / SPEED / DT_MS).astype(np.int32)
        nh = int(lags.max()) + 1
        lags_j = jnp.asarray(lags)
        ix = jnp.asarray(np.tile(np.arange(n), (n, 1)))
        # make_sdde keeps the whole run in its history buffer, which a 10 s run cannot afford
        # (10 % of the run took 19.5 s); vbjax's own remedy for long delayed runs is
        # make_continuation: chunks of `clen` steps, the buffer rolled between them. clen = 100
        # was the fastest of 100, 500, 1000 and 2000 steps here (4.9-5.7 s per simulated second).
        clen, n_steps = 100, 100000

        def dfun(buf, x, t, p):
            d = buf[t - lags_j, 1, ix] - buf[t - lags_j, 2, ix]  # delayed y1 - y2, (to, from)
            c = G * jnp.sum(Wj * S(d, p), axis=1)
            return vb.jr_dfun(x, c, p)

        _, loop = vb.make_sdde(DT_MS, nh, dfun, gsig)
        first = jax.jit(loop)
        cont = vb.make_continuation(loop, clen, nh, n, 6, stochastic=True)

        def run(key):
            keys = jr.split(key, n_steps // clen)
            buf = jnp.zeros((nh + 1 + clen, 6, n), jnp.float32).at[: nh + 1].set(y0[None, :, None])
            buf = buf.at[nh + 1 :].set(jr.normal(keys[0], (clen, 6, n), jnp.float32))
            buf, xs = first(buf, theta)
            out = [xs[9::10, 1] - xs[9::10, 2]]
            for k in keys[1:]:
                buf, xs = cont(buf, theta, k)
                out.append(xs[9::10, 1] - xs[9::10, 2])
            return jnp.concatenate(out)

        return (
            (lambda: run(jr.key(0))),
            (lambda out: summary_jr(np.asarray(out), 1000.0)),
            n * n_steps,
        )
    if workload == "W5_jr":
        _, loop = vb.make_sde(DT_MS, lambda x, p: vb.jr_dfun(x, 0.0, p), gsig[:, 0])
        f = jax.jit(
            lambda k: (lambda xs: xs[9::10, 1] - xs[9::10, 2])(
                loop(y0, jr.normal(k, (10**6, 6), jnp.float32), theta)
            )
        )
        return (lambda: f(jr.key(0))), (lambda out: summary_jr(np.asarray(out), 1000.0)), 10**6
    if workload == "W5_mpr":
        th = vb.mpr_default_theta
        _, loop = vb.make_sde(
            DT_MS,
            lambda x, p: vb.mpr_dfun(x, (0.0, 0.0), p),
            jnp.array([0.0, MPR_SIGMA], jnp.float32),
            adhoc=vb.mpr_r_positive,
        )
        f = jax.jit(
            lambda k: loop(
                jnp.array([0.1, -2.0], jnp.float32), jr.normal(k, (10**6, 2), jnp.float32), th
            )[9::10, 0]
        )
        return (lambda: f(jr.key(0))), summary_mpr, 10**6
    raise KeyError(workload)


# ----------------------------------------------------------------------------- worker


def _block(x):
    try:
        import jax

        return jax.block_until_ready(x)
    except Exception:
        return x


def worker(tool, workload, repeats):
    """Time one row; print one JSON line."""
    jobs = {"rosetta-jax": rj_jobs, "tvb": tvb_jobs, "vbjax": vbjax_jobs}[tool](workload)
    scale = 1.0
    if len(jobs) == 4:
        call, check, node_steps, scale = jobs
    else:
        call, check, node_steps = jobs
    row = {"tool": tool, "workload": workload}
    if isinstance(call, dict):  # W4: forward and gradient, timed in alternation (3x repeats:
        # each call is short, and alternating exposes both to the same machine noise)
        first, runs = {}, {name: [] for name in call}
        for name, c in call.items():
            t = time.perf_counter()
            _block(c())
            first[name] = time.perf_counter() - t
        for _ in range(3 * repeats):
            for name, c in call.items():
                t = time.perf_counter()
                _block(c())
                runs[name].append(time.perf_counter() - t)
        for name, r in runs.items():
            row[name] = {
                "first_call_s": first[name],
                "run_median_s": statistics.median(r),
                "run_min_s": min(r),
                "run_max_s": max(r),
                "repeats": len(r),
            }
            row[name]["compile_s"] = max(first[name] - row[name]["run_median_s"], 0.0)
        row["grad_forward_ratio"] = (
            row["value_and_grad"]["run_median_s"] / row["forward"]["run_median_s"]
        )
    else:
        t = time.perf_counter()
        out = _block(call())
        first = time.perf_counter() - t
        runs = []
        for _ in range(repeats):
            t = time.perf_counter()
            _block(call())
            runs.append(time.perf_counter() - t)
        med = statistics.median(runs)
        row.update(
            {
                "first_call_s": first,
                "compile_s": max(first - med, 0.0),
                "run_median_s": med * scale,
                "run_min_s": min(runs) * scale,
                "run_max_s": max(runs) * scale,
                "node_steps": node_steps * scale,
                "node_steps_per_s": node_steps / med,
                "estimated_from_fraction": (1.0 / scale) if scale != 1.0 else None,
                "dynamics": check(out) if check else None,
            }
        )
    row["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("ROW " + json.dumps(row), flush=True)


# ----------------------------------------------------------------------------- driver


def versions():
    import importlib.metadata as md

    out = {}
    for p in ["rosetta-jax", "jax", "tvb-library", "vbjax", "numpy", "numba"]:
        try:
            out[p] = md.version(p)
        except md.PackageNotFoundError:
            out[p] = None
    return out


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }


ROWS = [
    ("rosetta-jax", "W1"),
    ("tvb", "W1"),
    ("vbjax", "W1"),
    ("rosetta-jax", "W2"),
    ("tvb", "W2"),
    ("vbjax", "W2"),
    ("rosetta-jax", "W3"),
    ("tvb", "W3"),
    ("vbjax", "W3"),
    ("rosetta-jax", "W4"),
    ("rosetta-jax", "W5_jr"),
    ("tvb", "W5_jr"),
    ("vbjax", "W5_jr"),
    ("rosetta-jax", "W5_mpr"),
    ("tvb", "W5_mpr"),
    ("vbjax", "W5_mpr"),
]

CONFIG = {
    "W1": "JR network, 76 regions (tvb-data), 10 s, no delays",
    "W2": "JR network, 76 regions, 10 s, delays at 5 m/s",
    "W3": "sweep: 1024 x (G, p) x 2 s of the W1 network",
    "W4": "gradient of a log-PSD loss through a 2 s W1 run (w.r.t. G and 76 regional p)",
    "W5_jr": "one JR node, 100 s",
    "W5_mpr": "one MPR node, 100 s (1e5 ms)",
}
DTYPE = {"rosetta-jax": "float32", "vbjax": "float32", "tvb": "float64 (TVB has only that)"}


def compare(row, ref):
    d, r = row.get("dynamics"), (ref or {}).get("dynamics")
    if row["tool"] == "rosetta-jax" or not d or not r:
        return None
    if "peak_hz" in d:
        ok = abs(d["std"] / r["std"] - 1) <= 0.25 and abs(d["peak_hz"] - r["peak_hz"]) <= 1.0
    else:
        ok = abs(d["mean"] / r["mean"] - 1) <= 0.25 and abs(d["std"] / r["std"] - 1) <= 0.25
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--only", nargs="*", help="workloads to run (default all)")
    ap.add_argument("--worker", nargs=2, metavar=("TOOL", "WORKLOAD"))
    args = ap.parse_args()
    if args.worker:
        worker(*args.worker, args.repeats)
        return
    rows, ref = [], {}
    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    for tool, wl in ROWS:
        if args.only and wl not in args.only and wl.split("_")[0] not in args.only:
            continue
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--worker",
            tool,
            wl,
            "--repeats",
            str(args.repeats),
        ]
        print(f"{tool:12s} {wl:7s} ...", end=" ", flush=True)
        env = dict(os.environ, JAX_PLATFORMS=os.environ.get("JAX_PLATFORMS", ""))
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=3600)
        line = [l for l in r.stdout.splitlines() if l.startswith("ROW ")]
        if r.returncode != 0 or not line:
            row = {"tool": tool, "workload": wl, "error": (r.stderr or r.stdout)[-800:]}
            print("failed")
        else:
            row = json.loads(line[-1][4:])
            median = row.get("run_median_s", row.get("value_and_grad", {}).get("run_median_s"))
            print(f"{median:.3g} s")
        row["command"] = " ".join(
            [
                "python",
                "benchmarks/peers/run_peers.py",
                "--worker",
                tool,
                wl,
                "--repeats",
                str(args.repeats),
            ]
        )
        row["dtype"] = DTYPE[tool]
        if tool == "rosetta-jax":
            ref[wl] = row
        row["same_dynamics"] = compare(row, ref.get(wl))
        rows.append(row)
    for row in rows:
        base = ref.get(row["workload"], {}).get("run_median_s")
        if base and "run_median_s" in row:
            row["ratio_to_rosetta_jax"] = row["run_median_s"] / base
    result = {
        "machine": machine(),
        "versions": versions(),
        "repeats": args.repeats,
        "workloads": CONFIG,
        "rows": rows,
        "rules": "median of --repeats runs after one warm-up call; compile/set-up "
        "separately; one subprocess per row; same machine and session",
    }
    (out_dir / "peers.json").write_text(json.dumps(result, indent=2) + "\n")
    md = table(result)
    (out_dir / "peers.md").write_text(md)
    chart(rows, out_dir / "peers.png")
    print(md)


def table(result) -> str:
    v = result["versions"]
    ver = {
        "rosetta-jax": v.get("rosetta-jax"),
        "tvb": v.get("tvb-library"),
        "vbjax": v.get("vbjax"),
    }
    lines = [
        f"Machine: {result['machine']['cpu']}, {result['machine']['cpu_count']} cores, "
        f"{result['machine']['date']}; jax {v.get('jax')}; {result['repeats']} repeats.",
        "",
        "| workload | tool | version | dtype | compile/set-up s | run s (median, min-max) | "
        "node-steps/s | x rosetta-jax | peak MiB | same dynamics |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        wl, tool = r["workload"], r["tool"]
        if "error" in r:
            lines.append(
                f"| {wl} | {tool} | {ver[tool]} | {r['dtype']} | failed: "
                f"{r['error'].strip().splitlines()[-1][:80]} | | | | | |"
            )
            continue
        if wl == "W4":
            fw, gr = r["forward"], r["value_and_grad"]
            lines.append(
                f"| W4 | {tool} | {ver[tool]} | {r['dtype']} | {gr['compile_s']:.1f} | "
                f"grad {gr['run_median_s']:.3f} ({gr['run_min_s']:.3f}-"
                f"{gr['run_max_s']:.3f}), forward {fw['run_median_s']:.3f}; ratio "
                f"{r['grad_forward_ratio']:.2f} | | | {r['peak_rss_mib']:.0f} | |"
            )
            continue
        est = (
            f" (estimated from {r['estimated_from_fraction'] * 100:.2g} % of the runs)"
            if r.get("estimated_from_fraction")
            else ""
        )
        same = {
            None: "reference" if tool == "rosetta-jax" else "n/a",
            True: "yes",
            False: "NO (time not comparable)",
        }[r.get("same_dynamics")]
        d = r.get("dynamics") or {}
        dd = (
            f"; std {d['std']:.2f}, peak {d['peak_hz']:.1f} Hz"
            if "peak_hz" in d
            else f"; mean {d['mean']:.3f}, std {d['std']:.3f}"
            if "mean" in d
            else ""
        )
        lines.append(
            f"| {wl} | {tool} | {ver[tool]} | {r['dtype']} | {r['compile_s']:.1f} | "
            f"{r['run_median_s']:.3g} ({r['run_min_s']:.3g}-{r['run_max_s']:.3g}){est} | "
            f"{r['node_steps_per_s']:.3g} | {r.get('ratio_to_rosetta_jax', float('nan')):.2f} | "
            f"{r['peak_rss_mib']:.0f} | {same}{dd} |"
        )
    lines += [
        "",
        "Commands: `" + "`, `".join(sorted({r["command"] for r in result["rows"]})) + "`.",
        "",
    ]
    return "\n".join(lines)


def chart(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    wls = [w for w in CONFIG if w != "W4"]
    tools = ["rosetta-jax", "tvb", "vbjax"]
    fig, ax = plt.subplots(figsize=(9, 4))
    width = 0.27
    for i, tool in enumerate(tools):
        ys = []
        for w in wls:
            r = next(
                (
                    r
                    for r in rows
                    if r["tool"] == tool and r["workload"] == w and "run_median_s" in r
                ),
                None,
            )
            ys.append(r["run_median_s"] if r else float("nan"))
        ax.bar([k + (i - 1) * width for k in range(len(wls))], ys, width, label=tool)
    ax.set_yscale("log")
    ax.set_xticks(range(len(wls)), wls)
    ax.set_ylabel("run time [s] (median, log scale)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
