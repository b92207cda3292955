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
  - An interrupted run never leaves the previous report looking current. The report is first written when the
    run starts, marked C(incomplete) (C(run.status)), and again at the start of a play or wave at most every
    O(progress_interval) seconds; the write at the end marks it C(complete). A run stopped with Ctrl-C (or
    cancelled from AWX) or one that crashes writes what it had gathered, still marked C(incomplete); one killed
    outright leaves the last C(incomplete) write.
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
  progress_interval:
    description:
      - Least number of seconds between two C(incomplete) writes while the run goes on (at the start of a play or
        wave). The first write, when the run starts, and the last, when it ends, always happen. V(0) writes at
        every play and wave start.
    type: int
    default: 30
    env:
      - name: MDE_REPORT_PROGRESS_INTERVAL
    ini:
      - section: mdeops_defender_fleet_report
        key: progress_interval
author:
  - mdeops.defender contributors (@mdeops)
"""

import atexit  # noqa: E402 - imports follow the documentation
import datetime  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402

from ansible import context  # noqa: E402
from ansible.plugins.callback import CallbackBase  # noqa: E402

from ansible_collections.mdeops.defender.plugins.module_utils import _report  # noqa: E402
from ansible_collections.mdeops.defender.plugins.plugin_utils import _report_files  # noqa: E402

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
        self._serial_plays: set = set()
        self._wave_targets: set = set()  # hosts a serial play (a wave) was meant to run
        self._pid = os.getpid()
        self._last_write = None  # time.monotonic() of the last write
        self._complete = False
        self._exit_hook = False

    # ---------------------------------------------------------------- playbook / plays
    def v2_playbook_on_start(self, playbook):
        self._playbook = os.path.basename(getattr(playbook, "_file_name", "") or "")
        self._complete = False

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
        self._progress_write()

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
        if isinstance(res.get("diagnosis"), dict) and isinstance(res.get("defender"), dict):
            # a win_mde_info read: the host's latest state
            self._mde[host] = res
        if isinstance(facts.get("mde_report_host"), dict):
            self._progress[host] = facts["mde_report_host"]
            if isinstance(facts["mde_report_host"].get("state"), dict):
                self._mde[host] = facts["mde_report_host"]["state"]
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
        reason = res.get("reason")
        if not reason and res.get("timedout"):
            reason = "timeout"  # cut at the task's bound (its `timeout`)
        # (get_name() carries the role's prefix: "<role> : Validating arguments against arg spec ...")
        if not reason and str(result._task.action).endswith("validate_argument_spec"):  # pylint: disable=protected-access
            reason = "invalid_argument"  # a role variable of the wrong type, missing or unknown
        action = str(result._task.action)  # pylint: disable=protected-access
        per_host = res.get("hosts") if action.endswith("preflight") else None
        if isinstance(per_host, dict):
            # the run-once pre-flight stopped the run: each host it names gets its own problem
            for name, own in per_host.items():
                if isinstance(own, dict):
                    self._failure[str(name)] = {
                        "reason": own.get("reason"),
                        "msg": own.get("msg"),
                        "step": own.get("step") or "assess",
                        "task": task_name,
                        "preflight": True,
                    }
            if host in per_host:
                return
        self._failure[host] = {
            "reason": reason,
            "family": res.get("family"),
            "remediation": res.get("remediation"),
            "msg": res.get("msg"),
            "step": res.get("step")
            or (
                "assess"
                if per_host is not None or action.endswith(("preflight", "validate_argument_spec"))
                else progress.get("current_step")
            ),
            "task": task_name,
        }

    def v2_runner_on_unreachable(self, result):
        host = self._host(result)
        self._note_wave(host)
        self._unreachable[host] = (result._result or {}).get("msg") or "unreachable"  # pylint: disable=protected-access

    def v2_runner_item_on_ok(self, result):
        self._absorb(self._host(result), result._result)  # pylint: disable=protected-access

    # ---------------------------------------------------------------- writing
    def _records(self, stats=None) -> list[dict]:
        check_mode = bool(context.CLIARGS.get("check", False))
        records = []
        for host in self._hosts:
            failure = self._failure.get(host)
            # A failure that a rescue block handled does not count (stats decrement it).
            if failure and stats is not None and not stats.failures.get(host) and not failure.get("preflight"):
                failure = None
            progress = dict(self._progress.get(host) or {})
            if host in self._wave and progress.get("wave") is None:
                progress["wave"] = self._wave[host]
            # The verdict the roles recorded (fleet_progress) carries the step and reason: it is the
            # failure, also when the collection's playbooks record it without failing the host.
            recorded = progress.get("failure")
            if isinstance(recorded, dict) and (not failure or not failure.get("reason")):
                failure = dict(failure or {}, **{k: v for k, v in recorded.items() if v})
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
                record["outcome"] not in ("unprotected", "unreachable")
                and host in self._wave_targets
                and host not in self._wave
                and not failure
            ):
                record["outcome"] = "not_run"
            records.append(record)
        return records

    def _run_block(self, records: list[dict], status: str) -> dict:
        not_run = [r for r in records if r["outcome"] == "not_run"]
        stopped = [
            r
            for r in records
            if r["outcome"] in ("failed", "unreachable") or (r["outcome"] == "unprotected" and r["wave"] is not None)
        ]
        aborted = status == "complete" and bool(not_run and stopped and self._serial_plays)
        return {
            "playbook": self._playbook,
            "started": self._started,
            "status": status,
            "goal": self._goal,
            "check_mode": bool(context.CLIARGS.get("check", False)),
            "limit": context.CLIARGS.get("subset") or None,
            "aborted": aborted,
            "abort_reason": (
                "the run stopped after failures in wave %s; %d host(s) not run"
                % (max((r["wave"] or 0) for r in stopped) or "?", len(not_run))
            )
            if aborted
            else None,
        }

    def _write(self, status: str, stats=None) -> dict:
        records = self._records(stats)
        report = _report.build_report(records, self._run_block(records, status))
        directory = self._report_dir or self.get_option("report_dir")
        paths = _report_files.write_report(report, directory, self._basename or self.get_option("basename"))
        self._last_write = time.monotonic()
        return paths

    def _progress_write(self) -> None:
        """Mark the report incomplete as soon as the run starts, then keep it current now and then."""
        if self._complete:
            return
        interval = self.get_option("progress_interval")
        if self._last_write is not None and time.monotonic() - self._last_write < max(0, int(interval or 0)):
            return
        if not self._exit_hook:
            atexit.register(self._on_exit)
            self._exit_hook = True
        try:
            self._write("incomplete")
        except Exception as exc:  # pylint: disable=broad-except
            self._display.warning("mdeops.defender.fleet_report: could not write the incomplete report: %s" % exc)

    def _on_exit(self) -> None:
        """The run ended without its stats (interrupted, or crashed): write what is known, as incomplete."""
        if self._complete or os.getpid() != self._pid:
            return
        try:
            paths = self._write("incomplete")
            self._display.warning("the run did not finish; fleet report written as INCOMPLETE: %s" % paths["html"])
        except Exception:  # pylint: disable=broad-except
            pass

    # ---------------------------------------------------------------- end of run
    def v2_playbook_on_stats(self, stats):
        paths = self._write("complete", stats)
        self._complete = True
        if self._exit_hook:
            atexit.unregister(self._on_exit)
            self._exit_hook = False
        self._display.display("fleet report: %s (%s, %s)" % (paths["html"], paths["json"], paths["csv"]))
