"""fastmeta's sign world against the `miniworld` package itself, run headless in a subprocess
(fastmeta/reference/sign.py drives it): frames of the same world and pose, and step-by-step
physics.

miniworld 2.1.0 renders and moves exactly as the 2020 engine DREAM pinned (sign.md §9.8); only
its spawn box and RNG differ, so poses are set explicitly on both sides.
"""

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fastmeta
import fastmeta.reference.sign
from fastmeta.render.egl import EGLUnavailableError, create_context

# Run as a script by path, not with -m: no fastmeta import (nor its renderer) in that process.
REFERENCE = Path(fastmeta.reference.sign.__file__)

FRAME_POSES = [  # (task, x, z, theta)
    (0, 4.5, 5.0, 0.0),
    (0, 4.5, 5.0, math.pi / 2),
    (1, 4.5, 5.0, math.pi),
    (2, 4.5, 5.0, -1.2),
    (0, 3.0, 3.0, 2.356),
    (1, 7.0, 3.5, 0.6),
    (2, 8.0, 4.0, -0.4),
    (0, 2.0, 9.0, -2.8),
    (0, 8.3, 10.25, 0.0),
    (1, 8.3, 10.25, 0.1),
    (2, 7.5, 10.0, -0.2),
    (1, 3.0, 11.5, 1.0),
    (2, 1.5, 7.0, 4.0),
    (0, 5.5, 6.3, -1.57),
    (1, 9.2, 12.0, 2.5),
    (2, 6.5, 2.0, 5.9),
]


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    if importlib.util.find_spec("miniworld") is None or importlib.util.find_spec("pyglet") is None:
        pytest.skip("the miniworld package is not installed (pip install 'fastmeta[render]')")
    try:
        create_context().release()
    except EGLUnavailableError as err:
        pytest.skip(f"no headless OpenGL context on this machine: {err}")
    rng = np.random.default_rng(7)
    frames = [
        [t, x, z, th, rng.uniform(-math.pi, math.pi, 6).tolist()] for t, x, z, th in FRAME_POSES
    ]
    rollouts = []
    for _ in range(40):
        x, z = rng.uniform(4.4, 4.6), rng.uniform(4.4, 5.6)
        acts = rng.choice(4, size=25, p=[0.2, 0.2, 0.55, 0.05]).tolist()
        rollouts.append(
            [
                int(rng.integers(3)),
                int(rng.integers(2)),
                x,
                z,
                float(rng.uniform(-math.pi, math.pi)),
                acts,
            ]
        )
    tmp = tmp_path_factory.mktemp("miniworld")
    job, out = tmp / "job.json", tmp / "out.npz"
    tops = frames[:4]
    job.write_text(json.dumps({"frames": frames, "tops": tops, "rollouts": rollouts}))
    proc = subprocess.run(
        [sys.executable, str(REFERENCE), str(job), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    # EGL works here, so a failing miniworld run is a failure, never a skip.
    assert proc.returncode == 0, f"the miniworld reference run failed:\n{proc.stderr[-2000:]}"
    data = np.load(out)
    return frames, rollouts, data["frames"], data["records"], tops, data["tops"]


@pytest.mark.parametrize("storage", ["u8", "f32"])
def test_frames_match_miniworld(original, storage):
    from fastmeta.render.sign_renderer import SignRenderer

    frames, _, theirs, _, tops, their_tops = original
    try:
        # 8 samples requested, capped by the driver: as miniworld does
        r = SignRenderer(msaa_storage=storage)
    except EGLUnavailableError as err:
        pytest.skip(f"no headless OpenGL context on this machine: {err}")
    try:
        for top, poses, expected in ((False, frames, theirs), (True, tops, their_tops)):
            # Each pose alone, and all of them in one batch (every view at its own viewport).
            batch = np.zeros((len(poses), *expected.shape[1:]), np.uint8)
            task, x, z, th, yaw = (np.array(v) for v in zip(*poses))
            r.render(np.column_stack([x, z]), th, yaw, task, batch, top=top)
            for k, (task, x, z, th, yaw) in enumerate(poses):
                for ours in (r.render_one(x, z, th, yaw, task, top=top), batch[k]):
                    mae = np.abs(ours.astype(float) - expected[k]).mean(axis=(0, 1))
                    assert (mae <= 1.0).all(), (
                        f"{'top' if top else 'first-person'} pose {(task, x, z, th)}: MAE {mae}"
                    )
    finally:
        r.release()


def test_rollouts_match_miniworld(original):
    _, rollouts, _, records, _, _ = original
    ends = np.flatnonzero(np.isnan(records[:, 0]))
    starts = np.concatenate([[0], ends[:-1] + 1])
    assert len(ends) == len(rollouts)
    touched = 0
    for (task, instruction, x, z, theta, acts), a, b in zip(rollouts, starts, ends):
        env = fastmeta.make("miniworld_sign", num_envs=1, obs_mode="pose")
        env.reset()
        env.pos[0] = (x, z)
        env.theta[0] = theta
        env.task_ids[0], env.instructions[0, 0] = task, instruction
        for t, (mx, mz, mdir, mrew, mterm, mtrunc) in enumerate(records[a:b]):
            env.step(np.array([acts[t]]))
            done = env.terminated[0] or env.truncated[0]
            px, pz = env.final_pos[0] if done else env.pos[0]
            pth = env.final_theta[0] if done else env.theta[0]
            assert (px, pz, pth) == (mx, mz, mdir), f"step {t}"
            # miniworld 2.1.0 flags a time-out even when the last step also ended the episode;
            # fastmeta (like DREAM's done) reports that step as terminated only.
            assert (env.rew[0], env.terminated[0]) == (mrew, mterm)
            assert env.truncated[0] == (mtrunc and not mterm)
            touched += env.rew[0] != 0
    assert touched > 0  # the random walks did reach objects
