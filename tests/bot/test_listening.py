"""The listening queue's rules, the shelf of recent pieces, and the Opus packets taken
from a rendered preview (no Discord here)."""

import io

import numpy as np
import pytest

from bot.listening import ListeningQueue, Track, VoiceRefused
from bot.piece_shelf import PieceShelf, ShelvedPiece
from bot.voice_audio import PACKET_SECONDS, OpusPackets, opus_packets
from ml.errors import DataError
from ml.music.audio import SAMPLE_RATE, encode
from ml.music.preview import preview_ogg
from tests.music_fixtures import chord_midi


def track(requester: int, seconds: float = 1.0) -> Track:
    return Track(f"piece of {requester}", requester, [b"x"] * round(seconds / PACKET_SECONDS))


def test_the_queue_plays_in_order_within_its_caps():
    queue = ListeningQueue(max_waiting=4, max_per_user=2)
    assert queue.add(track(1, 10)) == 0  # nothing playing: it plays next
    assert queue.advance().requester_id == 1
    assert queue.add(track(1, 4)) == 1
    assert queue.add(track(2, 6)) == 2
    assert queue.add(track(1)) == 3
    with pytest.raises(VoiceRefused, match="You already have 2 pieces waiting"):
        queue.add(track(1))
    assert queue.add(track(3)) == 4
    with pytest.raises(VoiceRefused, match=r"The listening queue is full \(4 pieces\)"):
        queue.add(track(4))
    # 7 s into a 10 s piece: #1 starts in 3 s, #2 after the 4 s piece, #3 after the 6 s one
    assert [queue.seconds_before(place, 7.0) for place in (1, 2, 3)] == pytest.approx([3, 7, 13])
    assert [queue.advance().requester_id for _ in range(4)] == [1, 2, 1, 3]
    assert queue.advance() is None and queue.playing is None


def test_more_than_half_of_the_listeners_skip_and_only_listeners_count():
    queue = ListeningQueue(10, 10)
    queue.add(track(1))
    queue.advance()
    listeners = {1, 2, 3, 4}
    assert (queue.vote_to_skip(2, listeners).votes, queue.vote_to_skip(2, listeners).needed) == (1, 3)
    assert not queue.vote_to_skip(3, listeners).passed
    assert not queue.vote_to_skip(3, {1, 2, 4}).passed  # 3 left the channel: their vote goes
    assert queue.vote_to_skip(4, {1, 2, 4}).passed  # 2 of 3
    queue.add(track(2))
    queue.advance()
    assert queue.vote_to_skip(2, listeners).votes == 1  # a new piece, new votes


def test_the_shelf_keeps_the_latest_pieces_within_its_size():
    shelf = PieceShelf(max_bytes=10)
    for request_id, requester in ((1, 7), (2, 8), (3, 7)):
        shelf.put(ShelvedPiece(request_id, f"piece #{request_id}", requester, 5, b"1234"))
    assert shelf.get(1) is None and shelf.get(2) is not None  # 12 bytes > 10: the oldest went
    assert shelf.latest(7).request_id == 3 and shelf.latest(8).request_id == 2 and shelf.latest(9) is None
    shelf.put(ShelvedPiece(4, "too big", 7, 5, b"x" * 11))
    assert shelf.get(4) is None and shelf.get(3) is not None


def test_a_preview_gives_20_ms_opus_packets_and_nothing_else_does():
    seconds = 1.0
    tone = (0.3 * np.sin(np.arange(int(seconds * SAMPLE_RATE)) * 2 * np.pi * 440 / SAMPLE_RATE)).astype(
        np.float32
    )
    packets = opus_packets(encode(tone, "ogg"))
    assert not any(p.startswith((b"OpusHead", b"OpusTags")) for p in packets)
    frame_ms = {2.5 * 2 ** (p[0] >> 3 & 3) for p in packets if p[0] >> 3 >= 28}  # CELT configs 28-31
    assert 20.0 in frame_ms and len(packets) == pytest.approx(seconds / PACKET_SECONDS, abs=2)
    source = OpusPackets(packets)
    assert source.is_opus() and source.read() == packets[0] and source.elapsed_seconds == PACKET_SECONDS
    for bad in (b"", b"RIFF....WAVE", encode(tone, "wav")):
        with pytest.raises(ValueError, match="not an Ogg"):
            opus_packets(bad)


def test_a_users_midi_is_rendered_whole_and_cut_at_the_limit():
    buffer = io.BytesIO()
    chord_midi(beats=8).write(buffer)  # 4 s at 120 bpm
    whole = opus_packets(preview_ogg(buffer.getvalue(), max_seconds=60))
    cut = opus_packets(preview_ogg(buffer.getvalue(), max_seconds=1.0))
    assert len(whole) * PACKET_SECONDS == pytest.approx(4 + 1, abs=0.1)  # the piece and its release
    assert len(cut) * PACKET_SECONDS == pytest.approx(1 + 1, abs=0.1)
    with pytest.raises(DataError, match="not a MIDI file that can be read"):
        preview_ogg(b"MThd junk", max_seconds=60)
    empty = io.BytesIO()
    chord_midi(beats=0).write(empty)
    with pytest.raises(DataError, match="no notes to play"):
        preview_ogg(empty.getvalue(), max_seconds=60)
