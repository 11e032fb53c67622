"""GPU benchmark: training throughput, peak memory per BPTT mode, sampling speed.

Prints, for the device given (default cuda):
- training chars/s (lyrics 2x512 and 3x1024) and frames/s (piano 2x768), batch 64 x 128
  steps, fp32 and bf16 autocast, with and without torch.compile;
- peak memory of one training step (batch 8) for full / tbptt / checkpoint BPTT at
  T = 512, 2048, 8192, and the largest difference between the checkpointed and the full
  gradients (they must be equal);
- sampling: one 500-character request, and 32 in one batch (plain and guided).

    python scripts/bench_gpu.py                       # on a CUDA machine
    python scripts/bench_gpu.py --device cpu --quick  # tiny sizes: checks the code path

Only figures are printed; nothing asserts a target.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from bench_lyrics import CHARS, model_config, random_generator
from torch import nn

from ml.batch import Batch
from ml.music.model import PianoLSTM, PianoLSTMConfig
from ml.text.model import CharLSTM
from ml.text.request import LyricsRequest
from ml.training import autocast, sequence_loss, training_precisions


@dataclass
class Sizes:
    batch: int = 64
    seq: int = 128
    steps: int = 20
    lengths: tuple[int, ...] = (512, 2048, 8192)
    memory_batch: int = 8
    segment: int = 64  # steps per recomputed segment in checkpoint mode
    sample_chars: int = 500
    models: tuple[tuple[int, int], ...] = ((512, 2), (1024, 3))
    piano: tuple[int, int] = (768, 2)


QUICK = Sizes(
    batch=4,
    seq=16,
    steps=2,
    lengths=(32, 64),
    memory_batch=2,
    sample_chars=20,
    models=((32, 1),),
    piano=(32, 1),
)


def text_batch(batch: int, steps: int, device: torch.device) -> Batch:
    g = torch.Generator().manual_seed(0)
    tokens = torch.randint(3, len(CHARS) + 3, (batch, steps + 1), generator=g)
    artists = torch.ones(batch, steps, dtype=torch.long)
    return Batch(tokens[:, :-1], tokens[:, 1:], torch.ones(batch, steps), artists).to(device)


def piano_batch(batch: int, steps: int, device: torch.device) -> Batch:
    g = torch.Generator().manual_seed(0)
    frames = (torch.rand(batch, steps + 1, 88, generator=g) < 0.05).float()
    return Batch(frames[:, :-1], frames[:, 1:], torch.ones(batch, steps)).to(device)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def units_per_second(model: nn.Module, batch: Batch, steps: int, precision: str, compiled: bool) -> float:
    """Scored steps per second of forward + backward + AdamW on one batch, repeated."""
    device = batch.inputs.device
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loss_fn: Callable = torch.compile(model.loss) if compiled else model.loss

    def step() -> None:
        with autocast(device, precision):
            loss, _ = loss_fn(batch, None)
        optimizer.zero_grad(set_to_none=True)
        (loss / batch.scored).backward()
        optimizer.step()

    for _ in range(2):  # warm-up (and compilation)
        step()
    synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    synchronize(device)
    return batch.scored * steps / (time.perf_counter() - start)


def bench_training(device: torch.device, sizes: Sizes, compile_too: bool) -> None:
    print(f"training throughput (batch {sizes.batch} x {sizes.seq} steps, forward + backward + AdamW):")
    precisions = training_precisions(device)
    if "bf16" not in precisions:
        print("  (no bf16 rows: nn.LSTM has no bf16 autocast on this CPU)")
    variants = [(p, c) for p in precisions for c in ((False, True) if compile_too else (False,))]
    for hidden, layers in sizes.models:
        for precision, compiled in variants:
            torch.manual_seed(0)
            model = CharLSTM(model_config(hidden, layers)).to(device)
            rate = units_per_second(
                model, text_batch(sizes.batch, sizes.seq, device), sizes.steps, precision, compiled
            )
            label = f"{precision}{' + compile' if compiled else ''}"
            print(f"  lyrics {layers}x{hidden} {label:<15} {rate:14,.0f} chars/s", flush=True)
    hidden, layers = sizes.piano
    for precision, compiled in variants:
        torch.manual_seed(0)
        model = PianoLSTM(PianoLSTMConfig(hidden=hidden, layers=layers)).to(device)
        rate = units_per_second(
            model, piano_batch(sizes.batch, sizes.seq, device), sizes.steps, precision, compiled
        )
        label = f"{precision}{' + compile' if compiled else ''}"
        print(f"  piano {layers}x{hidden} {label:<16} {rate:14,.0f} frames/s", flush=True)


def step_memory(
    model: nn.Module, batch: Batch, mode: str, segment: int
) -> tuple[float | None, dict[str, torch.Tensor]]:
    """Peak memory (MiB, CUDA only) of one training step in `mode`, and its gradients."""
    device = batch.inputs.device
    model.zero_grad(set_to_none=True)
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
    if mode == "tbptt":
        state = None
        for start in range(0, batch.steps, 128):
            loss, state = sequence_loss(model, batch.slice(start, start + 128), state)
            loss.backward()
            state = tuple(s.detach() for s in state)
    else:
        loss, _ = sequence_loss(model, batch, None, segment if mode == "checkpoint" else None)
        loss.backward()
    synchronize(device)
    peak = (torch.cuda.max_memory_allocated(device) - before) / 2**20 if device.type == "cuda" else None
    return peak, {n: p.grad.detach().clone() for n, p in model.named_parameters()}


def bench_memory(device: torch.device, sizes: Sizes) -> None:
    hidden, layers = sizes.models[0]
    print(f"one training step, lyrics {layers}x{hidden}, batch {sizes.memory_batch}, fp32:")
    print("      T   full MiB  tbptt MiB  checkpoint MiB  checkpoint/full  max |grad checkpoint - full|")
    for steps in sizes.lengths:
        torch.manual_seed(0)
        model = CharLSTM(model_config(hidden, layers)).to(device).eval()  # eval: no dropout, same maths
        batch = text_batch(sizes.memory_batch, steps, device)
        peaks, grads = {}, {}
        for mode in ("full", "tbptt", "checkpoint"):
            peaks[mode], grads[mode] = step_memory(model, batch, mode, sizes.segment)
        difference = max((grads["checkpoint"][n] - g).abs().max().item() for n, g in grads["full"].items())

        def shown(mib: float | None) -> str:
            return "n/a" if mib is None else f"{mib:,.0f}"

        ratio = "n/a" if peaks["full"] is None else f"{peaks['checkpoint'] / peaks['full']:.2f}"
        print(
            f"  {steps:>5}  {shown(peaks['full']):>9}  {shown(peaks['tbptt']):>9}  "
            f"{shown(peaks['checkpoint']):>14}  {ratio:>15}  {difference:.2e}",
            flush=True,
        )


def bench_sampling(device: torch.device, sizes: Sizes) -> None:
    generator = random_generator(device=device)
    generator.generate([LyricsRequest(length=20, seed=0)])
    print(f"sampling, lyrics 2x512, {sizes.sample_chars} characters:")
    for label, style in (("plain", 1.0), ("guided, style 2", 2.0)):
        start = time.perf_counter()
        generator.generate([LyricsRequest(artist="A", length=sizes.sample_chars, seed=1, style=style)])
        one = time.perf_counter() - start
        requests = [
            LyricsRequest(artist="AB"[i % 2], length=sizes.sample_chars, seed=i, style=style)
            for i in range(32)
        ]
        start = time.perf_counter()
        generator.generate(requests)
        batch = time.perf_counter() - start
        speedup = (32 / batch) / (1 / one)
        print(f"  {label:<16} one request {one:.3f} s; 32 in one batch {batch:.2f} s ({speedup:.1f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    parser.add_argument("--quick", action="store_true", help="tiny sizes: check that everything runs")
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile variants")
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("no CUDA GPU here; use --device cpu (with --quick to check the code path)")
    device = torch.device(args.device)
    sizes = QUICK if args.quick else Sizes()
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"torch {torch.__version__}, {name}")
    bench_training(device, sizes, compile_too=not args.no_compile)
    bench_memory(device, sizes)
    bench_sampling(device, sizes)


if __name__ == "__main__":
    main()
