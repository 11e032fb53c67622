import pytest
import torch
from torch import nn

from ml.errors import BalladeerError
from ml.recurrent import (
    FBGEMM_ONLY,
    PRECISION_ENV,
    LSTMStepper,
    cpu_has_native_bf16,
    fbgemm_available,
    sampling_dtype,
)


@pytest.fixture
def lstm() -> nn.LSTM:
    torch.manual_seed(0)
    return nn.LSTM(12, 32, num_layers=2, batch_first=True).eval()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16, torch.qint8])
def test_the_stepper_follows_the_lstm_and_a_row_does_not_depend_on_its_batch(lstm, dtype):
    if dtype in FBGEMM_ONLY and not fbgemm_available():
        pytest.skip("fp16 and int8 steps need FBGEMM (x86)")
    inputs = torch.randn(9, 20, 12)
    expected, _ = lstm(inputs)
    stepper = LSTMStepper(lstm, dtype)
    batch = stepper.zero_state(9, torch.device("cpu"))
    alone = stepper.zero_state(1, torch.device("cpu"))
    for t in range(20):
        out, batch = stepper(inputs[:, t], batch)
        first, alone = stepper(inputs[:1, t], alone)
        tolerance = {torch.float32: 1e-5, torch.float16: 3e-3, torch.bfloat16: 3e-2, torch.qint8: 3e-2}[dtype]
        assert torch.allclose(out, expected[:, t], atol=tolerance)  # fp16: 11 bits, bf16 and int8: 8
        if dtype == torch.qint8 or (dtype == torch.bfloat16 and cpu_has_native_bf16()):
            assert torch.equal(first, out[:1])  # bitwise: batching never changes a request


def test_the_sampling_precision_can_be_chosen_and_a_bad_choice_is_named(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.setenv(PRECISION_ENV, "fp32")
    assert sampling_dtype(cpu) == torch.float32
    monkeypatch.setenv(PRECISION_ENV, "bf16")
    assert sampling_dtype(cpu) == torch.bfloat16
    monkeypatch.setenv(PRECISION_ENV, "fp8")
    with pytest.raises(BalladeerError, match="auto, fp32, fp16, bf16 or int8"):
        sampling_dtype(cpu)


def test_auto_steps_in_int8_on_x86_else_bf16_where_native(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.delenv(PRECISION_ENV, raising=False)
    expected = (
        torch.qint8 if fbgemm_available() else torch.bfloat16 if cpu_has_native_bf16() else torch.float32
    )
    assert sampling_dtype(cpu) == expected
    assert sampling_dtype(torch.device("cuda")) == torch.float32
    for choice in ("fp16", "int8"):
        monkeypatch.setenv(PRECISION_ENV, choice)
        with pytest.raises(BalladeerError, match="x86 CPUs only"):
            sampling_dtype(torch.device("cuda"))
