"""Device-resident episode replay: staging writes, ring inserts, sampling, padding and masks."""

import pytest
import torch

from fastmeta.agents.common.sequence_replay import SequenceReplay


def _replay(capacity=4, max_len=5, slots=3):
    return SequenceReplay(
        capacity,
        max_len,
        slots,
        {"obs": ((2,), torch.uint8), "r": ((), torch.float32)},
        {"env_id": ((), torch.long)},
        "cpu",
    )


def _write_episode(rp, slot, length, base):
    for t in range(length + 1):
        rp.write_step(
            torch.tensor([slot]),
            torch.tensor([t]),
            obs=torch.tensor([[base + t, t]]),
            r=torch.tensor([float(base + t)]),
        )
    rp.write_episode(torch.tensor([slot]), env_id=torch.tensor([base]))


def test_insert_and_gather_round_trip():
    rp = _replay()
    _write_episode(rp, 0, 2, 10)
    _write_episode(rp, 2, 4, 20)
    rows = rp.commit(torch.tensor([0, 2]), torch.tensor([2, 4]))
    assert rows.tolist() == [0, 1] and len(rp) == 2
    b = rp.gather(torch.tensor([1, 0]))
    assert b["lengths"].tolist() == [4, 2]
    assert b["env_id"].tolist() == [20, 10]
    assert b["obs"].shape == (2, 5, 2)  # longest length + 1
    assert b["obs"][0, :, 0].tolist() == [20, 21, 22, 23, 24]
    # episode of length 2: steps 0..2 stored, later positions repeat the last stored step
    assert b["obs"][1, :, 0].tolist() == [10, 11, 12, 12, 12]
    assert b["mask"].tolist() == [[True] * 4, [True, True, False, False]]


def test_staging_rows_are_independent_and_reusable():
    rp = _replay()
    _write_episode(rp, 1, 3, 30)
    rp.commit(torch.tensor([1]), torch.tensor([3]))
    _write_episode(rp, 1, 1, 40)  # slot reused for a shorter episode
    rp.commit(torch.tensor([1]), torch.tensor([1]))
    b = rp.gather(torch.tensor([0, 1]))
    assert b["obs"][0, :4, 0].tolist() == [30, 31, 32, 33]
    assert b["obs"][1, :2, 0].tolist() == [40, 41]
    assert b["r"][1, :2].tolist() == [40.0, 41.0]


def test_ring_overwrites_oldest():
    rp = _replay(capacity=3)
    for k in range(5):
        _write_episode(rp, 0, 1, k)
        rp.commit(torch.tensor([0]), torch.tensor([1]))
    assert len(rp) == 3 and rp.inserted == 5
    assert sorted(rp.episodes["env_id"].tolist()) == [2, 3, 4]
    assert rp.next == 2


def test_sampling_is_uniform_over_stored_episodes_and_seeded():
    rp = _replay(capacity=8)
    for k in range(3):
        _write_episode(rp, k, 1, k)
    rp.commit(torch.tensor([0, 1, 2]), torch.tensor([1, 1, 1]))
    g = torch.Generator().manual_seed(0)
    ids = torch.cat([rp.sample(64, g)["env_id"] for _ in range(50)])
    counts = torch.bincount(ids, minlength=3)
    assert counts.sum() == 3200 and counts.min() > 950  # never an unfilled row
    a = rp.sample(16, torch.Generator().manual_seed(5))["env_id"]
    b = rp.sample(16, torch.Generator().manual_seed(5))["env_id"]
    assert torch.equal(a, b)


def test_errors():
    rp = _replay(capacity=2)
    with pytest.raises(RuntimeError):
        rp.sample(4)
    with pytest.raises(ValueError):
        rp.commit(torch.tensor([0, 1, 2]), torch.tensor([1, 1, 1]))


def test_state_dict_round_trip():
    rp = _replay()
    _write_episode(rp, 0, 3, 7)
    rp.commit(torch.tensor([0]), torch.tensor([3]))
    rp2 = _replay()
    rp2.load_state_dict(rp.state_dict())
    assert len(rp2) == 1 and torch.equal(rp2.steps["obs"], rp.steps["obs"])


def _saved_bytes(state) -> int:
    import io

    buf = io.BytesIO()
    torch.save(state, buf)
    return buf.tell()


def test_checkpoint_holds_only_the_stored_episodes():
    """A buffer of 4,000 episodes holding one writes one episode's rows, not the empty ring,
    and loading it (into a buffer that held other data) gives back the same buffer."""
    big = _replay(capacity=4000, max_len=50)
    one = _replay(capacity=1, max_len=50)
    for rp in (big, one):
        _write_episode(rp, 0, 3, 7)
        rp.commit(torch.tensor([0]), torch.tensor([3]))
    assert _saved_bytes(big.state_dict()) < 2 * _saved_bytes(one.state_dict())

    other = _replay(capacity=4000, max_len=50)
    for k in range(3):
        _write_episode(other, 1, 2, 50 + k)
        other.commit(torch.tensor([1]), torch.tensor([2]))
    other.load_state_dict(big.state_dict())
    for name in ("steps", "episodes", "stage_steps", "stage_episodes"):
        for k, v in getattr(big, name).items():
            assert torch.equal(getattr(other, name)[k], v), (name, k)
    assert torch.equal(other.lengths, big.lengths)
    assert (other.size, other.next, other.inserted) == (1, 1, 1)


def test_checkpoint_of_a_full_ring_and_of_the_whole_ring_format():
    rp = _replay(capacity=3)
    for k in range(5):
        _write_episode(rp, 0, 1 + k % 2, k)
        rp.commit(torch.tensor([0]), torch.tensor([1 + k % 2]))
    state = rp.state_dict()
    assert state["steps"]["obs"].shape[0] == 3
    rp2 = _replay(capacity=3)
    rp2.load_state_dict(state)
    assert torch.equal(rp2.steps["obs"], rp.steps["obs"]) and rp2.next == rp.next

    # the format that stored the whole ring, filled or not, still loads
    part = _replay()
    _write_episode(part, 0, 2, 9)
    part.commit(torch.tensor([0]), torch.tensor([2]))
    whole = dict(part.state_dict(), steps=part.steps, episodes=part.episodes, lengths=part.lengths)
    rp3 = _replay()
    rp3.load_state_dict(whole)
    assert torch.equal(rp3.steps["obs"], part.steps["obs"]) and len(rp3) == 1


def test_checkpoint_that_does_not_fit_is_refused_before_loading():
    rp = _replay(capacity=4)
    for k in range(4):
        _write_episode(rp, 0, 1, k)
        rp.commit(torch.tensor([0]), torch.tensor([1]))
    small = _replay(capacity=2)
    before = small.steps["obs"].clone()
    with pytest.raises(ValueError, match="holds 4 episodes"):
        small.load_state_dict(rp.state_dict())
    assert torch.equal(small.steps["obs"], before) and len(small) == 0
