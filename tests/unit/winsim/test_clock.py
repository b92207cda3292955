"""The simulated clock (tests/winsim/clock.py) and the host's virtual time during a command."""

from __future__ import annotations

import pytest

from tests.winsim.clock import FleetClock, HostClock
from tests.winsim.fleet import new_state
from tests.winsim.host import SimHost, timer_action


class Wall:
    """A wall clock the test moves by hand."""

    def __init__(self, t: float = 1_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_time_scale_runs_the_simulated_clock_faster():
    wall = Wall()
    fleet = FleetClock(0.1, real=wall)
    start = fleet.wall_now()
    wall.t += 3
    assert fleet.wall_now() == pytest.approx(start + 30)
    assert fleet.real_seconds(30) == pytest.approx(3)


@pytest.mark.parametrize("bad", [0, -1, "1", True])
def test_time_scale_must_be_positive(bad):
    with pytest.raises(ValueError, match="time_scale"):
        FleetClock(bad)


def test_a_restarted_clock_never_goes_back(tmp_path):
    wall = Wall()
    fleet = FleetClock(0.5, real=wall)
    host = HostClock(fleet)
    host.begin_command()
    host.set_time(host.now() + 100)  # a long virtual wait
    end = host.now()
    host.end_command()
    fleet.save(str(tmp_path))
    # The simulator stops at once (the answer was never held back) and starts with another scale.
    again = FleetClock(1.0, real=wall).load(str(tmp_path))
    assert again.wall_now() >= end
    wall.t += 10
    assert again.wall_now() == pytest.approx(end + 10)


def test_virtual_time_moves_only_when_the_host_waits():
    wall = Wall()
    host = HostClock(FleetClock(0.2, real=wall))
    host.begin_command()
    start = host.now()
    wall.t += 1  # CPU time spent interpreting does not count (5 simulated seconds by the wall)
    assert host.now() == start
    host.set_time(start + 12)
    assert host.now() == start + 12
    host.set_time(start + 3)  # never back
    assert host.now() == start + 12
    held = host.end_command()
    assert held == pytest.approx(12 * 0.2)
    # Until the wall clock catches up the host stays at the end of the command.
    assert host.now() == pytest.approx(start + 12)
    wall.t += 100
    assert host.now() == pytest.approx(start + 5 + 500)


def test_advance_runs_timers_at_their_own_time():
    seen = []

    @timer_action("test_clock.record")
    def record(host, label):
        seen.append((label, host.now()))

    wall = Wall()
    host = SimHost("h", new_state("h", {"os": "server2022"}, now=wall.t), None, clock=HostClock(FleetClock(real=wall)))
    host.begin_command()
    start = host.now()
    host.schedule(7, "test_clock.record", label="b")
    host.schedule(3, "test_clock.record", label="a")
    host.schedule(30, "test_clock.record", label="late")
    host.advance(10)
    assert seen == [("a", start + 3), ("b", start + 7)]
    assert host.now() == start + 10
    assert host.end_command() == pytest.approx(10)
    assert [t["kwargs"]["label"] for t in host.state["timers"]] == ["late"]


def test_a_command_starts_by_running_the_timers_that_fell_due():
    seen = []

    @timer_action("test_clock.due")
    def due(host):
        seen.append(host.now())

    wall = Wall()
    host = SimHost("h", new_state("h", {"os": "server2022"}, now=wall.t), None, clock=HostClock(FleetClock(real=wall)))
    host.schedule(5, "test_clock.due")
    host.begin_command()
    assert seen == []
    host.end_command()
    wall.t += 6
    host.begin_command()
    assert len(seen) == 1
    host.end_command()


def test_a_restart_leaves_the_clock_file_as_it_was(tmp_path):
    wall = Wall()
    FleetClock(1.0, real=wall).save(str(tmp_path))
    first = (tmp_path / "clock.json").read_bytes()
    wall.t += 50
    again = FleetClock(1.0, real=wall).load(str(tmp_path))
    again.save(str(tmp_path))
    assert (tmp_path / "clock.json").read_bytes() == first
    assert again.wall_now() == pytest.approx(wall.t)
