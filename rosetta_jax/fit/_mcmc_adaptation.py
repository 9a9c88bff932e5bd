"""NUTS's warm-up schedule (`fit/_mcmc.py`): the chunk length, Stan's doubling windows for
re-estimating the metric from the warm-up draws, and dual averaging's restarts of the step
size."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from blackjax.adaptation.step_size import dual_averaging_adaptation


_CHUNK = 25  # most draws per compiled chunk (the metric adapts at chunk ends)


def _refined(cov, warm_u):
    """The metric `cov` blended with the covariance of warm-up draws `(problems, chains,
    draws, dim)` (pooled over chains; weight n / (n + 10 dim) for n draws). numpy, on the
    host (small arrays: eager jnp operations would each compile a program)."""
    x = warm_u.reshape(warm_u.shape[0], -1, warm_u.shape[-1])
    m, d = x.shape[1], x.shape[2]
    x = x - x.mean(axis=1, keepdims=True)
    w = m / (m + 10.0 * d)
    return w * np.einsum("pni,pnj->pij", x, x) / max(m - 1, 1) + (1 - w) * cov


@jax.jit
def _restarted(log_step_size):
    """Dual averaging's state restarted at the step sizes `exp(log_step_size)` `(problems,
    chains)` (one compiled program)."""
    init = dual_averaging_adaptation(0.8)[0]  # init does not depend on the target
    return jax.vmap(jax.vmap(init))(jnp.exp(log_step_size))


def _chunk_length(warmup: int, draws: int) -> int:
    g = math.gcd(warmup, draws)  # draws when there is no warm-up
    length = max(k for k in range(1, min(g, _CHUNK) + 1) if g % k == 0)
    return length if length >= 5 else min(_CHUNK, draws)


def _windows(n: int) -> dict[int, int]:
    """The metric's adaptation windows over `n` warm-up chunks (as Stan's): after an initial
    15 % and before a final 10 % (step size only), windows doubling in length; `{end: start}`:
    at chunk `end` the metric is re-estimated from chunks `start..end-1`."""
    start, stop = max(1, round(0.15 * n)), n - max(1, round(0.1 * n))
    out, size = {}, 1
    while start < stop:
        end = start + size if start + 3 * size <= stop else stop
        out[end], start, size = start, end, 2 * size
    return out
