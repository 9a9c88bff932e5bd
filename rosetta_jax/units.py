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
    """A model's time unit.

    Attributes:
        name: `"s"`, `"ms"` or None (dimensionless).
        seconds: seconds per unit (None when dimensionless).
    """

    name: str | None
    seconds: float | None

    @classmethod
    def of(cls, model_or_name) -> TimeUnit:
        """The time unit of a model (or of a unit name)."""
        name = (
            model_or_name
            if isinstance(model_or_name, (str, type(None)))
            else model_or_name.time_unit
        )
        if name is not None and name not in _SECONDS:
            raise ValueError(f"Unknown time unit {name!r}; models use 's', 'ms' or None.")
        return cls(name, _SECONDS.get(name))

    @property
    def hz_per_cycle_per_unit(self) -> float:
        """Multiply a frequency in cycles per time unit by this to get the reported unit (Hz
        for s and ms; 1 for dimensionless time, reported in cycles per unit)."""
        return 1.0 if self.seconds is None else 1.0 / self.seconds

    @property
    def frequency_unit(self) -> str:
        return "cycles per time unit" if self.seconds is None else "Hz"

    @property
    def ms(self) -> float | None:
        """This unit in milliseconds (a delay of L mm at v m/s is L / v ms)."""
        return None if self.seconds is None else 1e3 * self.seconds

    def bands(
        self, extra: Mapping[str, tuple[float, float]] | None = None
    ) -> dict[str, tuple[float, float]]:
        """The named bands in the reported frequency unit: the defaults for models in s or ms
        (none for dimensionless time), updated with `extra`."""
        out = dict(BANDS) if self.seconds is not None else {}
        for name, band in dict(extra or {}).items():
            out[name] = check_band(f"bands[{name!r}]", band)
        return out


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
