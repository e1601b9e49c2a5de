"""Argument parsing and dispatch for the ``plainnet`` command.

Each sub-command lives in its own module with ``add_parser(subparsers)`` and ``run(args)``.
Errors the user can fix (:class:`CLIError`, ``ValueError``, ``TypeError``, ``OSError``) print
one line on stderr and exit with status 2; nothing prints a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .._version import __version__

COMMANDS = ("demo", "descend")


class CLIError(Exception):
    """An error in what the user asked for, reported as one line."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="plainnet",
        description="Neural networks and optimization from first principles, on NumPy.",
        epilog="Run 'plainnet COMMAND --help' for a command's options and an example.",
    )
    parser.add_argument("--version", action="version", version=f"plainnet {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f".{name}", __package__).add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return int(args.run(args) or 0)
    except (CLIError, ValueError, TypeError, OSError, KeyError) as err:
        print(f"plainnet {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"plainnet {args.command}: interrupted", file=sys.stderr)
        return 130
