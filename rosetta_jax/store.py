"""One resumable store for long jobs (sweeps and fits): a directory with a manifest, data files
written atomically, and checksums.

What makes a resumed job trustworthy:

* **Fingerprints over everything that determines a result.** `fingerprint(parts)` walks each
  part (model, noise, forcing, solver, features, objective, optimiser, key, settings...) down to
  its leaves: every array's values, dtype and shape, every static field of every module, every
  number and string, and the code, defaults and closed-over values of every function (so a
  custom feature, a parameter selector or an optax optimiser with another learning rate is told
  apart). Nothing is hashed through `repr`, which abbreviates arrays (equinox prints `f32[]`).
  (`fingerprint`, `Fingerprint` and `leaf_records` live in `rosetta_jax._fingerprint`.)
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
import hashlib
import io
import json
import os
import warnings
import zipfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import jax
import numpy as np

from ._fingerprint import (
    Fingerprint as Fingerprint,
    fingerprint as fingerprint,
    leaf_records as leaf_records,
)
from ._version import __version__


FORMAT = "rosetta-jax store"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"


class StoreMismatchError(ValueError):
    """A store holds work made from other inputs (or by another version) than the current call."""


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
