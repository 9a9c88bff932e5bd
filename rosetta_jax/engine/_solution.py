"""What `simulate` returns: the `Solution` (saved signals, final state, provenance)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version as _pkg_version
from typing import Any

import equinox as eqx
from jaxtyping import Array, Bool, Inexact, Real

from .._version import __version__
from ..units import TimeUnit


class SimulationDivergedError(FloatingPointError):
    """The simulated state became NaN or infinite."""


class Solution(eqx.Module):
    """The result of `simulate`.

    Attributes:
        ts: save times, shape `(n_saves,)`, in the model's time unit; the first save is one
            save interval after `t0` (the initial state is not repeated).
        ys: states at `ts`, shape `(n_saves, *state_shape)` (None with `save_state=False`).
        observed: the model's observable at `ts`, shape `(n_saves, *observable_shape)`.
        y_final: the state at `t1` (to continue a run).
        success: bool array, False when the run blew up (only seen with `throw=False`).
        model, forcing, noise: what was simulated (for provenance).
        info: static run settings and versions; `meta` gives them as a dict.
    """

    ts: Real[Array, " n_saves"]
    ys: Inexact[Array, " n_saves *state"] | None
    observed: Inexact[Array, " n_saves *observable"]
    y_final: Inexact[Array, " *state"]
    success: Bool[Array, ""]
    model: Any
    forcing: Any
    noise: Any
    info: tuple = eqx.field(static=True)

    @property
    def meta(self) -> dict[str, Any]:
        """Run settings and versions: t0, t1, dt, save_every, solver, time_unit, versions."""
        return dict(self.info)

    @property
    def time_unit(self) -> str | None:
        return self.meta["time_unit"]

    @property
    def state_names(self) -> tuple[str, ...]:
        return self.meta["state_names"]

    @property
    def sampling_rate(self) -> float:
        """Saved samples per second [Hz] for models in s or ms; per time unit for
        dimensionless ones (`rosetta_jax.units`)."""
        return TimeUnit.of(self).hz_factor / (self.meta["dt"] * self.meta["save_every"])

    def state(self, name: str) -> Inexact[Array, " n_saves *nodes"]:
        """The saved trajectory of one state variable, by name."""
        if self.ys is None:
            raise ValueError("This solution was run with save_state=False; only `observed` exists.")
        try:
            i = self.state_names.index(name)
        except ValueError:
            raise KeyError(f"No state named {name!r}; states are {self.state_names}.") from None
        return self.ys[..., i]


def _versions() -> tuple[tuple[str, str], ...]:
    out = [("rosetta_jax", __version__)]
    for pkg in ("jax", "diffrax", "equinox"):
        try:
            out.append((pkg, _pkg_version(pkg)))
        except PackageNotFoundError:  # pragma: no cover
            out.append((pkg, "unknown"))
    return tuple(out)
