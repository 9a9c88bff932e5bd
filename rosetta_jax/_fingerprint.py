"""Fingerprints over everything that determines a result, for the resumable store.

`fingerprint(parts)` walks each part (model, noise, forcing, solver, features, objective,
optimiser, key, settings...) down to its leaves: every array's values, dtype and shape, every
static field of every module, every number and string, and the code, defaults and closed-over
values of every function (so a custom feature, a parameter selector or an optax optimiser with
another learning rate is told apart). Nothing is hashed through `repr`, which abbreviates arrays
(equinox prints `f32[]`). `Fingerprint.differences` names the parts and leaves that differ.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import hashlib
import json
import math
import os
import types
from collections.abc import Mapping
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np


def _digest(*chunks: bytes | str) -> str:
    h = hashlib.sha256()
    for c in chunks:
        b = c.encode() if isinstance(c, str) else c
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.hexdigest()


def _array_record(x) -> str:
    if isinstance(x, jax.core.Tracer):
        raise TypeError("A traced value cannot be fingerprinted: call this outside jit/vmap/grad.")
    tag = ""
    if isinstance(x, jax.Array) and jnp.issubdtype(x.dtype, jax.dtypes.prng_key):
        tag = f"key<{jax.random.key_impl(x)}>"
        x = jax.random.key_data(x)
    a = np.ascontiguousarray(np.asarray(x))
    if a.dtype == object:
        raise TypeError("An object array cannot be fingerprinted; pass numeric arrays.")
    return "array:" + _digest(tag, a.dtype.str, repr(a.shape), a.tobytes())


def _code_record(code: types.CodeType) -> str:
    consts = [
        (_code_record(c) if isinstance(c, types.CodeType) else f"{type(c).__name__}:{c!r}")
        for c in code.co_consts
    ]
    return _digest(
        code.co_code,
        repr(consts),
        repr(code.co_names),
        repr(code.co_varnames),
        repr(code.co_freevars),
    )


def _qualname(obj) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', type(obj).__name__)}"


class _Walker:
    """Turns an object into {path: record} (records are short strings or digests)."""

    max_depth = 64

    def __init__(self):
        self.out: dict[str, str] = {}
        self._active: set[int] = set()

    def walk(self, obj, path: str, depth: int = 0) -> None:
        if depth > self.max_depth:
            raise TypeError(f"{path}: nested too deeply to fingerprint.")
        if obj is None or isinstance(obj, (bool, str, bytes)):
            self.out[path] = f"{type(obj).__name__}:{obj!r}"
        elif isinstance(obj, (int, float)) and not isinstance(obj, enum.Enum):
            # 1 and 1.0 give the same result wherever a number is expected.
            v = float(obj)
            self.out[path] = f"num:{v!r}" if (math.isfinite(v) and v == obj) else f"num:{obj!r}"
        elif isinstance(obj, complex):
            self.out[path] = f"complex:{obj!r}"
        elif isinstance(obj, (np.ndarray, np.generic, jax.Array)):
            self.out[path] = _array_record(obj)
        elif isinstance(obj, np.dtype):
            self.out[path] = f"dtype:{obj!s}"
        elif isinstance(obj, type):
            self.out[path] = f"type:{_qualname(obj)}"
        elif isinstance(obj, enum.Enum):
            self.out[path] = f"enum:{_qualname(type(obj))}.{obj.name}"
        elif isinstance(obj, os.PathLike):
            self.out[path] = f"path:{os.fspath(obj)}"
        elif isinstance(obj, types.ModuleType):
            self.out[path] = f"module:{obj.__name__}"
        elif id(obj) in self._active:
            self.out[path] = "<cycle>"
        else:
            self._active.add(id(obj))
            try:
                self._container(obj, path, depth)
            finally:
                self._active.discard(id(obj))

    def _container(self, obj, path, depth):
        d = depth + 1
        if isinstance(obj, Mapping):
            self.out[path] = f"mapping:{_qualname(type(obj))}:{len(obj)}"
            for k in sorted(obj, key=repr):
                self.walk(obj[k], f"{path}[{k!r}]", d)
        elif isinstance(obj, (tuple, list)):
            fields = getattr(obj, "_fields", None)  # a namedtuple: name its entries
            self.out[path] = f"seq:{_qualname(type(obj))}:{len(obj)}"
            for i, v in enumerate(obj):
                self.walk(v, f"{path}.{fields[i]}" if fields else f"{path}[{i}]", d)
        elif isinstance(obj, (set, frozenset)):
            self.out[path] = f"set:{sorted(repr(v) for v in obj)!r}"
        elif dataclasses.is_dataclass(obj):  # equinox modules included, static fields too
            self.out[path] = f"class:{_qualname(type(obj))}"
            for f in dataclasses.fields(obj):
                self.walk(getattr(obj, f.name, None), f"{path}.{f.name}", d)
        elif isinstance(obj, functools.partial):
            self.out[path] = "partial"
            self.walk(obj.func, f"{path}.func", d)
            self.walk(obj.args, f"{path}.args", d)
            self.walk(obj.keywords, f"{path}.keywords", d)
        elif isinstance(obj, types.FunctionType):
            self._function(obj, path, d)
        elif hasattr(obj, "__self__") and hasattr(obj, "__func__"):  # bound methods
            self.walk(obj.__func__, f"{path}.__func__", d)
            self.walk(obj.__self__, f"{path}.__self__", d)
        elif isinstance(obj, (types.BuiltinFunctionType, types.BuiltinMethodType, np.ufunc)):
            self.out[path] = f"builtin:{_qualname(obj)}"
        elif callable(obj) and hasattr(obj, "__wrapped__"):  # jax.jit and functools.wraps
            self.out[path] = f"wrapped:{_qualname(obj)}"
            self.walk(obj.__wrapped__, f"{path}.__wrapped__", d)
        elif hasattr(obj, "__dict__"):
            self.out[path] = f"object:{_qualname(type(obj))}"
            for k in sorted(vars(obj)):
                self.walk(vars(obj)[k], f"{path}.{k}", d)
        else:
            text = repr(obj)
            if " at 0x" in text:
                raise TypeError(
                    f"{path}: cannot fingerprint a {type(obj).__name__} (its repr "
                    "holds a memory address)."
                )
            self.out[path] = f"repr:{_qualname(type(obj))}:{text}"

    def _function(self, fn, path, d):
        self.out[path] = f"function:{_qualname(fn)}:{_code_record(fn.__code__)}"
        if fn.__defaults__:
            self.walk(fn.__defaults__, f"{path}.__defaults__", d)
        if fn.__kwdefaults__:
            self.walk(fn.__kwdefaults__, f"{path}.__kwdefaults__", d)
        for name, cell in zip(fn.__code__.co_freevars, fn.__closure__ or (), strict=True):
            try:
                value = cell.cell_contents
            except ValueError:  # an empty cell
                value = None
            self.walk(value, f"{path}.<{name}>", d)
        # Globals the code reads (a constant, a helper of the user's): library objects are
        # named only (their versions are part of the manifest), the user's are walked.
        g = fn.__globals__
        for name in sorted(_global_names(fn.__code__)):
            if name in g and not isinstance(g[name], types.ModuleType):
                value = g[name]
                if _is_library(value):
                    self.out[f"{path}.<global {name}>"] = f"library:{_qualname(value)}"
                else:
                    self.walk(value, f"{path}.<global {name}>", d)


_LIBRARIES = (
    "builtins",
    "jax",
    "jaxlib",
    "numpy",
    "scipy",
    "equinox",
    "diffrax",
    "optax",
    "lineax",
    "optimistix",
    "xarray",
    "rosetta_jax",
    "functools",
    "math",
    "typing",
)


def _is_library(obj) -> bool:
    if isinstance(obj, (types.FunctionType, types.BuiltinFunctionType, type, np.ufunc)) or (
        callable(obj) and hasattr(obj, "__wrapped__")
    ):
        module = getattr(obj, "__module__", None) or ""
        return module.split(".")[0] in _LIBRARIES
    return False


def _global_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            names |= _global_names(c)
    return names


def leaf_records(obj: Any, name: str = "") -> dict[str, str]:
    """Every leaf of `obj` as `{path: record}`: arrays by a digest of dtype, shape and bytes;
    numbers, strings and static fields by value; functions by code, defaults and closure."""
    w = _Walker()
    w.walk(obj, name)
    return w.out


class Fingerprint(eqx.Module):
    """The fingerprint of a job's inputs: one digest per named part, and per leaf.

    Attributes:
        parts: `{part name: SHA-256 hex digest}` of each part's leaf records.
        leaves: `{part name: {leaf path: short digest of its record}}`, to name what differs.
    """

    parts: dict[str, str]
    leaves: dict[str, dict[str, str]]

    @property
    def digest(self) -> str:
        return _digest(json.dumps(self.parts, sort_keys=True))

    def differences(
        self, other_parts: Mapping[str, str], other_leaves: Mapping[str, Mapping[str, str]]
    ) -> list[str]:
        """Human-readable list of what differs from a stored fingerprint."""
        out = []
        for part in sorted(set(self.parts) | set(other_parts)):
            if self.parts.get(part) == other_parts.get(part):
                continue
            mine, theirs = self.leaves.get(part, {}), other_leaves.get(part, {})
            paths = sorted(p for p in set(mine) | set(theirs) if mine.get(p) != theirs.get(p))
            shown = ", ".join(p or part for p in paths[:4]) + (" ..." if len(paths) > 4 else "")
            out.append(f"{part} ({shown})" if paths else part)
        return out


def fingerprint(parts: Mapping[str, Any]) -> Fingerprint:
    """Fingerprint the inputs of a job, part by part (e.g. `{"model": m, "noise": n, ...}`)."""
    leaves = {
        name: {p: _digest(r)[:16] for p, r in leaf_records(obj, name).items()}
        for name, obj in parts.items()
    }
    digests = {name: _digest(json.dumps(rec, sort_keys=True)) for name, rec in leaves.items()}
    return Fingerprint(digests, leaves)
