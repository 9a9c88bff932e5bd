"""Signal features of simulated activity: spectra, connectivity, phase synchrony, entrainment.

Every function is pure JAX, so it runs under `jax.jit`, `jax.vmap` and `jax.grad`. Windows
are gathered with one index array: there is no Python loop over samples or windows. The output
keeps the dtype of the input (float32 in, float32 out). Time runs along `axis=0` by default, as
in `Solution.observed` of shape `(n_times, n_nodes)`. Spectra put frequency where time was,
as `scipy.signal.welch` does, so frequency is also on axis 0 by default.

Bad input raises `ValueError` at trace time and names the argument: wrong shapes, a
non-positive sampling rate, windows longer than the signal. NaN or inf in the data also raises
`ValueError`, but only when the data are concrete; inside `jit` or `vmap` the values are not
known, so they are not checked.

The features live by concept: spectra in `_spectra`, functional connectivity in
`_connectivity`, phase measures and entrainment in `_phase`, the input checks in `_checks`;
this module gathers them for the rest of the package.
"""

from ._connectivity import fcd as fcd, functional_connectivity as functional_connectivity
from ._phase import (
    analytic_phase as analytic_phase,
    analytic_signal as analytic_signal,
    entrainment as entrainment,
    frequency_ratio as frequency_ratio,
    mean_frequency as mean_frequency,
    order_parameter as order_parameter,
    phase_locking_value as phase_locking_value,
)
from ._spectra import (
    band_power as band_power,
    peak_frequency as peak_frequency,
    welch as welch,
)
