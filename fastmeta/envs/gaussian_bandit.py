"""GaussianBandit: the earlier First-Explore bandit (`Bandit`), every arm random.

Contract (spec first_explore.md §1.1):
  arms          num_arms = 10, means iid N(0, 1) per task; a pull pays mean_a + noise * N(0, 1)
  noise         0.5 as the v1 experiments ran it ("normal" type); 0 gives the deterministic bandit
  observation   empty float32 vector, shape (0,)
  episode       one pull (terminated=True every step); trial of 100 pulls per task
  reward        float32, as in the original
  task          BanditTask(means: float32 (N, num_arms))

Dynamics and kernels are FixedArmBandit's with the fixed arm switched off.
"""

from __future__ import annotations

from fastmeta.envs.fixed_arm_bandit import DEFAULTS, BanditTask, FixedArmBandit

__all__ = ["GaussianBandit", "BanditTask"]


class GaussianBandit(FixedArmBandit):
    """`num_envs` bandits whose arms all pay N(mean_a, noise^2) with means iid N(0, 1)."""

    name = "GaussianBandit"
    _fixed_arm = False

    def __init__(
        self,
        num_envs: int = 1,
        seed: int = 0,
        noise: float = DEFAULTS["noise"],
        num_arms: int = DEFAULTS["num_arms"],
        episodes_per_trial: int = DEFAULTS["episodes_per_trial"],
        first_slot: int = 0,
    ):
        super().__init__(
            num_envs,
            seed,
            minval=0.0,
            noise=noise,
            num_arms=num_arms,
            episodes_per_trial=episodes_per_trial,
            first_slot=first_slot,
        )
