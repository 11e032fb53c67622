"""What the lyrics commands do, imported only when one runs (see ml/text/cli.py)."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from ml.checkpoint import Checkpoint
from ml.cli_common import print_json
from ml.cli_training import train_family
from ml.errors import BalladeerError, UnknownArtistError
from ml.text.evaluate import evaluate_lyrics
from ml.text.generate import LyricsGenerator
from ml.text.meta import LyricsMeta
from ml.text.model import CharLSTM, CharLSTMConfig
from ml.text.request import LyricsRequest
from ml.text.style import style_report
from ml.text.style_config import StyleReportConfig
from ml.text.task import LyricsDataConfig, LyricsTask
from ml.text.vocab import Vocab

log = logging.getLogger(__name__)


def train(args: argparse.Namespace) -> None:
    train_family(LyricsFamily(args), args)


class LyricsFamily:
    """The character LSTM on a lyrics CSV, conditioned on its artists (see ModelFamily)."""

    kind = "lyrics"

    def __init__(self, args: argparse.Namespace) -> None:
        self.data = LyricsDataConfig(
            data=args.data,
            artists=args.artists,
            min_songs=args.min_songs,
            conditional=not args.unconditional,
            condition_dropout=args.condition_dropout,
            validation_fraction=args.val_fraction,
            others_as_any_artist=args.others_as_any_artist,
        )
        self.model_settings = {
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

    def same_data(self, saved: Checkpoint, resume: bool) -> dict[str, tuple[Any, Any]]:
        meta, data = LyricsMeta.from_dict(saved.meta), self.data
        same = {
            "--val-fraction": (meta.data.validation_fraction, data.validation_fraction),
            "--unconditional": (not meta.artists, not data.conditional),
        }
        if resume:  # the same artist table and split as the run being continued
            same["--min-songs"] = (meta.data.min_songs, data.min_songs)
            same["--artists"] = (meta.data.asked_artists, list(data.artists or []))
            same["--others-as-any-artist"] = (meta.data.others_as_any_artist, data.others_as_any_artist)
        return same

    def build_task(self, saved: Checkpoint | None, resume: bool) -> LyricsTask:
        if saved is None:
            task = LyricsTask.from_config(self.data)
        else:  # a fine-tune keeps the checkpoint's characters and artists and adds the new data's
            meta = LyricsMeta.from_dict(saved.meta)
            task = LyricsTask.from_config(self.data, Vocab(meta.vocab), meta.artists, grow=not resume)
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
        return task

    def build_model(self, task: LyricsTask, saved: Checkpoint | None) -> tuple[CharLSTM, dict[str, Any]]:
        tables = {"vocab_size": len(task.train.vocab), "n_artists": len(task.train.artists)}
        base = self.model_settings if saved is None else saved.model_config
        config = CharLSTMConfig(**{**base, **tables})
        model = CharLSTM(config)
        if saved is not None:
            model.load_grown(saved.state_dict)
        return model, config.to_dict()


def sample(args: argparse.Namespace) -> None:
    generator = LyricsGenerator.from_checkpoint(args.checkpoint, args.device)
    if args.list_artists:
        print("\n".join(generator.artists))
        return
    try:
        generator.resolve_artist(args.artist)
    except UnknownArtistError as exc:
        raise BalladeerError(f"{exc} --list-artists shows the artists this model knows.") from None
    requests = [
        LyricsRequest(
            artist=args.artist,
            prime=args.prime,
            temperature=args.temperature,
            length=args.length,
            seed=None if args.seed is None else args.seed + i,
            top_k=args.top_k,
            style=args.style,
            style_ramp=args.style_ramp,
            min_p=args.min_p,
            plausibility=args.plausibility,
            recall=args.recall,
            rhyme=args.rhyme,
            candidates=args.candidates,
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


def evaluate(args: argparse.Namespace) -> None:
    report = evaluate_lyrics(args.checkpoint, args.data, args.split, args.device, args.min_songs)
    if args.style_report:
        config = StyleReportConfig(
            top_artists=args.top_artists,
            samples_per_artist=args.samples_per_artist,
            settings=args.settings,
            sample_length=args.sample_length,
        )
        report["style_report"] = style_report(args.checkpoint, args.data, config, args.device)
    if args.json:
        print_json(report)
        return
    among = f", artists with {args.min_songs}+ songs" if args.min_songs > 1 else ""
    print(f"{report['songs']} songs, {report['chars']:,} characters ({args.split} split{among})")
    for name, bits in report["baselines"].items():
        print(f"  {name:<22}{bits:6.3f} bits/char")
    if not report["baselines"]:
        print("  (the count baselines are fitted on the file's training songs: --split val only)")
    print(f"  {'LSTM':<22}{report['bits_per_char']:6.3f} bits/char")
    if "bits_per_char_any_artist" in report:
        print(f"  {'LSTM, any artist':<22}{report['bits_per_char_any_artist']:6.3f} bits/char")
    print("per artist (most characters first; * = an artist the model does not know, scored as any artist):")
    for name, row in list(report["per_artist"].items())[:15]:
        extra = (
            f"  any artist {row['bits_per_char_any_artist']:.3f}" if "bits_per_char_any_artist" in row else ""
        )
        label = name if row["known_artist"] else f"{name} *"
        print(f"  {label:<28}{row['songs']:4d} songs {row['bits_per_char']:6.3f}{extra}")
    if "style_report" in report:
        print_style_report(report["style_report"])


def print_style_report(style: dict) -> None:
    reference = style["reference"]
    print(
        f"quality: classifier over {len(style['artists'])} artists (chance {style['chance']:.2f}); "
        f"{reference['validation_songs']} real validation songs cut to the reply length"
    )
    header = "attributed  real words  first line  repeats  rhymes  Title Case  copied  mid-line  bits/char"
    print(f"  {'':<30}{header}")
    print(f"  {'real unseen songs':<30}{_quality_row(reference)}")
    for key, row in style["sweep"].items():
        print(f"  {key:<30}{_quality_row(row)}")
    chosen = style["recommended"]
    misses = "; misses: " + ", ".join(style["recommended_misses"]) if style["recommended_misses"] else ""
    print(f"  recommended: {chosen}{misses}")


def _quality_row(row: dict) -> str:
    def share(name: str) -> str:
        value = row.get(name)
        return "   –" if value is None else f"{value:4.2f}"

    return (
        f"{share('accuracy'):>10}  {share('real_words'):>10}  {share('first_line_real_words'):>10}  "
        f"{share('repeated_lines'):>7}  {share('rhymes'):>6}  {share('title_case'):>10}  "
        f"{share('copy_rate'):>6}  {share('cut_mid_line'):>8}  {row['bits_per_char_any_artist']:9.3f}"
    )
