"""`python -m ml train|sample|eval piano`: the piano commands."""

from __future__ import annotations

import argparse
from pathlib import Path

from ml.cli_args import lazy, number, output_file
from ml.cli_common import (
    add_checkpoint_flags,
    add_training_flags,
)
from ml.music.keyboard import KEYS
from ml.music.request import PianoRequest
from ml.names import DEFAULT_FRAMES_PER_BEAT, HEADS, SYNTHS
from ml.paths import DEFAULT_MUSIC_CHECKPOINT
from ml.splits import DEFAULT_VALIDATION_FRACTION

MAX_AUGMENT_SEMITONES = 12  # an octave either way; more only pushes notes off the keyboard
MAX_SAMPLE_SECONDS = 600.0  # ten minutes of music: past that a sample is a mistake, not a wish


def add_train_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("piano", help="train a piano-roll LSTM on MIDI files or a benchmark set")
    p.add_argument(
        "--data",
        type=Path,
        required=True,
        help="a folder of MIDI files, or a Boulanger-Lewandowski .pickle/.mat (published split)",
    )
    p.add_argument("--out", type=Path, required=True, help="run folder for checkpoints and logs")
    p.add_argument(
        "--frames-per-beat",
        type=number(int, 1, 96),
        default=DEFAULT_FRAMES_PER_BEAT,
        help="grid frames per quarter note (default 2: eighth notes, as the Nottingham benchmark)",
    )
    p.add_argument(
        "--also-train",
        type=Path,
        help="a MIDI folder whose training split joins --data's; tunes whose melody matches a "
        "held-out tune of --data are left out (the leakage rule)",
    )
    p.add_argument("--no-transpose", action="store_true", help="keep MIDI tunes in their own key")
    p.add_argument(
        "--augment-transpose",
        type=number(int, 0, MAX_AUGMENT_SEMITONES),
        default=0,
        metavar="K",
        help="each epoch, move every training tune by a random -K..K semitones (default 0: off)",
    )
    p.add_argument(
        "--input-dim",
        type=number(int, 1, 8192),
        default=256,
        help="size of the frame projection (default 256)",
    )
    p.add_argument(
        "--head",
        choices=HEADS,
        default="nade",
        help="nade: a frame's keys predicted one after another (default); sigmoid: independent keys",
    )
    p.add_argument(
        "--nade-hidden", type=number(int, 1, 8192), default=128, help="NADE hidden units (default 128)"
    )
    p.add_argument(
        "--val-fraction",
        type=number(float, 0, 0.9, above_low=True),
        default=DEFAULT_VALIDATION_FRACTION,
        help="share of MIDI files held out for validation",
    )
    add_training_flags(p)
    p.set_defaults(run=lazy("ml.music.commands", "train"), dropout=0.3)


def add_sample_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("piano", help="compose piano music with a trained model")
    add_checkpoint_flags(p, DEFAULT_MUSIC_CHECKPOINT)
    p.add_argument("--out", type=output_file, required=True, help="MIDI file to write")
    p.add_argument("--png", type=output_file, help="also write a piano-roll picture")
    p.add_argument("--ogg", type=output_file, help="also write an audio preview (Opus in Ogg)")
    p.add_argument("--wav", type=output_file, help="also write the audio preview as a WAV")
    p.add_argument(
        "--seconds",
        type=number(float, 0, MAX_SAMPLE_SECONDS, above_low=True),
        default=PianoRequest.seconds,
        help=f"length of the new music (default {PianoRequest.seconds:g})",
    )
    p.add_argument(
        "--temperature",
        type=number(float, 0, 10),
        default=PianoRequest.temperature,
        help=f"0 = likeliest notes; higher = wilder (default {PianoRequest.temperature:g})",
    )
    p.add_argument("--seed", type=number(int, 0, 2**31 - 1), help="seed for a reproducible piece")
    p.add_argument("--prime", type=Path, help="MIDI file whose first bars start the piece")
    p.add_argument(
        "--prime-bars",
        type=number(float, 0, 64, above_low=True),
        default=PianoRequest.PRIME_BARS,
        help=f"bars of the prime to use (default {PianoRequest.PRIME_BARS:g})",
    )
    p.add_argument("--max-notes", type=number(int, 1, KEYS), help="at most this many keys at once")
    p.add_argument(
        "--synth",
        choices=SYNTHS,
        default="auto",
        help="audio renderer: auto is a SoundFont through tinysoundfont when installed, else numpy",
    )
    p.set_defaults(run=lazy("ml.music.commands", "sample"))


def add_eval_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("piano", help="NLL per frame and frame accuracy, with the benchmark protocol")
    add_checkpoint_flags(p, DEFAULT_MUSIC_CHECKPOINT)
    p.add_argument(
        "--data", type=Path, help="MIDI folder, or a benchmark .pickle/.mat (required unless --music-report)"
    )
    p.add_argument(
        "--split",
        default="val",
        help="MIDI folder: val|all|train; benchmark file: train|valid|test|all (default val)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    report = p.add_argument_group("music report (--music-report)")
    report.add_argument(
        "--music-report",
        action="store_true",
        help="instead: each style's samples against real held-out pieces of the style (notes per "
        "second, polyphony, range, key, held chords, repeated bars) and a style classifier",
    )
    report.add_argument(
        "--style-model",
        type=_style_path,
        action="append",
        metavar="STYLE=CHECKPOINT",
        help="a style's model (default: the shipped folk, chorale and piano models)",
    )
    report.add_argument(
        "--style-data",
        type=_style_path,
        action="append",
        metavar="STYLE=PATH",
        help="a style's real pieces (default: the data its model was trained on)",
    )
    report.add_argument(
        "--samples", type=number(int, 1, 10_000), default=20, help="samples per style (default 20)"
    )
    report.add_argument(
        "--sample-seconds",
        type=number(float, 0, MAX_SAMPLE_SECONDS, above_low=True),
        default=PianoRequest.seconds,
        help=f"length of each sample and real excerpt (default {PianoRequest.seconds:g})",
    )
    report.add_argument("--max-notes", type=number(int, 1, KEYS), help="at most this many keys at once")
    report.add_argument("--pictures", type=Path, help="folder for one piano-roll picture per style")
    p.set_defaults(run=lazy("ml.music.commands", "evaluate"))


def _style_path(value: str) -> tuple[str, Path]:
    style, sep, path = value.partition("=")
    if not sep or not style or not path:
        raise argparse.ArgumentTypeError(
            f"expected STYLE=PATH, e.g. chorale=runs/chorale/best.pt, not {value!r}"
        )
    return style, Path(path)
