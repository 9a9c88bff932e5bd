"""Batch parameter sweeps: vmapped simulations with features computed inside, chunked to a
memory budget, sharded over the local devices, resumable, returned as an `xarray.Dataset`.

One sample = one simulation of the model with some parameters replaced. Samples are run in
chunks of equal size (the last one padded, so nothing recompiles); each chunk is one `jit` of a
`vmap` over its samples, its batch axis sharded over all local devices with `jax.sharding`.
Only the features leave the device (peak frequency, band powers, FC, ...), never the
trajectories unless asked. With `path`, every finished chunk is written to a resumable store
(`rosetta_jax.store`) before the next starts: an interrupted sweep resumes from its completed
chunks and repeats none, a sweep with other inputs is refused, a damaged chunk is recomputed.
The noise key of sample `i` is `jax.random.fold_in(key, i)` whatever the chunking, the device
count or the process count.

Modules, in the order `sweep` uses them: `_space` (the `Space`, setting its parameters),
`_plan` (time grid, sampling, delay checks), `_layout` (features and output layout), `_chunks`
(chunk plan and store), `_execute` (compiled chunks, sharding over devices and processes),
`_assemble` (the dataset, `load_sweep`), `_run` (`sweep`).
"""

from ._assemble import load_sweep as load_sweep
from ._run import sweep as sweep
from ._space import (
    Space as Space,
    _check_params as _check_params,
    _getter as _getter,
    _set_params as _set_params,
)
