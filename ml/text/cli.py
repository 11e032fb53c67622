"""`python -m ml train|sample|eval lyrics`: the lyrics commands."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import torch

from ml.cli_args import number
from ml.cli_common import (
    add_checkpoint_flags,
    add_training_flags,
    check_same_data,
    fit_and_report,
    print_json,
    starting_checkpoint,
    train_config_from_args,
)
from ml.paths import DEFAULT_LYRICS_CHECKPOINT
from ml.splits import DEFAULT_VALIDATION_FRACTION
from ml.text.evaluate import evaluate_lyrics
from ml.text.generate import DEFAULT_STYLE, LyricsGenerator, LyricsRequest
from ml.text.meta import LyricsMeta
from ml.text.model import CharLSTM, CharLSTMConfig
from ml.text.style import StyleReportConfig, style_report
from ml.text.task import LyricsDataConfig, LyricsTask
from ml.text.vocab import Vocab

log = logging.getLogger(__name__)


def _artist_list(value: str) -> list[str]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError("give at least one artist name")
    return names


def add_train_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lyrics", help="train a character-level lyrics LSTM on a Kaggle lyrics CSV")
    p.add_argument("--data", type=Path, required=True, help="lyrics CSV (artist,song,link,text)")
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
    p.set_defaults(run=train)


def train(args: argparse.Namespace) -> None:
    config = train_config_from_args(args)
    data = LyricsDataConfig(
        data=args.data,
        artists=args.artists,
        min_songs=args.min_songs,
        conditional=not args.unconditional,
        condition_dropout=args.condition_dropout,
        validation_fraction=args.val_fraction,
        others_as_any_artist=args.others_as_any_artist,
    )
    model_settings = {
        "embed_dim": args.embed_dim,
        "artist_dim": args.artist_dim,
        "hidden": args.hidden,
        "layers": args.layers,
        "dropout": args.dropout,
        "weight_drop": args.weight_drop,
        "embed_dropout": args.embed_dropout,
        "locked_dropout": args.locked_dropout,
        "artist_to_output": args.artist_to_output,
    }
    saved = starting_checkpoint(config, "lyrics", model_settings)
    if saved is not None:  # same vocabulary, artist table and split as the run being continued
        meta = LyricsMeta.from_dict(saved.meta)
        check_same_data(
            {
                "--val-fraction": (meta.data.validation_fraction, data.validation_fraction),
                "--min-songs": (meta.data.min_songs, data.min_songs),
            },
        )
        task = LyricsTask.from_config(data, Vocab(meta.vocab), meta.artists)
        model_config = CharLSTMConfig(**saved.model_config)
    else:
        task = LyricsTask.from_config(data)
        model_config = CharLSTMConfig(len(task.train.vocab), len(task.train.artists), **model_settings)
    s = task.summary
    log.info(
        "%d songs by %d artists, %d more as any artist: %d train (%s chars), %d validation (%s chars); "
        "vocabulary %d",
        s.songs,
        s.artists,
        s.any_artist_songs,
        s.train_songs,
        f"{s.train_chars:,}",
        s.val_songs,
        f"{s.val_chars:,}",
        len(task.train.vocab),
    )
    torch.manual_seed(config.seed)
    model = CharLSTM(model_config)
    if saved is not None:  # a resume then restores the optimizer and position too
        model.load_state_dict(saved.state_dict)
    fit_and_report(task, model, model_config.to_dict(), config)


def add_sample_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lyrics", help="write lyrics with a trained model")
    add_checkpoint_flags(p, DEFAULT_LYRICS_CHECKPOINT)
    p.add_argument("--artist", help="write in this artist's style (default: any artist)")
    p.add_argument("--prime", default="", help="text the lyrics start with")
    p.add_argument(
        "--temperature",
        type=number(float, 0, 10),
        default=0.8,
        help="0 = always the likeliest character; higher = wilder (default 0.8)",
    )
    p.add_argument(
        "--length",
        type=number(int, 1, 100_000),
        default=500,
        help="characters to write after the prime (default 500)",
    )
    p.add_argument("--top-k", type=number(int, 1, 10**6), help="sample only among the k likeliest characters")
    p.add_argument(
        "--style",
        type=number(float, 0, 20),
        default=DEFAULT_STYLE,
        help="how strongly to follow the artist: 0 ignores it, 1 plain conditional sampling, "
        f"more exaggerates it (default {DEFAULT_STYLE:g})",
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
    p.set_defaults(run=sample)


def sample(args: argparse.Namespace) -> None:
    generator = LyricsGenerator.from_checkpoint(args.checkpoint, args.device)
    if args.list_artists:
        print("\n".join(generator.artists))
        return
    requests = [
        LyricsRequest(
            artist=args.artist,
            prime=args.prime,
            temperature=args.temperature,
            length=args.length,
            seed=None if args.seed is None else args.seed + i,
            top_k=args.top_k,
            style=args.style,
        )
        for i in range(args.num)
    ]
    samples = generator.generate(requests)
    if samples[0].unknown_chars:
        log.warning("the model does not know these prime characters: %s", " ".join(samples[0].unknown_chars))
    for i, s in enumerate(samples):
        if args.num > 1:
            artist = s.artist or "any artist"
            settings = f"temperature {s.temperature} · style {s.style:g} · seed {s.seed}"
            print(f"=== sample {i + 1} · {artist} · {settings}")
        else:
            log.info("artist %s, temperature %s, seed %d", s.artist or "any", s.temperature, s.seed)
        print(s.text)
        if args.num > 1:
            print()


def add_eval_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lyrics", help="bits per character of a model and of the baselines")
    add_checkpoint_flags(p, DEFAULT_LYRICS_CHECKPOINT)
    p.add_argument("--data", type=Path, required=True, help="lyrics CSV")
    p.add_argument(
        "--split",
        choices=("val", "all"),
        default="val",
        help="the model's validation songs, or all of its artists' songs",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    style = p.add_argument_group("style report (--style-report)")
    defaults = StyleReportConfig()
    style.add_argument(
        "--style-report",
        action="store_true",
        help="also measure how recognisably samples follow their artist, over style strengths",
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
        "--strengths",
        type=_strength_list,
        default=defaults.strengths,
        help='e.g. "0,1,2,4" (default %(default)s)',
    )
    style.add_argument(
        "--sample-length",
        type=number(int, 1, 100_000),
        default=defaults.sample_length,
        help="characters per sample (default %(default)s)",
    )
    p.set_defaults(run=evaluate)


def _strength_list(value: str) -> list[float]:
    try:
        return [float(x) for x in value.split(",") if x.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"strengths are numbers separated by commas, not {value!r}") from exc


def evaluate(args: argparse.Namespace) -> None:
    report = evaluate_lyrics(args.checkpoint, args.data, args.split, args.device)
    if args.style_report:
        config = StyleReportConfig(
            top_artists=args.top_artists,
            samples_per_artist=args.samples_per_artist,
            strengths=args.strengths,
            sample_length=args.sample_length,
        )
        report["style_report"] = style_report(args.checkpoint, args.data, config, args.device)
    if args.json:
        print_json(report)
        return
    print(f"{report['songs']} songs, {report['chars']:,} characters ({args.split} split)")
    for name, bits in report["baselines"].items():
        print(f"  {name:<22}{bits:6.3f} bits/char")
    print(f"  {'LSTM':<22}{report['bits_per_char']:6.3f} bits/char")
    if "bits_per_char_any_artist" in report:
        print(f"  {'LSTM, any artist':<22}{report['bits_per_char_any_artist']:6.3f} bits/char")
    print("per artist (most characters first):")
    for name, row in list(report["per_artist"].items())[:15]:
        extra = (
            f"  any artist {row['bits_per_char_any_artist']:.3f}" if "bits_per_char_any_artist" in row else ""
        )
        print(f"  {name:<28}{row['songs']:4d} songs {row['bits_per_char']:6.3f}{extra}")
    if "style_report" in report:
        print_style_report(report["style_report"])


def print_style_report(style: dict) -> None:
    reference = style["reference"]
    print(
        f"style: classifier over {len(style['artists'])} artists (chance {style['chance']:.2f}); "
        f"real validation songs attributed {reference['accuracy']:.2f}"
    )
    print("  style  accuracy  bits/char (any artist)  copy rate  longest copy")
    for strength, row in style["sweep"].items():
        print(
            f"  {strength:>5}  {row['accuracy']:8.2f}  {row['bits_per_char_any_artist']:22.3f}  "
            f"{row['copy_rate']:9.3f}  {row['longest_copy']:12d}"
        )
    print(f"  recommended style: {style['recommended_style']}")
