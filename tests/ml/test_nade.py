import itertools

import numpy as np
import pytest
import torch

from ml.music.generate import PianoGenerator
from ml.music.nade import NADEHead
from ml.music.request import PianoRequest
from tests.music_fixtures import train_tiny_piano


@pytest.fixture
def nade():
    torch.manual_seed(0)
    head = NADEHead(context_dim=6, keys=5, hidden=7)
    with torch.no_grad():
        for p in head.parameters():
            p.normal_()  # far from the small initial weights, so keys really depend on each other
    return head


def test_the_frame_likelihood_is_exact(nade):
    context, key_bias = torch.randn(3, 6), torch.randn(3, 5)
    frames = torch.tensor(list(itertools.product([0.0, 1.0], repeat=5)))  # all 32 frames
    nll = nade.nll(
        context[:, None].expand(3, 32, 6), key_bias[:, None].expand(3, 32, 5), frames.expand(3, 32, 5)
    )
    assert torch.allclose(torch.exp(-nll).sum(-1), torch.ones(3), atol=1e-5)  # a distribution
    keys_depend = nll[0] - nll[0].min()
    assert keys_depend.std() > 0


def test_vectorised_logits_match_the_key_by_key_definition(nade):
    context, key_bias = torch.randn(4, 6), torch.randn(4, 5)
    frames = (torch.rand(4, 5) < 0.5).float()
    a = nade.hidden_bias(context)
    expected = []
    for d in range(5):
        expected.append(key_bias[:, d] + torch.sigmoid(a) @ nade.decoder[d])
        a = a + frames[:, d : d + 1] * nade.encoder[d]
    assert torch.allclose(nade.logits(context, key_bias, frames), torch.stack(expected, -1), atol=1e-5)


def test_sampling_is_seeded_capped_and_greedy_at_temperature_zero(nade):
    context, key_bias = torch.randn(4, 6), torch.randn(4, 5)

    def draw(temperatures, seeds, caps):
        generators = [torch.Generator().manual_seed(s) for s in seeds]
        return nade.sample(context, key_bias, torch.tensor(temperatures), generators, caps, [True] * 4)

    first = draw([1.0] * 4, [1, 2, 3, 4], [None] * 4)
    assert np.array_equal(first, draw([1.0] * 4, [1, 2, 3, 4], [None] * 4))
    capped = draw([5.0] * 4, [1, 2, 3, 4], [1, 2, None, 1])
    assert capped[0].sum() <= 1 and capped[1].sum() <= 2 and capped[3].sum() <= 1
    greedy = draw([0.0] * 4, [7, 8, 9, 10], [None] * 4)
    assert np.array_equal(greedy, nade.greedy(context, key_bias).numpy())


def test_a_nade_piano_model_learns_the_chord_loop_and_samples_consistently(chord_folder, tmp_path):
    best = train_tiny_piano(chord_folder, tmp_path / "nade", head="nade")
    generator = PianoGenerator.from_checkpoint(best)
    assert generator.checkpoint.metrics["val_nll_per_frame"] < 1.0
    requests = [
        PianoRequest(seconds=4, temperature=t, seed=s, max_notes=3) for t, s in ((1.0, 1), (0.5, 2), (0, 3))
    ]
    batched = generator.generate(requests)
    alone = [generator.generate([r])[0] for r in requests]
    assert all(np.array_equal(a.roll, b.roll) for a, b in zip(batched, alone, strict=True))
    assert all(s.roll[1:].sum(1).max() <= 3 for s in batched)
