"""Lyrics benchmarks: training throughput, sampling latency/throughput, training memory.

Prints figures only; nothing here asserts a target. Run on an otherwise idle machine:

    python scripts/bench_lyrics.py            # everything (a few minutes on 2 cores)
    python scripts/bench_lyrics.py --only reply     # the shipped model's default reply
    python scripts/bench_lyrics.py --only reply --smoke --checkpoint tiny.pt  # its code path, seconds
    python scripts/bench_lyrics.py --only memory
    python scripts/bench_lyrics.py --only precision # what int8/fp16/bf16 steps cost in bits/char
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from torch.nn.utils.rnn import pad_sequence

from ml.batch import Batch
from ml.checkpoint import Checkpoint
from ml.paths import DEFAULT_LYRICS_CHECKPOINT
from ml.recurrent import PRECISION_ENV, cpu_has_native_bf16, fbgemm_available
from ml.text.artists import ANY_ARTIST, ArtistTable
from ml.text.data import LyricsCorpus, Song, read_songs, spelled_as, split_songs
from ml.text.generate import LyricsGenerator
from ml.text.meta import LyricsData
from ml.text.model import CharLSTM, CharLSTMConfig
from ml.text.request import LyricsRequest
from ml.text.task import LyricsTask
from ml.text.vocab import BOS, EOS, Vocab
from ml.training import TrainConfig, Trainer, sequence_loss, training_precisions

CHARS = [chr(c) for c in range(32, 127)] + ["\n"]
ARTISTS = [ANY_ARTIST, "A", "B"]
CANDIDATES = (1, 2, 4, 8)  # what best of N costs a reply
LARGER_SHAPES = ((768, 2), (512, 3))  # (hidden, layers) the size ablation tried


def synthetic_task(chars: int) -> LyricsTask:
    """Random lyrics-like songs (~1,000 characters each) for throughput figures."""
    rng = random.Random(0)
    words = ["love", "baby", "night", "you", "me", "heart", "dance", "why", "oh", "the"]
    songs = []
    while sum(len(s.text) for s in songs) < chars:
        lines = [" ".join(rng.choices(words, k=6)).capitalize() for _ in range(30)]
        songs.append(Song(rng.choice(ARTISTS[1:]), f"s{len(songs)}", "\n".join(lines)))
    vocab = Vocab(CHARS)
    corpus = LyricsCorpus(vocab, ARTISTS, songs, condition_dropout=0.2)
    return LyricsTask(corpus, LyricsCorpus(vocab, ARTISTS, songs[:4]), LyricsData())


def model_config(hidden: int, layers: int) -> CharLSTMConfig:
    """The shipped lyrics model's shape (see checkpoints/MODEL_CARD.md) at the given size."""
    return CharLSTMConfig(
        vocab_size=len(CHARS) + 3, n_artists=len(ARTISTS), hidden=hidden, layers=layers, dropout=0.3
    )


def bench_training(hidden: int, layers: int, precision: str, steps: int) -> float:
    """Characters per second of Trainer.train_step, batch 64 x seq 128, tbptt."""
    task = synthetic_task(64 * 128 * (steps + 3))
    config = model_config(hidden, layers)
    train = TrainConfig(out_dir=Path("/tmp/bench-lyrics"), precision=precision, device="cpu", progress=False)
    trainer = Trainer(task, CharLSTM(config), train, config.to_dict())
    return trainer.measure_throughput(steps)


def random_generator(
    hidden: int = 512, layers: int = 2, device: str | torch.device = "cpu"
) -> LyricsGenerator:
    """A model of random weights whose end-of-song logit is switched off, so every sample
    runs full length (2 x 512 is the shipped shape)."""
    torch.manual_seed(0)
    config = model_config(hidden, layers)
    model = CharLSTM(config)
    with torch.no_grad():
        model.head.bias[EOS] = -1e4
    meta = {"vocab": CHARS, "artists": ARTISTS}
    return LyricsGenerator(Checkpoint("lyrics", config.to_dict(), model.state_dict(), meta), device)


def bench_sampling(rounds: int, style: float) -> dict[str, float]:
    """One 500-character request and 32 in one batch, at `style` (1: plain conditional
    sampling; otherwise guided, two rows per request). Each round times two single requests
    and then a batch, so a noisy neighbour slows both figures alike; medians over the rounds."""
    generator = random_generator()
    generator.generate([LyricsRequest(length=50, seed=0)])
    requests = [LyricsRequest(artist="AB"[i % 2], length=500, seed=i, style=style) for i in range(32)]
    one, batch = [], []
    for i in range(rounds):
        for seed in (2 * i, 2 * i + 1):
            start = time.perf_counter()
            generator.generate([LyricsRequest(artist="A", prime="Why", length=500, seed=seed, style=style)])
            one.append(time.perf_counter() - start)
        start = time.perf_counter()
        generator.generate(requests)
        batch.append(time.perf_counter() - start)
    single, batch_s = statistics.median(one), statistics.median(batch)
    rows = 1 if style == 1 else 2  # per request
    products_one = 500 * matrix_products_per_step(generator, rows=rows)
    products_batch = 500 * matrix_products_per_step(generator, rows=32 * rows)
    return {
        "one_500_chars_s": single,
        "one_chars_per_s": 500 / single,
        "batch32_s": batch_s,
        "batch32_chars_per_s": 32 * 500 / batch_s,
        "batch_speedup": (32 * 500 / batch_s) / (500 / single),
        "batch32_matrix_products_s": products_batch,
        # If the batch's other work (gates, sampling, bookkeeping) cost no more than one request's:
        "speedup_bound": 32 * single / (products_batch + single - products_one),
    }


def bench_shipped_reply(rounds: int, checkpoint: Path = DEFAULT_LYRICS_CHECKPOINT) -> dict[str, float]:
    """The reply a /lyrics user gets by default: the shipped model, its best-known artist,
    500 characters, every sampling default (style, ramp, min-p, recall, rhyme, line-end
    stop). One request at a time, and 16 at once in one batch (the bot batches concurrent
    requests); medians over the rounds, and the characters actually written. Then one
    request with each number of candidates, the rest at the defaults."""
    generator = LyricsGenerator.from_checkpoint(checkpoint)
    counts = generator.song_counts
    artists = sorted(counts, key=lambda a: -counts[a])[:16]
    generator.generate([LyricsRequest(length=50, seed=0)])
    one, batch, written = [], [], []
    for i in range(rounds):
        for seed in (2 * i, 2 * i + 1):
            start = time.perf_counter()
            (sample,) = generator.generate([LyricsRequest(artist=artists[0], seed=seed)])
            one.append(time.perf_counter() - start)
            written.append(len(sample.text))
        requests = [LyricsRequest(artist=artists[j % len(artists)], seed=100 * i + j) for j in range(16)]
        start = time.perf_counter()
        samples = generator.generate(requests)
        batch.append(time.perf_counter() - start)
    by_candidates = {}
    for candidates in CANDIDATES:
        times = []
        for seed in range(rounds):
            start = time.perf_counter()
            generator.generate([LyricsRequest(artist=artists[0], seed=seed, candidates=candidates)])
            times.append(time.perf_counter() - start)
        by_candidates[candidates] = statistics.median(times)
    batch_s = statistics.median(batch)
    return {
        "one_reply_s_by_candidates": by_candidates,
        "one_reply_s": statistics.median(one),
        "one_reply_chars": statistics.median(written),
        "batch16_s": batch_s,
        "batch16_replies_per_s": 16 / batch_s,
        "batch16_chars": sum(len(s.text) for s in samples) / 16,
    }


def matrix_products_per_step(generator: LyricsGenerator, rows: int, repeats: int = 200) -> float:
    """Seconds per step of the LSTM layers' matrix products alone at `rows` rows: the part of a
    batch's time that no per-step overhead trimming can remove."""
    hidden, layers = generator.stepper.hidden, generator.stepper.layers
    inputs = [torch.randn(rows, hidden * (1 if layer == 0 else 2)) for layer in range(len(layers))]

    def step() -> None:
        for layer, x in zip(layers, inputs, strict=True):
            layer(x)

    step()
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    return (time.perf_counter() - start) / repeats


def fast_precisions() -> list[str]:
    """The sampling precisions this CPU runs natively ($BALLADEER_SAMPLING_PRECISION values)."""
    x86 = fbgemm_available()
    runs_here = {"fp32": True, "fp16": x86, "bf16": cpu_has_native_bf16(), "int8": x86}
    return [name for name, fast in runs_here.items() if fast]


@torch.no_grad()
def stepper_bits_per_char(generator: LyricsGenerator, songs: list[Song], chars: int) -> float:
    """Bits per character of the songs' first `chars` characters, each under its own artist,
    read through the generator's sampling steps (LSTMStepper at its precision), all songs in
    one lockstep batch as a reply batch runs."""
    vocab, model = generator.vocab, generator.model
    feeds = [torch.tensor([BOS, *vocab.encode(s.text).ids][: chars + 1]) for s in songs]
    tokens, lengths = pad_sequence(feeds, batch_first=True), torch.tensor([len(f) for f in feeds])
    artists = torch.tensor([generator.resolve_artist(s.artist)[1] for s in songs])
    artist_gates, output_bias = generator.artist_gates[artists], model.output_bias(artists)
    state = generator.stepper.zero_state(len(songs), generator.device)
    nats = 0.0
    for t in range(tokens.shape[1] - 1):
        out, state = generator.stepper.step(generator.char_gates[tokens[:, t]] + artist_gates, state)
        logp = torch.log_softmax(torch.addmm(output_bias, out, generator.head_weight), dim=-1)
        scored = lengths > t + 1
        nats -= logp.gather(1, tokens[:, t + 1 : t + 2]).squeeze(1)[scored].sum().item()
    return nats / (lengths - 1).sum().item() / math.log(2)


def bench_precisions(data: Path, songs: int, chars: int) -> None:
    """The shipped model's bits/char on its own validation songs through each sampling precision
    this machine runs, with the time of a 500-character default reply at each."""
    generator = LyricsGenerator.from_checkpoint(DEFAULT_LYRICS_CHECKPOINT)
    known = generator.song_counts
    mine = [song for song in spelled_as(read_songs(data), ArtistTable(known)) if song.artist in known]
    _, validation = split_songs(mine, generator.meta.data.validation_fraction)
    scored = validation[:songs]
    print(
        f"sampling precision ({len(scored)} validation songs of {data.name}, first {chars} characters each):"
    )
    for precision in fast_precisions():
        os.environ[PRECISION_ENV] = precision  # what the generator's LSTMStepper reads
        bits = stepper_bits_per_char(
            LyricsGenerator.from_checkpoint(DEFAULT_LYRICS_CHECKPOINT), scored, chars
        )
        reply = bench_shipped_reply(rounds=2)
        print(
            f"  {precision:<5} {bits:.5f} bits/char, default reply {reply['one_reply_s']:.3f} s, "
            f"16 at once {reply['batch16_s']:.2f} s",
            flush=True,
        )
    os.environ.pop(PRECISION_ENV)


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def reset_peak_rss() -> None:
    """Make the kernel's high-water mark start again from the current RSS (Linux >= 4.0)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def peak_rss_mib() -> float:
    with open("/proc/self/status") as f:
        line = next(line for line in f if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def memory_probe(mode: str, steps: int, batch_size: int) -> None:
    """One training step in this (fresh) process; prints peak RSS growth in MiB."""
    torch.manual_seed(0)
    model = CharLSTM(model_config(512, 2))
    g = torch.Generator().manual_seed(0)
    tokens = torch.randint(3, len(CHARS) + 3, (batch_size, steps + 1), generator=g)
    batch = Batch(
        tokens[:, :-1],
        tokens[:, 1:],
        torch.ones(batch_size, steps, dtype=torch.bool),
        torch.ones(batch_size, steps, dtype=torch.long),
    )
    small = batch.slice(0, 8)
    sequence_loss(model, small)[0].backward()  # allocate grads and warm the kernels
    before = rss_mib()
    reset_peak_rss()
    if mode == "tbptt":
        state = None
        for start in range(0, steps, 128):
            loss, state = sequence_loss(model, batch.slice(start, start + 128), state)
            loss.backward()
            state = tuple(s.detach() for s in state)
    else:
        loss, _ = sequence_loss(model, batch, None, 64 if mode == "checkpoint" else None)
        loss.backward()
    peak = peak_rss_mib()
    print(json.dumps({"peak_growth_mib": max(peak - before, 0.0)}))


def bench_memory(batch_size: int, lengths: list[int]) -> list[dict]:
    rows = []
    for steps in lengths:
        for mode in ("full", "tbptt", "checkpoint"):
            out = subprocess.run(
                [sys.executable, __file__, "--probe", mode, str(steps), str(batch_size)],
                capture_output=True,
                text=True,
                check=True,
            )
            mib = json.loads(out.stdout.strip().splitlines()[-1])["peak_growth_mib"]
            rows.append({"T": steps, "mode": mode, "mib": mib})
            print(f"  T={steps:5d}  {mode:<10} {mib:8.0f} MiB", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", choices=("train", "sample", "reply", "memory", "precision"))
    parser.add_argument(
        "--data",
        type=Path,
        default=Path("../shared/data/lyrics/songdata.csv"),
        help="songs for --only precision",
    )
    parser.add_argument("--steps", type=int, default=12, help="timed training steps per figure")
    parser.add_argument("--memory-batch", type=int, default=8, help="batch size of the memory probe")
    parser.add_argument("--lengths", default="512,2048,8192", help="sequence lengths of the memory probe")
    parser.add_argument("--probe", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument(
        "--checkpoint", type=Path, default=DEFAULT_LYRICS_CHECKPOINT, help="the model of --only reply"
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="--only reply in one round, without the larger-shape estimates: the code path, not figures",
    )
    args = parser.parse_args()
    if args.probe:
        memory_probe(args.probe[0], int(args.probe[1]), int(args.probe[2]))
        return
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"CPU capability {torch.backends.cpu.get_cpu_capability()}"
    )
    if args.only in (None, "train"):
        print("training throughput (Trainer.train_step, batch 64 x seq 128, tbptt):")
        for hidden, layers in ((512, 2), (256, 1)):
            for precision in training_precisions(torch.device("cpu")):
                rate = bench_training(hidden, layers, precision, args.steps)
                print(f"  {layers}x{hidden} {precision}: {rate:10,.0f} chars/s", flush=True)
    if args.only in (None, "reply"):
        r = bench_shipped_reply(rounds=1 if args.smoke else 5, checkpoint=args.checkpoint)
        print(f"the default reply ({args.checkpoint.name}, every sampling default):")
        print(f"  one request: {r['one_reply_s']:.3f} s (median {r['one_reply_chars']:.0f} characters)")
        print(
            f"  16 requests in one batch: {r['batch16_s']:.2f} s "
            f"({r['batch16_replies_per_s']:.1f} replies/s, "
            f"{r['batch16_chars']:.0f} characters each on average)",
            flush=True,
        )
        costs = ", ".join(f"{n}: {t:.3f} s" for n, t in r["one_reply_s_by_candidates"].items())
        print(f"  one request by candidates written: {costs}", flush=True)
        shipped = 0.0 if args.smoke else matrix_products_per_step(random_generator(), rows=16)
        # Only the LSTM's products grow with the shape.
        for hidden, layers in () if args.smoke else LARGER_SHAPES:
            larger = matrix_products_per_step(random_generator(hidden, layers), rows=16)
            estimate = r["one_reply_s"] + r["one_reply_chars"] * (larger - shipped)
            print(f"  the same reply from a {layers} x {hidden} model: about {estimate:.2f} s", flush=True)
    if args.only in (None, "sample"):
        for precision, (label, style) in itertools.product(
            fast_precisions(), (("plain, style 1", 1.0), ("guided, style 2", 2.0))
        ):
            os.environ[PRECISION_ENV] = precision  # what the generator's LSTMStepper reads
            s = bench_sampling(rounds=3, style=style)
            print(f"sampling (2x512, {precision} steps, {label}):")
            one = f"{s['one_500_chars_s']:.3f} s ({s['one_chars_per_s']:,.0f} chars/s)"
            print(f"  one request, 500 chars: {one}")
            print(
                f"  32 requests in one batch: {s['batch32_s']:.2f} s "
                f"({s['batch32_chars_per_s']:,.0f} chars/s, "
                f"{s['batch_speedup']:.1f}x one request)"
            )
            print(
                f"    of which the LSTM's matrix products alone: {s['batch32_matrix_products_s']:.2f} s "
                f"(were the rest no dearer than one request's, at most {s['speedup_bound']:.1f}x one)"
            )
    if args.only in (None, "precision"):
        bench_precisions(args.data, songs=64, chars=1000)
    if args.only in (None, "memory"):
        print(f"peak memory growth of one training step (2x512, batch {args.memory_batch}, fp32):")
        bench_memory(args.memory_batch, [int(x) for x in args.lengths.split(",")])


if __name__ == "__main__":
    main()
