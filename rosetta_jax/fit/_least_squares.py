"""Levenberg-Marquardt for regional spectral fits: many small, independent least-squares
problems (one per region and start, ten or so parameters and a few dozen residuals each) solved
together, vmapped, by optimistix's `LevenbergMarquardt`, in chunks of steps that are
checkpointed.

A small least-squares problem converges in tens of Gauss-Newton steps where a first-order
optimiser needs hundreds, and the Jacobian (forward mode, one tangent per parameter) costs a
few spectrum evaluations: this is what makes a 68-region fit take seconds.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx

from ..analysis._spectra import peak_frequency
from ..noise import AbstractNoise
from ..store import Store, fingerprint
from ._methods import Linear
from ._observed import Observed


@dataclasses.dataclass(frozen=True)
class Leaf:
    """Selects one leaf of a model by its path of attribute names and indices (equal paths
    compare equal, so a compiled fit is reused by the next fit of the same structure)."""

    path: tuple[str | int, ...]

    def __call__(self, model):
        for step in self.path:
            model = model[step] if isinstance(step, int) else getattr(model, step)
        return model


@dataclasses.dataclass(frozen=True)
class Selection:
    """Selects several leaves (a tuple of `Leaf`), as `fit`'s `params` selectors do."""

    leaves: tuple[Leaf, ...]

    def __call__(self, model):
        return tuple(s(model) for s in self.leaves)


class Residuals(eqx.Module):
    """One region's residuals: its log-PSD error in the band (mean removed: the overall scale
    is free) over the square root of the number of frequencies, the weighted alpha-peak error
    [Hz] and the stability penalty's root, so that their sum of squares is the region's part of
    `SpectrumObjective`'s loss plus the penalty. `u` holds the fitted parameters in the
    unconstrained space; `args` is `(log10 target PSD, target peak frequency [Hz])`."""

    template: Observed
    selectors: tuple[Leaf, ...] = eqx.field(static=True)
    transforms: tuple
    method: Linear
    noise: AbstractNoise
    freqs: jax.Array
    mask: jax.Array
    peak_weight: float = eqx.field(static=True)
    peak_band: tuple[float, float] = eqx.field(static=True)

    def model(self, u):
        """The region's model at unconstrained values `u` (one per fitted leaf)."""
        values = tuple(t.forward(u[i]) for i, t in enumerate(self.transforms))
        return eqx.tree_at(lambda m: tuple(s(m) for s in self.selectors), self.template, values)

    def __call__(self, u, args):
        log_target, peak_target = args
        psd, zeta = self.model(u).spectrum(self.method, self.noise, self.freqs)
        psd = psd[:, 0]
        n = jnp.sum(self.mask)
        d = jnp.log10(jnp.maximum(psd, 1e-300)) - log_target
        d = jnp.where(self.mask, d - jnp.sum(jnp.where(self.mask, d, 0.0)) / n, 0.0)
        parts = [d / jnp.sqrt(n)]
        if self.peak_weight:
            peak = peak_frequency(self.freqs, psd, self.peak_band, axis=0)
            parts.append(jnp.sqrt(self.peak_weight) * (peak - peak_target)[None])
        if self.method.stability_weight:
            shortfall = jax.nn.relu(1.0 - zeta / self.method.min_damping)
            parts.append(jnp.sqrt(self.method.stability_weight) * shortfall[None])
        return jnp.concatenate(parts)


@eqx.filter_jit
def _chunk(residuals: Residuals, u, args, max_steps: int, rtol: float, atol: float):
    """Up to `max_steps` Levenberg-Marquardt steps for every row of `u`: the new values,
    whether each problem converged, and each one's loss (sum of squared residuals). A problem
    whose loss is not finite keeps its values."""
    solver = optx.LevenbergMarquardt(rtol=rtol, atol=atol)

    def one(u0, a):
        sol = optx.least_squares(residuals, solver, u0, args=a, max_steps=max_steps, throw=False)
        loss = jnp.sum(residuals(sol.value, a) ** 2)
        ok = jnp.isfinite(loss) & jnp.all(jnp.isfinite(sol.value))
        u1 = jnp.where(ok, sol.value, u0)
        loss = jnp.where(ok, loss, jnp.sum(residuals(u0, a) ** 2))
        return u1, ok & (sol.result == optx.RESULTS.successful), loss, residuals(u1, a)

    return jax.vmap(one)(u, args)


def solve(
    residuals: Residuals,
    u0: np.ndarray,
    args: tuple[Any, Any],
    *,
    steps: int,
    chunk: int = 10,
    rtol: float = 1e-4,
    atol: float = 1e-8,
    checkpoint: str | os.PathLike | None = None,
    fingerprint_parts: dict | None = None,
    progress: bool = True,
) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
    """Levenberg-Marquardt on every row of `u0` (problems x parameters), `chunk` steps at a
    time until all have converged or `steps` are spent; after each chunk the values are saved
    in `checkpoint` (a resumable store fingerprinted over `fingerprint_parts`; a resumed run
    continues from the last chunk and ends where an uninterrupted one does).

    Returns:
        The values, the loss history `(chunks, problems)`, the steps run and the final
        residuals `(problems, n_residuals)`.
    """
    n_chunks = -(-int(steps) // int(chunk))
    u, history, r = np.asarray(u0), [], None
    store, done_chunks = None, 0
    if checkpoint is not None:
        store = Store(
            checkpoint,
            "fit",
            fingerprint(dict(fingerprint_parts or {}, solver="levenberg-marquardt", chunk=chunk)),
            what=f"The fit checkpoint in {os.fspath(checkpoint)}",
        )
        u, history, done_chunks = _resume(store, u, n_chunks)
    from tqdm.auto import tqdm

    bar = tqdm(
        total=n_chunks * chunk,
        initial=done_chunks * chunk,
        desc="fit (Levenberg-Marquardt)",
        disable=not progress,
    )
    for c in range(done_chunks, n_chunks):
        u, ok, loss, r = _chunk(residuals, jnp.asarray(u), args, int(chunk), rtol, atol)
        u, r = np.asarray(u), np.asarray(r)
        history.append(np.asarray(loss, dtype=np.float64))
        converged = bool(np.all(np.asarray(ok)))
        bar.update(chunk)
        bar.set_postfix(loss=f"{float(np.mean(loss)):.4g}")
        if store is not None:
            arrays = {"u": u, "history": np.stack(history)}
            store.save("lm_state.npz", arrays, chunk=c + 1, converged=converged)
        if converged:
            break
    bar.close()
    if r is None:  # resumed from a finished run: nothing left to do
        r = np.asarray(_residuals_of(residuals, jnp.asarray(u), args))
    return u, np.stack(history), len(history) * int(chunk), r


@eqx.filter_jit
def _residuals_of(residuals, u, args):
    return jax.vmap(residuals)(u, args)


def _resume(store: Store, u, n_chunks):
    """Values, history and chunks done of the last saved chunk (the start when none is
    intact); a run saved as converged counts as finished."""
    entry = store.recorded().get("lm_state.npz")
    if entry is None:
        return u, [], 0
    done = min(int(entry.get("chunk", 0)), n_chunks)
    expect = {"u": (u.shape, u.dtype), "history": ((done, u.shape[0]), np.dtype(np.float64))}
    got = store.load("lm_state.npz", expect, entry)
    if got is None or done == 0:
        return u, [], 0
    done = n_chunks if entry.get("converged") else done
    return got["u"], list(got["history"]), done
