"""Batch parameter sweeps: vmapped simulations with features computed inside, chunked to a
memory budget, sharded over the local devices, resumable, returned as an `xarray.Dataset`.

One sample = one simulation of the model with some parameters replaced. Samples are run in
chunks of equal size (the last one padded, so nothing recompiles); each chunk is one `jit` of a
`vmap` over its samples, its batch axis sharded over all local devices with `jax.sharding`.
Only the features leave the device (peak frequency, band powers, FC, ...), never the
trajectories unless asked. With `path`, every finished chunk is written to disk before the next
starts, so an interrupted sweep resumes from its completed chunks and repeats none. The noise key
of sample `i` is `jax.random.fold_in(key, i)` whatever the chunking or the device count.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import itertools
import json
import os
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from ._simulate import simulate
from ._version import __version__
from .analysis._dynamics import time_scale_hz
from .analysis._signal import (
    analytic_phase,
    band_power,
    functional_connectivity,
    order_parameter,
    peak_frequency,
    welch,
)
from .network import Network

BANDS = {"delta": (1.0, 4.0), "theta": (4.0, 8.0), "alpha": (8.0, 13.0), "beta": (13.0, 30.0),
         "gamma": (30.0, 45.0)}


# ----------------------------------------------------------------------------- the space


@dataclasses.dataclass(frozen=True)
class Space:
    """The parameter sets of a sweep.

    Build one with `Space.grid`, `Space.random`, `Space.sobol` or `Space.samples`. Parameters are
    named by their attribute path in the model: `"p"` for a node, `"G"` or `"node.p"` for a
    `Network` (a regional parameter is set to the same value in every region).

    Attributes:
        names: the parameter paths.
        values: shape `(n_samples, n_params)`.
        kind: `"grid"`, `"random"`, `"sobol"` or `"samples"`.
        axes: for a grid, the values along each parameter.
    """

    names: tuple[str, ...]
    values: np.ndarray
    kind: str
    axes: tuple[np.ndarray, ...] | None = None

    def __len__(self) -> int:
        return int(self.values.shape[0])

    @staticmethod
    def _merge(params, kwargs) -> dict[str, Any]:
        out = dict(params or {})
        out.update(kwargs)
        if not out:
            raise ValueError("Name at least one parameter, e.g. Space.grid(G=np.linspace(0, 1, 8)) "
                             "or Space.grid({'node.p': [...]}).")
        return out

    @classmethod
    def grid(cls, params: Mapping[str, Any] | None = None, /, **axes) -> Space:
        """Every combination of the given values (the first parameter varies slowest)."""
        axes_d = cls._merge(params, axes)
        vals = []
        for name, v in axes_d.items():
            v = np.asarray(v, dtype=float).reshape(-1)
            if v.size == 0 or not np.all(np.isfinite(v)):
                raise ValueError(f"Grid values of `{name}` must be a non-empty set of finite "
                                 "numbers.")
            if np.unique(v).size != v.size:
                raise ValueError(f"Grid values of `{name}` repeat; give distinct values.")
            vals.append(v)
        values = np.array(list(itertools.product(*vals)), dtype=float)
        return cls(tuple(axes_d), values, "grid", tuple(vals))

    @classmethod
    def _bounds(cls, params, kwargs):
        b = cls._merge(params, kwargs)
        lo, hi = [], []
        for name, v in b.items():
            if np.shape(v) != (2,) or not np.all(np.isfinite(v)) or v[0] >= v[1]:
                raise ValueError(f"Bounds of `{name}` must be (low, high) with low < high; got "
                                 f"{v!r}.")
            lo.append(float(v[0]))
            hi.append(float(v[1]))
        return tuple(b), np.array(lo), np.array(hi)

    @classmethod
    def random(cls, n: int, params: Mapping[str, Any] | None = None, /, *, seed: int = 0,
               **bounds) -> Space:
        """`n` samples drawn uniformly within `(low, high)` bounds per parameter."""
        names, lo, hi = cls._bounds(params, bounds)
        _check_n(n)
        u = np.random.default_rng(seed).random((n, len(names)))
        return cls(names, lo + u * (hi - lo), "random")

    @classmethod
    def sobol(cls, n: int, params: Mapping[str, Any] | None = None, /, *, seed: int = 0,
              scramble: bool = True, **bounds) -> Space:
        """`n` quasi-random (scrambled Sobol) samples within `(low, high)` bounds; a power of two
        `n` keeps the sequence balanced."""
        from scipy.stats import qmc

        names, lo, hi = cls._bounds(params, bounds)
        _check_n(n)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # non-power-of-two n is allowed
            u = qmc.Sobol(len(names), scramble=scramble, seed=seed).random(n)
        return cls(names, lo + u * (hi - lo), "sobol")

    @classmethod
    def samples(cls, params: Mapping[str, Any] | None = None, /, **values) -> Space:
        """Explicit parameter sets: equal-length arrays, one per parameter."""
        v = cls._merge(params, values)
        cols = [np.asarray(x, dtype=float).reshape(-1) for x in v.values()]
        if len({c.size for c in cols}) != 1:
            raise ValueError("`Space.samples` needs arrays of one length, one per parameter.")
        return cls(tuple(v), np.stack(cols, axis=1), "samples")


def _check_n(n):
    if int(n) != n or n < 1:
        raise ValueError(f"The number of samples must be a positive integer; got {n!r}.")


def _getter(path: str) -> Callable:
    return lambda m: functools.reduce(getattr, path.split("."), m)


def _check_params(model, names):
    for name in names:
        try:
            leaf = _getter(name)(model)
        except AttributeError:
            fields = [f.name for f in dataclasses.fields(model)]
            raise ValueError(f"The model has no parameter `{name}`; its fields are {fields} "
                             "(use dotted paths such as 'node.p' for a network's node).") from None
        if not eqx.is_inexact_array(leaf):
            raise ValueError(f"`{name}` is not a floating-point array leaf of the model; sweep "
                             "numeric parameters.")


def _set_params(model, names, values):
    for i, name in enumerate(names):
        get = _getter(name)
        leaf = get(model)
        model = eqx.tree_at(get, model, jnp.broadcast_to(values[i].astype(leaf.dtype), leaf.shape))
    return model


# ----------------------------------------------------------------------------- features


def _mean_psd(x, fs, nperseg):
    f, p = welch(x, fs, nperseg=min(nperseg, x.shape[0]))
    return f, jnp.mean(p.reshape(p.shape[0], -1), axis=1)


def _feature_fns(features, model, fs, n_saves, nperseg):
    """name -> (fn(x) -> array, dims, coords) with x of shape (n_time, n_channels)."""
    nyq = fs / 2
    top = min(nyq, 100.0)
    n_ch = int(np.prod(jax.eval_shape(lambda: model.observe(model.initial_state())).shape) or 1)
    seg = min(nperseg, n_saves)
    f_grid = np.fft.rfftfreq(seg, 1 / fs)
    out = {}
    for feat in features:
        if callable(feat):
            raise TypeError("Give custom features as a dict {name: fn(x, fs)}.")
        if isinstance(feat, tuple):
            name, fn = feat
            out[name] = (lambda x, fn=fn: jnp.asarray(fn(x, fs)), None, {})
        elif feat == "peak_frequency":
            band = (min(2.0, nyq / 4), min(45.0, 0.9 * nyq))
            out[feat] = (lambda x, band=band: peak_frequency(*_mean_psd(x, fs, nperseg), band),
                         (), {})
        elif feat.startswith("power_") and feat[6:] in BANDS:
            band = BANDS[feat[6:]]
            if band[1] > nyq:
                raise ValueError(f"Feature `{feat}` needs a sampling rate above {2 * band[1]} Hz; "
                                 "lower `save_every` or `dt`.")

            def rel_power(x, band=band):
                f, p = _mean_psd(x, fs, nperseg)
                return band_power(f, p, band) / band_power(f, p, (float(f_grid[1]), top))

            out[feat] = (rel_power, (), {})
        elif feat == "psd":
            out[feat] = (lambda x: _mean_psd(x, fs, nperseg)[1], ("freq",), {"freq": f_grid})
        elif feat == "fc":
            out[feat] = (functional_connectivity, ("region", "region_to"),
                         {"region": np.arange(n_ch), "region_to": np.arange(n_ch)})
        elif feat == "fc_sc_correlation":
            if not isinstance(model, Network):
                raise ValueError("`fc_sc_correlation` needs a Network model.")
            iu = np.triu_indices(model.weights.shape[0], 1)

            def fc_sc(x, iu=iu):
                a = functional_connectivity(x)[iu]
                b = jnp.asarray(model.weights)[iu] + jnp.asarray(model.weights).T[iu]
                a, b = a - a.mean(), b - b.mean()
                return jnp.sum(a * b) / jnp.sqrt(jnp.sum(a * a) * jnp.sum(b * b))

            out[feat] = (fc_sc, (), {})
        elif feat == "order_parameter":
            out[feat] = (lambda x: jnp.mean(jnp.abs(order_parameter(
                analytic_phase(x - x.mean(axis=0)), axis=-1))), (), {})
        elif feat == "mean":
            out[feat] = (lambda x: jnp.mean(x), (), {})
        elif feat == "std":
            out[feat] = (lambda x: jnp.mean(jnp.std(x, axis=0)), (), {})
        else:
            raise ValueError(f"Unknown feature {feat!r}; built-ins are {FEATURES} (power_<band> "
                             f"for bands {tuple(BANDS)}); pass custom ones as a dict "
                             "{name: fn(x, fs)}.")
    return out


FEATURES = ("peak_frequency", "power_alpha", "psd", "fc", "fc_sc_correlation",
            "order_parameter", "mean", "std")


# ----------------------------------------------------------------------------- the sweep


def sweep(
    model,
    space: Space,
    *,
    features: Any = ("peak_frequency", "power_alpha"),
    t1: float,
    dt: float,
    t0: float = 0.0,
    noise: Any = None,
    forcing: Any = None,
    key: Any = None,
    save_every: int | None = None,
    discard: float = 0.1,
    nperseg: int | None = None,
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

    Args:
        model: a model or `Network` (its other parameters stay as they are).
        space: a `Space` (grid, random, Sobol or explicit samples).
        features: built-in names, `"peak_frequency"` [Hz] and `"power_<band>"` (relative power in
            delta, theta, alpha, beta or gamma) of the channel-mean Welch spectrum, `"psd"` (that
            spectrum), `"fc"` (FC matrix), `"fc_sc_correlation"` (FC against the network's
            weights over region pairs), `"order_parameter"` (time-mean Kuramoto R of the
            signals' analytic phases), `"mean"`, `"std"`; and/or a dict
            `{name: fn(x, fs) -> array}` of your own, with `x` the observable
            `(n_time, n_channels)` after `discard` and `fs` its sampling rate [Hz].
        t1, dt, t0, noise, forcing, solver: as for `simulate` (fixed-step path).
        key: PRNG key (default `jax.random.key(0)`); sample `i` uses `fold_in(key, i)`.
        save_every: decimation of the observable (default: about 1 kHz sampling).
        discard: fraction of the run dropped as transient before the features.
        nperseg: Welch segment length (default about 2 s of data, at most the run).
        keep_trajectories: also return the observable of every sample (memory!).
        chunk_size: samples per chunk (default: as many as `memory_budget` allows, a multiple of
            the device count).
        memory_budget: bytes per chunk for the automatic chunk size (default 1 GiB on CPU, half
            the free memory of the first accelerator otherwise).
        devices: devices to shard over (default all local devices).
        path: a directory for the chunks, a manifest and the final dataset (`sweep.nc` or
            `sweep.zarr`); with `resume` an interrupted sweep continues from its finished chunks.
        file_format: `"netcdf"` (scipy engine, no extra dependency) or `"zarr"` (needs `zarr`).
        progress: show a progress bar.
        on_chunk: called with the chunk index after each chunk is finished (and saved).

    Returns:
        An `xarray.Dataset`: one variable per feature plus `diverged`; the parameters as
        coordinates (grid: one dimension per parameter; otherwise a `sample` dimension);
        attributes with the settings and versions. Samples whose run blew up have NaN features,
        `diverged=True` and raise a warning.

    Multi-host: call `jax.distributed.initialize()` in every process, then `sweep(...,
    path=shared_dir)` in each: process `k` of `n` runs chunks `k, k + n, ...` on its own devices,
    and `load_sweep(shared_dir)` assembles the whole sweep once all have finished.
    """
    if not isinstance(space, Space):
        raise TypeError("`space` must be a Space: Space.grid(...), Space.random(...), "
                        "Space.sobol(...) or Space.samples(...).")
    if not (dt > 0 and t1 > t0):
        raise ValueError("Need dt > 0 and t1 > t0.")
    if not 0 <= discard < 1:
        raise ValueError("`discard` must be in [0, 1).")
    if file_format not in ("netcdf", "zarr"):
        raise ValueError("`file_format` must be 'netcdf' or 'zarr'.")
    _check_params(model, space.names)
    key = jr.key(0) if key is None else key
    n_steps = int(round((t1 - t0) / dt))
    scale = time_scale_hz(model)
    if save_every is None:
        save_every = max(1, int(round(scale / (1000.0 * dt))))
    n_saves = n_steps // save_every
    fs = scale / (dt * save_every)
    n_keep = n_saves - int(discard * n_saves)
    if n_keep < 8:
        raise ValueError(f"Only {n_keep} saved samples after `discard`: lengthen t1 or lower "
                         "save_every.")
    nperseg = int(nperseg or min(n_keep, max(16, int(round(2.0 * fs)))))
    if isinstance(features, (str, tuple)) and not isinstance(features, list):
        features = [features] if isinstance(features, str) else list(features)
    elif isinstance(features, Mapping):
        features = list(features.items())
    else:
        feats = []
        for f in features:
            feats.extend(f.items() if isinstance(f, Mapping) else [f])
        features = feats
    fns = _feature_fns(features, model, fs, n_keep, nperseg)
    layout = {name: [list(d) if d is not None else None,
                     {k: np.asarray(v).tolist() for k, v in co.items()}]
              for name, (_, d, co) in fns.items()}

    # Devices, chunking and multi-host split.
    devices = list(jax.local_devices() if devices is None else devices)
    n_dev = len(devices)
    per_sample = _bytes_per_sample(model, n_saves)
    budget = memory_budget or _default_budget(devices[0])
    n = len(space)
    if chunk_size is None:
        chunk_size = int(max(1, budget // max(per_sample, 1)))
        chunk_size = min(chunk_size, -(-n // n_dev) * n_dev)
    chunk_size = max(n_dev, (int(chunk_size) // n_dev) * n_dev)

    settings = {
        "names": list(space.names), "kind": space.kind, "t0": t0, "t1": t1, "dt": dt,
        "save_every": save_every, "discard": discard, "nperseg": nperseg,
        "features": list(fns), "keep_trajectories": keep_trajectories,
        "noise": repr(noise), "forcing": repr(forcing), "solver": repr(solver),
    }
    fingerprint = _fingerprint(settings, space, model, key)
    store = _Store(Path(path), fingerprint, chunk_size, settings, n) if path is not None else None
    if store is not None:
        chunk_size = store.chunk_size if resume else chunk_size
        if not resume:
            store.clear()
        store.write_manifest(chunk_size)
        store.add_layout(space, layout, fs)
    n_chunks = -(-n // chunk_size)
    pi, pc = jax.process_index(), jax.process_count()
    mine = [c for c in range(n_chunks) if c % pc == pi]

    mesh = jax.sharding.Mesh(np.asarray(devices), ("batch",))
    sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("batch"))
    static = (tuple(space.names), t0, t1, dt, save_every, n_saves, n_keep, fs, nperseg,
              tuple(features), solver, keep_trajectories)
    values_all = np.asarray(space.values)
    results: dict[int, dict[str, np.ndarray]] = {}
    done = set(store.completed()) if store is not None else set()
    bar = _progress(len(mine) * chunk_size, progress)
    for c in mine:
        lo, hi = c * chunk_size, min((c + 1) * chunk_size, n)
        if c in done:
            results[c] = store.load(c)
            if bar is not None:
                bar.update(hi - lo)
            continue
        idx = np.minimum(np.arange(lo, lo + chunk_size), n - 1)  # pad with the last sample
        vals = jax.device_put(jnp.asarray(values_all[idx]), sharding)
        keys = jax.device_put(jax.vmap(lambda i: jr.fold_in(key, i))(jnp.asarray(idx)), sharding)
        out = jax.tree.map(lambda a: np.asarray(a)[: hi - lo], _run_chunk(model, noise, forcing, vals, keys, static))
        results[c] = out
        if store is not None:
            store.save(c, out)
        if bar is not None:
            bar.update(hi - lo)
        if on_chunk is not None:
            on_chunk(c)
    if bar is not None:
        bar.close()

    index = np.concatenate([np.arange(c * chunk_size, min((c + 1) * chunk_size, n))
                            for c in mine]) if mine else np.zeros(0, int)
    merged = {k: np.concatenate([results[c][k] for c in mine]) for k in results[mine[0]]} \
        if mine else {}
    ds = _dataset(space, index, merged, fns, settings, fs)
    if store is not None and pc == 1:
        store.write_dataset(ds, file_format)
    n_div = int(np.sum(merged.get("diverged", 0)))
    if n_div:
        warnings.warn(f"{n_div} of {len(index)} samples blew up (NaN/inf); their features are "
                      "NaN and `diverged` is True. Lower dt or check the parameter ranges.",
                      RuntimeWarning, stacklevel=2)
    return ds


def load_sweep(path: str | os.PathLike):
    """Assemble a sweep's dataset from its directory (e.g. after a multi-host run)."""
    path = Path(path)
    man = json.loads((path / "manifest.json").read_text())
    space = Space(tuple(man["settings"]["names"]), np.asarray(man["values"]),
                  man["settings"]["kind"],
                  tuple(np.asarray(a) for a in man["axes"]) if man.get("axes") else None)
    store = _Store(path, man["fingerprint"], man["chunk_size"], man["settings"], len(space))
    n, cs = len(space), man["chunk_size"]
    n_chunks = -(-n // cs)
    missing = [c for c in range(n_chunks) if c not in set(store.completed())]
    if missing:
        raise ValueError(f"The sweep in {path} is incomplete: chunks {missing[:10]} are missing; "
                         "run the same sweep call again to finish it.")
    res = [store.load(c) for c in range(n_chunks)]
    merged = {k: np.concatenate([r[k] for r in res]) for k in res[0]}
    fns = {name: (None, tuple(d) if d is not None else None, {k: np.asarray(v) for k, v in co.items()})
           for name, (d, co) in man["dims"].items()}
    return _dataset(space, np.arange(n), merged, fns, man["settings"], man["fs"])


# ----------------------------------------------------------------------------- helpers


@eqx.filter_jit
def _run_chunk(model, noise, forcing, values, keys, static):
    """One chunk: a vmap over its samples (compiled once per model structure and settings; new
    parameter values, keys or models with the same structure reuse the compilation)."""
    (names, t0, t1, dt, save_every, n_saves, n_keep, fs, nperseg, features, solver,
     keep_trajectories) = static
    fns = _feature_fns(features, model, fs, n_keep, nperseg)

    def one(values, k):
        m = _set_params(model, names, values)
        sol = simulate(m, t0=t0, t1=t1, dt=dt, save_every=save_every, noise=noise,
                       forcing=forcing, key=k, solver=solver, save_state=False, throw=False,
                       checkpoint=False)
        obs = sol.observed[n_saves - n_keep:]
        x = obs.reshape(obs.shape[0], -1)
        out = {name: fn(x) for name, (fn, _, _) in fns.items()}
        out["diverged"] = ~sol.success
        if keep_trajectories:
            out["observed"] = obs
        return out

    return jax.vmap(one)(values, keys)


def _bytes_per_sample(model, n_saves) -> int:
    """Peak memory of one sample, from the run's shapes: saved observable, state and stages."""
    state = jax.eval_shape(model.initial_state)
    obs = jax.eval_shape(lambda: model.observe(model.initial_state()))
    item = state.dtype.itemsize
    return int((4 * n_saves * max(int(np.prod(obs.shape)), 1) + 32 * int(np.prod(state.shape)))
               * item) + 4096


def _default_budget(device) -> float:
    if device.platform == "cpu":
        return float(2 ** 30)
    try:
        stats = device.memory_stats()
        return 0.5 * float(stats["bytes_limit"] - stats.get("bytes_in_use", 0))
    except Exception:  # pragma: no cover - backends without memory stats
        return float(2 ** 31)


def _progress(total, enabled):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="sweep", unit="sim", leave=False)


def _fingerprint(settings, space, model, key) -> str:
    h = hashlib.sha256()
    h.update(json.dumps(settings, sort_keys=True).encode())
    h.update(np.ascontiguousarray(space.values).tobytes())
    for leaf in jax.tree.leaves(eqx.filter(model, eqx.is_array)):
        h.update(np.asarray(leaf).tobytes())
    h.update(str(jax.tree.structure(model)).encode())
    kd = jr.key_data(key) if jnp.issubdtype(key.dtype, jax.dtypes.prng_key) else key
    h.update(np.asarray(kd).tobytes())
    return h.hexdigest()


class _Store:
    """A sweep directory: manifest.json, chunks/chunk_NNNNNN.npz, and the final dataset."""

    def __init__(self, path: Path, fingerprint, chunk_size, settings, n):
        self.path, self.fingerprint, self.settings, self.n = path, fingerprint, settings, n
        self.chunk_size = chunk_size
        man = path / "manifest.json"
        if man.exists():
            old = json.loads(man.read_text())
            if old["fingerprint"] != fingerprint:
                raise ValueError(f"{path} holds a different sweep (other model, space, settings "
                                 "or key); choose another path or delete it.")
            self.chunk_size = old["chunk_size"]

    def clear(self):
        for f in (self.path / "chunks").glob("chunk_*.npz"):
            f.unlink()

    def write_manifest(self, chunk_size):
        self.chunk_size = chunk_size
        self.path.mkdir(parents=True, exist_ok=True)
        (self.path / "chunks").mkdir(exist_ok=True)
        man = self.path / "manifest.json"
        if not man.exists():
            _atomic_text(man, json.dumps({"fingerprint": self.fingerprint,
                                          "chunk_size": chunk_size, "settings": self.settings,
                                          "rosetta_jax": __version__, "jax": jax.__version__}))

    def add_layout(self, space, dims, fs):
        man = self.path / "manifest.json"
        d = json.loads(man.read_text())
        if "values" not in d:
            d.update({"values": np.asarray(space.values).tolist(), "fs": fs,
                      "axes": [a.tolist() for a in space.axes] if space.axes else None,
                      "dims": dims})
            _atomic_text(man, json.dumps(d))

    def completed(self):
        return sorted(int(f.stem.split("_")[1]) for f in (self.path / "chunks").glob("chunk_*.npz"))

    def save(self, c, out):
        tmp = self.path / "chunks" / f".chunk_{c:06d}.tmp.npz"
        np.savez(tmp, **out)
        os.replace(tmp, self.path / "chunks" / f"chunk_{c:06d}.npz")

    def load(self, c):
        with np.load(self.path / "chunks" / f"chunk_{c:06d}.npz") as z:
            return {k: z[k] for k in z.files}

    def write_dataset(self, ds, file_format):
        if file_format == "zarr":
            try:
                ds.to_zarr(self.path / "sweep.zarr", mode="w")
            except ImportError as e:  # pragma: no cover
                raise ImportError("file_format='zarr' needs zarr: pip install zarr") from e
        else:
            out = ds.copy()
            out["diverged"] = out["diverged"].astype("int8")
            tmp = self.path / ".sweep.nc.tmp"
            out.to_netcdf(tmp, engine="scipy")
            os.replace(tmp, self.path / "sweep.nc")


def _atomic_text(path: Path, text: str):
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _dataset(space, index, merged, fns, settings, fs):
    import xarray as xr

    data_vars, coords = {}, {}
    for name, (_, dims, co) in fns.items():
        if name not in merged:
            continue
        data_vars[name] = (("sample", *dims) if dims is not None else
                           ("sample", *[f"{name}_dim{i}" for i in range(merged[name].ndim - 1)]),
                           merged[name])
        coords.update(co)
    data_vars["diverged"] = ("sample", merged.get("diverged", np.zeros(len(index), bool)).astype(bool))
    if "observed" in merged:
        obs = merged["observed"]
        data_vars["observed"] = (("sample", "time", *[f"channel_dim{i}" for i in range(obs.ndim - 2)]),
                                 obs)
        coords["time"] = np.arange(obs.shape[1]) / fs
    for j, pname in enumerate(space.names):
        coords[pname] = ("sample", space.values[index, j])
    attrs = {"settings": json.dumps(settings), "sampling_rate_hz": float(fs),
             "rosetta_jax": __version__, "jax": jax.__version__, "space": space.kind}
    ds = xr.Dataset(data_vars, coords=coords, attrs=attrs)
    if space.kind == "grid" and len(index) == len(space):
        if len(space.names) == 1:
            ds = ds.swap_dims({"sample": space.names[0]})
        else:
            ds = ds.set_index(sample=list(space.names)).unstack("sample")
        ds = ds.transpose(*space.names, ...)
    return ds
