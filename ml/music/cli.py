"""`python -m ml train|sample|eval piano`: the piano commands."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import torch

from ml.cli_args import number, output_file, write_output
from ml.cli_common import (
    add_checkpoint_flags,
    add_training_flags,
    check_same_data,
    fit_and_report,
    print_json,
    starting_checkpoint,
    train_config_from_args,
)
from ml.errors import DataError
from ml.music.audio import SYNTHS
from ml.music.evaluate import evaluate_piano
from ml.music.generate import PianoGenerator, PianoRequest
from ml.music.model import HEADS, PianoLSTM, PianoLSTMConfig
from ml.music.pianoroll import DEFAULT_FRAMES_PER_BEAT, KEYS
from ml.music.render import render_piece
from ml.music.task import PianoDataConfig, PianoTask
from ml.paths import DEFAULT_PIANO_CHECKPOINT
from ml.splits import DEFAULT_VALIDATION_FRACTION

log = logging.getLogger(__name__)

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
    p.set_defaults(run=train, dropout=0.3)


def train(args: argparse.Namespace) -> None:
    config = train_config_from_args(args)
    model_config = PianoLSTMConfig(
        input_dim=args.input_dim,
        hidden=args.hidden,
        layers=args.layers,
        dropout=args.dropout,
        head=args.head,
        nade_hidden=args.nade_hidden,
    )
    saved = starting_checkpoint(config, "piano", model_config.to_dict())  # before the data loads
    if saved is not None:
        grid = saved.meta.get("frames_per_beat")
        check_same_data({"--frames-per-beat": (grid, args.frames_per_beat)})
    task = PianoTask(
        PianoDataConfig(
            args.data,
            args.frames_per_beat,
            not args.no_transpose,
            args.val_fraction,
            args.also_train,
            args.augment_transpose,
        )
    )
    s = task.summary
    log.info(
        "%s: %d train tunes (%s frames), %d validation tunes (%s frames)",
        s["kind"],
        s["train_tunes"],
        f"{s['train_frames']:,}",
        s["val_tunes"],
        f"{s['val_frames']:,}",
    )
    if extra := s.get("also_train"):
        log.info(
            "%s: %d training tunes added; left out %d whose melody matches a held-out tune, "
            "%d that match no tune closely",
            extra["source"],
            extra["kept"],
            extra["matches_held_out"],
            extra["unverified"],
        )
    torch.manual_seed(config.seed)
    model = PianoLSTM(model_config)
    if saved is None:
        model.init_output_bias(task.train.key_frequencies())
    else:  # a resume then restores the optimizer and position too
        model.load_state_dict(saved.state_dict)
    fit_and_report(task, model, model_config.to_dict(), config)


def add_sample_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("piano", help="compose piano music with a trained model")
    add_checkpoint_flags(p, DEFAULT_PIANO_CHECKPOINT)
    p.add_argument("--out", type=output_file, required=True, help="MIDI file to write")
    p.add_argument("--png", type=output_file, help="also write a piano-roll picture")
    p.add_argument("--ogg", type=output_file, help="also write an audio preview (Opus in Ogg)")
    p.add_argument("--wav", type=output_file, help="also write the audio preview as a WAV")
    p.add_argument(
        "--seconds",
        type=number(float, 0, MAX_SAMPLE_SECONDS, above_low=True),
        default=30.0,
        help="length of the new music (default 30)",
    )
    p.add_argument(
        "--temperature",
        type=number(float, 0, 10),
        default=1.0,
        help="0 = likeliest notes; higher = wilder (default 1.0)",
    )
    p.add_argument("--seed", type=number(int, 0, 2**31 - 1), help="seed for a reproducible piece")
    p.add_argument("--prime", type=Path, help="MIDI file whose first bars start the piece")
    p.add_argument(
        "--prime-bars",
        type=number(float, 0, 64, above_low=True),
        default=2,
        help="bars of the prime to use (default 2)",
    )
    p.add_argument("--max-notes", type=number(int, 1, KEYS), help="at most this many keys at once")
    p.add_argument(
        "--synth",
        choices=SYNTHS,
        default="auto",
        help="audio renderer: auto is a SoundFont through tinysoundfont when installed, else numpy",
    )
    p.set_defaults(run=sample)


def sample(args: argparse.Namespace) -> None:
    generator = PianoGenerator.from_checkpoint(args.checkpoint, args.device)
    prime = None
    if args.prime:
        try:
            prime = generator.prime_from_midi(args.prime, args.prime_bars)
        except DataError as exc:
            raise DataError(f"cannot read the prime {args.prime}: {exc}") from None
        log.info("read %s of %s: %s", prime.bars_text, args.prime, prime.summary)
    request = PianoRequest(
        seconds=args.seconds,
        temperature=args.temperature,
        seed=args.seed,
        prime=None if prime is None else prime.roll,
        onsets_per_frame=None if prime is None else prime.onsets_per_frame,
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


def add_eval_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("piano", help="NLL per frame and frame accuracy, with the benchmark protocol")
    add_checkpoint_flags(p, DEFAULT_PIANO_CHECKPOINT)
    p.add_argument("--data", type=Path, required=True, help="MIDI folder, or a benchmark .pickle/.mat")
    p.add_argument(
        "--split",
        default="val",
        help="MIDI folder: val|all|train; benchmark file: train|valid|test|all (default val)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=evaluate)


def evaluate(args: argparse.Namespace) -> None:
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
