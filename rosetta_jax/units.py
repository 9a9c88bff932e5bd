"""Time units and the frequencies read from them.

Each model declares its time unit (`model.time_unit`): `"s"` (Jansen-Rit, Wendling, LaNMM, the
E-I motif), `"ms"` (Montbrio-Pazo-Roxin, ING, PING; rates in kHz) or `None` (the dimensionless
oscillators, Wilson-Cowan, Kuramoto). Frequencies a user reads are in Hz for models in s or ms
and in cycles per time unit for dimensionless ones.

Default frequency bands (Hz), used by `sweep` (`power_<band>` features) and by
`fit.spectral_features`: delta 1-4, theta 4-8, alpha 8-13, beta 13-30, gamma 30-80. A
dimensionless model has no default bands: pass them in cycles per time unit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np


BANDS: dict[str, tuple[float, float]] = {
    "delta": (1.0, 4.0),
    "theta": (4.0, 8.0),
    "alpha": (8.0, 13.0),
    "beta": (13.0, 30.0),
    "gamma": (30.0, 80.0),
}

_SECONDS = {"s": 1.0, "ms": 1e-3}


@dataclasses.dataclass(frozen=True)
class TimeUnit:
    """A model's time unit, and how numbers read in it are converted.

    Attributes:
        name: `"s"`, `"ms"` or None (dimensionless).
        seconds: seconds per unit (None when dimensionless).
    """

    name: str | None
    seconds: float | None

    @classmethod
    def of(cls, model_or_name) -> TimeUnit:
        """The time unit of a model (anything with `time_unit`: a model, a network, a
        `Solution`), or of a unit name."""
        name = (
            model_or_name
            if isinstance(model_or_name, (str, type(None)))
            else model_or_name.time_unit
        )
        if name is not None and name not in _SECONDS:
            raise ValueError(f"Unknown time unit {name!r}; models use 's', 'ms' or None.")
        return cls(name, _SECONDS.get(name))

    @property
    def hz_factor(self) -> float:
        """Reported frequency per cycle per time unit: 1 for s, 1000 for ms (both reported in
        Hz), 1 for dimensionless time (reported in cycles per time unit)."""
        return 1.0 if self.seconds is None else 1.0 / self.seconds

    @property
    def frequency_unit(self) -> str:
        """The unit of reported frequencies: `"Hz"`, or `"cycles per time unit"`."""
        return "cycles per time unit" if self.seconds is None else "Hz"

    @property
    def time_label(self) -> str:
        """An axis label for time."""
        return f"time [{self.name}]" if self.name else "time [model units]"

    @property
    def frequency_label(self) -> str:
        """An axis label for frequency."""
        return "frequency [Hz]" if self.seconds else "frequency [cycles / time unit]"

    def from_ms(self, value):
        """A duration in ms expressed in this unit (e.g. a conduction delay, L [mm] / v [m/s]
        ms); an error for dimensionless time, where ms have no meaning."""
        if self.seconds is None:
            raise ValueError("A duration in ms has no meaning in dimensionless time.")
        return value * (1e-3 / self.seconds)

    @property
    def default_run(self) -> tuple[float, float, int]:
        """`(t1, dt, save_every)` of the analyses' default simulations: 10 s at dt = 0.1 ms for
        models in s, 2000 ms at dt = 0.01 ms for models in ms (faster rhythms), 500 units at
        dt = 0.01 for dimensionless ones; the signal saved every 10 steps."""
        return _DEFAULT_RUN[self.name]

    def bands(
        self, extra: Mapping[str, tuple[float, float]] | None = None
    ) -> dict[str, tuple[float, float]]:
        """The named bands in the reported frequency unit: the defaults for models in s or ms
        (none for dimensionless time), updated with `extra`."""
        out = dict(BANDS) if self.seconds is not None else {}
        for name, band in dict(extra or {}).items():
            out[name] = check_band(f"bands[{name!r}]", band)
        return out


_DEFAULT_RUN = {"s": (10.0, 1e-4, 10), "ms": (2000.0, 0.01, 10), None: (500.0, 0.01, 10)}


def check_band(
    name: str, band, nyquist: float | None = None, unit: str = "Hz"
) -> tuple[float, float]:
    """A frequency band `(low, high)` with 0 <= low < high (<= Nyquist), or a clear error."""
    try:
        lo, hi = (float(b) for b in band)
    except (TypeError, ValueError):
        raise ValueError(
            f"`{name}` must be a pair (low, high) of frequencies; got {band!r}."
        ) from None
    if not (np.isfinite(lo) and np.isfinite(hi) and 0 <= lo < hi):
        raise ValueError(f"`{name}` must satisfy 0 <= low < high; got ({lo:g}, {hi:g}).")
    if nyquist is not None and hi > nyquist * (1 + 1e-12):
        raise ValueError(
            f"`{name}` = ({lo:g}, {hi:g}) {unit} reaches beyond the Nyquist frequency "
            f"({nyquist:g} {unit}) of the saved signal; save more often (a smaller save_every "
            "or dt) or choose a lower band."
        )
    return lo, hi
