"""The learners in their training loops: env steps/s and updates/s, one torch thread.

* DREAM (`fastmeta.agents.dream.train.Trainer.step`): one vector step of N slots (act, step,
  store) plus the gradient steps the config's cadence implies; timed after the replay buffers
  hold enough to learn from, so updates run in every round.
* First-Explore (`fastmeta.agents.first_explore.learner.Learner.update`): one update = roll out a
  batch of trials with the KV cache, one loss/backward/AdamW step.

Both with their `fast` presets (the configs that train in minutes here)."""

import pytest

from fastmeta.bench.conftest import NO_TORCH, QUICK, ROUNDS, sizes

torch = pytest.importorskip("torch", reason=NO_TORCH)


@pytest.mark.parametrize("env_name", sizes(["distraction", "cooking"], ["distraction"]))
def test_dream_training(benchmark, env_name, tmp_path):
    from fastmeta.agents.dream import config as C
    from fastmeta.agents.dream.train import Trainer

    torch.set_num_threads(1)
    trainer = Trainer(C.resolve("fast", environment=env_name), tmp_path, progress=False)
    trainer.env.reset(seed=0)
    for _ in range(64):  # fill the replay buffers past min_buffer_size
        trainer.step()
    steps = 16 if QUICK else 32
    updates = []

    def run():
        updates.append(sum(trainer.step() for _ in range(steps)))

    n = trainer.env.num_envs
    benchmark.pedantic(run, rounds=ROUNDS, warmup_rounds=0)
    benchmark.extra_info.update(
        env=env_name,
        impl="DREAM fast preset",
        mode="training",
        learner="dream",
        num_envs=n,
        threads=1,
        calls=steps,
        env_steps=steps * n,
        updates=sum(updates) / len(updates),
    )


@pytest.mark.parametrize("env_name", sizes(["bandit", "treasure", "maze"], ["maze"]))
def test_first_explore_training(benchmark, env_name):
    from fastmeta.agents.first_explore.train import Learner, resolve_args

    torch.set_num_threads(1)
    learner = Learner(resolve_args(env_name, "fast"))
    learner.update()  # first-call costs (numba, allocator) stay out of the timing
    benchmark.pedantic(learner.update, rounds=1 if QUICK else 2, warmup_rounds=0)
    env = {"bandit": "FixedArmBandit", "treasure": "DarkTreasureRoom", "maze": "RayMaze"}[env_name]
    benchmark.extra_info.update(
        env=env,
        impl="First-Explore fast preset",
        mode="training",
        learner="first_explore",
        num_envs=learner.args.batch_size,
        threads=1,
        calls=1,
        env_steps=learner.env_steps_per_update,
        updates=1,
    )
