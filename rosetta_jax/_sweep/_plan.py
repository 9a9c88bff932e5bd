"""The run plan of a sweep: the time grid, the sampling the features see, and the check that
every sample's conduction delays fit the network."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._network_base import AbstractNetwork
from ..units import TimeUnit
from ._space import _set_params


@dataclasses.dataclass(frozen=True)
class _Sampling:
    """What the features see: `n_keep` saved samples at `fs` per second (Hz) or per time unit
    (dimensionless models), Welch segments of `nperseg`."""

    fs: float
    n_keep: int
    nperseg: int
    unit: str

    @property
    def freqs(self) -> np.ndarray:
        return np.fft.rfftfreq(self.nperseg, 1.0 / self.fs)


@dataclasses.dataclass(frozen=True)
class _Plan:
    """The run settings shared by every sample (static for the compiled chunk)."""

    names: tuple[str, ...]
    t0: float
    t1: float
    dt: float
    save_every: int
    n_saves: int
    sampling: _Sampling
    keep_trajectories: bool

    @property
    def grid(self) -> dict[str, Any]:
        """The fixed-step time grid, as `simulate` takes it."""
        return {"t0": self.t0, "t1": self.t1, "dt": self.dt, "save_every": self.save_every}

    @property
    def settings(self) -> dict[str, Any]:
        s = self.sampling
        return {
            "names": list(self.names),
            **self.grid,
            "n_saves": self.n_saves,
            "n_keep": s.n_keep,
            "nperseg": s.nperseg,
            "fs": s.fs,
            "frequency_unit": s.unit,
            "keep_trajectories": self.keep_trajectories,
        }


def _plan(model, space, t0, t1, dt, save_every, discard, nperseg, keep) -> _Plan:
    """Check the run settings and fill in the defaults that depend on the model's time unit."""
    if not (np.isfinite(dt) and np.isfinite(t1) and np.isfinite(t0) and dt > 0 and t1 > t0):
        raise ValueError(f"Need finite dt > 0 and t1 > t0; got t0={t0}, t1={t1}, dt={dt}.")
    if not 0 <= discard < 1:
        raise ValueError(f"`discard` must be in [0, 1) (a fraction of the run); got {discard!r}.")
    unit = TimeUnit.of(model)
    n_steps = int(round((t1 - t0) / dt))
    if save_every is None:  # about 1 kHz for models in s or ms, every step otherwise
        per_ms = 1e-3 / unit.seconds if unit.seconds else 0.0
        save_every = max(1, int(round(per_ms / dt)))
    if not isinstance(save_every, (int, np.integer)) or save_every < 1:
        raise ValueError(f"`save_every` must be a positive integer; got {save_every!r}.")
    n_saves = n_steps // int(save_every)
    fs = unit.hz_factor / (dt * save_every)
    n_keep = n_saves - int(discard * n_saves)
    if n_keep < 8:
        raise ValueError(
            f"Only {n_keep} saved samples after `discard`: lengthen t1 or lower save_every."
        )
    nperseg = _nperseg(nperseg, unit, fs, n_keep)
    sampling = _Sampling(float(fs), int(n_keep), int(nperseg), unit.frequency_unit)
    return _Plan(
        tuple(space.names),
        float(t0),
        float(t1),
        float(dt),
        int(save_every),
        int(n_saves),
        sampling,
        bool(keep),
    )


def _nperseg(nperseg, unit: TimeUnit, fs: float, n_keep: int) -> int:
    """The Welch segment length, checked (default 2 s of data in Hz, half the kept run for
    dimensionless models)."""
    if nperseg is None:
        nperseg = round(2.0 * fs) if unit.seconds else n_keep // 2
        nperseg = min(n_keep, max(16, int(nperseg)))
    if not isinstance(nperseg, (int, np.integer)) or not 8 <= nperseg <= n_keep:
        raise ValueError(
            f"`nperseg` must be an integer in [8, {n_keep}] (the kept samples); got {nperseg!r}."
        )
    return nperseg


def _check_delays_in_space(model, names, values, dt) -> None:
    """With delays, every sample's delays must fit the network's buffer and exceed dt."""
    if not (isinstance(model, AbstractNetwork) and model.has_delays):
        return
    if not any(n.split(".")[0] in ("speed", "lengths", "delays") for n in names):
        return

    def extremes(v):
        m = _set_params(model, names, v)
        tau = m.delay_matrix()
        used = (m.weights != 0) & (tau > 0)
        return jnp.min(jnp.where(used, tau, jnp.inf)), jnp.max(jnp.where(used, tau, 0.0))

    lo, hi = (np.asarray(a) for a in jax.jit(jax.vmap(extremes))(jnp.asarray(values)))
    unit = model.time_unit or "time units"
    for bad, what in [(hi > model.max_delay * (1 + 1e-9), "long"), (lo < dt * (1 - 1e-9), "short")]:
        if np.any(bad):
            i = int(np.argmax(bad))
            at = ", ".join(f"{n}={values[i, j]:g}" for j, n in enumerate(names))
            if what == "long":
                raise ValueError(
                    f"At sample {i} ({at}) the longest conduction delay is {hi[i]:.6g} {unit}, "
                    f"beyond the delay buffer sized when the network was built "
                    f"(max_delay={model.max_delay:.6g} {unit}): it would be clipped. Build the "
                    f"{type(model).__name__} with min_speed=<the slowest speed you sweep> (or "
                    "a larger max_delay)."
                )
            raise ValueError(
                f"At sample {i} ({at}) the shortest conduction delay is "
                f"{lo[i]:.6g} {unit}, below dt={dt:g}; lower dt or keep the speed "
                "lower."
            )
