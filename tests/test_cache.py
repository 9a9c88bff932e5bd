"""The persistent compilation cache: a second process reuses what the first compiled (JAX's
own cache, pointed at a folder), and the environment variable's settings."""

import json
import os
import subprocess
import sys

import jax

from rosetta_jax import _cache


_SCRIPT = """
import json, sys, time
import jax, jax.monitoring
events = []
jax.monitoring.register_event_listener(lambda e, **k: events.append(e))
jax.monitoring.register_event_duration_secs_listener(lambda e, d, **k: events.append(e))
import jax.numpy as jnp
import rosetta_jax
rosetta_jax.enable_compilation_cache(sys.argv[1])
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
f = jax.jit(lambda x: jnp.sin(jnp.cumsum(x)) @ jnp.cos(x))
f(jnp.arange(300.0)).block_until_ready()
print(json.dumps(sum(e == "/jax/compilation_cache/cache_hits" for e in events)))
"""


def test_a_second_process_reuses_the_compiled_program(tmp_path):
    env = dict(os.environ, ROSETTA_JAX_COMPILATION_CACHE="0")
    run = lambda: subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(tmp_path / "xla")],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    first = json.loads(run().stdout.strip().splitlines()[-1])
    assert any((tmp_path / "xla").iterdir())  # written
    second = json.loads(run().stdout.strip().splitlines()[-1])
    assert first == 0 and second >= 1


def test_the_environment_variable_turns_it_on_or_off(tmp_path, monkeypatch):
    before = jax.config.jax_compilation_cache_dir
    try:
        monkeypatch.setenv("ROSETTA_JAX_COMPILATION_CACHE", "0")
        assert _cache.enable_from_environment(default_on=True) is None
        monkeypatch.setenv("ROSETTA_JAX_COMPILATION_CACHE", str(tmp_path / "c"))
        assert _cache.enable_from_environment() == tmp_path / "c"
        assert jax.config.jax_compilation_cache_dir == str(tmp_path / "c")
        monkeypatch.delenv("ROSETTA_JAX_COMPILATION_CACHE")
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home"))
        assert _cache.enable_from_environment() is None  # unset: off unless default_on
        folder = _cache.enable_from_environment(default_on=True)
        assert folder == tmp_path / "home" / "rosetta-jax" / "xla" and folder.is_dir()
    finally:
        from jax.experimental.compilation_cache import compilation_cache

        jax.config.update("jax_compilation_cache_dir", before)
        compilation_cache.reset_cache()
