"""Registers every fastmeta env with Gymnasium (`gymnasium.make` / `gymnasium.make_vec`).

The entry points are the registry's `make_single` / `make_vector`, so `make_vec` returns a real
batched VectorEnv (fastmeta.views.gymnasium_views.MetaVectorEnv), not a loop of single envs.
"""

import gymnasium

from fastmeta.registry import ENVS


def register_all() -> None:
    for spec in ENVS.values():
        if spec.gym_id and spec.gym_id not in gymnasium.registry:
            gymnasium.register(
                id=spec.gym_id,
                entry_point="fastmeta.registry:make_single",
                vector_entry_point="fastmeta.registry:make_vector",
                kwargs={"name": spec.name},
                disable_env_checker=False,
            )


register_all()
