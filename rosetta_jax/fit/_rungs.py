"""Which parameters of each rung a spectral fit adjusts by default, and within which range.

The ranges keep a fit inside each model's physiological regime; stability (a stable focus,
where the linearised spectrum holds) is kept by the linear method's damping penalty.
Sources: Jansen & Rit (1995, Biol. Cybern. 73:357) and David & Friston (2003, NeuroImage
20:1743) for the Jansen-Rit gains, rate constants and connectivity; Wendling et al. (2002,
Eur. J. Neurosci. 15:1499) for the fast inhibitory loop; Sanchez-Todo et al. (2023, PLoS
Comput. Biol.) for the laminar LaNMM; Castaldo et al. (2026, arXiv:2512.10982) section 2.2 for
the damped oscillator, the linearisation of any rung at a focus.
"""

from __future__ import annotations

import math

from .. import models
from ._transforms import AbstractTransform, Bounded


_TWO_PI = 2.0 * math.pi

# name -> (lower, upper) of each default fitted parameter, in the model's own units.
_RANGES: dict[type, dict[str, tuple[float, float]]] = {
    models.JansenRit: {
        "A": (2.0, 8.0),  # excitatory PSP amplitude [mV]
        "B": (10.0, 50.0),  # inhibitory PSP amplitude [mV]
        "C": (65.0, 270.0),  # connectivity constant
        "a": (50.0, 200.0),  # excitatory rate constant [1/s]
        "b": (20.0, 100.0),  # inhibitory rate constant [1/s]
        "p": (-20.0, 110.0),  # input [1/s], below the Hopf of the alpha focus
    },
    models.Wendling: {
        "A": (2.0, 8.0),
        "B": (10.0, 50.0),
        "G": (5.0, 40.0),  # fast inhibitory PSP amplitude [mV]
        "a": (50.0, 200.0),
        "b": (20.0, 100.0),
        "g": (250.0, 1000.0),  # fast inhibitory rate constant [1/s]
        "p": (-20.0, 200.0),
    },
    models.LaNMM: {
        "A_AMPA": (2.0, 8.0),
        "a_AMPA": (50.0, 200.0),
        "A_GABA_slow": (-50.0, -10.0),
        "a_GABA_slow": (20.0, 100.0),
        "A_GABA_fast": (-60.0, -15.0),
        "a_GABA_fast": (110.0, 440.0),
        "e1": (0.0, 400.0),
        "e2": (0.0, 200.0),
    },
}


def rung_parameters(model) -> dict[str, AbstractTransform]:
    """The parameters a spectral fit of `model` adjusts by default, each with its bounded
    transform (a dict name -> `Bounded(lo, hi)`).

    Jansen-Rit: the gains A, B, connectivity C, rate constants a, b and input p; Wendling: the
    same with the fast loop's G, g; LaNMM: the three synaptic gains and rates and the two
    inputs (alpha from the slow loop, gamma from the fast one); damped oscillator (time in
    seconds): its damping rate alpha in (-80, -2) 1/s (damping ratios from about 0.03 to 1)
    and its angular frequency omega within 0.6-1.6 times its initial value (kept in 1-45 Hz).
    """
    if isinstance(model, models.DampedOscillator):
        w0 = float(abs(model.omega)) if model.omega.ndim == 0 else float(abs(model.omega).mean())
        lo, hi = max(0.6 * w0, _TWO_PI * 1.0), min(1.6 * w0, _TWO_PI * 45.0)
        if lo >= hi:  # not an oscillator in seconds in the 1-45 Hz range: no clamp
            lo, hi = 0.6 * w0, 1.6 * w0
        return {"alpha": Bounded(-80.0, -2.0), "omega": Bounded(lo, hi)}
    for cls, ranges in _RANGES.items():
        if isinstance(model, cls):
            return {k: Bounded(lo, hi) for k, (lo, hi) in ranges.items()}
    raise ValueError(
        f"No default fitted parameters for {type(model).__name__}: pass `params` (names of "
        "its fields) and `transforms`, or use JansenRit, Wendling, LaNMM or DampedOscillator."
    )


def with_ranges(names, transforms, ranges) -> tuple[AbstractTransform, ...]:
    """`transforms` (one per fitted coordinate `names`) with the coordinates named in `ranges`
    (a mapping name -> (low, high), natural units) bounded to those ranges instead: the fit
    keeps them there and their prior is uniform on them."""
    if not ranges:
        return tuple(transforms)
    unknown = sorted(set(ranges) - set(names))
    if unknown:
        raise ValueError(
            f"`ranges`: no fitted coordinate named {unknown}; the fitted ones are {list(names)}."
        )
    out = list(transforms)
    for name, bounds in ranges.items():
        lo, hi = (float(b) for b in bounds)
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ValueError(f"`ranges[{name!r}]` must be (low, high), low < high; got {bounds}.")
        out[list(names).index(name)] = Bounded(lo, hi)
    return tuple(out)
