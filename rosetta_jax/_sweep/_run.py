"""`sweep`: the run plan, the features, the chunk plan and its store, the execution and the
assembly of the dataset, in that order."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.random as jr
import numpy as np
from jaxtyping import PRNGKeyArray

from ._assemble import _dataset, _gather, _warn_diverged, _write_dataset
from ._chunks import _chunk_size, _Chunks, _inputs, _open_store
from ._execute import _ChunkRunner, _execute
from ._layout import _features, _layout
from ._plan import _check_delays_in_space, _plan
from ._space import Space, _check_params


def sweep(
    model: Any,
    space: Space,
    *,
    features: Any = ("peak_frequency", "power_alpha"),
    t1: float,
    dt: float,
    t0: float = 0.0,
    noise: Any = None,
    forcing: Any = None,
    key: PRNGKeyArray | None = None,
    save_every: int | None = None,
    discard: float = 0.1,
    nperseg: int | None = None,
    bands: Mapping[str, tuple[float, float]] | None = None,
    peak_band: tuple[float, float] | None = None,
    solver: Any = None,
    keep_trajectories: bool = False,
    chunk_size: int | None = None,
    memory_budget: float | None = None,
    devices: Any = None,
    path: str | os.PathLike | None = None,
    resume: bool = True,
    file_format: str = "netcdf",
    progress: bool = True,
    on_chunk: Callable[[int], None] | None = None,
):
    """Simulate the model at every parameter set of `space` and compute features inside.

    Frequencies are in Hz for models in s or ms (`rosetta_jax.units`) and in cycles per time
    unit for dimensionless models.

    Args:
        model: a model or `Network` (its other parameters stay as they are).
        space: a `Space` (grid, random, Sobol or explicit samples).
        features: feature objects of `rosetta_jax.features` (`PeakFrequency`, `BandPower`,
            `PSD`, `FC`, `FCSCCorrelation`, `FCD`, `OrderParameter`, `Mean`, `Std`, `Custom`)
            and/or their names: `"peak_frequency"` (of the channel-mean Welch spectrum, in
            `peak_band`), `"power_<band>"` (power in a band relative to the whole resolved
            spectrum), `"psd"`, `"fc"`, `"fc_sc_correlation"`, `"order_parameter"`, `"mean"`,
            `"std"`, `"mean_fc"`, `"std_fc"`; and/or a dict `{name: fn(x, fs) -> array}` of your
            own, with `x` the observable `(n_time, n_channels)` after `discard` and `fs` its
            sampling rate.
        t1, dt, t0, noise, forcing, solver: as for `simulate` (fixed-step path).
        key: PRNG key (default `jax.random.key(0)`); sample `i` uses `fold_in(key, i)`.
        save_every: decimation of the observable (default: about 1 kHz sampling for models in
            s or ms, every step for dimensionless ones).
        discard: fraction of the run dropped as transient before the features.
        nperseg: Welch segment length (default 2 s of data for models in s or ms, half the kept
            run for dimensionless ones; at most the kept run).
        bands: extra or replacement bands `{name: (low, high)}` for `power_<name>` features.
            Defaults (Hz): delta 1-4, theta 4-8, alpha 8-13, beta 13-30, gamma 30-80; a
            dimensionless model has none. A band beyond the Nyquist frequency is an error.
        peak_band: where `peak_frequency` looks (default the model's `rhythm_band`, e.g.
            2-45 Hz for Jansen-Rit, 20-200 Hz for ING and PING, the whole resolved spectrum for
            dimensionless models).
        keep_trajectories: also return the observable of every sample (memory!).
        chunk_size: samples per chunk (default: as many as `memory_budget` allows, a multiple of
            the device count).
        memory_budget: bytes per chunk for the automatic chunk size (default 1 GiB on CPU, half
            the free memory of the first accelerator otherwise).
        devices: devices to shard over (default all local devices).
        path: a directory for the store (manifest, chunks) and the final dataset (`sweep.nc`
            or `sweep.zarr`). With `resume`, an interrupted sweep continues from its finished
            chunks; a directory holding a sweep made from other inputs raises
            `store.StoreMismatchError` naming what differs; a damaged chunk is recomputed with
            a warning.
        resume: False discards whatever sweep `path` holds and starts over.
        file_format: `"netcdf"` (scipy engine, no extra dependency) or `"zarr"` (needs `zarr`).
        progress: show a progress bar.
        on_chunk: called with the chunk index after each chunk is finished (and saved).

    Returns:
        An `xarray.Dataset`: one variable per feature plus `diverged`; the parameters as
        coordinates (grid: one dimension per parameter; otherwise a `sample` dimension);
        attributes with the settings and versions. Samples whose run blew up have NaN features,
        `diverged=True` and raise a warning.

    Multi-host: call `jax.distributed.initialize()` in every process, then `sweep(...,
    path=shared_dir)` in each: process `k` of `n` runs chunks `k, k + n, ...` on its own devices
    (and returns those), and `load_sweep(shared_dir)` assembles the whole sweep once all have
    finished. A process that is killed resumes its share when started again.
    """
    _check_call(model, space, file_format)
    plan = _plan(model, space, t0, t1, dt, save_every, discard, nperseg, keep_trajectories)
    feats = _features(features, bands, peak_band, model, plan.sampling)
    _check_delays_in_space(model, space.names, np.asarray(space.values), plan.dt)
    key = jr.key(0) if key is None else key
    devices = list(jax.local_devices() if devices is None else devices)
    size = _chunk_size(model, plan.n_saves, len(space), devices, chunk_size, memory_budget)
    values = np.asarray(space.values)
    run = _ChunkRunner(model, noise, forcing, solver, key, plan, feats, devices, values)
    layout = _layout(feats, model, run.out_shapes(size), plan, space)
    store = None
    if path is not None:
        inputs = _inputs(model, space, feats, noise, forcing, solver, key, plan)
        store = _open_store(path, resume, size, layout, inputs)
        size = store.meta["chunk_size"]  # the stored chunking, so that chunks line up
    chunks = _Chunks(len(space), size)
    index, merged = _gather(chunks, _execute(run, store, chunks, layout, progress, on_chunk))
    ds = _dataset(space, index, merged, layout)
    if store is not None and jax.process_count() == 1:
        _write_dataset(store.path, ds, file_format)
    _warn_diverged(merged, len(index))
    return ds


def _check_call(model, space, file_format) -> None:
    """The space must be a `Space` of the model's floating-point parameters."""
    if not isinstance(space, Space):
        raise TypeError(
            "`space` must be a Space: Space.grid(...), Space.random(...), "
            "Space.sobol(...) or Space.samples(...)."
        )
    if file_format not in ("netcdf", "zarr"):
        raise ValueError(f"`file_format` must be 'netcdf' or 'zarr'; got {file_format!r}.")
    _check_params(model, space.names)
