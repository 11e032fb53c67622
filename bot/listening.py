"""One server's listening queue, as plain data: what plays, what waits, and the votes to
skip it. The rules (caps, who may skip, how many votes) live here, away from Discord."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from bot.requests import ServiceError
from bot.voice_audio import PACKET_SECONDS


class VoiceRefused(ServiceError):
    """Why a piece cannot be played, queued or skipped; the text is for the user."""


@dataclass(frozen=True)
class Track:
    title: str
    requester_id: int
    packets: list[bytes]  # Opus, 20 ms each

    @property
    def seconds(self) -> float:
        return len(self.packets) * PACKET_SECONDS


@dataclass(frozen=True)
class SkipVote:
    votes: int
    needed: int

    @property
    def passed(self) -> bool:
        return self.votes >= self.needed


class ListeningQueue:
    def __init__(self, max_waiting: int, max_per_user: int) -> None:
        self.max_waiting = max_waiting
        self.max_per_user = max_per_user
        self.playing: Track | None = None
        self.waiting: deque[Track] = deque()
        self.skip_votes: set[int] = set()

    def add(self, track: Track) -> int:
        """Queued; its place counting the piece playing (0: it plays next, now if idle)."""
        if len(self.waiting) >= self.max_waiting:
            raise VoiceRefused(f"The listening queue is full ({self.max_waiting} pieces); try again later.")
        own = sum(t.requester_id == track.requester_id for t in self.waiting)
        if own >= self.max_per_user:
            raise VoiceRefused(
                f"You already have {own} pieces waiting to be played; add more once one has played."
            )
        self.waiting.append(track)
        return len(self.waiting) - (0 if self.playing else 1)

    def advance(self) -> Track | None:
        """The next piece becomes the one playing (None: the queue has ended)."""
        self.playing = self.waiting.popleft() if self.waiting else None
        self.skip_votes.clear()
        return self.playing

    def vote_to_skip(self, user_id: int, listeners: set[int]) -> SkipVote:
        """A listener's vote against the piece playing: more than half of the listeners skip it."""
        self.skip_votes = (self.skip_votes | {user_id}) & listeners
        return SkipVote(len(self.skip_votes), len(listeners) // 2 + 1)

    def seconds_before(self, place: int, played_seconds: float) -> float:
        """How long until the piece at `place` (as `add` counts) starts."""
        left = (self.playing.seconds - played_seconds) if self.playing else 0.0
        return max(left, 0.0) + sum(t.seconds for t in list(self.waiting)[: max(place - 1, 0)])
