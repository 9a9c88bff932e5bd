"""The chunk plan of a sweep (how many samples per chunk, which rows, which file) and the
resumable store that holds the finished chunks."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import jax
import numpy as np

from ..store import Store, fingerprint
from ._layout import _n_channels
from ._plan import _Plan
from ._space import Space


@dataclasses.dataclass(frozen=True)
class _Chunks:
    """`n` samples in chunks of `size` (the last one short), chunk `c` in the file `name(c)`."""

    n: int
    size: int

    @property
    def count(self) -> int:
        return -(-self.n // self.size)

    def bounds(self, c: int) -> tuple[int, int]:
        """The first and one-past-last sample of chunk `c`."""
        return c * self.size, min((c + 1) * self.size, self.n)

    def rows(self, c: int) -> np.ndarray:
        return np.arange(*self.bounds(c))

    @staticmethod
    def name(c: int) -> str:
        return f"chunks/chunk_{c:06d}.npz"

    def expected(self, layout: dict[str, Any], c: int) -> dict[str, tuple]:
        """`{array name: (shape, dtype)}` that the file of chunk `c` must hold."""
        rows = len(self.rows(c))
        return {k: ((rows, *shape), np.dtype(dt)) for k, (shape, dt) in layout["arrays"].items()}


def _chunk_size(model, n_saves, n, devices, chunk_size, memory_budget) -> int:
    """Samples per chunk, a multiple of the device count: as given, or as many as the memory
    budget allows (no more than the samples)."""
    if chunk_size is None:
        budget = memory_budget or _default_budget(devices[0])
        chunk_size = int(max(1, budget // max(_bytes_per_sample(model, n_saves), 1)))
        chunk_size = min(chunk_size, -(-n // len(devices)) * len(devices))
    return max(len(devices), (int(chunk_size) // len(devices)) * len(devices))


def _bytes_per_sample(model, n_saves) -> int:
    """Peak memory of one sample, from the run's shapes: saved observable, state and stages."""
    state = jax.eval_shape(model.initial_state)
    item = state.dtype.itemsize
    return int((4 * n_saves * _n_channels(model) + 32 * int(np.prod(state.shape))) * item) + 4096


def _default_budget(device) -> float:
    if device.platform == "cpu":
        return float(2**30)
    try:
        stats = device.memory_stats()
        return 0.5 * float(stats["bytes_limit"] - stats.get("bytes_in_use", 0))
    except Exception:  # pragma: no cover - backends without memory stats
        return float(2**31)


def _inputs(model, space: Space, feats, noise, forcing, solver, key, plan: _Plan) -> dict:
    """Every input that determines a sweep's results, by part, for its fingerprint."""
    return {
        "model": model,
        "space": {
            "names": space.names,
            "values": np.asarray(space.values),
            "kind": space.kind,
            "axes": space.axes,
        },
        "features": feats,
        "noise": noise,
        "forcing": forcing,
        "solver": solver,
        "key": key,
        "settings": plan.settings,
    }


def _open_store(path, resume, chunk_size, layout, parts) -> Store:
    """The sweep's store, fingerprinted over `parts` (every input that determines a result)."""
    if not resume and jax.process_count() > 1:
        raise ValueError(
            "resume=False with several processes would let one process discard "
            "another's chunks; empty the directory before starting instead."
        )
    return Store(
        path,
        "sweep",
        fingerprint(parts),
        resume=resume,
        meta={**layout, "chunk_size": int(chunk_size)},
        what=f"The sweep in {Path(path)}",
    )
