"""One resumable store for long jobs (sweeps and fits): a directory with a manifest, data files
written atomically, and checksums.

What makes a resumed job trustworthy:

* **Fingerprints over everything that determines a result.** `fingerprint(parts)` walks each
  part (model, noise, forcing, solver, features, objective, optimiser, key, settings...) down to
  its leaves: every array's values, dtype and shape, every static field of every module, every
  number and string, and the code, defaults and closed-over values of every function (so a
  custom feature, a parameter selector or an optax optimiser with another learning rate is told
  apart). Nothing is hashed through `repr`, which abbreviates arrays (equinox prints `f32[]`).
* **A mismatch is refused**, with an error that names the parts and leaves that differ; a store
  made by another rosetta-jax version or store format is refused too. Work is reused only when
  made from identical inputs.
* **Damaged files are recomputed.** Each data file's SHA-256 and size are recorded in the
  manifest after the file is complete; a file that is missing from the manifest (a killed
  write), truncated, corrupted, of the wrong shape or dtype, or holding pickled objects is
  reported with a `RuntimeWarning` and treated as absent. Nothing is read with pickle.
* **Atomic writes.** Every file is written to a temporary name, flushed to disk and renamed;
  the manifest is updated under an exclusive lock (`fcntl.flock`), so several processes (a
  multi-host sweep) can share one directory.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import functools
import hashlib
import io
import json
import math
import os
import types
import warnings
import zipfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ._version import __version__


FORMAT = "rosetta-jax store"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"


class StoreMismatchError(ValueError):
    """A store holds work made from other inputs (or by another version) than the current call."""


# ----------------------------------------------------------------------------- fingerprints


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


@dataclasses.dataclass(frozen=True)
class Fingerprint:
    """The fingerprint of a job's inputs: one digest per named part, and per leaf."""

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


# ----------------------------------------------------------------------------- the store


def _fsync_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: single-process use only
        yield
        return
    with open(path / ".lock", "a+b") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _npz_bytes(arrays: Mapping[str, Any]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **{k: np.asarray(v) for k, v in arrays.items()})
    return buf.getvalue()


class Store:
    """A resumable job directory: `manifest.json` plus data files (`.npz`, no pickle).

    Args:
        path: the directory (created if needed).
        kind: what the job is (`"sweep"`, `"fit"`), checked on reopening.
        fp: the job's `Fingerprint`.
        resume: reuse the files of an identical job (True), or discard whatever the directory
            holds of an earlier job and start over (False).
        meta: JSON-serialisable facts stored with the manifest when it is created (layout,
            settings); `meta` returns them.
        what: how errors name the job (e.g. "The sweep in results/").

    Raises:
        StoreMismatchError: with `resume`, when the directory holds a job made from other inputs,
            by another rosetta-jax version or in another store format. The message names what
            differs.
    """

    def __init__(
        self,
        path,
        kind: str,
        fp: Fingerprint,
        *,
        resume: bool = True,
        meta: Mapping[str, Any] | None = None,
        what: str | None = None,
    ):
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise ValueError(
                f"{self.path} is a file, not a store directory; choose a directory "
                "path (it is created if needed) or delete the file."
            )
        self.path.mkdir(parents=True, exist_ok=True)
        self.kind, self.fp = kind, fp
        self.what = what or f"The {kind} in {self.path}"
        with _locked(self.path):
            man = self._read_manifest()
            if man is not None and resume:
                self._check(man)
            else:
                if man is not None:
                    self._discard(man)
                man = {
                    "format": FORMAT,
                    "format_version": FORMAT_VERSION,
                    "kind": kind,
                    "rosetta_jax": __version__,
                    "jax": jax.__version__,
                    "fingerprint": fp.digest,
                    "parts": fp.parts,
                    "leaves": fp.leaves,
                    "meta": dict(meta or {}),
                    "files": {},
                }
                self._write_manifest(man)
        self.meta: dict[str, Any] = man["meta"]

    @classmethod
    def open(cls, path, kind: str) -> Store:
        """Open an existing store to read it (any rosetta-jax version of this store format).

        Raises:
            ValueError: when `path` holds no store of this kind.
        """
        path = Path(path)
        self = cls.__new__(cls)
        self.path, self.kind, self.what = path, kind, f"The {kind} in {path}"
        man = self._read_manifest() if path.is_dir() else None
        if man is None:
            raise ValueError(f"{path} holds no {kind} (no {MANIFEST}); check the path.")
        if (
            man.get("format") != FORMAT
            or man.get("format_version") != FORMAT_VERSION
            or man.get("kind") != kind
        ):
            raise StoreMismatchError(
                f"{self.what}: {MANIFEST} is not a {kind} store of format {FORMAT!r} version "
                f"{FORMAT_VERSION} (it says {man.get('format')!r} version "
                f"{man.get('format_version')!r}, kind {man.get('kind')!r})."
            )
        self.fp = Fingerprint(man.get("parts", {}), man.get("leaves", {}))
        self.meta = man.get("meta", {})
        if self.fp.digest != man.get("fingerprint"):
            raise StoreMismatchError(
                f"{self.what}: {MANIFEST} is inconsistent (its fingerprint "
                "does not match its parts); it was edited or damaged."
            )
        return self

    # -------------------------------------------------------------- manifest

    def _read_manifest(self) -> dict | None:
        f = self.path / MANIFEST
        if not f.exists():
            return None
        try:
            man = json.loads(f.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise StoreMismatchError(
                f"{self.what}: {f} is not a readable manifest ({e}); delete the directory or "
                "pass resume=False to start over."
            ) from None
        if not isinstance(man, dict):
            raise StoreMismatchError(
                f"{self.what}: {f} is not a rosetta-jax manifest; delete it or pass resume=False."
            )
        return man

    def _write_manifest(self, man: dict) -> None:
        _fsync_write(self.path / MANIFEST, json.dumps(man).encode())

    def _check(self, man: dict) -> None:
        fix = "choose another path, or pass resume=False to discard it and start over"
        if man.get("format") != FORMAT or man.get("format_version") != FORMAT_VERSION:
            raise StoreMismatchError(
                f"{self.what} was written in another format ({man.get('format')!r} version "
                f"{man.get('format_version')!r}; this rosetta-jax writes {FORMAT!r} version "
                f"{FORMAT_VERSION}); {fix}."
            )
        if man.get("kind") != self.kind:
            raise StoreMismatchError(
                f"{self.what} holds a {man.get('kind')!r} job, not a {self.kind!r}; {fix}."
            )
        if man.get("rosetta_jax") != __version__ or man.get("jax") != jax.__version__:
            raise StoreMismatchError(
                f"{self.what} was made by rosetta-jax {man.get('rosetta_jax')} with jax "
                f"{man.get('jax')}; this is rosetta-jax {__version__} with jax {jax.__version__}, "
                f"whose results may differ; {fix} (or finish it with the version that made it)."
            )
        if man.get("fingerprint") != self.fp.digest:
            diff = self.fp.differences(man.get("parts", {}), man.get("leaves", {}))
            raise StoreMismatchError(
                f"{self.what} was made with other inputs: {'; '.join(diff) or 'unknown parts'} "
                f"differ{'s' if len(diff) == 1 else ''}. Its results would be stale; {fix}."
            )

    def _discard(self, man: dict) -> None:
        for name in man.get("files", {}):
            with contextlib.suppress(FileNotFoundError):
                (self.path / name).unlink()
        for tmp in self.path.rglob(".*.tmp"):
            tmp.unlink()

    def _update(self, fn: Callable[[dict], None]) -> None:
        with _locked(self.path):
            man = self._read_manifest()
            if man is None or man.get("fingerprint") != self.fp.digest:
                raise StoreMismatchError(
                    f"{self.what} was replaced by another job while this "
                    "one ran; run each job in its own directory."
                )
            fn(man)
            self._write_manifest(man)

    # -------------------------------------------------------------- data files

    def recorded(self) -> dict[str, dict]:
        """The data files recorded as complete: name -> {"sha256", "bytes", ...}."""
        man = self._read_manifest() or {}
        return dict(man.get("files", {}))

    def save(self, name: str, arrays: Mapping[str, Any], **info) -> None:
        """Write `arrays` to `name` (an `.npz`) atomically, then record its checksum."""
        data = _npz_bytes(arrays)
        target = self.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        _fsync_write(target, data)
        entry = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data), **info}
        self._update(lambda man: man["files"].__setitem__(name, entry))

    def remove(self, name: str) -> None:
        self._update(lambda man: man["files"].pop(name, None))
        with contextlib.suppress(FileNotFoundError):
            (self.path / name).unlink()

    def load(
        self,
        name: str,
        expect: Mapping[str, tuple[tuple[int, ...], Any]] | None = None,
        entry: Mapping[str, Any] | None = None,
    ) -> dict[str, np.ndarray] | None:
        """Read a recorded file, or None (with a `RuntimeWarning`) when it is damaged.

        Args:
            name: the file's name in the store.
            expect: `{array name: (shape, dtype)}` the file must hold exactly.
            entry: its manifest entry, if already read (else read now).
        """
        entry = self.recorded().get(name) if entry is None else entry
        f = self.path / name
        if entry is None:
            if f.exists():
                self._damaged(name, "it is not recorded in the manifest (an interrupted write?)")
            return None
        try:
            data = f.read_bytes()
        except FileNotFoundError:
            self._damaged(name, "it is recorded in the manifest but missing")
            return None
        if len(data) != entry.get("bytes") or hashlib.sha256(data).hexdigest() != entry.get(
            "sha256"
        ):
            self._damaged(name, "its checksum does not match the manifest (truncated or corrupted)")
            return None
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as z:
                out = {k: z[k] for k in z.files}
        except (ValueError, OSError, zipfile.BadZipFile, EOFError) as e:
            self._damaged(name, f"it cannot be read without pickle ({type(e).__name__})")
            return None
        if expect is not None:
            got = {k: (v.shape, v.dtype) for k, v in out.items()}
            want = {k: (tuple(s), np.dtype(d)) for k, (s, d) in expect.items()}
            if got != want:
                bad = sorted(k for k in set(got) | set(want) if got.get(k) != want.get(k))
                self._damaged(
                    name, f"its arrays {bad} do not have the expected names, shapes or dtypes"
                )
                return None
        return out

    def _damaged(self, name: str, why: str) -> None:
        warnings.warn(
            f"{self.what}: {name} is damaged: {why}; it is recomputed.",
            RuntimeWarning,
            stacklevel=3,
        )
        with contextlib.suppress(StoreMismatchError):
            self._update(lambda man: man["files"].pop(name, None))

    def write_text(self, name: str, text: str) -> None:
        """An auxiliary text file (e.g. a summary), written atomically, not checksummed."""
        _fsync_write(self.path / name, text.encode())
