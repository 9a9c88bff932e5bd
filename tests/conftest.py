"""Tests run in float64 (closed-form checks to 1e-8 and better)."""

import jax
import jax.random as jr
import pytest


jax.config.update("jax_enable_x64", True)


@pytest.fixture
def getkey():
    """A fresh, deterministic PRNG key per call."""
    counter = iter(range(10**6))

    def _getkey():
        return jr.key(next(counter))

    return _getkey
