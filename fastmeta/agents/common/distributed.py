"""Data-parallel training on torch.distributed: who this process is, and the few collectives the
learners need.

A run of N ranks is one run of the global config: rank r owns the contiguous block
`[r * n / N, (r + 1) * n / N)` of the global `num_envs` env slots (built with `first_slot`, so its
slots draw the RNG streams of their global ids), samples `batch_size / N` of each gradient step's
batch from its own replay (of `capacity / N` episodes), and averages gradients with the others
before clipping and stepping, so parameters and optimiser state stay identical on every rank.
Counts that drive cadences (experiences added, episodes finished, stop requests) are summed over
ranks every vector step, so every rank makes the same decisions at the same step.

The process group comes from the environment torchrun (or SLURM via torchrun) sets: WORLD_SIZE,
RANK, LOCAL_RANK, MASTER_ADDR, MASTER_PORT. gloo on CPU, NCCL on CUDA. Without WORLD_SIZE (or
with WORLD_SIZE=1) `Dist` is a single process and every collective is the identity.
"""

from __future__ import annotations

import hashlib
import os
from datetime import timedelta

import numpy as np
import torch


class Dist:
    """This process's place in the run: `rank`, `world`, `local_rank`, and the collectives."""

    def __init__(
        self, rank: int = 0, world: int = 1, local_rank: int = 0, backend: str | None = None
    ):
        self.rank, self.world, self.local_rank, self.backend = rank, world, local_rank, backend

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_environment(cls, device: str = "cpu") -> "Dist":
        """Join the process group torchrun describes in the environment (gloo on CPU, NCCL on
        CUDA), or a single process when there is none."""
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world <= 1:
            return cls()
        rank = int(os.environ["RANK"])
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        cuda = str(device).startswith("cuda")
        backend = "nccl" if cuda else "gloo"
        if not torch.distributed.is_initialized():
            kwargs = {"timeout": timedelta(minutes=10)}
            if cuda:
                torch.cuda.set_device(local_rank)
                kwargs["device_id"] = torch.device("cuda", local_rank)
            torch.distributed.init_process_group(backend, **kwargs)
        return cls(rank, world, local_rank, backend)

    def device(self, device: str) -> str:
        """The device of this rank: `cuda` becomes `cuda:<local_rank>` when several ranks run."""
        if self.enabled and str(device) == "cuda":
            return f"cuda:{self.local_rank}"
        return str(device)

    def block(self, n: int, what: str = "num_envs") -> tuple[int, int]:
        """(first, count) of this rank's contiguous share of n items; n must divide evenly."""
        if n % self.world:
            raise ValueError(
                f"{what} = {n} is not divisible by the {self.world} ranks of this run; "
                f"choose a multiple of {self.world}"
            )
        k = n // self.world
        return self.rank * k, k

    # -- collectives --------------------------------------------------------------------------
    def _device_of(self, t: torch.Tensor) -> torch.Tensor:
        if self.backend == "nccl" and t.device.type != "cuda":
            return t.to(f"cuda:{self.local_rank}")
        return t

    def sum_ints(self, values) -> np.ndarray:
        """Element-wise sum over ranks of a small int vector (identity on one process)."""
        arr = np.asarray(values, dtype=np.int64)
        if not self.enabled:
            return arr
        t = self._device_of(torch.from_numpy(arr.copy()))
        torch.distributed.all_reduce(t)
        return t.cpu().numpy()

    def gather_ints(self, values) -> np.ndarray:
        """[world, k] array of every rank's small int vector."""
        arr = np.asarray(values, dtype=np.int64).reshape(1, -1)
        if not self.enabled:
            return arr
        t = self._device_of(torch.from_numpy(arr.copy()).reshape(-1))
        out = [torch.empty_like(t) for _ in range(self.world)]
        torch.distributed.all_gather(out, t)
        return torch.stack(out).cpu().numpy()

    def sum_tensor(self, t: torch.Tensor) -> torch.Tensor:
        """A new tensor: `t` summed over ranks (differentiable use is not intended)."""
        if not self.enabled:
            return t
        out = t.detach().clone()
        torch.distributed.all_reduce(out)
        return out

    def mean_denominator(self, local_count: torch.Tensor) -> torch.Tensor:
        """What a rank divides its masked sum by so that the ranks' averaged gradients equal the
        whole batch's masked mean: the count over all ranks, over the number of ranks."""
        if not self.enabled:
            return local_count
        return self.sum_tensor(local_count) / self.world

    def average_gradients(self, params) -> None:
        """Replace each gradient by its mean over ranks, in one flat all-reduce. A parameter
        without a gradient on this rank counts as zero, so every rank reduces the same layout."""
        if not self.enabled:
            return
        params = [p for p in params if p.requires_grad]
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
        flat = torch.cat([g.reshape(-1) for g in grads])
        torch.distributed.all_reduce(flat)
        flat /= self.world
        offset = 0
        for p, g in zip(params, grads):
            n = g.numel()
            p.grad = flat[offset : offset + n].view_as(p).clone()
            offset += n

    def broadcast_parameters(self, module: torch.nn.Module) -> None:
        """Make every rank start from rank 0's parameters and buffers."""
        if not self.enabled:
            return
        for t in list(module.parameters()) + list(module.buffers()):
            torch.distributed.broadcast(t.data, 0)

    def check_identical(self, tensors, what: str) -> None:
        """Raise if `tensors` differ between ranks (a digest of their bytes is compared)."""
        if not self.enabled:
            return
        h = hashlib.sha256()
        for t in tensors:
            h.update(t.detach().cpu().contiguous().numpy().tobytes())
        digests = self.gather_object(h.hexdigest(), to_all=True)
        if len(set(digests)) != 1:
            bad = [r for r, d in enumerate(digests) if d != digests[0]]
            raise RuntimeError(f"{what} differ between ranks: rank(s) {bad} disagree with rank 0")

    def gather_object(self, obj, to_all: bool = False):
        """Every rank's `obj` as a list (on rank 0, or on every rank with `to_all`); None on
        the other ranks."""
        if not self.enabled:
            return [obj]
        if to_all:
            out = [None] * self.world
            torch.distributed.all_gather_object(out, obj)
            return out
        out = [None] * self.world if self.is_main else None
        torch.distributed.gather_object(obj, out, dst=0)
        return out

    def broadcast_object(self, obj):
        """Rank 0's `obj` on every rank."""
        if not self.enabled:
            return obj
        box = [obj]
        torch.distributed.broadcast_object_list(box, src=0)
        return box[0]

    def barrier(self) -> None:
        if self.enabled:
            torch.distributed.barrier()

    def close(self) -> None:
        if self.enabled and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
