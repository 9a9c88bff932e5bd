"""The `rosetta-jax` command line: the argparse face (`_main`), the TOML configuration schema
(`_config`), the commands (`_commands`, `_fit_command`, writing through `_output`) and the
demo (`_demo`, its scenes in `_scenes`)."""

from ._main import build_parser as build_parser, main as main
