"""Heterogeneous FC fits (`fit.fit_fc`) validated on held-out subjects, and their speed.

Workloads (issue 16, item 5):
  loso      leave one subject out over the 7 HCP subjects of `data.load_aal80()` (80 regions,
            band-passed resting FC): fit the Fisher-z mean FC of 6 subjects, score on the 7th.
            Per fold: train r (model FC vs the training mean), test r (model FC vs the held-out
            FC), the noise ceiling (held-out FC vs the training mean), the homogeneous (G, alpha)
            fit's test r, the structural baseline corr(log1p(W), FC), and test r / ceiling.
            The heterogeneous model (regional alpha + a gain per edge) has one setting chosen
            per fold from the training subjects only: the gain penalty weight, by an inner
            leave-one-out over the 6 training subjects (fit the mean of 5, score on the 6th).
            The held-out subject is never seen before its score. Targets: mean test r >= 0.6
            and >= 80 % of the noise ceiling.
  speed     wall time of one heterogeneous fit (regional alpha + edge gains, default settings,
            compilation included) on a random 100-region connectome against a synthetic FC.

Usage: python benchmarks/bench_fc_heterogeneous.py [--only loso,speed] [--grid 0.001,0.01,0.1]
       [--no-tune] [--figure]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import jax


jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402
from _common import emit, machine  # noqa: E402

from rosetta_jax import data, fit  # noqa: E402


RESULTS = Path(__file__).parent / "results"
IU = None  # upper-triangle indices, set from the data


def _r(a, b):
    return float(np.corrcoef(a[IU], b[IU])[0, 1])


def _fisher_mean(fcs):
    z = np.arctanh(np.clip(np.asarray(fcs), -0.999999, 0.999999))
    m = np.tanh(z.mean(0))
    np.fill_diagonal(m, 1.0)
    return (m + m.T) / 2


def _hetero(fc, W, gain_weight, steps):
    return fit.fit_fc(fc, W, gain_weight=gain_weight, steps=steps, progress=False)


def _homogeneous(fc, W, steps):
    """G and one shared alpha (the FC depends on their ratio only; both fitted)."""
    return fit.fit_fc(
        fc, W, heterogeneity=(), edge_gains=False, fit_G=True, steps=steps, progress=False
    )


def _choose_gain_weight(subjects, W, grid, steps):
    """The gain weight of the grid with the best mean r over an inner leave-one-out of the
    training `subjects` (fit the Fisher mean of the others, score on the one left out)."""
    scores = {}
    for lam in grid:
        rs = []
        for j in range(len(subjects)):
            rest = [s for i, s in enumerate(subjects) if i != j]
            res = _hetero(_fisher_mean(rest), W, lam, steps)
            rs.append(_r(res.goodness["model_fc"], subjects[j]))
        scores[lam] = float(np.mean(rs))
    return max(scores, key=scores.get), scores


def bench_loso(grid, tune=True, steps=300):
    global IU
    aal = data.load_aal80()
    W, subjects = np.asarray(aal.weights), np.asarray(aal.fc_subjects)
    IU = np.triu_indices(W.shape[0], 1)
    folds = []
    for k in range(len(subjects)):
        t0 = time.perf_counter()
        train = [s for i, s in enumerate(subjects) if i != k]
        mean, test = _fisher_mean(train), subjects[k]
        lam, inner = _choose_gain_weight(train, W, grid, steps) if tune else (grid[0], {})
        het = _hetero(mean, W, lam, steps)
        hom = _homogeneous(mean, W, steps)
        row = {
            "held_out": k,
            "gain_weight": lam,
            "inner_cv_r": inner,
            "train_r": het.goodness["fc_correlation"],
            "test_r": _r(het.goodness["model_fc"], test),
            "noise_ceiling": _r(mean, test),
            "homogeneous_train_r": hom.goodness["fc_correlation"],
            "homogeneous_test_r": _r(hom.goodness["model_fc"], test),
            "structural_r": _r(np.log1p(W), test),
            "steps_run": int(het.loss_history.shape[0]),
            "log_gain_rms": het.goodness.get("log_gain_rms"),
            "fold_seconds": time.perf_counter() - t0,
        }
        row["test_over_ceiling"] = row["test_r"] / row["noise_ceiling"]
        print(f"fold {k}: " + ", ".join(f"{a}={row[a]:.3f}" for a in _KEYS), flush=True)
        folds.append(row)
    mean_of = {a: float(np.mean([f[a] for f in folds])) for a in _KEYS}
    mean_of["mean_test_over_mean_ceiling"] = mean_of["test_r"] / mean_of["noise_ceiling"]
    return {
        "folds": folds,
        "mean": mean_of,
        "targets": {
            "mean_test_r_ge_0.6": mean_of["test_r"] >= 0.6,
            "test_ge_80pct_ceiling": mean_of["mean_test_over_mean_ceiling"] >= 0.8,
        },
        "settings": {"grid": list(grid), "tuned_by_inner_loso": tune, "steps": steps},
    }


_KEYS = (
    "train_r",
    "test_r",
    "noise_ceiling",
    "test_over_ceiling",
    "homogeneous_test_r",
    "structural_r",
)


def _synthetic_100(n=100, seed=0):
    """A random symmetric connectome of n regions (distance-dependent density, log-normal
    weights) and the FC of the linearised Hopf network with known regional alpha and gains."""
    rng = np.random.default_rng(seed)
    pos = rng.uniform(0, 100, (n, 3))
    d = np.linalg.norm(pos[:, None] - pos[None], axis=-1)
    A = np.triu(rng.uniform(size=(n, n)) < np.exp(-d / 40), 1)
    W = np.where(A, rng.lognormal(0.0, 1.0, (n, n)), 0.0)
    W = W + W.T
    log_g = np.triu(np.where(W > 0, rng.normal(0, 0.3, (n, n)), 0.0), 1)
    C = W / np.max(np.abs(np.linalg.eigvalsh(W))) * np.exp(log_g + log_g.T)
    alpha = rng.uniform(-0.3, -0.02, n)
    S = np.diag(alpha) - 0.5 * (np.diag(C.sum(1)) - C)
    cov = -np.linalg.inv(S)
    sd = np.sqrt(np.diag(cov))
    return W, cov / np.outer(sd, sd)


def bench_speed():
    W, fc = _synthetic_100()
    t = time.perf_counter()
    res = fit.fit_fc(fc, W, progress=False)
    wall = time.perf_counter() - t
    sec = np.asarray(res.meta["step_seconds"])
    return {
        "n_regions": int(W.shape[0]),
        "n_edges_undirected": int(np.sum(W > 0) // 2),
        "fitted": "regional alpha (100) + one gain per undirected edge; G fixed",
        "wall_s": wall,
        "first_step_s": float(sec[0]),
        "median_step_s": float(np.median(sec[1:])),
        "steps_run": int(res.loss_history.shape[0]),
        "max_steps": 300,
        "train_r": res.goodness["fc_correlation"],
        "target_lt_60s": wall < 60.0,
    }


def _figure(loso, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folds = loso["folds"]
    x = np.arange(len(folds))
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for i, (key, label) in enumerate(
        [
            ("structural_r", "structure log1p(W)"),
            ("homogeneous_test_r", "homogeneous (G, alpha)"),
            ("test_r", "heterogeneous (test)"),
            ("noise_ceiling", "noise ceiling"),
        ]
    ):
        ax.bar(x + (i - 1.5) * 0.2, [f[key] for f in folds], 0.2, label=label)
    ax.set_xlabel("held-out subject")
    ax.set_ylabel("r with held-out FC")
    ax.set_xticks(x)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="loso,speed")
    ap.add_argument("--grid", default="0.001,0.01,0.1")
    ap.add_argument("--no-tune", action="store_true", help="first grid value, no inner CV")
    ap.add_argument("--figure", action="store_true")
    args = ap.parse_args()
    parts = args.only.split(",")
    result = {"benchmark": "fc_heterogeneous", "machine": machine()}
    if "speed" in parts:
        result["fit_100_regions"] = bench_speed()
    if "loso" in parts:
        grid = [float(g) for g in args.grid.split(",")]
        result["leave_one_subject_out"] = bench_loso(grid, tune=not args.no_tune)
        if args.figure:
            _figure(result["leave_one_subject_out"], RESULTS / "bench_fc_heterogeneous.png")
    # A partial run (--only) keeps the other sections of the last results file of this platform.
    previous = RESULTS / f"bench_fc_heterogeneous-{result['machine']['platform']}.json"
    if previous.exists() and set(parts) != {"loso", "speed"}:
        for k, v in json.loads(previous.read_text()).items():
            result.setdefault(k, v)
    emit("bench_fc_heterogeneous", result)


if __name__ == "__main__":
    main()
