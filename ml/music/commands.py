"""What the piano commands do, imported only when one runs (see ml/music/cli.py)."""

from __future__ import annotations

import argparse
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

from ml.checkpoint import Checkpoint
from ml.cli_args import write_output
from ml.cli_common import print_json
from ml.cli_training import train_family
from ml.errors import BalladeerError, DataError
from ml.music.continuation import continuation_request
from ml.music.evaluate import evaluate_piano
from ml.music.generate import PianoGenerator
from ml.music.meta import PianoMeta
from ml.music.model import PianoLSTM, PianoLSTMConfig
from ml.music.pianoroll import save_roll_png
from ml.music.render import render_piece
from ml.music.report import MusicReportConfig, StyleModel, make_music_report
from ml.music.request import PianoRequest
from ml.music.task import PianoDataConfig, PianoTask
from ml.paths import DEFAULT_MUSIC_CHECKPOINTS

log = logging.getLogger(__name__)


def train(args: argparse.Namespace) -> None:
    train_family(PianoFamily(args), args)


class PianoFamily:
    """The piano-roll LSTM on MIDI files or a benchmark file (see ModelFamily)."""

    kind = "piano"

    def __init__(self, args: argparse.Namespace) -> None:
        self.config = PianoLSTMConfig(
            input_dim=args.input_dim,
            hidden=args.hidden,
            layers=args.layers,
            dropout=args.dropout,
            head=args.head,
            nade_hidden=args.nade_hidden,
        )
        self.model_settings = self.config.to_dict()
        self.data = PianoDataConfig(
            args.data,
            args.frames_per_beat,
            not args.no_transpose,
            args.val_fraction,
            args.also_train,
            args.augment_transpose,
        )

    def same_data(self, saved: Checkpoint, resume: bool) -> dict[str, tuple[Any, Any]]:
        meta, data = PianoMeta.from_dict(saved.meta), self.data
        same = {
            "--frames-per-beat": (meta.frames_per_beat, data.frames_per_beat),
            "--no-transpose": (not meta.transpose, not data.transpose),
            "--val-fraction": (meta.data.validation_fraction, data.validation_fraction),
        }
        if resume:  # the same data as the run being continued (a fine-tune may add some)
            same["--augment-transpose"] = (meta.data.augment_semitones, data.augment_semitones)
            same["--also-train"] = (meta.data.also_train is not None, data.also_train is not None)
        return same

    def build_task(self, saved: Checkpoint | None, resume: bool) -> PianoTask:
        task = PianoTask(self.data)
        if saved is not None:  # a resumed run started where the saved one did
            start = PianoMeta.from_dict(saved.meta).data
            pretrained = start.pretrained if resume else start.as_pretraining()
            task.summary = replace(task.summary, pretrained=pretrained)
        s = task.summary
        log.info(
            "%s: %d train tunes (%s frames), %d validation tunes (%s frames)",
            s.kind,
            s.train_tunes,
            f"{s.train_frames:,}",
            s.val_tunes,
            f"{s.val_frames:,}",
        )
        if extra := s.also_train:
            log.info(
                "%s: %d training tunes added; left out %d whose melody matches a held-out tune, "
                "%d that match no tune closely",
                extra["source"],
                extra["kept"],
                extra["matches_held_out"],
                extra["unverified"],
            )
        return task

    def build_model(self, task: PianoTask, saved: Checkpoint | None) -> tuple[PianoLSTM, dict[str, Any]]:
        model = PianoLSTM(self.config)
        if saved is None:
            model.init_output_bias(task.train.key_frequencies())
        else:
            model.load_state_dict(saved.state_dict)
        return model, self.model_settings


def sample(args: argparse.Namespace) -> None:
    generator = PianoGenerator.from_checkpoint(args.checkpoint, args.device)
    prime = None
    if args.prime:
        try:
            prime = generator.prime_from_midi(args.prime, args.prime_bars)
        except DataError as exc:
            raise DataError(f"cannot read the prime {args.prime}: {exc}") from None
        log.info("read %s of %s: %s", prime.bars_text, args.prime, prime.summary)
    if prime is None:
        request = PianoRequest(
            seconds=args.seconds, temperature=args.temperature, seed=args.seed, max_notes=args.max_notes
        )
    else:
        request = continuation_request(
            prime,
            args.seconds,
            generator.frames_per_beat,
            temperature=args.temperature,
            seed=args.seed,
            max_notes=args.max_notes,
        )
    piece = generator.generate([request])[0]
    formats = tuple(f for f, path in (("ogg", args.ogg), ("wav", args.wav)) if path)
    rendered = render_piece(piece, prime=prime, audio=formats, png=bool(args.png), synth=args.synth)
    written = []
    for path, data, note in (
        (args.out, rendered.midi, ""),
        (args.png, rendered.png, ""),
        (args.ogg, rendered.audio.get("ogg"), f" ({rendered.synth} synth)"),
        (args.wav, rendered.audio.get("wav"), f" ({rendered.synth} synth)"),
    ):
        if path is not None:
            write_output(path, data)
            written.append(f"{path}{note}")
    print(f"{piece.seconds:.1f} s, {rendered.notes} notes, seed {piece.seed}: {', '.join(written)}")


def evaluate(args: argparse.Namespace) -> None:
    if args.music_report:
        music_report(args)
        return
    if args.data is None:
        raise BalladeerError(
            "eval piano needs --data (a MIDI folder or a benchmark file), or --music-report."
        )
    report = evaluate_piano(args.checkpoint, args.data, args.split, args.device)
    if args.json:
        print_json(report)
        return
    print(f"{report['tunes']} tunes, {report['frames']:,} scored frames ({args.split} split)")
    nll, accuracy = report["nll_per_frame"], report["frame_accuracy"]
    print(f"  LSTM                   NLL/frame {nll:7.3f}   frame accuracy {accuracy:.3f}")
    base = report["baselines"]["independent_bernoulli"]
    acc = report["baseline_frame_accuracy"]["independent_bernoulli"]
    print(f"  independent Bernoulli  NLL/frame {base:7.3f}   frame accuracy {acc:.3f}")
    print(
        f"  LSTM, each piece's NLL/frame averaged over the pieces: {report['nll_per_frame_piece_mean']:.3f}"
        " (the figure above weighs every frame alike, as the published tables do)"
    )


def music_report(args: argparse.Namespace) -> None:
    paths = dict(args.style_model or DEFAULT_MUSIC_CHECKPOINTS.items())
    data = dict(args.style_data or [])
    if unknown := set(data) - set(paths):
        raise BalladeerError(f"--style-data names {', '.join(sorted(unknown))}, which has no --style-model.")
    models = []
    for style, path in paths.items():
        generator = PianoGenerator.from_checkpoint(path, args.device)
        source = data.get(style, Path(generator.meta.data.source))
        if not source.exists():
            raise BalladeerError(
                f"The {style} model was trained on {source}, which is not here: "
                f"give --style-data {style}=PATH."
            )
        models.append(StyleModel(style, generator, source))
    config = MusicReportConfig(samples=args.samples, seconds=args.sample_seconds, max_notes=args.max_notes)
    report = make_music_report(models, config)
    rolls = report.pop("sample_rolls")
    if args.pictures is not None:
        args.pictures.mkdir(parents=True, exist_ok=True)
        for m in models:
            picture = args.pictures / f"music-{m.style}.png"
            title = f"{m.style}: a {config.seconds:g} s sample (seed {config.seed})"
            save_roll_png(rolls[m.style][0], picture, m.generator.frames_per_beat, title=title)
    if args.json:
        print_json(report)
        return
    print(music_report_table(report))


def _table_row(label: str, rows: list[dict], marked: bool = True) -> str:
    """One Markdown row: per style the samples' median (✗ outside the real range when
    `marked`), then the real pieces' 10th-90th percentile range."""
    cells = []
    for row in rows:
        mark = " ✗" if marked and not row["within"] else ""
        cells.append(f"{row['samples_median']:.2f}{mark} | {row['real_p10']:.2f}-{row['real_p90']:.2f}")
    return f"| {label} | " + " | ".join(cells) + " |"


def music_report_table(report: dict) -> str:
    """The report as Markdown: one row per statistic, a column per style (sample median,
    then the real pieces' 10th-90th percentile range)."""
    styles = report["styles"]
    names = list(next(iter(styles.values()))["statistics"])
    lines = [
        "| statistic | " + " | ".join(f"{s}: samples | {s}: real 10th-90th" for s in styles) + " |",
        "|---|" + "---|---|" * len(styles),
    ]
    for name in names:
        lines.append(_table_row(name.replace("_", " "), [styles[s]["statistics"][name] for s in styles]))
    attributed = [
        f"{s['attributed']['samples']:.2f} | {s['attributed']['real']:.2f}" for s in styles.values()
    ]
    lines.append("| attributed to its style | " + " | ".join(attributed) + " |")
    for name in ("repeated_bars", "motif_reuse"):
        lines.append(_table_row(f"form: {name.replace('_', ' ')}", [styles[s]["form"][name] for s in styles]))
    triple = [
        f"{s['form']['triple_share']['samples']:.2f} | {s['form']['triple_share']['real']:.2f}"
        for s in styles.values()
    ]
    lines.append("| form: share in triple time | " + " | ".join(triple) + " |")
    dynamics = [
        f"{s['form']['velocity_spread_median']:.1f}, {s['form']['top_louder_than_bass']:.0%} | -"
        for s in styles.values()
    ]
    lines.append("| dynamics: velocity spread, melody over bass | " + " | ".join(dynamics) + " |")
    for name in ("parallels_per_15_bars", "bass_median", "four_voice_share"):
        rows = [styles[s]["form"]["voices"][name] for s in styles]
        lines.append(_table_row(f"voices: {name.replace('_', ' ')}", rows, marked=False))
    lines.append("")
    for style, s in styles.items():
        missed = "; ".join(s["missed"]) or "none"
        lines.append(
            f"- {style}: {s['samples']} samples, {s['real_pieces']} real excerpts; targets missed: {missed}"
        )
    return "\n".join(lines)
