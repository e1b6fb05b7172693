"""``python -m copykit``: a thin argparse front end over the modules that do the work.

Each subcommand lives in its own module, which provides ``add_parser(subparsers)``; the parser
it registers sets ``run=<function(args, argv) -> int>`` as a default. Adding a subcommand is one
import and one entry in ``SUBCOMMANDS``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from copykit import _bench, _diagram, sharing

AddParser = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]

SUBCOMMANDS: tuple[AddParser, ...] = (_bench.add_parser, _diagram.add_parser, sharing.add_parser)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m copykit", description="copykit command line tools"
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add_parser in SUBCOMMANDS:
        add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default: ``sys.argv[1:]``), run the subcommand, return its exit status."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(arguments)
    status: int = args.run(args, arguments)
    return status


if __name__ == "__main__":
    sys.exit(main())
