"""playbooks/rollout.yml as several end-to-end tests run it against a simulated fleet."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests.e2e.fleets import ORG
from tests.winsim import packages

ROOT = Path(__file__).resolve().parents[2]


def run_rollout(
    sim: Any, tmp_path: Path, name: str, extra_vars: dict[str, Any], check: bool = False, args: Sequence[str] = ()
) -> tuple[int, str, dict, float]:
    """Run playbooks/rollout.yml for ``ORG`` in one wave, every host of the inventory unless
    ``extra_vars`` (which win over these defaults) say otherwise, with the fleet report callback
    writing to ``tmp_path/reports-<name>``; ``args`` are more ansible-playbook options (e.g. ``--forks 1``).

    Returns (rc, stdout + stderr, {host: its fleet report entry}, real seconds it took).
    """
    pkgs = packages.write_set(str(tmp_path / "packages"), ORG)
    reports = tmp_path / ("reports-" + name)
    ev = {
        "mde_rollout_expected_org_id": ORG,
        "mde_rollout_onboarding_package": pkgs["onboarding_zip"],
        "mde_targets": "all",
        "mde_report_dir": str(reports),
        "mde_waves": ["100%"],
        "mde_max_fail_percentage": 100,
        "mde_rollout_settle_interval": 1,
        **extra_vars,
    }
    cmd = ["ansible-playbook", "-i", str(sim.inventory), str(ROOT / "playbooks" / "rollout.yml"), "-e", json.dumps(ev)]
    if check:
        cmd.append("--check")
    cmd += list(args)
    started = time.monotonic()
    rc, out, err = sim.run(cmd, env={"ANSIBLE_CALLBACKS_ENABLED": "mdeops.defender.fleet_report"})
    took = time.monotonic() - started
    report = {h["name"]: h for h in json.loads((reports / "fleet-report.json").read_text())["hosts"]}
    return rc, out + err, report, took


def run_rollout_with_installer(
    sim: Any, tmp_path: Path, name: str, extra_vars: dict[str, Any], args: Sequence[str] = ()
) -> tuple[int, str, dict]:
    """``run_rollout`` with md4ws.msi given (``mde_rollout_installer``). Returns (rc, output,
    {host: report entry}); the caller checks the run's invariants (its report is in
    ``tmp_path / ("reports-" + name)``)."""
    installer = packages.write_set(str(tmp_path / "installer"), ORG)["installer"]
    rc, out, report, _took = run_rollout(
        sim, tmp_path, name, {"mde_rollout_installer": installer, **extra_vars}, args=args
    )
    return rc, out, report


def recap(out: str) -> dict[str, dict[str, int]]:
    """The PLAY RECAP of ``out``: {host: {ok, changed, unreachable, failed}}."""
    rows = {}
    for m in re.finditer(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", out, re.M):
        rows[m.group(1)] = {
            "ok": int(m.group(2)),
            "changed": int(m.group(3)),
            "unreachable": int(m.group(4)),
            "failed": int(m.group(5)),
        }
    return rows
