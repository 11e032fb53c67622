"""`python -m ml train|sample|eval lyrics`: the lyrics commands."""

from __future__ import annotations

import argparse
from pathlib import Path

from ml.cli_args import lazy, number
from ml.cli_common import (
    add_checkpoint_flags,
    add_training_flags,
)
from ml.paths import DEFAULT_LYRICS_CHECKPOINT
from ml.splits import DEFAULT_VALIDATION_FRACTION
from ml.text.request import MAX_CANDIDATES, LyricsRequest
from ml.text.style_config import SamplingSetting, StyleReportConfig


def _artist_list(value: str) -> list[str]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError("give at least one artist name")
    return names


def add_train_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lyrics", help="train a character-level lyrics LSTM on a Kaggle lyrics CSV")
    p.add_argument(
        "--data",
        type=Path,
        action="append",
        required=True,
        help="lyrics CSV (artist,song,link,text); repeat to train on several files",
    )
    p.add_argument("--out", type=Path, required=True, help="run folder for checkpoints and logs")
    p.add_argument("--artists", type=_artist_list, help='comma-separated artists, e.g. "ABBA,Cher"')
    p.add_argument(
        "--min-songs", type=number(int, 1, 10**6), default=1, help="keep artists with at least N songs"
    )
    p.add_argument(
        "--others-as-any-artist",
        action="store_true",
        help="also train on the other artists' songs, as 'any artist' (validation is unchanged)",
    )
    p.add_argument("--unconditional", action="store_true", help="ignore artists (no style conditioning)")
    p.add_argument(
        "--condition-dropout",
        type=number(float, 0, 0.95),
        default=0.2,
        help="chance a song trains as 'any artist' (default 0.2)",
    )
    p.add_argument(
        "--embed-dim", type=number(int, 1, 4096), default=64, help="character embedding size (default 64)"
    )
    p.add_argument(
        "--artist-dim", type=number(int, 1, 4096), default=32, help="artist embedding size (default 32)"
    )
    p.add_argument(
        "--weight-drop",
        type=number(float, 0, 0.95),
        default=0.0,
        help="DropConnect on hidden-to-hidden weights (default 0)",
    )
    p.add_argument(
        "--embed-dropout",
        type=number(float, 0, 0.95),
        default=0.0,
        help="share of characters dropped from the embedding per batch (default 0)",
    )
    p.add_argument(
        "--locked-dropout",
        action="store_true",
        help="one dropout mask per sequence on the LSTM's input and output (variational dropout)",
    )
    p.add_argument(
        "--artist-to-output", action="store_true", help="the artist also shifts the output layer's input"
    )
    p.add_argument(
        "--val-fraction",
        type=number(float, 0, 0.9, above_low=True),
        default=DEFAULT_VALIDATION_FRACTION,
        help="share of songs held out for validation",
    )
    add_training_flags(p)
    p.set_defaults(run=lazy("ml.text.commands", "train"))


def add_sample_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lyrics", help="write lyrics with a trained model")
    add_checkpoint_flags(p, DEFAULT_LYRICS_CHECKPOINT)
    p.add_argument("--artist", help="write in this artist's style (default: any artist)")
    p.add_argument("--prime", default="", help="text the lyrics start with")
    p.add_argument(
        "--temperature",
        type=number(float, 0, 10),
        default=LyricsRequest.temperature,
        help=f"0 = always the likeliest character; higher = wilder (default {LyricsRequest.temperature:g})",
    )
    p.add_argument(
        "--length",
        type=number(int, 1, 100_000),
        default=LyricsRequest.length,
        help=f"characters to write after the prime (default {LyricsRequest.length})",
    )
    p.add_argument("--top-k", type=number(int, 1, 10**6), help="sample only among the k likeliest characters")
    p.add_argument(
        "--style",
        type=number(float, 0, 20),
        default=LyricsRequest.style,
        help="how strongly to follow the artist: 0 ignores it, 1 plain conditional sampling, "
        f"more exaggerates it (default {LyricsRequest.style:g})",
    )
    p.add_argument(
        "--style-ramp",
        type=number(int, 0, 100_000),
        default=LyricsRequest.style_ramp,
        help=f"characters over which the style rises from 1 to --style (default {LyricsRequest.style_ramp})",
    )
    p.add_argument(
        "--min-p",
        type=number(float, 0, 0.99),
        default=LyricsRequest.min_p,
        help="drop characters under this share of the likeliest one's probability "
        f"(default {LyricsRequest.min_p:g})",
    )
    p.add_argument(
        "--plausibility",
        type=number(float, 0, 0.99),
        default=LyricsRequest.plausibility,
        help="with --style, never write a character the artist's own model gives under this share "
        f"of its likeliest one's probability (default {LyricsRequest.plausibility:g})",
    )
    p.add_argument(
        "--recall",
        type=number(float, 0, 1),
        default=LyricsRequest.recall,
        help="how strongly a line that starts like an earlier one goes on like it "
        f"(default {LyricsRequest.recall:g})",
    )
    p.add_argument(
        "--rhyme",
        type=number(float, 0, 1),
        default=LyricsRequest.rhyme,
        help=f"how readily a line ends on a word that rhymes (default {LyricsRequest.rhyme:g})",
    )
    p.add_argument(
        "--candidates",
        type=number(int, 1, MAX_CANDIDATES),
        default=LyricsRequest.candidates,
        help="replies written per sample; the one whose words are most the artist's own (real "
        f"words, rhyming) is kept (default {LyricsRequest.candidates})",
    )
    p.add_argument(
        "--seed",
        type=number(int, 0, 2**31 - 1),
        help="seed for a reproducible sample (sample i uses seed + i)",
    )
    p.add_argument(
        "--num", type=number(int, 1, 1000), default=1, help="how many samples, written in one batch"
    )
    p.add_argument("--list-artists", action="store_true", help="print the artists the model knows and exit")
    p.set_defaults(run=lazy("ml.text.commands", "sample"))


def add_eval_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lyrics", help="bits per character of a model and of the baselines")
    add_checkpoint_flags(p, DEFAULT_LYRICS_CHECKPOINT)
    p.add_argument(
        "--data", type=Path, action="append", required=True, help="lyrics CSV; repeat to score several as one"
    )
    p.add_argument(
        "--split",
        choices=("val", "all"),
        default="val",
        help="the model's validation songs, or every song (an artist it does not know as any artist)",
    )
    p.add_argument(
        "--min-songs",
        type=number(int, 1, 1_000_000),
        default=1,
        help="score only the artists with at least this many songs in the files (default %(default)s)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    style = p.add_argument_group("style report (--style-report)")
    defaults = StyleReportConfig()
    style.add_argument(
        "--style-report",
        action="store_true",
        help="also measure what readers get (real words, whole lines, choruses, rhymes, style "
        "they can hear, copying) over guidance settings, against real unseen songs",
    )
    style.add_argument(
        "--top-artists",
        type=number(int, 1, 1000),
        default=defaults.top_artists,
        help="artists the classifier tells apart (default %(default)s)",
    )
    style.add_argument(
        "--samples-per-artist",
        type=number(int, 1, 10_000),
        default=defaults.samples_per_artist,
        help="samples per artist and strength (default %(default)s)",
    )
    style.add_argument(
        "--settings",
        type=_settings,
        default=defaults.settings,
        help='sampling settings separated by ";", e.g. '
        '"style=2;style=4,ramp=60,min_p=0.1,plausibility=0.1,recall=1,rhyme=1" '
        "(default: an ablation ladder of strengths and nudges)",
    )
    style.add_argument(
        "--sample-length",
        type=number(int, 1, 100_000),
        default=defaults.sample_length,
        help="characters per sample (default %(default)s)",
    )
    p.set_defaults(run=lazy("ml.text.commands", "evaluate"))


def _settings(value: str) -> list[SamplingSetting]:
    try:
        return [SamplingSetting.parse(item) for item in value.split(";") if item.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r}: {exc}") from exc
