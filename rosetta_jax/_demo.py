"""`rosetta-jax demo`: walk the ladder, one figure per rung, into an output folder."""

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
        Rung("00_harmonic", "Rung 0: harmonic oscillator (neutral rotation), DC-shifted centre",
             models.HarmonicOscillator(omega=2 * np.pi), 5.0, 1e-3, 5, ("x", "y"), 5.0,
             dict(forcing=forcing.Constant(2.0 + 1.0j))),
        Rung("01_damped", "Rung 1: damped oscillator, a noise-sustained quasi-cycle",
             models.DampedOscillator(alpha=-0.5, omega=2 * np.pi), 40.0, 1e-3, 10, ("x", "y"),
             5.0, dict(noise=noise.Additive(0.5))),
        Rung("02_stuart_landau", "Rung 2: Stuart-Landau limit cycle (alpha = 1, beta = 0.5)",
             models.StuartLandau(alpha=1.0, omega=2 * np.pi, beta=0.5), 10.0, 1e-3, 5,
             ("x", "y"), 5.0),
        Rung("02_kuramoto", "Rung 0/2: 20 Kuramoto phases synchronising (K = 1)",
             models.Kuramoto(omega=jnp.linspace(0.8, 1.2, 20) * 2 * np.pi / 5, K=1.0),
             100.0, 0.01, 10, None, 1.0),
        Rung("03_wilson_cowan", "Rung 3: Wilson-Cowan E-I oscillation (P_x = 0, P_y = -5)",
             models.WilsonCowan(), 100.0, 0.01, 5, ("x", "y"), 1.0),
        Rung("04_ei_motif", "Rung 4: NMM1 E-I push-pull motif, alpha-band cycle",
             models.EIMotif(), 2.0, 1e-4, 10, ("x", "y"), 60.0),
        Rung("04_jansen_rit", "Rung 4: Jansen-Rit alpha rhythm under noisy input (p = 220/s)",
             models.JansenRit(), 5.0, 1e-4, 10, ("y0", "y1"), 60.0,
             dict(noise=noise.Additive(2.0))),
        Rung("04_wendling", "Rung 4: Wendling model, noise-driven background (p = 90/s)",
             models.Wendling(), 5.0, 1e-4, 10, ("y1", "y3"), 60.0,
             dict(noise=noise.Additive(2.0))),
        Rung("04_lanmm", "Rung 4: laminar NMM, deep alpha gating superficial gamma",
             models.LaNMM(), 3.0, 1e-4, 10, ("u1", "u6"), 80.0),
        Rung("05_mpr", "Rung 5: Montbrio-Pazo-Roxin, bistable: +I pulse switches on, -I pulse off",
             models.MontbrioPazoRoxin(), 400.0, 0.005, 20, ("r", "v"), 0.1,
             dict(forcing=forcing.Constant(3.0, t_on=100.0, t_off=160.0)
                  + forcing.Constant(-3.0, t_on=250.0, t_off=310.0))),
        Rung("05_ing", "Rung 5: ING gamma rhythm (I = 10)", models.ING(), 300.0, 0.005, 10,
             ("r", "v"), 0.3),
        Rung("05_ping", "Rung 5: PING E-I populations (table values, see the spec's flag)",
             models.PING(), 500.0, 0.01, 10, ("r_e", "r_i"), 0.3),
    ]


def _dominant_frequency(sol) -> float:
    f, p = periodogram(np.asarray(sol.observed).reshape(len(sol.ts), -1).mean(axis=1),
                       sol.sampling_rate, discard=0.2)
    return float(f[1:][np.argmax(p[1:])])


def run_demo(out_dir: str | Path = "rosetta-out", seed: int = 0, quiet: bool = False) -> dict:
    """Simulate every rung of the ladder and write one figure per rung, an overview figure and a
    JSON summary into `out_dir`. Returns the summary."""
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
        late = obs[len(obs) // 5:]
        unit = sol.time_unit or "unit time"
        summary["rungs"][scene.slug] = {
            "model": type(scene.model).__name__,
            "title": scene.title,
            "time_unit": sol.time_unit,
            "t1": scene.t1,
            "dt": scene.dt,
            "dominant_frequency": _dominant_frequency(sol),
            "frequency_unit": {"s": "Hz", "ms": "kHz"}.get(sol.time_unit, "1/unit time"),
            "observable_range": [float(late.min()), float(late.max())],
            "figure": path.name,
        }
        ts = np.asarray(sol.ts)
        axes[i].plot(ts, obs.reshape(len(ts), -1)[:, :5], lw=0.7)
        axes[i].set_title(scene.title, fontsize=8, loc="left")
        axes[i].tick_params(labelsize=7)
        axes[i].set_xlabel(f"time [{unit}]", fontsize=7)
        say(f"  [{i + 1:2d}/{len(scenes)}] {type(scene.model).__name__:<20} "
            f"{time.perf_counter() - t:5.1f} s  -> {path.name}")
    overview.tight_layout()
    overview.savefig(out / "ladder.png", dpi=100)
    plt.close(overview)
    summary["elapsed_s"] = time.perf_counter() - start
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    say(f"done in {summary['elapsed_s']:.1f} s: {out / 'ladder.png'}, {out / 'summary.json'}")
    return summary
