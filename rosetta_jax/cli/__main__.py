"""`python -m rosetta_jax.cli ...`: the `rosetta-jax` command line."""

import sys

from ._main import main


sys.exit(main())
