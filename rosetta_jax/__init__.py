"""rosetta-jax: the Rosetta Stone ladder of neural mass models in JAX.

Models (`rosetta_jax.models`), drives (`rosetta_jax.forcing`), noise (`rosetta_jax.noise`),
solvers (`rosetta_jax.solvers`) and one entry point, `rosetta_jax.simulate`.
"""

from . import forcing as forcing, models as models, noise as noise, solvers as solvers
from ._simulate import (
    SimulationDivergedError as SimulationDivergedError,
    Solution as Solution,
    simulate as simulate,
)
from ._version import __version__ as __version__
from . import coupling as coupling
from .network import Network as Network
