"""`rosetta-jax demo`: walk the ladder (one figure per rung), fit the bundled MEG spectra and HCP
FC, and write an HTML report into an output folder."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jax.numpy as jnp
import jax.random as jr
import numpy as np

from . import forcing, models, noise
from ._simulate import simulate
from ._version import __version__
from .plotting import periodogram, plot_solution
from .units import TimeUnit


@dataclass
class Rung:
    """One demo scene: a model, how to run it and what to draw."""

    slug: str
    title: str
    model: Any
    t1: float
    dt: float
    save_every: int
    pair: tuple[str, str] | None
    fmax: float | None = None
    run: dict = field(default_factory=dict)


def ladder_scenes() -> list[Rung]:
    """The demo's rungs, bottom to top, each in a regime that shows its signature behaviour."""
    return [
        Rung(
            "00_harmonic",
            "Rung 0: harmonic oscillator (neutral rotation), DC-shifted centre",
            models.HarmonicOscillator(omega=2 * np.pi),
            5.0,
            1e-3,
            5,
            ("x", "y"),
            5.0,
            dict(forcing=forcing.Constant(2.0 + 1.0j)),
        ),
        Rung(
            "01_damped",
            "Rung 1: damped oscillator, a noise-sustained quasi-cycle",
            models.DampedOscillator(alpha=-0.5, omega=2 * np.pi),
            40.0,
            1e-3,
            10,
            ("x", "y"),
            5.0,
            dict(noise=noise.Additive(0.5)),
        ),
        Rung(
            "02_stuart_landau",
            "Rung 2: Stuart-Landau limit cycle (alpha = 1, beta = 0.5)",
            models.StuartLandau(alpha=1.0, omega=2 * np.pi, beta=0.5),
            10.0,
            1e-3,
            5,
            ("x", "y"),
            5.0,
        ),
        Rung(
            "02_kuramoto",
            "Rung 0/2: 20 Kuramoto phases synchronising (K = 1)",
            models.Kuramoto(omega=jnp.linspace(0.8, 1.2, 20) * 2 * np.pi / 5, K=1.0),
            100.0,
            0.01,
            10,
            None,
            1.0,
        ),
        Rung(
            "03_wilson_cowan",
            "Rung 3: Wilson-Cowan E-I oscillation (P_x = 0, P_y = -5)",
            models.WilsonCowan(),
            100.0,
            0.01,
            5,
            ("x", "y"),
            1.0,
        ),
        Rung(
            "04_ei_motif",
            "Rung 4: NMM1 E-I push-pull motif, alpha-band cycle",
            models.EIMotif(),
            2.0,
            1e-4,
            10,
            ("x", "y"),
            60.0,
        ),
        Rung(
            "04_jansen_rit",
            "Rung 4: Jansen-Rit alpha rhythm under noisy input (p = 220/s)",
            models.JansenRit(),
            5.0,
            1e-4,
            10,
            ("y0", "y1"),
            60.0,
            dict(noise=noise.Additive(2.0)),
        ),
        Rung(
            "04_wendling",
            "Rung 4: Wendling model, noise-driven background (p = 90/s)",
            models.Wendling(),
            5.0,
            1e-4,
            10,
            ("y1", "y3"),
            60.0,
            dict(noise=noise.Additive(2.0)),
        ),
        Rung(
            "04_lanmm",
            "Rung 4: laminar NMM, deep alpha gating superficial gamma",
            models.LaNMM(),
            3.0,
            1e-4,
            10,
            ("u1", "u6"),
            80.0,
        ),
        Rung(
            "05_mpr",
            "Rung 5: Montbrio-Pazo-Roxin, bistable: +I pulse switches on, -I pulse off",
            models.MontbrioPazoRoxin(),
            400.0,
            0.005,
            20,
            ("r", "v"),
            100.0,
            dict(
                forcing=forcing.Constant(3.0, t_on=100.0, t_off=160.0)
                + forcing.Constant(-3.0, t_on=250.0, t_off=310.0)
            ),
        ),
        Rung(
            "05_ing",
            "Rung 5: ING gamma rhythm (I = 10)",
            models.ING(),
            300.0,
            0.005,
            10,
            ("r", "v"),
            300.0,
        ),
        Rung(
            "05_ping",
            "Rung 5: PING E-I populations (the paper's table values)",
            models.PING(),
            500.0,
            0.01,
            10,
            ("r_e", "r_i"),
            300.0,
        ),
    ]


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
    key = jr.key(seed)
    scenes = ladder_scenes()
    summary: dict[str, Any] = {"rosetta_jax": __version__, "seed": seed, "rungs": {}}
    start = time.perf_counter()
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, flush=True))
    say(f"rosetta-jax {__version__}: walking the ladder ({len(scenes)} models) -> {out}/")
    overview, axes = plt.subplots(len(scenes), 1, figsize=(9, 1.4 * len(scenes)))
    for i, scene in enumerate(scenes):
        t = time.perf_counter()
        extra = dict(scene.run)
        if "noise" in extra:
            extra["key"] = jr.fold_in(key, i)
        sol = simulate(scene.model, t1=scene.t1, dt=scene.dt, save_every=scene.save_every, **extra)
        fig = plot_solution(sol, pair=scene.pair, title=scene.title, fmax=scene.fmax)
        path = out / f"{scene.slug}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        obs = np.asarray(sol.observed)
        late = obs[len(obs) // 5 :]
        unit = sol.time_unit or "unit time"
        summary["rungs"][scene.slug] = {
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
        ts = np.asarray(sol.ts)
        axes[i].plot(ts, obs.reshape(len(ts), -1)[:, :5], lw=0.7)
        axes[i].set_title(scene.title, fontsize=8, loc="left")
        axes[i].tick_params(labelsize=7)
        axes[i].set_xlabel(f"time [{unit}]", fontsize=7)
        say(
            f"  [{i + 1:2d}/{len(scenes)}] {type(scene.model).__name__:<20} "
            f"{time.perf_counter() - t:5.1f} s  -> {path.name}"
        )
    overview.tight_layout()
    overview.savefig(out / "ladder.png", dpi=100)
    plt.close(overview)
    if fits:
        summary["fits"] = _demo_fits(out, quick, quiet, say, plt)
    summary["elapsed_s"] = time.perf_counter() - start
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    _report(out, summary)
    say(f"done in {summary['elapsed_s']:.1f} s: {out / 'report.html'}, {out / 'summary.json'}")
    return summary


def _demo_fits(out: Path, quick: bool, quiet: bool, say, plt) -> dict:
    """The two one-call fits of the bundled real data, with their figures (in float64, scoped
    to the fits: analytic spectra need it near a bifurcation)."""
    import jax

    with jax.enable_x64(True):
        return _run_demo_fits(out, quick, quiet, say, plt)


def _run_demo_fits(out: Path, quick: bool, quiet: bool, say, plt) -> dict:
    from . import fit

    fits = {}
    t = time.perf_counter()
    say("fitting a Jansen-Rit node per region to the group-mean MEG spectra (68 DK regions) ...")
    res = fit.fit_regional_spectra(steps=10 if quick else 150, progress=not quiet)
    g = res.goodness
    fig = res.plot()
    fig.savefig(out / "fit_meg_spectra.png", dpi=100)
    plt.close("all")
    fits["meg_spectra"] = {
        "model": "JansenRit per region (a, b, p), analytic spectrum",
        "steps": int(res.loss_history.shape[0]),
        "r2_log_psd_median": float(np.median(g["r2_log_psd"])),
        "r2_log_psd_min": float(np.min(g["r2_log_psd"])),
        "alpha_peak_error_hz_median": float(np.median(g["peak_error_hz"])),
        "seconds": time.perf_counter() - t,
        "figure": "fit_meg_spectra.png",
    }
    say(
        f"  R^2 of log-PSD median {fits['meg_spectra']['r2_log_psd_median']:.3f}, alpha peak "
        f"error median {fits['meg_spectra']['alpha_peak_error_hz_median']:.2f} Hz "
        f"({fits['meg_spectra']['seconds']:.0f} s)"
    )
    t = time.perf_counter()
    say("fitting a Hopf network on the 80-region HCP connectome to its BOLD FC ...")
    res = fit.fit_connectome_fc(steps=5 if quick else 100, progress=not quiet)
    fig = res.plot()
    fig.savefig(out / "fit_fc.png", dpi=100)
    plt.close("all")
    fits["hcp_fc"] = {
        "model": "Stuart-Landau network below its Hopf point (G, alpha), analytic FC",
        "steps": int(res.loss_history.shape[0]),
        "fc_correlation": float(res.goodness["fc_correlation"]),
        "G": float(res.params["G"]),
        "alpha": float(res.params["alpha"]),
        "seconds": time.perf_counter() - t,
        "figure": "fit_fc.png",
    }
    say(
        f"  FC correlation {fits['hcp_fc']['fc_correlation']:.3f} at G = "
        f"{fits['hcp_fc']['G']:.3f} ({fits['hcp_fc']['seconds']:.0f} s)"
    )
    return fits


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
