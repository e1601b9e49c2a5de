"""Argument parsing and dispatch for the ``plainnet`` command.

Each sub-command lives in its own module with ``add_parser(subparsers)`` and ``run(args)``. Errors
the user can fix (`CLIError`, ``ValueError`` including
[`plainnet.io.ModelFileError`][plainnet.io.ModelFileError] for a file that is not a model,
``TypeError``, ``OSError``, ``KeyError``, and ``MemoryError`` or ``RecursionError`` from a hostile
file) print one line on stderr and exit with status 2; warnings print one line each; nothing prints
a traceback. Output piped into a reader that stops early (``| head``) ends quietly with status 1.
Terminal control characters in messages are escaped. """

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings

from .._version import __version__

COMMANDS = ("demo", "train", "predict", "evaluate", "info", "plot", "descend", "export")


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
    """Run the ``plainnet`` command with ``argv`` (default: ``sys.argv[1:]``).

    Parameters
    ----------
    argv : list of str, optional
        The arguments after ``plainnet``, e.g. ``["info", "model.safetensors"]``.

    Returns
    -------
    int
        The exit status: 0 on success, 2 for bad input (one line on stderr, no traceback),
        130 when interrupted. ``--help``, ``--version`` and argument syntax errors exit
        through ``SystemExit`` as argparse does.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    prefix = f"plainnet {args.command}"
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning(prefix)
            return int(args.run(args) or 0)
    except BrokenPipeError:
        _silence_stdout()
        return 1
    except (CLIError, ValueError, TypeError, OSError, KeyError) as err:
        print(f"{prefix}: error: {_one_line(err)}", file=sys.stderr)
        return 2
    except MemoryError:
        print(f"{prefix}: error: out of memory; use a smaller model (--hidden) or less data",
              file=sys.stderr)
        return 2
    except RecursionError:
        print(f"{prefix}: error: the input is nested too deeply to read", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prefix}: interrupted", file=sys.stderr)
        return 130


def _one_line(err: BaseException) -> str:
    """The error's message on one line (a KeyError's without the quotes repr adds)."""
    if isinstance(err, KeyError) and len(err.args) == 1:
        text = str(err.args[0])
    else:
        text = str(err) or type(err).__name__
    from ._common import printable

    return printable(" ".join(line.strip() for line in text.splitlines() if line.strip()))


def _one_line_warning(prefix: str):
    def show(message, category, filename, lineno, file=None, line=None):
        stream = sys.stderr if file is None else file
        try:
            print(f"{prefix}: warning: {_one_line(Warning(str(message)))}", file=stream)
        except OSError:
            pass

    return show


def _silence_stdout() -> None:
    """After the reader of a pipe has gone: point stdout at devnull so exit does not fail."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
