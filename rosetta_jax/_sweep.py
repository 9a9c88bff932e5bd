"""Batch parameter sweeps: vmapped simulations with features computed inside, chunked to a
memory budget, sharded over the local devices, resumable, returned as an `xarray.Dataset`.

One sample = one simulation of the model with some parameters replaced. Samples are run in
chunks of equal size (the last one padded, so nothing recompiles); each chunk is one `jit` of a
`vmap` over its samples, its batch axis sharded over all local devices with `jax.sharding`.
Only the features leave the device (peak frequency, band powers, FC, ...), never the
trajectories unless asked. With `path`, every finished chunk is written to a resumable store
(`rosetta_jax.store`) before the next starts: an interrupted sweep resumes from its completed
chunks and repeats none, a sweep with other inputs is refused, a damaged chunk is recomputed.
The noise key of sample `i` is `jax.random.fold_in(key, i)` whatever the chunking, the device
count or the process count.
"""

from __future__ import annotations

import dataclasses
import functools
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

from . import features as F
from ._simulate import simulate
from ._version import __version__
from .network import Network
from .store import Store, fingerprint
from .units import TimeUnit


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
            raise ValueError(
                "Name at least one parameter, e.g. Space.grid(G=np.linspace(0, 1, 8)) "
                "or Space.grid({'node.p': [...]})."
            )
        return out

    @classmethod
    def grid(cls, params: Mapping[str, Any] | None = None, /, **axes) -> Space:
        """Every combination of the given values (the first parameter varies slowest)."""
        axes_d = cls._merge(params, axes)
        vals = []
        for name, v in axes_d.items():
            v = np.asarray(v, dtype=float).reshape(-1)
            if v.size == 0 or not np.all(np.isfinite(v)):
                raise ValueError(
                    f"Grid values of `{name}` must be a non-empty set of finite numbers."
                )
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
                raise ValueError(
                    f"Bounds of `{name}` must be (low, high) with low < high; got {v!r}."
                )
            lo.append(float(v[0]))
            hi.append(float(v[1]))
        return tuple(b), np.array(lo), np.array(hi)

    @classmethod
    def random(
        cls, n: int, params: Mapping[str, Any] | None = None, /, *, seed: int = 0, **bounds
    ) -> Space:
        """`n` samples drawn uniformly within `(low, high)` bounds per parameter."""
        names, lo, hi = cls._bounds(params, bounds)
        _check_n(n)
        u = np.random.default_rng(seed).random((n, len(names)))
        return cls(names, lo + u * (hi - lo), "random")

    @classmethod
    def sobol(
        cls,
        n: int,
        params: Mapping[str, Any] | None = None,
        /,
        *,
        seed: int = 0,
        scramble: bool = True,
        **bounds,
    ) -> Space:
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
            raise ValueError(
                f"The model has no parameter `{name}`; its fields are {fields} "
                "(use dotted paths such as 'node.p' for a network's node)."
            ) from None
        if not eqx.is_inexact_array(leaf):
            raise ValueError(
                f"`{name}` is not a floating-point array leaf of the model; sweep "
                "numeric parameters."
            )


def _set_params(model, names, values):
    for i, name in enumerate(names):
        get = _getter(name)
        leaf = get(model)
        model = eqx.tree_at(get, model, jnp.broadcast_to(values[i].astype(leaf.dtype), leaf.shape))
    return model


# ----------------------------------------------------------------------------- features


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


# ----------------------------------------------------------------------------- the sweep


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
    def settings(self) -> dict[str, Any]:
        s = self.sampling
        return {
            "names": list(self.names),
            "t0": self.t0,
            "t1": self.t1,
            "dt": self.dt,
            "save_every": self.save_every,
            "n_saves": self.n_saves,
            "n_keep": s.n_keep,
            "nperseg": s.nperseg,
            "fs": s.fs,
            "frequency_unit": s.unit,
            "keep_trajectories": self.keep_trajectories,
        }


def _plan(model, space, t0, t1, dt, save_every, discard, nperseg, keep) -> _Plan:
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
    if nperseg is None:  # 2 s of data in Hz, half the kept run for dimensionless models
        nperseg = round(2.0 * fs) if unit.seconds else n_keep // 2
        nperseg = min(n_keep, max(16, int(nperseg)))
    if not isinstance(nperseg, (int, np.integer)) or not 8 <= nperseg <= n_keep:
        raise ValueError(
            f"`nperseg` must be an integer in [8, {n_keep}] (the kept samples); got {nperseg!r}."
        )
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


def _features(features, bands, peak_band, model, sampling: _Sampling):
    """The requested features as objects, bound to the model and checked against Nyquist."""
    feats = F.from_names(features, bands)
    if peak_band is not None:
        feats = tuple(
            F.PeakFrequency(peak_band, f.label)
            if isinstance(f, F.PeakFrequency) and f.band is None
            else f
            for f in feats
        )
    return F.bind_all(feats, model, sampling.fs / 2)


def _check_delays_in_space(model, names, values, dt) -> None:
    """With delays, every sample's delays must fit the network's buffer and exceed dt."""
    if not (isinstance(model, Network) and model.has_delays):
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
                    f"beyond the delay buffer sized when the Network was built "
                    f"(max_delay={model.max_delay:.6g} {unit}): it would be clipped. Build the "
                    "Network with min_speed=<the slowest speed you sweep> (or a larger "
                    "max_delay)."
                )
            raise ValueError(
                f"At sample {i} ({at}) the shortest conduction delay is "
                f"{lo[i]:.6g} {unit}, below dt={dt:g}; lower dt or keep the speed "
                "lower."
            )


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
    if not isinstance(space, Space):
        raise TypeError(
            "`space` must be a Space: Space.grid(...), Space.random(...), "
            "Space.sobol(...) or Space.samples(...)."
        )
    if file_format not in ("netcdf", "zarr"):
        raise ValueError(f"`file_format` must be 'netcdf' or 'zarr'; got {file_format!r}.")
    _check_params(model, space.names)
    plan = _plan(model, space, t0, t1, dt, save_every, discard, nperseg, keep_trajectories)
    feats = _features(features, bands, peak_band, model, plan.sampling)
    _check_delays_in_space(model, space.names, np.asarray(space.values), plan.dt)
    key = jr.key(0) if key is None else key
    devices = list(jax.local_devices() if devices is None else devices)
    n = len(space)
    if chunk_size is None:
        budget = memory_budget or _default_budget(devices[0])
        chunk_size = int(max(1, budget // max(_bytes_per_sample(model, plan.n_saves), 1)))
        chunk_size = min(chunk_size, -(-n // len(devices)) * len(devices))
    chunk_size = max(len(devices), (int(chunk_size) // len(devices)) * len(devices))
    run = _ChunkRunner(
        model, noise, forcing, solver, key, plan, feats, devices, np.asarray(space.values)
    )
    layout = _layout(feats, model, run.out_shapes(chunk_size), plan, space)

    store = None
    if path is not None:
        store = _open_store(
            path,
            resume,
            chunk_size,
            layout,
            {
                "model": model,
                "space": _space_record(space),
                "features": feats,
                "noise": noise,
                "forcing": forcing,
                "solver": solver,
                "key": key,
                "settings": plan.settings,
            },
        )
        chunk_size = store.meta["chunk_size"]  # the stored chunking, so that chunks line up
    pi, pc = jax.process_index(), jax.process_count()
    n_chunks = -(-n // chunk_size)
    mine = [c for c in range(n_chunks) if c % pc == pi]
    results = _execute(run, store, mine, chunk_size, n, layout, progress, on_chunk)

    index = (
        np.concatenate([_chunk_range(c, chunk_size, n) for c in mine]) if mine else np.zeros(0, int)
    )
    merged = (
        {k: np.concatenate([results[c][k] for c in mine]) for k in results[mine[0]]} if mine else {}
    )
    ds = _dataset(space, index, merged, layout)
    if store is not None and pc == 1:
        _write_dataset(store.path, ds, file_format)
    n_div = int(np.sum(merged.get("diverged", 0)))
    if n_div:
        warnings.warn(
            f"{n_div} of {len(index)} samples blew up (NaN/inf); their features are "
            "NaN and `diverged` is True. Lower dt or check the parameter ranges.",
            RuntimeWarning,
            stacklevel=2,
        )
    return ds


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
    n, cs = len(space), layout["chunk_size"]
    recorded = store.recorded()
    res, missing = [], []
    for c in range(-(-n // cs)):
        name = _chunk_name(c)
        got = store.load(name, _expected(layout, c, cs, n), recorded.get(name))
        (missing.append(c) if got is None else res.append(got))
    if missing:
        raise ValueError(
            f"The sweep in {path} is incomplete: chunks {missing[:10]} are missing "
            "or damaged; run the same sweep call again to finish it."
        )
    merged = {k: np.concatenate([r[k] for r in res]) for k in res[0]}
    return _dataset(space, np.arange(n), merged, layout)


# ----------------------------------------------------------------------------- execution


class _ChunkRunner:
    """Runs chunks of samples: parameter values and keys in, features out (host arrays)."""

    def __init__(self, model, noise, forcing, solver, key, plan, feats, devices, values):
        self.args = (model, noise, forcing, solver)
        self.key, self.plan, self.feats, self.values = key, plan, feats, values
        self.devices = devices

    def _inputs(self, idx):
        vals = jnp.asarray(self.values[idx])
        keys = jax.vmap(lambda i: jr.fold_in(self.key, i))(jnp.asarray(idx))
        return vals, keys

    def out_shapes(self, chunk_size: int) -> dict[str, jax.ShapeDtypeStruct]:
        vals, keys = self._inputs(np.zeros(chunk_size, int))
        return eqx.filter_eval_shape(_run_chunk, *self.args, vals, keys, self.plan, self.feats)

    def __call__(self, lo: int, hi: int, chunk_size: int) -> dict[str, np.ndarray]:
        # Shard the batch over as many devices as divide the chunk (all, unless a resumed
        # sweep's stored chunk size was chosen for another device count).
        k = max(d for d in range(1, len(self.devices) + 1) if chunk_size % d == 0)
        mesh = jax.sharding.Mesh(np.asarray(self.devices[:k]), ("batch",))
        sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("batch"))
        idx = np.minimum(np.arange(lo, lo + chunk_size), len(self.values) - 1)  # pad: last
        vals, keys = (jax.device_put(a, sharding) for a in self._inputs(idx))
        out = _run_chunk(*self.args, vals, keys, self.plan, self.feats)
        return {k: np.asarray(v)[: hi - lo] for k, v in out.items()}


@eqx.filter_jit
def _run_chunk(model, noise, forcing, solver, values, keys, plan: _Plan, feats):
    """One chunk: a vmap over its samples (compiled once per model structure and settings; new
    parameter values, keys or models with the same structure reuse the compilation)."""
    n_keep = plan.sampling.n_keep

    def one(values, k):
        m = _set_params(model, plan.names, values)
        sol = simulate(
            m,
            t0=plan.t0,
            t1=plan.t1,
            dt=plan.dt,
            save_every=plan.save_every,
            noise=noise,
            forcing=forcing,
            key=k,
            solver=solver,
            save_state=False,
            throw=False,
            checkpoint=False,
        )
        obs = sol.observed[plan.n_saves - n_keep :]
        x = obs.reshape(obs.shape[0], -1)
        s = plan.sampling
        out = F.compute(feats, F.Activity(x=x, fs=s.fs, nperseg=s.nperseg))
        out["diverged"] = ~sol.success
        if plan.keep_trajectories:
            out["observed"] = obs
        return out

    return jax.vmap(one)(values, keys)


def _execute(run, store, mine, chunk_size, n, layout, progress, on_chunk):
    """Run (or load) this process's chunks, saving each finished one before the next."""
    recorded = store.recorded() if store is not None else {}
    results: dict[int, dict[str, np.ndarray]] = {}
    bar = _progress(sum(len(_chunk_range(c, chunk_size, n)) for c in mine), progress)
    for c in mine:
        lo, hi = c * chunk_size, min((c + 1) * chunk_size, n)
        name = _chunk_name(c)
        out = None
        if store is not None and (name in recorded or (store.path / name).exists()):
            out = store.load(name, _expected(layout, c, chunk_size, n), recorded.get(name))
        if out is None:
            out = run(lo, hi, chunk_size)
            if store is not None:
                store.save(name, out, chunk=c)
            if on_chunk is not None:
                on_chunk(c)
        results[c] = out
        if bar is not None:
            bar.update(hi - lo)
    if bar is not None:
        bar.close()
    return results


def _open_store(path, resume, chunk_size, layout, parts) -> Store:
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


def _space_record(space: Space) -> dict[str, Any]:
    return {
        "names": space.names,
        "values": np.asarray(space.values),
        "kind": space.kind,
        "axes": space.axes,
    }


def _chunk_name(c: int) -> str:
    return f"chunks/chunk_{c:06d}.npz"


def _chunk_range(c: int, chunk_size: int, n: int) -> np.ndarray:
    return np.arange(c * chunk_size, min((c + 1) * chunk_size, n))


def _layout(feats, model, shapes, plan: _Plan, space: Space) -> dict[str, Any]:
    """What a reader needs to check and assemble chunks (JSON)."""
    n_ch = int(np.prod(jax.eval_shape(lambda: model.observe(model.initial_state())).shape) or 1)
    dims = {}
    for f in feats:
        d, co = (None, {}) if isinstance(f, F.Custom) else f.dims(n_ch, plan.sampling.freqs)
        dims[f.name] = [
            list(d) if d is not None else None,
            {k: np.asarray(v).tolist() for k, v in co.items()},
        ]
    arrays = {k: [list(v.shape[1:]), np.dtype(v.dtype).str] for k, v in shapes.items()}
    return {
        "names": list(space.names),
        "kind": space.kind,
        "values": np.asarray(space.values).tolist(),
        "axes": [np.asarray(a).tolist() for a in space.axes] if space.axes else None,
        "dims": dims,
        "arrays": arrays,
        "fs": plan.sampling.fs,
        "settings": plan.settings,
    }


def _expected(layout, c, chunk_size, n):
    rows = len(_chunk_range(c, chunk_size, n))
    return {k: ((rows, *shape), np.dtype(dt)) for k, (shape, dt) in layout["arrays"].items()}


def _bytes_per_sample(model, n_saves) -> int:
    """Peak memory of one sample, from the run's shapes: saved observable, state and stages."""
    state = jax.eval_shape(model.initial_state)
    obs = jax.eval_shape(lambda: model.observe(model.initial_state()))
    item = state.dtype.itemsize
    return (
        int((4 * n_saves * max(int(np.prod(obs.shape)), 1) + 32 * int(np.prod(state.shape))) * item)
        + 4096
    )


def _default_budget(device) -> float:
    if device.platform == "cpu":
        return float(2**30)
    try:
        stats = device.memory_stats()
        return 0.5 * float(stats["bytes_limit"] - stats.get("bytes_in_use", 0))
    except Exception:  # pragma: no cover - backends without memory stats
        return float(2**31)


def _progress(total, enabled):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="sweep", unit="sim", leave=False)


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


def _dataset(space, index, merged, layout):
    import xarray as xr

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
