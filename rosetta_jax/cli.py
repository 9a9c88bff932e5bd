"""The `rosetta-jax` command line."""

from __future__ import annotations

import argparse
import sys


def _demo(args) -> int:
    from ._demo import run_demo

    run_demo(args.out, seed=args.seed, quiet=args.quiet)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rosetta-jax",
        description="The Rosetta Stone ladder of neural mass models, simulated with JAX.",
    )
    from ._version import __version__

    parser.add_argument("--version", action="version", version=f"rosetta-jax {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser(
        "demo",
        help="simulate every rung of the ladder and write figures into ./rosetta-out/",
        description="Simulate every rung of the ladder (harmonic oscillator to PING) and write "
        "one figure per rung, an overview (ladder.png) and summary.json.",
    )
    demo.add_argument("--out", default="rosetta-out", help="output folder (default: rosetta-out)")
    demo.add_argument("--seed", type=int, default=0, help="PRNG seed for the noisy rungs")
    demo.add_argument("--quiet", action="store_true", help="print nothing")
    demo.set_defaults(func=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
