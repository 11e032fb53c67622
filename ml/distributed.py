"""torch.distributed for training under torchrun: one process per GPU (NCCL) or per CPU
worker (gloo), on one machine or several. Without torchrun's environment it is a
one-process group that does nothing, so a plain run behaves exactly as before."""

from __future__ import annotations

import datetime
import logging
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from ml.errors import BalladeerError

log = logging.getLogger(__name__)

TIMEOUT = datetime.timedelta(minutes=10)


@dataclass(frozen=True)
class DistributedContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0 alone writes checkpoints and logs and shows progress."""
        return self.rank == 0

    @classmethod
    def from_env(cls, device: torch.device) -> DistributedContext:
        """Join the process group torchrun describes in the environment (if any)."""
        world_size = int(os.environ.get("WORLD_SIZE", "1"))
        if world_size <= 1:
            return cls()
        context = cls(int(os.environ["RANK"]), world_size, int(os.environ.get("LOCAL_RANK", "0")))
        if not dist.is_initialized():
            backend = "nccl" if device.type == "cuda" else "gloo"
            if device.type == "cuda":
                torch.cuda.set_device(context.local_rank)
            try:
                dist.init_process_group(backend, timeout=TIMEOUT)
            except (RuntimeError, ValueError) as exc:
                raise BalladeerError(f"cannot join the torchrun process group ({backend}): {exc}") from exc
            log.info("rank %d of %d (%s)", context.rank, world_size, backend)
        return context

    def device(self, device: torch.device) -> torch.device:
        """This rank's device: its own GPU under torchrun."""
        if self.enabled and device.type == "cuda":
            return torch.device("cuda", self.local_rank)
        return device

    def sum(self, values: list[float], device: torch.device) -> list[float]:
        """`values` summed over every rank (as float64), the same result on each."""
        if not self.enabled:
            return values
        tensor = torch.tensor(values, dtype=torch.float64, device=device)
        dist.all_reduce(tensor)
        return tensor.tolist()

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def close(self) -> None:
        """Leave the process group together: a rank that tears gloo down while another still
        talks to it can abort the other ("terminate called without an active exception")."""
        if self.enabled and dist.is_initialized():
            dist.barrier()
            dist.destroy_process_group()
