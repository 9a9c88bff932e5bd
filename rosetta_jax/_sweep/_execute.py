"""Running a sweep's chunks: one compiled `vmap` per chunk, its batch sharded over the local
devices, chunks shared out over the processes, each finished chunk saved before the next."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from .. import features as F
from ..engine import simulate
from ._chunks import _Chunks
from ._plan import _Plan
from ._space import _set_params


# A sample that blows up is flagged (`diverged`) rather than raised, and only its observable
# is kept: the features need nothing else.
_RUN = {"save_state": False, "throw": False, "checkpoint": False}


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
        sol = simulate(m, key=k, noise=noise, forcing=forcing, solver=solver, **plan.grid, **_RUN)
        obs = sol.observed[plan.n_saves - n_keep :]
        x = obs.reshape(obs.shape[0], -1)
        s = plan.sampling
        out = F.compute(feats, F.Activity(x=x, fs=s.fs, nperseg=s.nperseg))
        out["diverged"] = ~sol.success
        if plan.keep_trajectories:
            out["observed"] = obs
        return out

    return jax.vmap(one)(values, keys)


def _my_chunks(n_chunks: int) -> list[int]:
    """The chunks of this process: `k, k + n, ...` for process `k` of `n`."""
    pi, pc = jax.process_index(), jax.process_count()
    return [c for c in range(n_chunks) if c % pc == pi]


def _execute(run, store, chunks: _Chunks, layout, progress, on_chunk):
    """Run (or load) this process's chunks, saving each finished one before the next.

    Returns:
        `{chunk index: {array name: host array}}` in chunk order.
    """
    mine = _my_chunks(chunks.count)
    recorded = store.recorded() if store is not None else {}
    results: dict[int, dict[str, np.ndarray]] = {}
    bar = _progress(sum(len(chunks.rows(c)) for c in mine), progress)
    for c in mine:
        lo, hi = chunks.bounds(c)
        name = chunks.name(c)
        out = None
        if store is not None and (name in recorded or (store.path / name).exists()):
            out = store.load(name, chunks.expected(layout, c), recorded.get(name))
        if out is None:
            out = run(lo, hi, chunks.size)
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


def _progress(total, enabled):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="sweep", unit="sim", leave=False)
