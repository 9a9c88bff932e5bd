"""The demo's scenes: every rung of the ladder in a regime that shows its signature behaviour,
with how long to run it and what to draw."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import jax.numpy as jnp
import numpy as np

from .. import forcing, models, noise


@dataclass
class Rung:
    """One demo scene: a model, how to run it and what to draw.

    Attributes:
        slug: file name of its figure (without .png); title: the figure's title.
        model: the model simulated.
        t1, dt: run length and step (model time units).
        save_every: steps between saved samples.
        pair: the two state variables of the phase plane (None: no phase plane).
        fmax: top of the spectrum drawn (cycles per model time unit, Hz for models in s).
        run: extra `simulate` arguments (forcing, noise).
    """

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
    return _oscillator_scenes() + _nmm1_scenes() + _nmm2_scenes()


def _oscillator_scenes() -> list[Rung]:
    """Rungs 0-3, in dimensionless time: the oscillators, Kuramoto phases and Wilson-Cowan."""
    return [
        Rung(
            "00_harmonic",
            "Rung 0: harmonic oscillator (neutral rotation), DC-shifted centre",
            models.HarmonicOscillator(omega=2 * np.pi),
            *(5.0, 1e-3, 5, ("x", "y"), 5.0),
            dict(forcing=forcing.Constant(2.0 + 1.0j)),
        ),
        Rung(
            "01_damped",
            "Rung 1: damped oscillator, a noise-sustained quasi-cycle",
            models.DampedOscillator(alpha=-0.5, omega=2 * np.pi),
            *(40.0, 1e-3, 10, ("x", "y"), 5.0),
            dict(noise=noise.Additive(0.5)),
        ),
        Rung(
            "02_stuart_landau",
            "Rung 2: Stuart-Landau limit cycle (alpha = 1, beta = 0.5)",
            models.StuartLandau(alpha=1.0, omega=2 * np.pi, beta=0.5),
            *(10.0, 1e-3, 5, ("x", "y"), 5.0),
        ),
        Rung(
            "02_kuramoto",
            "Rung 0/2: 20 Kuramoto phases synchronising (K = 1)",
            models.Kuramoto(omega=jnp.linspace(0.8, 1.2, 20) * 2 * np.pi / 5, K=1.0),
            *(100.0, 0.01, 10, None, 1.0),
        ),
        Rung(
            "03_wilson_cowan",
            "Rung 3: Wilson-Cowan E-I oscillation (P_x = 0, P_y = -5)",
            models.WilsonCowan(),
            *(100.0, 0.01, 5, ("x", "y"), 1.0),
        ),
    ]


def _nmm1_scenes() -> list[Rung]:
    """Rung 4, NMM1 (s, mV): the E-I motif, Jansen-Rit, Wendling and the laminar NMM."""
    return [
        Rung(
            "04_ei_motif",
            "Rung 4: NMM1 E-I push-pull motif, alpha-band cycle",
            models.EIMotif(),
            *(2.0, 1e-4, 10, ("x", "y"), 60.0),
        ),
        Rung(
            "04_jansen_rit",
            "Rung 4: Jansen-Rit alpha rhythm under noisy input (p = 220/s)",
            models.JansenRit(),
            *(5.0, 1e-4, 10, ("y0", "y1"), 60.0),
            dict(noise=noise.Additive(2.0)),
        ),
        Rung(
            "04_wendling",
            "Rung 4: Wendling model, noise-driven background (p = 90/s)",
            models.Wendling(),
            *(5.0, 1e-4, 10, ("y1", "y3"), 60.0),
            dict(noise=noise.Additive(2.0)),
        ),
        Rung(
            "04_lanmm",
            "Rung 4: laminar NMM, deep alpha gating superficial gamma",
            models.LaNMM(),
            *(3.0, 1e-4, 10, ("u1", "u6"), 80.0),
        ),
    ]


def _nmm2_scenes() -> list[Rung]:
    """Rung 5, NMM2 (ms): Montbrio-Pazo-Roxin, ING and PING."""
    return [
        Rung(
            "05_mpr",
            "Rung 5: Montbrio-Pazo-Roxin, bistable: +I pulse switches on, -I pulse off",
            models.MontbrioPazoRoxin(),
            *(400.0, 0.005, 20, ("r", "v"), 100.0),
            dict(
                forcing=forcing.Constant(3.0, t_on=100.0, t_off=160.0)
                + forcing.Constant(-3.0, t_on=250.0, t_off=310.0)
            ),
        ),
        Rung(
            "05_ing",
            "Rung 5: ING gamma rhythm (I = 10)",
            models.ING(),
            *(300.0, 0.005, 10, ("r", "v"), 300.0),
        ),
        Rung(
            "05_ping",
            "Rung 5: PING E-I populations (the paper's table values)",
            models.PING(),
            *(500.0, 0.01, 10, ("r_e", "r_i"), 300.0),
        ),
    ]
