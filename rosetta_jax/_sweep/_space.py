"""The parameter space of a sweep (`Space`) and setting its parameters in a model."""

from __future__ import annotations

import dataclasses
import itertools
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import ArrayLike, Float

from .._paths import get, leaf


# What the constructors take per parameter: its values (a grid's axis, or one value per sample),
# or its (low, high) bounds.
_Values = Float[ArrayLike, " n_values"]
_Bound = tuple[float, float]
_Bounds = Mapping[str, _Bound]


@dataclasses.dataclass(frozen=True)
class Space:
    """The parameter sets of a sweep.

    Build one with `Space.grid`, `Space.random`, `Space.sobol` or `Space.samples`. Parameters are
    named by their attribute path in the model: `"p"` for a node, `"G"` or `"node.p"` for a
    `Network`, `"G"`, `"cortex.C"` or `"cortex.efferent_scale"` for a `MixedNetwork` (a group
    by its name; see `MixedNetwork`). A regional parameter is set to the same value in every
    region (of the group).

    Attributes:
        names: the parameter paths.
        values: shape `(n_samples, n_params)`.
        kind: `"grid"`, `"random"`, `"sobol"` or `"samples"`.
        axes: for a grid, the values along each parameter.
    """

    names: tuple[str, ...]
    values: Float[np.ndarray, "n_samples n_params"]
    kind: str
    axes: tuple[Float[np.ndarray, " n_values"], ...] | None = None

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
    def grid(cls, params: Mapping[str, _Values] | None = None, /, **axes: _Values) -> Space:
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
        cls, n: int, params: _Bounds | None = None, /, *, seed: int = 0, **bounds: _Bound
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
        params: _Bounds | None = None,
        /,
        *,
        seed: int = 0,
        scramble: bool = True,
        **bounds: _Bound,
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
    def samples(cls, params: Mapping[str, _Values] | None = None, /, **values: _Values) -> Space:
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
    """The function reading the parameter at a dotted attribute path (`"node.p"`,
    `"cortex.C"`)."""
    return lambda m: get(m, path)


def _check_params(model, names):
    """Every name must be a floating-point array leaf of the model."""
    for name in names:
        leaf(model, name)


def _set_params(model, names, values):
    """The model with each named parameter set to its value (broadcast to the leaf's shape)."""
    for i, name in enumerate(names):
        where = _getter(name)
        old = where(model)
        model = eqx.tree_at(where, model, jnp.broadcast_to(values[i].astype(old.dtype), old.shape))
    return model
