"""Tests run in float64 (closed-form checks to 1e-8 and better)."""

import os


# Two test processes share an accelerator when there is one: no up-front reservation of 75 %
# of its memory each.
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
# Every test compiles afresh: the command line's persistent compilation cache stays off.
os.environ["ROSETTA_JAX_COMPILATION_CACHE"] = "0"

import jax  # noqa: E402
import jax.random as jr  # noqa: E402
import pytest


jax.config.update("jax_enable_x64", True)


@pytest.fixture
def getkey():
    """A fresh, deterministic PRNG key per call."""
    counter = iter(range(10**6))

    def _getkey():
        return jr.key(next(counter))

    return _getkey
