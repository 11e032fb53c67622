import pytest
import torch
from torch import nn

from ml.errors import BalladeerError
from ml.recurrent import PRECISION_ENV, LSTMStepper, cpu_has_native_bf16, sampling_dtype


@pytest.fixture
def lstm() -> nn.LSTM:
    torch.manual_seed(0)
    return nn.LSTM(12, 32, num_layers=2, batch_first=True).eval()


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_the_stepper_follows_the_lstm_and_a_row_does_not_depend_on_its_batch(lstm, dtype):
    inputs = torch.randn(9, 20, 12)
    expected, _ = lstm(inputs)
    stepper = LSTMStepper(lstm, dtype)
    batch = stepper.zero_state(9, torch.device("cpu"))
    alone = stepper.zero_state(1, torch.device("cpu"))
    for t in range(20):
        out, batch = stepper(inputs[:, t], batch)
        first, alone = stepper(inputs[:1, t], alone)
        tolerance = 1e-5 if dtype == torch.float32 else 3e-2  # bf16 keeps 8 bits of mantissa
        assert torch.allclose(out, expected[:, t], atol=tolerance)
        if dtype == torch.bfloat16 and cpu_has_native_bf16():
            assert torch.equal(first, out[:1])  # bitwise: batching never changes a request


def test_the_sampling_precision_can_be_chosen_and_a_bad_choice_is_named(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.setenv(PRECISION_ENV, "fp32")
    assert sampling_dtype(cpu) == torch.float32
    monkeypatch.setenv(PRECISION_ENV, "bf16")
    assert sampling_dtype(cpu) == torch.bfloat16
    monkeypatch.setenv(PRECISION_ENV, "fp8")
    with pytest.raises(BalladeerError, match="auto, fp32 or bf16"):
        sampling_dtype(cpu)
