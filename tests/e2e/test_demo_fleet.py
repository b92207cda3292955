"""The demo fleet answers Ansible's own win_ping over WinRM: every host but the one that is down."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.e2e.invariants import Invariants

pytestmark = pytest.mark.e2e

DEMO = Path(__file__).resolve().parents[1] / "winsim" / "fleets" / "demo.yml"


def test_win_ping_on_the_demo_fleet(winsim):
    fleet = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    down = {name for name, host in fleet["hosts"].items() if (host or {}).get("faults", {}).get("down")}
    assert len(fleet["hosts"]) >= 12 and len(down) == 1
    sim = winsim(fleet)
    guard = Invariants(sim)
    results = sim.module("all", "ansible.windows.win_ping")
    guard.check(check_mode=True)  # read-only: nothing changes on any host
    assert set(results) == set(fleet["hosts"])
    for name, result in results.items():
        if name in down:
            assert result.get("unreachable") is True, (name, result)
        else:
            assert result.get("ping") == "pong" and not result.get("failed"), (name, result)
