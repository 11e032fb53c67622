"""Single-step LSTM inference with fused weights, for fast sampling.

nn.LSTM pays a large fixed cost per call; sampling calls it once per character or
frame. Fusing each upper layer's input and hidden weights into one matrix turns a step
into one matrix product per layer (about 6x faster for one 2x512 sequence on CPU), same
maths. The first layer's input term stays apart, in fp32 (`project_input`), so a caller
whose inputs come from small tables (characters, artists) can look it up instead.

On x86 CPUs the fused weights are int8 (one scale per gate row) packed for FBGEMM, and
the layers' inputs, hidden states in [-1, 1], are quantized to 8 bits over that fixed
range: a step reads a quarter of fp32's bytes and runs 3-4x faster than fp16 or native
bf16 products at 2 to 32 rows (measured on a 2-core EPYC), and the shipped lyrics model
scores the same bits/char through it (docs/benchmarks.md). The range is fixed rather than
taken from each batch so that a row's result never depends on what shares its batch.
Elsewhere, CPUs with native bf16 dot products (AVX512-BF16, AMX) keep the weights in bf16
(half the bytes; the models were trained under bf16 autocast), others and GPUs in fp32;
fp16 through FBGEMM remains a choice. The gates accumulate in fp32 and the cell state
stays fp32 throughout.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from functools import cache
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ml.errors import BalladeerError

State = tuple[torch.Tensor, torch.Tensor]  # (h, c), each (layers, B, H) as nn.LSTM has them

PRECISION_ENV = "BALLADEER_SAMPLING_PRECISION"  # auto (default), fp32, fp16, bf16 or int8
PRECISIONS = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16, "int8": torch.qint8}
FBGEMM_ONLY = (torch.float16, torch.qint8)


@cache
def cpu_has_native_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def fbgemm_available() -> bool:
    return "fbgemm" in torch.backends.quantized.supported_engines


def sampling_dtype(device: torch.device) -> torch.dtype:
    """The weight dtype for sampling steps on `device`: $BALLADEER_SAMPLING_PRECISION, or
    on a CPU int8 through FBGEMM (x86), else bf16 where it is native, else fp32."""
    choice = os.environ.get(PRECISION_ENV, "auto")
    if choice != "auto" and choice not in PRECISIONS:
        raise BalladeerError(f"{PRECISION_ENV} must be auto, fp32, fp16, bf16 or int8, not {choice!r}.")
    if PRECISIONS.get(choice) in FBGEMM_ONLY and (device.type != "cpu" or not fbgemm_available()):
        raise BalladeerError(f"{PRECISION_ENV}={choice} runs on x86 CPUs only (FBGEMM); use auto or fp32.")
    if choice != "auto":
        return PRECISIONS[choice]
    if device.type != "cpu":
        return torch.float32
    if fbgemm_available():
        return torch.qint8
    return torch.bfloat16 if cpu_has_native_bf16() else torch.float32


def sigmoid_order(rows: torch.Tensor) -> torch.Tensor:
    """nn.LSTM's gate rows (i, f, g, o) as (i, f, o, 2g)."""
    i, f, g, o = rows.chunk(4, dim=0)
    return torch.cat([i, f, o, 2 * g])


def int8_gates(weight: torch.Tensor, bias: torch.Tensor | None) -> Callable[[torch.Tensor], torch.Tensor]:
    """x @ weight.T + bias through FBGEMM's int8 product, for inputs in [-1, 1]: the weight
    quantized per row, the inputs over the fixed range [-1, 1] (a row holding both ends
    joins each batch, so the dynamic range FBGEMM takes is always exactly that one)."""
    weight = weight.float()
    scales = (weight.abs().amax(dim=1) / 127).clamp(min=1e-12)
    zeros = torch.zeros(len(weight), dtype=torch.long)
    with warnings.catch_warnings():  # quantized tensors are deprecated, FBGEMM's op is not
        warnings.simplefilter("ignore", UserWarning)
        quantized = torch.quantize_per_channel(weight, scales, zeros, axis=0, dtype=torch.qint8)
    packed = torch.ops.quantized.linear_prepack(quantized, None if bias is None else bias.float())
    ends = torch.zeros(1, weight.shape[1])
    ends[0, :2] = torch.tensor([-1.0, 1.0])

    def gates(inputs: torch.Tensor) -> torch.Tensor:
        return torch.ops.quantized.linear_dynamic(torch.cat([inputs.float(), ends]), packed)[:-1]

    return gates


class LSTMStepper:
    """Runs an nn.LSTM (eval mode, batch_first or not) one time step at a time.

    The fused weights hold the gates in the order i, f, o, g with g's rows doubled, so one
    sigmoid over all four gates gives σ(2g) and tanh(g) = 2σ(2g) − 1: on a batch the
    nonlinearities cost about a third less than three sigmoids and two tanh calls.
    """

    def __init__(self, lstm: nn.LSTM, dtype: torch.dtype | None = None) -> None:
        if lstm.bidirectional or lstm.proj_size:
            raise ValueError("LSTMStepper handles plain unidirectional LSTMs only.")
        self.hidden = lstm.hidden_size
        self.dtype = dtype or sampling_dtype(lstm.weight_hh_l0.device)
        with torch.no_grad():
            biases = [
                getattr(lstm, f"bias_ih_l{layer}") + getattr(lstm, f"bias_hh_l{layer}")
                for layer in range(lstm.num_layers)
            ]
            # Layer 0's input term stays apart (fp32), so a caller whose inputs come from a
            # small table (characters, artists) can look it up instead of multiplying.
            self.input_weight = sigmoid_order(lstm.weight_ih_l0).float()
            self.input_bias = sigmoid_order(biases[0]).float()
            self.layers = [self._gates(sigmoid_order(lstm.weight_hh_l0), None)]
            for layer in range(1, lstm.num_layers):
                w_ih = getattr(lstm, f"weight_ih_l{layer}")
                w_hh = getattr(lstm, f"weight_hh_l{layer}")
                weight = torch.cat([w_ih, w_hh], dim=1)  # (4H, H + H)
                self.layers.append(self._gates(sigmoid_order(weight), sigmoid_order(biases[layer])))

    def _gates(
        self, weight: torch.Tensor, bias: torch.Tensor | None
    ) -> Callable[[torch.Tensor], torch.Tensor]:
        """The layer's gate pre-activations as a function of its inputs, in the stepper's dtype."""
        if self.dtype == torch.qint8:  # on x86 CPUs only: see sampling_dtype
            return int8_gates(weight, bias)
        if self.dtype == torch.float16:  # on x86 CPUs only: see sampling_dtype
            bias = None if bias is None else bias.float()
            packed = torch.ops.quantized.linear_prepack_fp16(weight.float(), bias)
            return lambda inputs: torch.ops.quantized.linear_dynamic_fp16(inputs.float(), packed)
        weight = weight.to(self.dtype).contiguous()
        bias = None if bias is None else bias.to(self.dtype)
        return lambda inputs: F.linear(inputs.to(self.dtype), weight, bias)

    def zero_state(self, batch: int, device: torch.device) -> State:
        shape = (len(self.layers), batch, self.hidden)
        return torch.zeros(shape, device=device), torch.zeros(shape, device=device)

    def project_input(self, x: torch.Tensor) -> torch.Tensor:
        """Layer 0's input term of the gates, bias included: x (B, input) → (B, 4H), fp32."""
        return torch.addmm(self.input_bias, x.float(), self.input_weight.T)

    @torch.no_grad()
    def __call__(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """x: (B, input) → top-layer output (B, H) and the new state."""
        return self.step(self.project_input(x), state)

    @torch.no_grad()
    def step(self, input_gates: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """One step from layer 0's input term (`project_input`, or rows of a table of it)."""
        h_prev, c_prev = state
        h, c = torch.empty_like(h_prev), torch.empty_like(c_prev)  # written layer by layer
        gates = torch.add(input_gates, self.layers[0](h_prev[0]))  # fp32 whatever the steps' dtype
        for layer, gates_of in enumerate(self.layers):
            if layer:
                gates = gates_of(torch.cat([h[layer - 1], h_prev[layer]], dim=1)).float()
            i, f, o, g = gates.sigmoid_().chunk(4, dim=1)
            torch.addcmul(f * c_prev[layer], i, g, value=2, out=c[layer]).sub_(i)  # f·c + i·tanh(g)
            torch.tanh(c[layer], out=h[layer]).mul_(o)
        return h[-1], (h, c)
