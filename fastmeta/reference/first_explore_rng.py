"""Plain-Python SplitMix64 slot streams, as fastmeta documents them (docs/env_contract.md).

The First-Explore references draw from these so that a parity test can compare a kernel with its
reference draw for draw. Nothing here imports the rest of fastmeta.
"""

import math

M64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
M1 = 0xBF58476D1CE4E5B9
M2 = 0x94D049BB133111EB


def _mix(z: int) -> int:
    z = ((z ^ (z >> 30)) * M1) & M64
    z = ((z ^ (z >> 27)) * M2) & M64
    return z ^ (z >> 31)


def initial_state(seed: int, slot: int) -> int:
    """State of slot `slot` of an env seeded with `seed`."""
    return _mix(((seed & M64) * GOLDEN + (slot + 1) * M2) & M64)


class Stream:
    def __init__(self, state: int):
        self.state = int(state) & M64

    def next_u64(self) -> int:
        self.state = (self.state + GOLDEN) & M64
        return _mix(self.state)

    def randint(self, n: int) -> int:
        """Integer in [0, n) by multiply-shift of the high 32 bits."""
        return ((self.next_u64() >> 32) * n) >> 32

    def uniform(self) -> float:
        return (self.next_u64() >> 11) * (1.0 / 9007199254740992.0)

    def normal(self) -> float:
        """Standard normal by the 256-layer ziggurat (layer: low 8 bits, sign: bit 8, abscissa:
        top 53 bits of one draw; wedges and tail draw extra uniforms)."""
        while True:
            u = self.next_u64()
            layer = u & 255
            negative = (u >> 8) & 1
            x = float(u >> 11) * (1.0 / 9007199254740992.0) * ZIG_X[layer]
            if x < ZIG_X[layer + 1]:
                return -x if negative else x
            if layer == 0:
                while True:
                    a = -math.log(1.0 - self.uniform()) / ZIG_R
                    b = -math.log(1.0 - self.uniform())
                    if b + b > a * a:
                        return -(ZIG_R + a) if negative else ZIG_R + a
            y = ZIG_F[layer] + self.uniform() * (ZIG_F[layer + 1] - ZIG_F[layer])
            if y < math.exp(-0.5 * x * x):
                return -x if negative else x


# Ziggurat of 256 equal-area layers under exp(-x^2/2) (Marsaglia & Tsang 2000).
ZIG_R = 3.6541528853610088
_V = ZIG_R * math.exp(-0.5 * ZIG_R**2) + math.sqrt(math.pi / 2) * math.erfc(ZIG_R / math.sqrt(2))
ZIG_X = [_V / math.exp(-0.5 * ZIG_R**2), ZIG_R]
for _i in range(1, 255):
    ZIG_X.append(math.sqrt(-2.0 * math.log(_V / ZIG_X[_i] + math.exp(-0.5 * ZIG_X[_i] ** 2))))
ZIG_X.append(0.0)
ZIG_F = [math.exp(-0.5 * x * x) for x in ZIG_X]
