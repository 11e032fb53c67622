"""Single-step LSTM inference with fused weights, for fast sampling.

nn.LSTM pays a large fixed cost per call; sampling calls it once per character or
frame. Fusing each upper layer's input and hidden weights into one matrix turns a step
into one matrix product per layer (about 6x faster for one 2x512 sequence on CPU), same
maths. The first layer's input term stays apart, in fp32 (`project_input`), so a caller
whose inputs come from small tables (characters, artists) can look it up instead.

On CPUs with native bf16 dot products (AVX512-BF16, AMX) the fused weights are kept in
bf16: a step reads half the bytes and a batch computes about twice as fast, and the models
were trained under bf16 autocast, so their matrix products already ran in bf16. Elsewhere
bf16 is emulated (slow), so x86 CPUs keep the weights in fp16 packed for FBGEMM, whose
AVX2 kernels widen them to fp32 as they go: a step reads half the bytes of fp32 and runs
2-4x faster than MKL's fp32 products at one or two rows, and the shipped checkpoints hold
fp16 weights anyway, so nothing is rounded away. Other CPUs (and GPUs) step in fp32. The
gates accumulate in fp32 and the cell state stays fp32 throughout.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ml.errors import BalladeerError

State = tuple[torch.Tensor, torch.Tensor]  # (h, c), each (layers, B, H) as nn.LSTM has them

PRECISION_ENV = "BALLADEER_SAMPLING_PRECISION"  # auto (default), fp32, fp16 or bf16
PRECISIONS = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


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
    on a CPU bf16 where it is native, else fp16 through FBGEMM (x86), else fp32."""
    choice = os.environ.get(PRECISION_ENV, "auto")
    if choice != "auto" and choice not in PRECISIONS:
        raise BalladeerError(f"{PRECISION_ENV} must be auto, fp32, fp16 or bf16, not {choice!r}.")
    if choice == "fp16" and (device.type != "cpu" or not fbgemm_available()):
        raise BalladeerError(f"{PRECISION_ENV}=fp16 runs on x86 CPUs only (FBGEMM); use auto or fp32.")
    if choice != "auto":
        return PRECISIONS[choice]
    if device.type != "cpu":
        return torch.float32
    if cpu_has_native_bf16():
        return torch.bfloat16
    return torch.float16 if fbgemm_available() else torch.float32


def sigmoid_order(rows: torch.Tensor) -> torch.Tensor:
    """nn.LSTM's gate rows (i, f, g, o) as (i, f, o, 2g)."""
    i, f, g, o = rows.chunk(4, dim=0)
    return torch.cat([i, f, o, 2 * g])


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
        hs, cs = [], []
        gates = torch.add(input_gates, self.layers[0](h_prev[0]))  # fp32 whatever the steps' dtype
        for layer, gates_of in enumerate(self.layers):
            if layer:
                gates = gates_of(torch.cat([hs[-1], h_prev[layer]], dim=1)).float()
            i, f, o, g = gates.sigmoid_().chunk(4, dim=1)
            c = torch.addcmul(f * c_prev[layer], i, g, value=2).sub_(i)  # f·c + i·tanh(g)
            hs.append(torch.sigmoid(2 * c).mul_(2).sub_(1).mul_(o))  # o·tanh(c)
            cs.append(c)
        return hs[-1], (torch.stack(hs), torch.stack(cs))
