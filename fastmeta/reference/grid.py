"""Plain-Python reference of DREAM's grid envs and instruction wrappers, written from dream.md.

Deliberately naive (objects as Python classes, one env per object, numpy RandomState draws) so
that it reads like the spec; the kernels are tested against it, never against themselves.
"""

import itertools

import numpy as np

LEFT, UP, RIGHT, DOWN, NOOP, RIDE, END, PICKUP, DROP = range(9)
MAX_STEPS = 20
GOALS = [(0, 0), (8, 8), (0, 8), (8, 0)]


class Bus:
    status = 1

    def __init__(self, dest):
        self.dest = dest

    def toggle(self, pos):
        return list(self.dest)

    def pickup(self):
        return None

    def drop(self, item):
        return True


class Bowl:
    status = 2

    def __init__(self):
        self.slots = [None, None, None]

    def toggle(self, pos):
        return pos

    def pickup(self):
        return None

    def drop(self, item):
        for j, v in enumerate(self.slots):
            if v is None:
                self.slots[j] = item
                break
        return True


class Drawer:
    status = 3

    def __init__(self, ingredient):
        self.ingredient = ingredient

    def toggle(self, pos):
        return pos

    def pickup(self):
        return self.ingredient

    def drop(self, item):
        return True


SOURCES = [(4, 5), (5, 4), (3, 4), (4, 3)]
DESTS = [(0, 1), (0, 7), (8, 1), (8, 7)]
U_SOURCES = [(5, 5), (3, 3), (3, 5), (5, 3)]
U_DESTS = [(0, 4), (4, 0), (8, 4), (4, 8)]
PERMS = list(itertools.permutations(range(4)))


class RefGridEnv:
    """One grid env; `kind` in {"vanilla", "distraction", "map", "cooking"}."""

    def __init__(self, kind, env_id):
        self.kind = kind
        self.env_id = env_id
        self.size = 3 if kind == "cooking" else 9

    def _place(self):
        self.objects = {}
        if self.kind == "cooking":
            self.bowl = Bowl()
            self.objects[(1, 1)] = self.bowl
            for i, cell in enumerate([(2, 0), (2, 1), (2, 2)]):
                self.objects[cell] = Drawer((self.env_id // 4**i) % 4)
            return
        self.pos = [4, 4]
        p = PERMS[self.env_id % 24]
        for k in range(4):
            self.objects[SOURCES[k]] = Bus(DESTS[p[k]])
            self.objects[DESTS[p[k]]] = Bus(SOURCES[k])
        if self.kind == "distraction":
            q = PERMS[self.env_id // 24]
            for k in range(4):
                self.objects[U_SOURCES[k]] = Bus(U_DESTS[q[k]])
                self.objects[U_DESTS[q[k]]] = Bus(U_SOURCES[k])

    def reset(self):
        self.steps = 0
        self.pos = [1, 1]
        self.inventory = None
        self._place()
        return self.obs()

    def obs(self):
        obj = self.objects.get(tuple(self.pos))
        o = [self.pos[0], self.pos[1], obj.status if obj else 0]
        if self.kind == "map":
            o.append(self.env_id + 1 if tuple(self.pos) == (7, 3) else 0)
        if self.kind == "cooking":
            o.append(4 if self.inventory is None else self.inventory)
            o += [4 if v is None else v for v in self.bowl.slots]
        return o

    def step(self, a):
        self.steps += 1
        obj = self.objects.get(tuple(self.pos))
        if a == LEFT:
            self.pos[0] -= 1
        elif a == UP:
            self.pos[1] += 1
        elif a == RIGHT:
            self.pos[0] += 1
        elif a == DOWN:
            self.pos[1] -= 1
        elif a == END:
            return self.obs(), 0, True
        elif a == RIDE:
            if obj:
                self.pos = obj.toggle(self.pos)
        elif a == PICKUP:
            if obj:
                self.inventory = obj.pickup()
        elif a == DROP:
            if obj:
                obj.drop(self.inventory)
            self.inventory = None
        self.pos[0] = max(min(self.pos[0], self.size - 1), 0)
        self.pos[1] = max(min(self.pos[1], self.size - 1), 0)
        return self.obs(), 0, self.steps == MAX_STEPS


def split_ids(kind, test):
    if kind == "distraction":
        train = list(range(0, 576, 11))
        return sorted(set(range(576)) - set(train)) if test else train
    if kind == "cooking":
        return [10] if test else [e for e in range(64) if e != 10]
    return list(range(24))


def create_env_id(kind, seed, test=False):
    split = split_ids(kind, test)
    return split[np.random.RandomState(seed).randint(len(split))]


class RefInstructionWrapper:
    """The instruction wrapper: draws, reward machine, first-episode options (dream.md §2.1–2.3)."""

    def __init__(
        self,
        env,
        seed=None,
        first_episode_no_instruction=False,
        first_episode_no_optimization=False,
        fixed_instructions=False,
    ):
        self.env = env
        self.rng = np.random.RandomState(seed)
        self.n_ep = 0
        self.no_instr = first_episode_no_instruction
        self.no_opt = first_episode_no_optimization
        self.fixed = fixed_instructions
        self.instructions = None

    def draw(self):
        if self.env.kind == "cooking":
            contents = [(self.env.env_id // 4**i) % 4 for i in range(3)]
            idx = self.rng.randint(3, size=2)
            return [contents[idx[0]], contents[idx[1]]]
        return list(GOALS[self.rng.randint(4)])

    def reset(self):
        self.n_ep += 1
        obs = self.env.reset()
        if self.n_ep == 1 and self.no_instr:
            self.instructions = [0, 0]
        elif not (self.n_ep > 1 and self.fixed):
            self.instructions = self.draw()
        self.stage = 0
        return obs, list(self.instructions)

    def task_reward(self, a):
        env = self.env
        remaining = MAX_STEPS - env.steps
        if env.kind != "cooking":
            if env.pos == list(self.instructions):
                return 1, True
            if a == END:
                r = -0.1
                r = r - remaining * 0.1
                return r, False
            return -0.1, False
        inv = env.inventory
        bowl = [4 if v is None else v for v in env.bowl.slots]
        i0, i1 = self.instructions
        r, complete = -0.1, False
        if self.stage == 0:
            if inv == i0:
                self.stage, r = 1, 0.25
            elif a == PICKUP:
                r = -0.1 - 0.25
        elif self.stage == 1:
            if bowl[0] == i0:
                self.stage, r = 2, 0.25
            elif inv != i0:
                self.stage, r = 0, -0.1 - 0.25
        elif self.stage == 2:
            if inv == i1:
                self.stage, r = 3, 0.25
            elif a == PICKUP:
                r = -0.1 - 0.25
        else:
            if bowl[0:2] == [i0, i1]:
                r, complete = 0.25, True
            elif inv != i1:
                self.stage, r = 2, -0.1 - 0.25
        if a == END:
            r = r - remaining * 0.1
        return r, complete

    def step(self, a):
        obs, _, done_env = self.env.step(a)
        if self.n_ep == 1 and self.no_instr:
            r, complete = 0, False
        else:
            r, complete = self.task_reward(a)
        done = complete or done_env
        returned = 0 if (self.n_ep == 1 and self.no_opt) else r
        return obs, returned, done, r, complete
