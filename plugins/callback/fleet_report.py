# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: fleet_report
type: aggregate
short_description: Write the Defender passive-mode fleet report at the end of every run
version_added: 0.1.0
description:
  - Collects, for every host of the run, the latest Defender state read by M(mdeops.defender.win_mde_info)
    (fact C(mde)), the rollout role's per-host progress (fact C(mde_report_host)), the last failure (with its
    C(reason)) and unreachable results, and writes the fleet report as JSON, CSV and a self-contained HTML page
    when the playbook ends.
  - It runs at the end of every playbook run, also when the run stops early (a canary failure, a wave over
    C(max_fail_percentage)); hosts whose wave never started are reported as C(not_run).
  - The JSON layout is documented in the collection's C(docs/report.md) and versioned with C(schema_version).
requirements:
  - Enable it in C(callbacks_enabled) (ansible.cfg) or C(ANSIBLE_CALLBACKS_ENABLED).
options:
  report_dir:
    description:
      - Directory the report is written to. A play variable C(mde_report_dir) (for example an extra var) takes
        precedence.
    type: path
    default: ./reports
    env:
      - name: MDE_REPORT_DIR
    ini:
      - section: mdeops_defender_fleet_report
        key: report_dir
  basename:
    description: File name of the report without extension. A play variable C(mde_report_name) takes precedence.
    type: str
    default: fleet-report
    env:
      - name: MDE_REPORT_BASENAME
    ini:
      - section: mdeops_defender_fleet_report
        key: basename
author:
  - mdeops.defender contributors (@mdeops)
"""

import datetime  # noqa: E402 - imports follow the documentation
import os  # noqa: E402

from ansible import context  # noqa: E402
from ansible.plugins.callback import CallbackBase  # noqa: E402

from ansible_collections.mdeops.defender.plugins.module_utils import _report  # noqa: E402

_LOCAL = {"localhost", "127.0.0.1"}


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "mdeops.defender.fleet_report"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._started = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()
        self._playbook = None
        self._hosts: list[str] = []
        self._mde: dict = {}
        self._progress: dict = {}
        self._failure: dict = {}
        self._unreachable: dict = {}
        self._wave: dict = {}
        self._play_batches: dict = {}
        self._current_wave = None
        self._goal = "passive"
        self._report_dir = None
        self._basename = None
        self._expected_org = None
        self._serial_plays: set = set()
        self._wave_targets: set = set()  # hosts a serial play (a wave) was meant to run

    # ---------------------------------------------------------------- playbook / plays
    def v2_playbook_on_start(self, playbook):
        self._playbook = os.path.basename(getattr(playbook, "_file_name", "") or "")

    def v2_playbook_on_play_start(self, play):
        key = (play.get_name(), str(play.hosts))
        self._play_batches[key] = self._play_batches.get(key, 0) + 1
        serial = play.serial
        self._current_wave = self._play_batches[key] if serial else None
        if serial:
            self._serial_plays.add(key)
        try:
            variables = play.get_variable_manager().get_vars(play=play)
        except Exception:  # pylint: disable=broad-except
            variables = {}
        if variables.get("mde_report_dir"):
            self._report_dir = self._render(play, variables, variables["mde_report_dir"])
        if variables.get("mde_report_name"):
            self._basename = self._render(play, variables, variables["mde_report_name"])
        if variables.get("mde_report_goal") in _report.GOALS:
            self._goal = variables["mde_report_goal"]
        try:
            inventory = play.get_variable_manager()._inventory  # pylint: disable=protected-access
            for host in inventory.get_hosts(play.hosts, ignore_restrictions=True):
                name = host.get_name()
                if name not in _LOCAL and name not in self._hosts:
                    self._hosts.append(name)
                if serial and name not in _LOCAL:
                    self._wave_targets.add(name)
        except Exception:  # pylint: disable=broad-except
            pass

    @staticmethod
    def _render(play, variables: dict, value):
        """Play variables may be templates (e.g. a report name with the AWX job id)."""
        try:
            from ansible.template import Templar

            return Templar(loader=play._loader, variables=variables).template(value)  # pylint: disable=protected-access
        except Exception:  # pylint: disable=broad-except
            return value

    # ---------------------------------------------------------------- results
    def _host(self, result) -> str:
        return result._host.get_name()  # pylint: disable=protected-access

    def _note_wave(self, host: str) -> None:
        if self._current_wave is not None and host not in self._wave:
            self._wave[host] = self._current_wave

    def _absorb(self, host: str, res: dict) -> None:
        facts = res.get("ansible_facts") or {}
        if isinstance(facts.get("mde"), dict):
            self._mde[host] = facts["mde"]
        if isinstance(facts.get("mde_report_host"), dict):
            self._progress[host] = facts["mde_report_host"]
        if host not in self._hosts and host not in _LOCAL:
            self._hosts.append(host)

    def v2_runner_on_ok(self, result):
        host = self._host(result)
        self._note_wave(host)
        self._absorb(host, result._result)  # pylint: disable=protected-access

    def v2_runner_on_skipped(self, result):
        self._note_wave(self._host(result))

    def v2_runner_on_failed(self, result, ignore_errors=False):
        host = self._host(result)
        self._note_wave(host)
        res = result._result  # pylint: disable=protected-access
        self._absorb(host, res)
        if ignore_errors:
            return
        progress = self._progress.get(host) or {}
        task_name = result._task.get_name()  # pylint: disable=protected-access
        reason = res.get("reason") or res.get("mde_reason")
        # (get_name() carries the role's prefix: "<role> : Validating arguments against arg spec ...")
        if not reason and str(result._task.action).endswith("validate_argument_spec"):  # pylint: disable=protected-access
            reason = "invalid_argument"  # a role variable of the wrong type, missing or unknown
        self._failure[host] = {
            "reason": reason,
            "family": res.get("family"),
            "remediation": res.get("remediation"),
            "msg": res.get("msg"),
            "step": res.get("mde_step") or progress.get("current_step"),
            "task": task_name,
        }

    def v2_runner_on_unreachable(self, result):
        host = self._host(result)
        self._note_wave(host)
        self._unreachable[host] = (result._result or {}).get("msg") or "unreachable"  # pylint: disable=protected-access

    def v2_runner_item_on_ok(self, result):
        self._absorb(self._host(result), result._result)  # pylint: disable=protected-access

    # ---------------------------------------------------------------- end of run
    def v2_playbook_on_stats(self, stats):
        check_mode = bool(context.CLIARGS.get("check", False))
        records = []
        for host in self._hosts:
            failure = self._failure.get(host)
            # A failure that a rescue block handled does not count (stats decrement it).
            if failure and not stats.failures.get(host):
                failure = None
            progress = dict(self._progress.get(host) or {})
            if host in self._wave and progress.get("wave") is None:
                progress["wave"] = self._wave[host]
            # A failure reported by the role's own gate carries the step and reason in the progress fact.
            if failure and not failure.get("reason") and progress.get("failure"):
                failure = dict(failure, **{k: v for k, v in progress["failure"].items() if v})
            record = _report.host_record(
                host,
                mde=self._mde.get(host),
                progress=progress,
                failure=failure,
                unreachable=self._unreachable.get(host),
                check_mode=check_mode,
                goal=self._goal,
            )
            # A host a wave was meant to run, whose wave never started (the canary failed, or an earlier
            # wave went over max_fail_percentage), was assessed but not run - not refused.
            if (
                host in self._wave_targets
                and host not in self._wave
                and not failure
                and self._unreachable.get(host) is None
            ):
                record["outcome"] = "not_run"
            records.append(record)
        not_run = [r for r in records if r["outcome"] == "not_run"]
        stopped = [r for r in records if r["outcome"] in ("failed", "unreachable")]
        aborted = bool(not_run and stopped and self._serial_plays)
        run = {
            "playbook": self._playbook,
            "started": self._started,
            "check_mode": check_mode,
            "aborted": aborted,
            "abort_reason": (
                "the run stopped after failures in wave %s; %d host(s) not run"
                % (max((r["wave"] or 0) for r in stopped) or "?", len(not_run))
            )
            if aborted
            else None,
        }
        report = _report.build_report(records, run)
        directory = self._report_dir or self.get_option("report_dir")
        paths = _report.write_report(report, directory, self._basename or self.get_option("basename"))
        self._display.display("fleet report: %s (%s, %s)" % (paths["html"], paths["json"], paths["csv"]))
