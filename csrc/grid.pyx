# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""DREAM's grid worlds (vanilla/distracting/map bus, cooking) as one C step function.

`grid_step` below is the only definition of the grid dynamics and instruction rewards
(dream.md §1.1–1.5, §2.2–2.3, §8). Two drivers call it:
  * `step_batch`: N slots in one call (OpenMP over slots), same-step autoreset into the
    next episode of the trial, new tasks/instructions from per-slot SplitMix64 streams;
  * `GridCore`: one env for the DREAM drop-in API, where a Python call per step must be cheap.
"""
from cython.parallel cimport prange
from libc.stdint cimport int8_t, int16_t, int32_t, int64_t, uint8_t, uint64_t
cimport numpy as cnp
import numpy as np
from splitmix cimport randint

cnp.import_array()

ctypedef int16_t state_t
STATE_DTYPE = np.int16

# Env kinds.
DEF BUS = 0
DEF MAP = 1
DEF COOKING = 2
# Object kinds on a cell (the original's status codes).
DEF EMPTY = 0
DEF OBJ_BUS = 1
DEF OBJ_BOWL = 2
DEF OBJ_DRAWER = 3
# Actions.
DEF A_LEFT = 0
DEF A_UP = 1
DEF A_RIGHT = 2
DEF A_DOWN = 3
DEF A_RIDE = 5
DEF A_END = 6
DEF A_PICKUP = 7
DEF A_DROP = 8
DEF NUM_ACTIONS = 9
DEF NONE_ITEM = 4  # "nothing held / empty bowl slot"
DEF MAX_STEPS = 20

# Moves of the 9 actions (left, up, right, down; the rest stay).
cdef int MOVE_X[9]
cdef int MOVE_Y[9]
MOVE_X[:] = [-1, 0, 1, 0, 0, 0, 0, 0, 0]
MOVE_Y[:] = [0, 1, 0, -1, 0, 0, 0, 0, 0]

# Per-slot state columns (int16: 32 bytes a slot).
DEF S_X = 0
DEF S_Y = 1
DEF S_STEPS = 2
DEF S_INV = 3
DEF S_BOWL = 4      # 4, 5, 6
DEF S_STAGE = 7
DEF S_I0 = 8
DEF S_I1 = 9
DEF S_TASK = 10
DEF S_EP = 11
DEF S_PINNED = 12
DEF S_PLAN = 13
DEF NUM_FIELDS = 16

STATE_FIELDS = NUM_FIELDS
FIELD = dict(x=S_X, y=S_Y, steps=S_STEPS, inv=S_INV, bowl=S_BOWL, stage=S_STAGE, i0=S_I0,
             i1=S_I1, task=S_TASK, episode=S_EP, pinned=S_PINNED, plan=S_PLAN)

# Goal corners in the original's order (dream.md §2.2).
cdef int32_t GOAL_X[4]
cdef int32_t GOAL_Y[4]
GOAL_X[:] = [0, 8, 0, 8]
GOAL_Y[:] = [0, 8, 8, 0]


cdef struct Layout:
    int kind            # BUS / MAP / COOKING
    int w, h
    int start_x, start_y
    const int8_t* cell_kind   # [task, x, y] -> object kind
    const int8_t* cell_arg    # [task, x, y] -> bus destination x*h+y, or drawer ingredient


cdef inline int8_t obj_at(const Layout* L, state_t* s) noexcept nogil:
    return L.cell_kind[(s[S_TASK] * L.w + s[S_X]) * L.h + s[S_Y]]


cdef inline void reset_episode(const Layout* L, state_t* s) noexcept nogil:
    s[S_X] = L.start_x
    s[S_Y] = L.start_y
    s[S_STEPS] = 0
    s[S_INV] = NONE_ITEM
    s[S_BOWL] = NONE_ITEM
    s[S_BOWL + 1] = NONE_ITEM
    s[S_BOWL + 2] = NONE_ITEM
    s[S_STAGE] = 0


cdef inline double grid_step(const Layout* L, state_t* s, int64_t a, bint* complete) noexcept nogil:
    """One env step then the instruction reward (post-step state). Returns the float64 reward."""
    cdef int cell = (s[S_TASK] * L.w + s[S_X]) * L.h + s[S_Y]
    cdef int8_t obj = L.cell_kind[cell]      # looked up before anything moves
    cdef int8_t arg = L.cell_arg[cell]
    cdef int j, x, y
    cdef double r
    cdef int32_t inv, i0, i1
    s[S_STEPS] += 1
    # moves through a table: random actions make a 9-way branch unpredictable
    x = s[S_X] + MOVE_X[a]
    y = s[S_Y] + MOVE_Y[a]
    cdef bint ride
    if L.kind != COOKING:
        # Bus worlds: pickup and drop can never change anything (nothing there is held), so only
        # riding matters; selects instead of branches keep random actions cheap.
        ride = (a == A_RIDE) & (obj == OBJ_BUS)
        x = arg // L.h if ride else x
        y = arg % L.h if ride else y
    elif a >= A_RIDE:
        if a == A_PICKUP:
            if obj == OBJ_DRAWER:
                s[S_INV] = arg
            elif obj != EMPTY:
                s[S_INV] = NONE_ITEM
        elif a == A_DROP:
            if obj == OBJ_BOWL and s[S_INV] != NONE_ITEM:
                for j in range(3):
                    if s[S_BOWL + j] == NONE_ITEM:
                        s[S_BOWL + j] = s[S_INV]
                        break
            s[S_INV] = NONE_ITEM
    # The original skips clamping after end_episode; positions are always in range by then,
    # so clamping every step is the same and keeps this branch-free.
    x = 0 if x < 0 else (L.w - 1 if x > L.w - 1 else x)
    y = 0 if y < 0 else (L.h - 1 if y > L.h - 1 else y)
    s[S_X] = x
    s[S_Y] = y

    complete[0] = False
    i0 = s[S_I0]
    i1 = s[S_I1]
    cdef double penalty
    if L.kind != COOKING:
        complete[0] = (x == i0) & (y == i1)
        penalty = -0.1
        penalty = penalty - (MAX_STEPS - s[S_STEPS]) * 0.1  # the original's float64 order
        r = penalty if a == A_END else -0.1
        return 1.0 if complete[0] else r
    inv = s[S_INV]
    r = -0.1
    if s[S_STAGE] == 0:
        if inv == i0:
            s[S_STAGE] = 1
            r = 0.25
        elif a == A_PICKUP:
            r = -0.1 - 0.25
    elif s[S_STAGE] == 1:
        if s[S_BOWL] == i0:
            s[S_STAGE] = 2
            r = 0.25
        elif inv != i0:
            s[S_STAGE] = 0
            r = -0.1 - 0.25
    elif s[S_STAGE] == 2:
        if inv == i1:
            s[S_STAGE] = 3
            r = 0.25
        elif a == A_PICKUP:
            r = -0.1 - 0.25
    else:
        if s[S_BOWL] == i0 and s[S_BOWL + 1] == i1:
            complete[0] = True
            r = 0.25
        elif inv != i1:
            s[S_STAGE] = 2
            r = -0.1 - 0.25
    if a == A_END:
        r = r - (MAX_STEPS - s[S_STEPS]) * 0.1
    return r


cdef inline void write_obs(const Layout* L, state_t* s, int64_t* o) noexcept nogil:
    o[0] = s[S_X]
    o[1] = s[S_Y]
    o[2] = obj_at(L, s)
    if L.kind == MAP:
        o[3] = s[S_TASK] + 1 if (s[S_X] == 7 and s[S_Y] == 3) else 0
    elif L.kind == COOKING:
        o[3] = s[S_INV]
        o[4] = s[S_BOWL]
        o[5] = s[S_BOWL + 1]
        o[6] = s[S_BOWL + 2]


cdef inline void draw_instruction(const Layout* L, state_t* s, uint64_t* rng, Py_ssize_t i) noexcept nogil:
    cdef int64_t g, t
    if L.kind != COOKING:
        g = randint(rng, i, 4)
        s[S_I0] = GOAL_X[g]
        s[S_I1] = GOAL_Y[g]
    else:
        # drawer K_j = (2, j) holds base-4 digit j of the task id
        t = s[S_TASK]
        s[S_I0] = L.cell_arg[(t * L.w + 2) * L.h + randint(rng, i, 3)]
        s[S_I1] = L.cell_arg[(t * L.w + 2) * L.h + randint(rng, i, 3)]


cdef struct Batch:
    Layout L
    state_t* state
    int64_t* obs
    int64_t* final_obs
    int64_t* instr
    int32_t* plan          # [slot, episode, 2]
    double* rew
    uint8_t* term
    uint8_t* trunc
    uint8_t* trial_done
    int64_t* episode
    int64_t* tasks
    uint64_t* rng
    const int64_t* split
    int64_t split_len
    int obs_dim
    int episodes
    bint fixed


cdef inline void begin_episode(Batch* B, Py_ssize_t i, state_t* s) noexcept nogil:
    reset_episode(&B.L, s)
    if s[S_PLAN]:
        s[S_I0] = B.plan[(i * B.episodes + s[S_EP]) * 2]
        s[S_I1] = B.plan[(i * B.episodes + s[S_EP]) * 2 + 1]
    elif not (B.fixed and s[S_EP] > 0):
        draw_instruction(&B.L, s, B.rng, i)
    # what changes only between episodes is published here, not on every step
    B.instr[2 * i] = s[S_I0]
    B.instr[2 * i + 1] = s[S_I1]
    B.episode[i] = s[S_EP]
    B.tasks[i] = s[S_TASK]


cdef inline void begin_trial(Batch* B, Py_ssize_t i, state_t* s) noexcept nogil:
    if not s[S_PINNED]:
        s[S_TASK] = <state_t>B.split[randint(B.rng, i, <uint64_t>B.split_len)]
    s[S_EP] = 0
    begin_episode(B, i, s)


cdef inline void slot_step(Batch* B, Py_ssize_t i, int64_t a) noexcept nogil:
    cdef state_t* s = B.state + i * NUM_FIELDS
    cdef bint complete
    cdef bint term, trunc
    B.rew[i] = grid_step(&B.L, s, a, &complete)
    term = complete | (a == A_END)
    trunc = (not term) & (s[S_STEPS] == MAX_STEPS)
    B.term[i] = term
    B.trunc[i] = trunc
    B.trial_done[i] = 0
    if term or trunc:
        write_obs(&B.L, s, B.final_obs + i * B.obs_dim)
        s[S_EP] += 1
        if s[S_EP] == B.episodes:
            B.trial_done[i] = 1
            s[S_PLAN] = 0
            begin_trial(B, i, s)
        else:
            begin_episode(B, i, s)
    write_obs(&B.L, s, B.obs + i * B.obs_dim)


cdef Layout make_layout(int kind, int w, int h, int sx, int sy,
                        const int8_t[::1] cell_kind, const int8_t[::1] cell_arg):
    cdef Layout L
    L.kind = kind
    L.w = w
    L.h = h
    L.start_x = sx
    L.start_y = sy
    L.cell_kind = &cell_kind[0]
    L.cell_arg = &cell_arg[0]
    return L


cdef class BatchKernel:
    """Pointers into one grid env's buffers, given explicitly and taken once, so a step call
    costs no buffer lookups. Every array is C-contiguous and outlives the kernel (kept here)."""
    cdef Batch B
    cdef object _keep

    def __init__(self, *, int kind, int width, int height, tuple start, cell_kind, cell_arg,
                 obs, final_obs, instructions, plan, state, rew, terminated, truncated,
                 trial_done, episode_index, task_ids, rng_states, split,
                 int episodes_per_trial, bint fixed_instructions):
        self._keep = (obs, final_obs, instructions, plan, state, rew, terminated, truncated,
                      trial_done, episode_index, task_ids, rng_states, split, cell_kind, cell_arg)
        cdef int64_t[:, ::1] obs_v = obs
        cdef int64_t[:, ::1] final_obs_v = final_obs
        cdef int64_t[:, ::1] instr = instructions
        cdef int32_t[:, :, ::1] plan_v = plan
        cdef state_t[:, ::1] state_v = state
        cdef double[::1] rew_v = rew
        cdef uint8_t[::1] term = terminated.view(np.uint8)
        cdef uint8_t[::1] trunc = truncated.view(np.uint8)
        cdef uint8_t[::1] trial_done_v = trial_done.view(np.uint8)
        cdef int64_t[::1] episode = episode_index
        cdef int64_t[::1] tasks = task_ids
        cdef uint64_t[::1] rng = rng_states
        cdef const int64_t[::1] split_v = split
        self.B.L = make_layout(kind, width, height, start[0], start[1], cell_kind, cell_arg)
        self.B.state = &state_v[0, 0]
        self.B.obs = &obs_v[0, 0]
        self.B.final_obs = &final_obs_v[0, 0]
        self.B.instr = &instr[0, 0]
        self.B.plan = &plan_v[0, 0, 0]
        self.B.rew = &rew_v[0]
        self.B.term = &term[0]
        self.B.trunc = &trunc[0]
        self.B.trial_done = &trial_done_v[0]
        self.B.episode = &episode[0]
        self.B.tasks = &tasks[0]
        self.B.rng = &rng[0]
        self.B.split = &split_v[0]
        self.B.split_len = split_v.shape[0]
        self.B.obs_dim = obs_v.shape[1]
        self.B.episodes = episodes_per_trial
        self.B.fixed = fixed_instructions
        self.n = state_v.shape[0]

    cdef readonly Py_ssize_t n

    def step(self, cnp.ndarray actions, int num_threads=1):
        """Step every slot with `actions` (C-contiguous int64, shape (n,), checked by the caller).

        Returns -1, or the index of the first out-of-range action (then no state has changed).
        """
        cdef const int64_t* a = <const int64_t*>cnp.PyArray_DATA(actions)
        cdef Py_ssize_t n = self.n, i
        cdef uint64_t bad = 0
        for i in range(n):  # branch-free, so it vectorises; negative values wrap to huge
            bad |= <uint64_t>a[i] >= NUM_ACTIONS
        if bad:
            for i in range(n):
                if a[i] < 0 or a[i] >= NUM_ACTIONS:
                    return i
        if num_threads > 1 and n >= 4096:
            for i in prange(n, nogil=True, num_threads=num_threads, schedule="static"):
                slot_step(&self.B, i, a[i])
        else:
            with nogil:
                for i in range(n):
                    slot_step(&self.B, i, a[i])
        return -1

    def step_ids(self, const int64_t[::1] actions, const int64_t[::1] ids):
        """Step only slots `ids` (actions[k] for slot ids[k]); other slots' buffers are untouched.

        Returns -1, or the position k of the first out-of-range action or slot id (nothing changed).
        """
        cdef Py_ssize_t k, m = ids.shape[0]
        for k in range(m):
            if actions[k] < 0 or actions[k] >= NUM_ACTIONS or ids[k] < 0 or ids[k] >= self.n:
                return k
        with nogil:
            for k in range(m):
                slot_step(&self.B, ids[k], actions[k])
        return -1

    def reset_slots(self, const int64_t[::1] slots):
        """Start a new trial (task, unless pinned, then its first episode) in each of `slots`."""
        cdef Py_ssize_t k, i
        for k in range(slots.shape[0]):
            i = slots[k]
            begin_trial(&self.B, i, self.B.state + i * NUM_FIELDS)
            write_obs(&self.B.L, self.B.state + i * NUM_FIELDS, self.B.obs + i * self.B.obs_dim)


cdef class GridCore:
    """One grid env for the DREAM drop-in: the same `grid_step`, with Python-cheap calls."""
    cdef Layout L
    cdef state_t s[NUM_FIELDS]
    cdef readonly int obs_dim
    cdef object _keep  # the numpy tables the Layout points into

    def __init__(self, int kind, int w, int h, int sx, int sy, cell_kind, cell_arg, int task):
        self._keep = (cell_kind, cell_arg)
        self.L = make_layout(kind, w, h, sx, sy, cell_kind, cell_arg)
        self.obs_dim = 3 if kind == BUS else (4 if kind == MAP else 7)
        cdef int j
        for j in range(NUM_FIELDS):
            self.s[j] = 0
        self.s[S_TASK] = task
        reset_episode(&self.L, self.s)

    cpdef reset(self):
        reset_episode(&self.L, self.s)
        return self.observation()

    cpdef set_instruction(self, int i0, int i1):
        self.s[S_I0] = i0
        self.s[S_I1] = i1

    cpdef observation(self):
        cdef cnp.npy_intp dim = self.obs_dim
        cdef cnp.ndarray out = cnp.PyArray_EMPTY(1, &dim, cnp.NPY_INT64, 0)
        write_obs(&self.L, self.s, <int64_t*>cnp.PyArray_DATA(out))
        return out

    cpdef tuple step(self, long a):
        """(obs, base-env done, instruction reward, instruction complete) after action `a`."""
        if a < 0 or a >= NUM_ACTIONS:
            raise ValueError(f"action {a} is out of range [0, {NUM_ACTIONS - 1}]")
        cdef bint complete
        cdef double r = grid_step(&self.L, self.s, a, &complete)
        cdef bint done = a == A_END or self.s[S_STEPS] == MAX_STEPS
        return self.observation(), done, r, complete

    def get(self, str field):
        return self.s[FIELD[field]] if field != "bowl" else [self.s[S_BOWL + j] for j in range(3)]

    @property
    def steps(self):
        return self.s[S_STEPS]
