"""A round-robin queue: users take turns, so one busy user cannot starve the others."""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable
from typing import Generic, Protocol, TypeVar


class Queued(Protocol):
    @property
    def user_id(self) -> int: ...

    @property
    def kind(self) -> Hashable: ...


J = TypeVar("J", bound=Queued)


class FairQueue(Generic[J]):
    """Per-user FIFO lanes served in turn; a user who was just served goes to the back."""

    def __init__(self) -> None:
        self._lanes: dict[int, deque[J]] = {}
        self._turns: deque[int] = deque()

    def __len__(self) -> int:
        return sum(len(lane) for lane in self._lanes.values())

    def push(self, job: J) -> None:
        if job.user_id not in self._lanes:
            self._lanes[job.user_id] = deque()
            self._turns.append(job.user_id)
        self._lanes[job.user_id].append(job)

    def count_for(self, user_id: int) -> int:
        return len(self._lanes.get(user_id, ()))

    def order(self) -> list[J]:
        """Every waiting job in the order it would be served."""
        served = []
        depth = max((len(lane) for lane in self._lanes.values()), default=0)
        for round_ in range(depth):
            served += [self._lanes[u][round_] for u in self._turns if len(self._lanes[u]) > round_]
        return served

    def position(self, job: J) -> int:
        """1-based place in the serving order."""
        return next(i for i, j in enumerate(self.order(), start=1) if j is job)

    def take(self, limit: int) -> list[J]:
        """Up to `limit` jobs of the kind that is next in line, in serving order."""
        order = self.order()
        if not order:
            return []
        kind = order[0].kind
        chosen = [j for j in order if j.kind == kind][:limit]
        served_users: list[int] = []
        for job in chosen:
            self._lanes[job.user_id].remove(job)
            if job.user_id not in served_users:
                served_users.append(job.user_id)
        for user in served_users:  # served users wait behind everyone else
            self._turns.remove(user)
            if self._lanes[user]:
                self._turns.append(user)
            else:
                del self._lanes[user]
        return chosen

    def drain(self) -> list[J]:
        """Remove and return every waiting job."""
        jobs = self.order()
        self._lanes.clear()
        self._turns.clear()
        return jobs
