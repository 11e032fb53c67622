"""Piano benchmarks: MIDI preprocessing (first run and cached), training throughput; for
each style's model, the time to compose 30 s of music and render the bot's reply (MIDI,
PNG, Opus preview), and 16 pieces in one batch; and /continue's style detection on a
16-bar opening.

Prints figures only; nothing here asserts a target. Run on an otherwise idle machine:

    python scripts/bench_piano.py --midi ../shared/data/nottingham/jukedeck
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import torch

from ml.checkpoint import Checkpoint
from ml.music.audio import RELEASE_S
from ml.music.data import load_midi_folder
from ml.music.generate import PianoGenerator
from ml.music.model import PianoLSTM, PianoLSTMConfig
from ml.music.render import render_piece
from ml.music.request import PianoRequest
from ml.music.styles import read_style
from ml.music.task import PianoDataConfig, PianoTask
from ml.names import HEADS
from ml.paths import DEFAULT_MUSIC_CHECKPOINTS
from ml.training import TrainConfig, Trainer, training_precisions


def bench_preprocessing(folder: Path) -> tuple[float, float, int, int]:
    """Seconds for a cold conversion (empty cache) and a cached load; tunes; frames."""
    with tempfile.TemporaryDirectory() as cache:
        os.environ["BALLADEER_CACHE"] = cache
        start = time.perf_counter()
        loaded = load_midi_folder(folder, frames_per_beat=2, transpose=True)
        cold = time.perf_counter() - start
        start = time.perf_counter()
        load_midi_folder(folder, frames_per_beat=2, transpose=True)
        warm = time.perf_counter() - start
    frames = sum(len(t.roll) for t in loaded.tunes)
    return cold, warm, len(loaded.tunes), frames


def bench_training(folder: Path, head: str, precision: str, steps: int) -> float:
    """Frames per second of Trainer.train_step for 2x512, batch 64 x seq 128, tbptt."""
    task = PianoTask(PianoDataConfig(folder))
    config = PianoLSTMConfig(hidden=512, layers=2, head=head)
    train = TrainConfig(out_dir=Path(tempfile.mkdtemp()), precision=precision, device="cpu", progress=False)
    trainer = Trainer(task, PianoLSTM(config), train, config.to_dict())
    return trainer.measure_throughput(steps)


def piano_generator(checkpoint: Path) -> tuple[PianoGenerator, str]:
    if checkpoint.is_file():
        generator = PianoGenerator.from_checkpoint(checkpoint)
        return generator, f"{checkpoint}, {generator.model.config.head} head"
    torch.manual_seed(0)
    config = PianoLSTMConfig(hidden=512, layers=2)
    model = PianoLSTM(config)
    meta = {"frames_per_beat": 2, "tempo_bpm": 120.0, "openings": [[39, 43, 46]]}
    return PianoGenerator(Checkpoint("piano", config.to_dict(), model.state_dict(), meta)), "untrained 2x512"


def bench_composing(generator: PianoGenerator) -> dict[str, float]:
    """Seconds to sample 30 s of music, to render its MIDI, PNG and Opus preview (the bot's
    reply), and to sample 16 at once; the preview's size beside the 16-bit 44.1 kHz mono WAV
    it replaces."""
    piece = generator.generate([PianoRequest(seconds=2, seed=0)])[0]
    render_piece(piece)  # imports (matplotlib, the synth) and the SoundFont's first load
    timings = {}
    start = time.perf_counter()
    piece = generator.generate([PianoRequest(seconds=30, seed=1)])[0]
    timings["sample"] = time.perf_counter() - start
    parts = {"midi": {"audio": (), "png": False}, "png": {"audio": ()}, "ogg": {"png": False}}
    for part, options in parts.items():
        start = time.perf_counter()
        rendered = render_piece(piece, **options)
        timings[part] = time.perf_counter() - start
        if part == "ogg":
            timings["ogg_bytes"] = len(rendered.audio["ogg"])
            timings["synth"] = rendered.synth
    timings["png"] -= timings["midi"]  # every rendering includes the MIDI
    timings["ogg"] -= timings["midi"]
    timings["wav_bytes"] = 44 + (piece.seconds + RELEASE_S) * 44_100 * 2
    start = time.perf_counter()
    generator.generate([PianoRequest(seconds=30, seed=s) for s in range(16)])
    timings["batch16"] = time.perf_counter() - start
    timings["frames"] = len(piece.roll)
    return timings


def bench_style_detection(generators: dict[str, PianoGenerator], repeats: int = 5) -> tuple[float, str]:
    """Seconds for every style's model to score a 16-bar opening (the /continue file already
    read), the best of `repeats`, and what the reading said. The opening is a piece each
    model wrote, so every model has something plausible to score."""
    first = next(iter(generators.values()))
    piece = first.generate([PianoRequest(seconds=40, seed=3)])[0]
    prime = first.prime_from_midi(render_piece(piece, audio=(), png=False).midi, bars=16)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        reading = read_style(generators, prime)
        best = min(best, time.perf_counter() - start)
    return best, f"{prime.bars:g} bars, {reading.explanation()}"


def bench_preparation(folder: Path, steps: int) -> None:
    cold, warm, tunes, frames = bench_preprocessing(folder)
    print(
        f"preprocessing {tunes} MIDI files ({frames:,} frames): first run {cold:.2f} s, cached {warm:.3f} s"
    )
    print("training throughput (Trainer.train_step, 2x512, batch 64 x seq 128, tbptt):")
    for head in HEADS:
        for precision in training_precisions(torch.device("cpu")):
            fps = bench_training(folder, head, precision, steps)
            print(f"  {head:7s} head, {precision}: {fps:10,.0f} frames/s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--midi", type=Path, default=Path("../shared/data/nottingham/jukedeck"))
    parser.add_argument(
        "--checkpoint", type=Path, help="one model to compose with (default: each shipped style's)"
    )
    parser.add_argument("--steps", type=int, default=10, help="timed training steps per figure")
    parser.add_argument("--only", choices=("compose",), help="skip preprocessing and training figures")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    if args.only is None:
        bench_preparation(args.midi, args.steps)
    checkpoints = {"given": args.checkpoint} if args.checkpoint else DEFAULT_MUSIC_CHECKPOINTS
    generators = {}
    for style, checkpoint in checkpoints.items():
        generator, which = piano_generator(checkpoint)
        generators[style] = generator
        t = bench_composing(generator)
        print(f"composing 30 s, {style} ({which}, {t['frames']} frames):")
        print(
            f"  sample {t['sample']:.2f} s, MIDI {t['midi']:.3f} s, "
            f"PNG {t['png']:.2f} s, Opus preview ({t['synth']}) {t['ogg']:.2f} s; "
            f"total {t['sample'] + t['midi'] + t['png'] + t['ogg']:.2f} s"
        )
        print(
            f"  preview {t['ogg_bytes'] / 1e3:,.0f} kB against {t['wav_bytes'] / 1e3:,.0f} kB as a 16-bit "
            f"44.1 kHz mono WAV ({t['wav_bytes'] / t['ogg_bytes']:.1f}x smaller)"
        )
        print(f"  16 pieces of 30 s in one batch: {t['batch16']:.2f} s", flush=True)
    if len(generators) > 1:
        seconds, what = bench_style_detection(generators)
        print(f"/continue style detection over {len(generators)} styles: {seconds:.2f} s ({what})")


if __name__ == "__main__":
    main()
