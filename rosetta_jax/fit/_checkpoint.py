"""Checkpoints of `fit`: the optimiser's state, each start's best values, the loss history and
the plateau rule's state in a resumable store (`rosetta_jax.store`), fingerprinted over every
input of the fit."""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import numpy as np

from ..store import Store, fingerprint
from ._steps import _Problem, _Search
from ._stopping import _PlateauState


class _Checkpoint:
    """A fit's checkpoints in a resumable store: `state_<step>.npz` files holding the
    optimiser's state, the best values so far, the loss history and the plateau rule's state
    (reference loss and steps waited per start), the newest two kept."""

    def __init__(self, path, resume, parts):
        self.store = Store(
            path,
            "fit",
            fingerprint(parts),
            resume=resume,
            what=f"The fit checkpoint in {os.fspath(path)}",
        )

    @classmethod
    def of_fit(cls, path, resume, problem: _Problem, names, optimizer, key, settings, stop):
        """The checkpoint of a fit: its fingerprint covers the model, the objective (and its
        target data), the selector, names, transforms, priors, the optimiser (the default
        one's schedule included), the key, the multi-start and clipping settings and the
        stopping rule (a fit resumed under another rule would not end where an uninterrupted
        one does)."""
        return cls(
            path,
            resume,
            {
                "model": problem.model,
                "objective": problem.objective,
                "params": problem.params,
                "names": names,
                "transforms": problem.transforms,
                "priors": problem.priors,
                "optimizer": optimizer,
                "key": key,
                "settings": settings,
                "stop": stop,
            },
        )

    @staticmethod
    def _name(step: int) -> str:
        return f"state_{step:08d}.npz"

    def save(self, tree, step, history, best_loss, plateau: _PlateauState):
        leaves = jax.tree.leaves(tree)
        arrays = {f"leaf_{i}": np.asarray(x) for i, x in enumerate(leaves)}
        arrays.update(
            history=np.asarray(history, dtype=np.float64),
            best_loss=np.asarray(best_loss, dtype=np.float64),
            plateau_best=np.asarray(plateau.best, dtype=np.float64),
            plateau_wait=np.asarray(plateau.wait, dtype=np.int64),
        )
        self.store.save(self._name(step), arrays, step=int(step))
        recorded = sorted((e.get("step", 0), n) for n, e in self.store.recorded().items())
        for _, name in recorded[:-2]:  # keep the newest two
            self.store.remove(name)

    def latest(self, like, steps, n_starts):
        """(tree, step, arrays) of the newest intact checkpoint at or before `steps`, or None
        (`arrays`: its `history`, `best_loss`, `plateau_best` and `plateau_wait`). Damaged
        ones are skipped with a warning."""
        leaves, treedef = jax.tree.flatten(like)
        entries = sorted(self.store.recorded().items(), key=lambda kv: -kv[1].get("step", 0))
        for name, entry in entries:
            step = int(entry.get("step", 0))
            if step > steps:
                continue
            expect = {f"leaf_{i}": (np.shape(x), np.asarray(x).dtype) for i, x in enumerate(leaves)}
            expect.update(
                history=((step, n_starts), np.float64),
                best_loss=((n_starts,), np.float64),
                plateau_best=((n_starts,), np.float64),
                plateau_wait=((n_starts,), np.int64),
            )
            got = self.store.load(name, expect, entry)
            if got is not None:
                tree = jax.tree.unflatten(
                    treedef,
                    [
                        jnp.asarray(got[f"leaf_{i}"])
                        if isinstance(x, jax.Array)
                        else got[f"leaf_{i}"]
                        for i, x in enumerate(leaves)
                    ],
                )
                return tree, step, got
        return None

    def resume(self, search: _Search) -> _Search:
        """`search` continued from the newest intact checkpoint (unchanged if there is none)."""
        history = search.history
        state = self.latest((search.u, search.opt_state, search.best_u), *history.shape)
        if state is None:
            return search
        (u, opt_state, best_u), start_step, got = state
        history[:start_step] = got["history"]
        plateau = _PlateauState(got["plateau_best"], got["plateau_wait"])
        return _Search(u, opt_state, best_u, got["best_loss"], history, start_step, plateau)
