"""End-to-end smoke tests: each example script runs with a tiny budget in a subprocess."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PPO_META = ROOT / "examples" / "ppo_meta.py"


@pytest.mark.parametrize("env_id", ["fastmeta/MapBus-v0", "fastmeta/FixedArmBandit-v0"])
def test_ppo_meta_runs(env_id):
    # 2 iterations of 8 slots x 64 steps: a MapBus trial is at most 40 steps and a FixedArmBandit
    # trial 100, so both finish trials and report a return.
    cmd = [
        sys.executable,
        str(PPO_META),
        "--env-id",
        env_id,
        "--num-envs",
        "8",
        "--num-steps",
        "64",
        "--num-minibatches",
        "2",
        "--update-epochs",
        "1",
        "--hidden-size",
        "32",
        "--total-timesteps",
        "1024",
    ]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    sps_lines = re.findall(r"^iteration \d+/2 .*SPS=\d+", proc.stdout, re.MULTILINE)
    assert len(sps_lines) == 2, proc.stdout
    final = re.search(r"final mean trial return \(last (\d+) trials\): (\S+)", proc.stdout)
    assert final and int(final.group(1)) > 0 and final.group(2) != "nan", proc.stdout
