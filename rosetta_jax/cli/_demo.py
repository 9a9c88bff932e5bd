"""`rosetta-jax demo`: walk the ladder (one figure per rung), fit the bundled MEG spectra and HCP
FC, and write an HTML report into an output folder."""

from __future__ import annotations

import functools
import json
import time
from pathlib import Path
from typing import Any

import jax.random as jr
import numpy as np

from .._version import __version__
from ..engine import simulate
from ..plotting import periodogram, plot_solution
from ..units import TimeUnit
from ._scenes import Rung, ladder_scenes


def _dominant_frequency(sol) -> float:
    f, p = periodogram(
        np.asarray(sol.observed).reshape(len(sol.ts), -1).mean(axis=1),
        sol.sampling_rate,
        discard=0.2,
    )
    return float(f[1:][np.argmax(p[1:])])


def run_demo(
    out_dir: str | Path = "rosetta-out",
    seed: int = 0,
    quiet: bool = False,
    quick: bool = False,
    fits: bool = True,
) -> dict:
    """Simulate every rung of the ladder (one figure per rung and an overview), fit Jansen-Rit
    nodes to the bundled MEG spectra and a Hopf network to the bundled HCP FC, and write
    `summary.json` and `report.html` into `out_dir`. Returns the summary.

    Args:
        quick: a few fitting steps only (for checks). fits: run the two fits."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {"rosetta_jax": __version__, "seed": seed, "rungs": {}}
    start = time.perf_counter()
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, flush=True))
    summary["rungs"] = _walk_ladder(out, jr.key(seed), say, plt)
    if fits:
        summary["fits"] = _demo_fits(out, quick, quiet, say, plt)
    summary["elapsed_s"] = time.perf_counter() - start
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    _report(out, summary)
    say(f"done in {summary['elapsed_s']:.1f} s: {out / 'report.html'}, {out / 'summary.json'}")
    return summary


def _walk_ladder(out: Path, key, say, plt) -> dict:
    """Simulate every scene: a figure per rung and the overview `ladder.png` (the first saved
    traces of every rung, stacked); each rung's summary, by slug."""
    scenes = ladder_scenes()
    say(f"rosetta-jax {__version__}: walking the ladder ({len(scenes)} models) -> {out}/")
    overview, axes = plt.subplots(len(scenes), 1, figsize=(9, 1.4 * len(scenes)))
    rungs = {}
    for i, scene in enumerate(scenes):
        t = time.perf_counter()
        extra = dict(scene.run)
        if "noise" in extra:
            extra["key"] = jr.fold_in(key, i)
        sol = simulate(scene.model, t1=scene.t1, dt=scene.dt, save_every=scene.save_every, **extra)
        rungs[scene.slug] = _draw_rung(out, scene, sol, axes[i], plt)
        say(
            f"  [{i + 1:2d}/{len(scenes)}] {type(scene.model).__name__:<20} "
            f"{time.perf_counter() - t:5.1f} s  -> {rungs[scene.slug]['figure']}"
        )
    overview.tight_layout()
    overview.savefig(out / "ladder.png", dpi=100)
    plt.close(overview)
    return rungs


def _draw_rung(out: Path, scene: Rung, sol, ax, plt) -> dict:
    """The rung's own figure, its panel `ax` in the overview, and its summary."""
    fig = plot_solution(sol, pair=scene.pair, title=scene.title, fmax=scene.fmax)
    path = out / f"{scene.slug}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    obs = np.asarray(sol.observed)
    late = obs[len(obs) // 5 :]
    unit = sol.time_unit or "unit time"
    ts = np.asarray(sol.ts)
    ax.plot(ts, obs.reshape(len(ts), -1)[:, :5], lw=0.7)
    ax.set_title(scene.title, fontsize=8, loc="left")
    ax.tick_params(labelsize=7)
    ax.set_xlabel(f"time [{unit}]", fontsize=7)
    return {
        "model": type(scene.model).__name__,
        "title": scene.title,
        "time_unit": sol.time_unit,
        "t1": scene.t1,
        "dt": scene.dt,
        "dominant_frequency": _dominant_frequency(sol),
        "frequency_unit": TimeUnit.of(sol).frequency_unit,
        "observable_range": [float(late.min()), float(late.max())],
        "figure": path.name,
    }


def _demo_fits(out: Path, quick: bool, quiet: bool, say, plt) -> dict:
    """The two one-call fits of the bundled real data, with their figures (in float64, scoped
    to the fits: analytic spectra need it near a bifurcation)."""
    import jax

    from .. import fit

    run = functools.partial(_demo_fit, out=out, plt=plt, progress=not quiet)
    with jax.enable_x64(True):
        say(
            "fitting a Jansen-Rit node per region to the group-mean MEG spectra (68 DK regions) ..."
        )
        regional = functools.partial(fit.fit_regional_spectra, laplace=not quick)
        meg = run(regional, 10 if quick else None, "fit_meg_spectra.png", _meg)
        say(
            f"  R^2 of log-PSD median {meg['r2_log_psd_median']:.3f}, alpha peak error median "
            f"{meg['alpha_peak_error_hz_median']:.2f} Hz ({meg['seconds']:.0f} s)"
        )
        say("fitting a Hopf network on the 80-region HCP connectome to its BOLD FC ...")
        fc = run(fit.fit_connectome_fc, 5 if quick else 100, "fit_fc.png", _hcp_fc)
        say(
            f"  FC correlation {fc['fc_correlation']:.3f} at G = {fc['G']:.3f} "
            f"({fc['seconds']:.0f} s)"
        )
    return {"meg_spectra": meg, "hcp_fc": fc}


def _demo_fit(
    fit_fn, steps: int | None, figure: str, describe, out: Path, plt, progress: bool
) -> dict:
    """Run `fit_fn` for `steps` and save its figure; its summary: the model and measures that
    `describe(result)` gives, the steps run, the seconds both took and the figure's name."""
    t = time.perf_counter()
    res = fit_fn(steps=steps, progress=progress)
    fig = res.plot()
    fig.savefig(out / figure, dpi=100)
    plt.close("all")
    model, measures = describe(res)
    return {
        "model": model,
        "steps": int(res.meta.get("stopped_at", res.loss_history.shape[0])),
        **measures,
        "seconds": time.perf_counter() - t,
        "figure": figure,
    }


def _meg(res) -> tuple[str, dict]:
    """The MEG fit's model, and the R^2 of its log-PSD over the regions (median, min) and its
    median alpha-peak error [Hz]."""
    g = res.goodness
    r2 = g["r2_log_psd"]
    measures = {
        "r2_log_psd_median": float(np.median(r2)),
        "r2_log_psd_min": float(np.min(r2)),
        "alpha_peak_error_hz_median": float(np.median(g["peak_error_hz"])),
    }
    if res.laplace is not None:  # error bars: the median relative standard error per parameter
        rel = res.laplace.se / np.maximum(np.abs(res.laplace.mode), 1e-12)
        measures["laplace_log_evidence"] = res.laplace.total_log_evidence
        measures["laplace_median_relative_se"] = dict(
            zip(res.laplace.coords, np.median(rel, axis=0).round(3).tolist(), strict=True)
        )
    return (
        "JansenRit per region (A, B, C, a, b, p), analytic spectrum seen through an aperiodic "
        "background",
        measures,
    )


def _hcp_fc(res) -> tuple[str, dict]:
    """The FC fit's model, the correlation of its FC with the empirical one, G and alpha."""
    return "Stuart-Landau network below its Hopf point (G, alpha), analytic FC", {
        "fc_correlation": float(res.goodness["fc_correlation"]),
        "G": float(res.params["G"]),
        "alpha": float(res.params["alpha"]),
    }


def _report(out: Path, summary: dict) -> None:
    """A self-contained HTML page (figures referenced next to it)."""
    import html

    rows = "".join(
        f"<tr><td>{html.escape(r['model'])}</td><td>{html.escape(r['title'])}</td>"
        f"<td>{r['dominant_frequency']:.3g} {r['frequency_unit']}</td>"
        f"<td><a href='{r['figure']}'>{r['figure']}</a></td></tr>"
        for r in summary["rungs"].values()
    )
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>rosetta-jax demo</title>",
        "<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto;}"
        "td,th{padding:2px 8px;border-bottom:1px solid #ddd;}img{max-width:100%;}</style>",
        "</head><body><h1>rosetta-jax demo</h1>",
        f"<p>rosetta-jax {summary['rosetta_jax']}, seed {summary['seed']}, "
        f"{summary.get('elapsed_s', 0):.0f} s.</p>",
        "<h2>The ladder</h2><img src='ladder.png'>",
        "<table><tr><th>model</th><th>scene</th><th>dominant frequency</th><th>figure</th></tr>",
        rows,
        "</table>",
    ]
    fits = summary.get("fits", {})
    if "meg_spectra" in fits:
        m = fits["meg_spectra"]
        parts += [
            "<h2>MEG spectra of 68 regions</h2>",
            f"<p>{html.escape(m['model'])}, {m['steps']} steps: R<sup>2</sup> of the "
            f"log-PSD median {m['r2_log_psd_median']:.3f} (min {m['r2_log_psd_min']:.3f}), "
            f"alpha-peak error median {m['alpha_peak_error_hz_median']:.2f} Hz.</p>",
            f"<img src='{m['figure']}'>",
        ]
    if "hcp_fc" in fits:
        f = fits["hcp_fc"]
        parts += [
            "<h2>HCP functional connectivity, 80 regions</h2>",
            f"<p>{html.escape(f['model'])}, {f['steps']} steps: correlation with the "
            f"empirical FC {f['fc_correlation']:.3f} at G = {f['G']:.3f}, "
            f"alpha = {f['alpha']:.4f}.</p>",
            f"<img src='{f['figure']}'>",
        ]
    parts += [
        "<p>Data: rosetta_jax/data/NOTICE.md. Paper: Castaldo et al., Physics Reports "
        "2026, arXiv:2512.10982.</p></body></html>"
    ]
    (out / "report.html").write_text("\n".join(parts))
