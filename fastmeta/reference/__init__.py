"""Plain-Python references of fastmeta's envs, written from the specs alone: one naive object per
env (lists, `math`, small numpy), no kernels, nothing imported from the rest of fastmeta.

They exist for two jobs. The tests drive each batched kernel and its reference side by side and
demand the same observations, rewards and flags step by step (the exactness tests under tests/).
The benchmark suite (`fastmeta bench`) steps them as the same-run baseline the compiled envs are
measured against. They ship with the package so that the suite runs from an installed wheel; they
are a yardstick, not an implementation to use.

    grid               DREAM's grid worlds (vanilla, map, cooking, distraction) and instructions
    bandit             First-Explore's bandits, on the RNG of first_explore_rng
    treasure_room      First-Explore's dark treasure room
    ray_maze           First-Explore's ray-cast maze
    first_explore_rng  the counter-based RNG streams First-Explore's references draw from
    sign               the sign world's physics; as a script it drives the `miniworld` package
                       for the pixel and physics comparisons
"""
