"""rosetta-jax: the Rosetta Stone ladder of neural mass models in JAX.

Models (`rosetta_jax.models`), drives (`rosetta_jax.forcing`), noise (`rosetta_jax.noise`),
solvers (`rosetta_jax.solvers`), `simulate`, `Network` (and `MixedNetwork`, nodes of several
models; `thalamocortical`, Jansen-Rit cortex with thalamic relays), analysis, fitting
(`rosetta_jax.fit`) and parameter sweeps (`sweep` over a `Space`).
"""

from . import (
    _xla,  # noqa: F401  (first: XLA flags before jax's CPU backend starts)
    analysis as analysis,
    connectome as connectome,
    coupling as coupling,
    data as data,
    fit as fit,
    forcing as forcing,
    models as models,
    noise as noise,
    observation as observation,
    solvers as solvers,
    store as store,
    units as units,
)
from ._cache import (
    enable_compilation_cache as enable_compilation_cache,
    enable_from_environment as _enable_from_environment,
)
from ._mixed_groups import NodeGroup as NodeGroup
from ._mixed_network import MixedNetwork as MixedNetwork
from ._sweep import Space as Space, load_sweep as load_sweep, sweep as sweep
from ._thalamocortical import (
    open_loop as open_loop,
    thalamocortical as thalamocortical,
    thalamocortical_noise as thalamocortical_noise,
)
from ._version import __version__ as __version__
from .engine import (
    SimulationDivergedError as SimulationDivergedError,
    Solution as Solution,
    simulate as simulate,
)
from .network import Network as Network


_enable_from_environment()  # ROSETTA_JAX_COMPILATION_CACHE: a folder, or 1 (see _cache.py)
