"""`python -m ml train|sample|eval lyrics|piano ...`."""

from __future__ import annotations

import argparse
import logging
import sys

from ml.cli_args import USAGE_ERROR, Parser
from ml.errors import BalladeerError
from ml.music import cli as piano_cli
from ml.text import cli as lyrics_cli


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="python -m ml", description="Train, sample and evaluate Balladeer's models.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    actions = parser.add_subparsers(dest="action", required=True, metavar="{train,sample,eval}")
    for action, help_text, adders in (
        ("train", "train a model", (lyrics_cli.add_train_parser, piano_cli.add_train_parser)),
        (
            "sample",
            "generate with a trained model",
            (lyrics_cli.add_sample_parser, piano_cli.add_sample_parser),
        ),
        ("eval", "score a model on data", (lyrics_cli.add_eval_parser, piano_cli.add_eval_parser)),
    ):
        sub = actions.add_parser(action, help=help_text).add_subparsers(
            dest="model", required=True, metavar="{lyrics,piano}"
        )
        for add in adders:
            add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error, already printed (2)
        return int(exc.code or 0)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(message)s",
        stream=sys.stderr,
    )
    try:
        args.run(args)
    except BalladeerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
