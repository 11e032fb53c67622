"""The audio of the pieces this process delivered lately, kept in memory so `/play` can
queue one by its number without rendering it again (oldest dropped first past a size)."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True)
class ShelvedPiece:
    request_id: int
    title: str
    requester_id: int
    guild_id: int | None  # where it was made (None: a DM)
    ogg: bytes


class PieceShelf:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._pieces: OrderedDict[int, ShelvedPiece] = OrderedDict()
        self._bytes = 0

    def put(self, piece: ShelvedPiece) -> None:
        if len(piece.ogg) > self.max_bytes:
            return
        self._drop(piece.request_id)
        self._pieces[piece.request_id] = piece
        self._bytes += len(piece.ogg)
        while self._bytes > self.max_bytes:
            self._drop(next(iter(self._pieces)))

    def get(self, request_id: int) -> ShelvedPiece | None:
        return self._pieces.get(request_id)

    def latest(self, requester_id: int) -> ShelvedPiece | None:
        """This member's most recent piece still on the shelf."""
        return next((p for p in reversed(self._pieces.values()) if p.requester_id == requester_id), None)

    def _drop(self, request_id: int) -> None:
        piece = self._pieces.pop(request_id, None)
        if piece is not None:
            self._bytes -= len(piece.ogg)
