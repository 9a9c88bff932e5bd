"""The `rosetta-jax` command line: its argparse parser and the dispatch to the commands."""

from __future__ import annotations

import argparse
import sys


COMMANDS = {
    "simulate": (
        "simulate a model or a network from a TOML config",
        "Simulate the [model] (a network when [network] is given; a mixed network of "
        "[network.groups.<name>], each with its model and regions, instead of [model]) with "
        "the [simulation] settings and optional [forcing]; writes simulation.npz (times, "
        "observable, final state), simulation.json (settings, versions) and "
        "simulation.png into [output] dir.",
    ),
    "fit": (
        "fit a model to spectra or FC from a TOML config",
        "Fit parameters with the [fit] task: regional_spectra (a node per DK region to the "
        "bundled MEG spectra), connectome_fc (a Hopf network to the bundled HCP FC), "
        "network_spectra (a JR network jointly to the MEG spectra) or spectrum (the "
        "[model]'s params to one spectrum in an .npz or .fif file); writes fit.json, fit.npz "
        "and fit.png.",
    ),
    "compare": (
        "fit several models to the same data and rank them by their evidence",
        "Run each fit config (as for `rosetta-jax fit`; task spectra or regional_spectra, "
        "every config on the same recording), then rank the models by their Laplace log "
        "evidence: Bayes factors with the Kass & Raftery (1995) scale, posterior model "
        "probabilities, BIC, AIC and the best model per region. Writes compare.json, "
        "compare.csv and compare.png into --out, and each fit into its [output] dir (default "
        "a folder per config in --out).",
    ),
    "sweep": (
        "run a parameter sweep from a TOML config",
        "Sweep [sweep.params] (a grid of values, or [low, high] bounds for random/Sobol "
        "samples) of the [model] or network, computing the [sweep] features inside; "
        "writes sweep/sweep.nc (netCDF), sweep.json and sweep.png. An interrupted sweep "
        "resumes from its finished chunks.",
    ),
    "bifurcation": (
        "continue equilibria and find folds and Hopf points from a TOML config",
        "Continue the equilibria of the [model] in [bifurcation] param from start "
        "to stop; writes bifurcation.json (folds, Hopf points with frequencies), "
        "branch.npz and bifurcation.png.",
    ),
}


def _demo(args) -> int:
    """`rosetta-jax demo`."""
    from ._demo import run_demo

    run_demo(args.out, seed=args.seed, quiet=args.quiet, quick=args.quick)
    return 0


def _run_config(args) -> int:
    """A command on a TOML config, in its precision (`uses_float64`); a bad config or input
    is a one-line error and exit status 2."""
    from . import _commands, _config

    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, flush=True))
    try:
        import jax

        cfg = _config.load(args.config, args.command)
        with jax.enable_x64(_commands.uses_float64(cfg, args.command)):  # scoped precision
            getattr(_commands, f"run_{args.command}")(cfg, say=say)
    except _config.ConfigError as e:
        print(f"rosetta-jax {args.command}: error: {e}", file=sys.stderr)
        return 2
    except (ValueError, TypeError) as e:  # bad input found by the library: one line too
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        print(f"rosetta-jax {args.command}: error: {args.config}: {first}", file=sys.stderr)
        return 2
    return 0


def _compare(args) -> int:
    """`rosetta-jax compare`: fits in float64; a bad config or input, or fits that cannot be
    compared, is a one-line error and exit status 2."""
    from . import _config
    from ._compare_command import run_compare

    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, flush=True))
    try:
        import jax

        with jax.enable_x64(True):  # as for `fit`, scoped to the command
            run_compare(args.configs, args.out, say=say)
    except _config.ConfigError as e:
        print(f"rosetta-jax compare: error: {e}", file=sys.stderr)
        return 2
    except (ValueError, TypeError) as e:  # bad input found by the library: one line too
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        print(f"rosetta-jax compare: error: {first}", file=sys.stderr)
        return 2
    return 0


def _add_command(sub, name: str, short: str, long: str) -> None:
    """The subcommand `name`: one CONFIG.toml (`compare`: several, and --out)."""
    several = name == "compare"
    example = "examples/compare/*.toml" if several else f"examples/{name}_*.toml"
    p = sub.add_parser(
        name, help=short, description=long, epilog=f"Example: rosetta-jax {name} {example}"
    )
    if several:
        p.add_argument(
            "configs", nargs="+", metavar="CONFIG.toml", help="fit configurations, one per model"
        )
        p.add_argument(
            "--out",
            default="rosetta-out/compare",
            help="output folder (default: rosetta-out/compare)",
        )
    else:
        p.add_argument("config", metavar="CONFIG.toml", help="the configuration file")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors")
    p.set_defaults(func=_compare if several else _run_config)


def build_parser() -> argparse.ArgumentParser:
    """The parser of `rosetta-jax`: `demo` and a subcommand per entry of `COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog="rosetta-jax",
        description="The Rosetta Stone ladder of neural mass models, simulated with JAX.",
        epilog="Example configs: examples/*.toml in the repository.",
    )
    from .._version import __version__

    parser.add_argument("--version", action="version", version=f"rosetta-jax {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser(
        "demo",
        help="walk the ladder, fit the bundled MEG spectra and FC, write a report",
        description="Simulate every rung of the ladder (harmonic oscillator to PING), fit "
        "Jansen-Rit nodes to the bundled MEG spectra and a Hopf network to the bundled HCP FC, "
        "and write figures, summary.json and an HTML report (report.html) into ./rosetta-out/.",
    )
    demo.add_argument("--out", default="rosetta-out", help="output folder (default: rosetta-out)")
    demo.add_argument("--seed", type=int, default=0, help="PRNG seed for the noisy rungs")
    demo.add_argument("--quick", action="store_true", help="fewer fitting steps (for checks)")
    demo.add_argument("--quiet", action="store_true", help="print nothing")
    demo.set_defaults(func=_demo)
    for name, (short, long) in COMMANDS.items():
        _add_command(sub, name, short, long)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run `rosetta-jax` on `argv` (default: the process's arguments); the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    from .._cache import enable_from_environment

    enable_from_environment(default_on=True)  # later runs reuse compiled programs
    return args.func(args)
