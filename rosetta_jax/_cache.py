"""A persistent cache of compiled XLA programs, so that a later process (a second session, a
command-line run) reuses what an earlier one compiled instead of compiling it again.

Compilation dominates the first call of the analytic fits, the Laplace step and NUTS on CPU
(tens of seconds for a regional fit); JAX can keep compiled programs on disk, keyed by the
program, the compile options, the device and the jax/jaxlib versions, so that a changed
program or version compiles afresh and nothing stale is reused. `rosetta-jax` commands turn
it on by default (set `ROSETTA_JAX_COMPILATION_CACHE=0` to opt out); in Python call
`rosetta_jax.enable_compilation_cache()`, or set `ROSETTA_JAX_COMPILATION_CACHE` to a folder
(or to 1 for the default one) before importing rosetta_jax.
"""

from __future__ import annotations

import os
from pathlib import Path

import jax


_ENV = "ROSETTA_JAX_COMPILATION_CACHE"


def default_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/rosetta-jax/xla` (default `~/.cache/rosetta-jax/xla`)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "rosetta-jax" / "xla"


def enable_compilation_cache(path: str | os.PathLike | None = None) -> Path:
    """Keep compiled programs that took at least a second to compile in `path` (default
    `default_cache_dir()`) and reuse them in later processes.

    Args:
        path: the cache folder (created if missing).

    Returns:
        The folder in use.
    """
    folder = Path(path) if path is not None else default_cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 1.0)
    # JAX settles whether to use a cache at its first compilation: start over, so that the
    # folder holds from here on even when something was compiled before.
    from jax.experimental.compilation_cache import compilation_cache

    compilation_cache.reset_cache()
    return folder


def enable_from_environment(default_on: bool = False) -> Path | None:
    """Turn the cache on as `ROSETTA_JAX_COMPILATION_CACHE` says (a folder, 1 for the default
    folder, 0 for off; unset: `default_on`); the folder in use, or None."""
    value = os.environ.get(_ENV, "").strip()
    if value == "0" or (not value and not default_on):
        return None
    return enable_compilation_cache(None if value in ("", "1") else value)
