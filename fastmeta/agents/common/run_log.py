"""Run outputs: TensorBoard scalars under the original's tags (spec §3.4), a CSV of the same
scalars, and a CSV of evaluations (columns named by the learner).

Each scalar is written twice, against the meta-episode index (`tensorboard/episode`) and against
total env steps (`tensorboard/step`), as the original does. TensorBoard is optional.
"""

from __future__ import annotations

import csv
import os
import time
from pathlib import Path


class RunLog:
    def __init__(
        self,
        directory,
        eval_columns: tuple,
        use_tensorboard: bool = True,
        resume_at: dict | None = None,
    ):
        """`resume_at` (from a checkpoint: `sizes()` then, plus "meta_episode" and "env_steps")
        cuts the CSVs back to what they held when the checkpoint was written and purges later
        TensorBoard events, so a run resumed after a crash logs every step once."""
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.writers = None
        purge = (None, None)
        if resume_at:
            for name in ("scalars.csv", "evaluations.csv"):
                path = self.dir / name
                size = resume_at.get(name)
                if size is not None and path.exists() and path.stat().st_size > size:
                    os.truncate(path, size)
            purge = (resume_at.get("meta_episode"), resume_at.get("env_steps"))
        if use_tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.writers = (
                    SummaryWriter(str(self.dir / "tensorboard" / "episode"), purge_step=purge[0]),
                    SummaryWriter(str(self.dir / "tensorboard" / "step"), purge_step=purge[1]),
                )
            except ImportError:
                self.writers = None
        self._scalars = self._open(
            "scalars.csv", ["wall_time", "meta_episode", "env_steps", "tag", "value"]
        )
        self.eval_columns = tuple(eval_columns)
        self._evals = self._open("evaluations.csv", ["wall_time", *self.eval_columns])

    def _open(self, name, header):
        path = self.dir / name
        new = not path.exists()
        f = open(path, "a", newline="")
        w = csv.writer(f)
        if new:
            w.writerow(header)
            f.flush()
        return f, w

    def scalars(self, values: dict, meta_episode: int, env_steps: int) -> None:
        now = time.time()
        f, w = self._scalars
        for tag, v in values.items():
            if v is None:
                continue
            w.writerow([f"{now:.3f}", meta_episode, env_steps, tag, f"{float(v):.6g}"])
            if self.writers:
                self.writers[0].add_scalar(tag, v, meta_episode)
                self.writers[1].add_scalar(tag, v, env_steps)
        f.flush()

    def evaluation(self, row: dict) -> None:
        f, w = self._evals
        w.writerow([f"{time.time():.3f}"] + [row.get(k, "") for k in self.eval_columns])
        f.flush()

    def sizes(self) -> dict:
        """Bytes written to each CSV so far (a checkpoint keeps them: see `resume_at`)."""
        return {
            "scalars.csv": self._scalars[0].tell(),
            "evaluations.csv": self._evals[0].tell(),
        }

    def close(self) -> None:
        for f, _ in (self._scalars, self._evals):
            f.close()
        if self.writers:
            for w in self.writers:
                w.close()
