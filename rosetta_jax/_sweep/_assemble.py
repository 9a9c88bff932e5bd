"""Assembling a sweep's chunks into an `xarray.Dataset`: after a run (`sweep`) or from its
directory (`load_sweep`), and writing it next to the store."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import jax
import numpy as np

from .._version import __version__
from ..store import Store
from ._chunks import _Chunks
from ._space import Space


def _merge(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Chunks' arrays concatenated along the sample axis."""
    return {k: np.concatenate([r[k] for r in parts]) for k in parts[0]} if parts else {}


def _gather(chunks: _Chunks, results: dict[int, dict[str, np.ndarray]]):
    """The samples `index` of the finished chunks and their arrays, merged in chunk order."""
    index = np.concatenate([chunks.rows(c) for c in results]) if results else np.zeros(0, int)
    return index, _merge(list(results.values()))


def _warn_diverged(merged: dict[str, np.ndarray], n: int) -> None:
    n_div = int(np.sum(merged.get("diverged", 0)))
    if n_div:
        warnings.warn(
            f"{n_div} of {n} samples blew up (NaN/inf); their features are "
            "NaN and `diverged` is True. Lower dt or check the parameter ranges.",
            RuntimeWarning,
            stacklevel=3,  # the caller of `sweep`
        )


def load_sweep(path: str | os.PathLike):
    """Assemble a sweep's dataset from its directory (e.g. after a multi-host run).

    Raises:
        ValueError: when chunks are missing or damaged (run the same `sweep` call again to
            finish it), or the directory holds no sweep.
    """
    store = Store.open(path, "sweep")
    layout = store.meta
    space = Space(
        tuple(layout["names"]),
        np.asarray(layout["values"], dtype=float),
        layout["kind"],
        tuple(np.asarray(a) for a in layout["axes"]) if layout.get("axes") else None,
    )
    chunks = _Chunks(len(space), layout["chunk_size"])
    recorded = store.recorded()
    res, missing = [], []
    for c in range(chunks.count):
        name = chunks.name(c)
        got = store.load(name, chunks.expected(layout, c), recorded.get(name))
        (missing.append(c) if got is None else res.append(got))
    if missing:
        raise ValueError(
            f"The sweep in {path} is incomplete: chunks {missing[:10]} are missing "
            "or damaged; run the same sweep call again to finish it."
        )
    return _dataset(space, np.arange(len(space)), _merge(res), layout)


def _write_dataset(path: Path, ds, file_format):
    if file_format == "zarr":
        try:
            ds.to_zarr(path / "sweep.zarr", mode="w")
        except ImportError as e:  # pragma: no cover
            raise ImportError("file_format='zarr' needs zarr: pip install zarr") from e
        return
    out = ds.copy()
    out["diverged"] = out["diverged"].astype("int8")
    tmp = path / ".sweep.nc.tmp"
    out.to_netcdf(tmp, engine="scipy")
    os.replace(tmp, path / "sweep.nc")


def _dataset(space: Space, index, merged, layout):
    """The samples `index` of the space as a dataset: a grid sweep that is whole gets one
    dimension per parameter, anything else a `sample` dimension."""
    import xarray as xr

    data_vars, coords = _variables(index, merged, layout)
    for j, pname in enumerate(space.names):
        coords[pname] = ("sample", space.values[index, j])
    attrs = {
        "settings": json.dumps(layout["settings"]),
        "sampling_rate": float(layout["fs"]),
        "sampling_rate_hz": float(layout["fs"]),
        "frequency_unit": layout["settings"]["frequency_unit"],
        "rosetta_jax": __version__,
        "jax": jax.__version__,
        "space": space.kind,
    }
    ds = xr.Dataset(data_vars, coords=coords, attrs=attrs)
    if space.kind == "grid" and len(index) == len(space):
        if len(space.names) == 1:
            ds = ds.swap_dims({"sample": space.names[0]})
        else:
            ds = ds.set_index(sample=list(space.names)).unstack("sample")
        ds = ds.transpose(*space.names, ...)
    return ds


def _variables(index, merged, layout):
    """The data variables (features, `diverged`, `observed`) and their coordinates."""
    data_vars, coords = {}, {}
    for name, (dims, co) in layout["dims"].items():
        if name not in merged:
            continue
        data_vars[name] = (
            ("sample", *dims)
            if dims is not None
            else ("sample", *[f"{name}_dim{i}" for i in range(merged[name].ndim - 1)]),
            merged[name],
        )
        coords.update({k: np.asarray(v) for k, v in co.items()})
    data_vars["diverged"] = (
        "sample",
        merged.get("diverged", np.zeros(len(index), bool)).astype(bool),
    )
    if "observed" in merged:
        obs = merged["observed"]
        data_vars["observed"] = (
            ("sample", "time", *[f"channel_dim{i}" for i in range(obs.ndim - 2)]),
            obs,
        )
        coords["time"] = np.arange(obs.shape[1]) / layout["fs"]
    return data_vars, coords
