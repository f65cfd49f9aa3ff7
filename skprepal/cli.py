"""The ``skprepal`` command line."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from skprepal.exceptions import SkprepalError

__all__ = ["main"]


def _build_parser() -> argparse.ArgumentParser:
    from skprepal import __version__
    from skprepal.embedding import DEFAULT_MODEL

    parser = argparse.ArgumentParser(
        prog="skprepal",
        description="Active learning for text classification on frozen pretrained embeddings.",
    )
    parser.add_argument("--version", action="version", version=f"skprepal {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what skprepal does")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="run the main job on the shipped sample data")
    demo.add_argument("--model", default=DEFAULT_MODEL, help="hub id or folder of the encoder")
    demo.add_argument(
        "--cache-dir", default=None, help="embedding cache folder (default: a fresh temporary one)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; defaults to ``sys.argv[1:]``.

    Returns
    -------
    int
        0 on success, 1 on an error skprepal explains in one line.
    """
    args = _build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    try:
        if args.command == "demo":
            from skprepal._demo import run_demo

            run_demo(model=args.model, cache_dir=args.cache_dir)
    except SkprepalError as exc:
        print(f"skprepal: error: {exc}", file=sys.stderr)
        return 1
    return 0
