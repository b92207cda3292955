"""Benchmark aid (tests/bench/run.py): task results per host, run-once tasks counted apart.

Not part of the collection. Enabled by the bench through ANSIBLE_CALLBACK_PLUGINS and
ANSIBLE_CALLBACKS_ENABLED; writes ``{"hosts": {host: n}, "run_once": n}`` to the file named by
BENCH_TASKS_FILE when the playbook ends. A task result is what the PLAY RECAP counts as ok,
skipped or failed; a run-once task (``run_once`` true: the pre-flight, a wave-wide step that is
off) is one result for the run, not for the host Ansible happened to run it on.
"""

from __future__ import annotations

import json
import os

from ansible import constants as C
from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: bench_tasks
type: aggregate
short_description: task results per host for the benchmark
description: Counts task results per host and run-once tasks apart (tests/bench/run.py).
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_tasks"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self.hosts: dict[str, int] = {}
        self.run_once = 0

    def _count(self, result) -> None:
        host = result._host.get_name()  # pylint: disable=protected-access
        if host in ("localhost", "127.0.0.1") or result._task.action in C._ACTION_META:  # pylint: disable=protected-access
            return  # the PLAY RECAP counts no meta task (they run in the controller's main process)
        if result._task.run_once:  # pylint: disable=protected-access
            self.run_once += 1
        else:
            self.hosts[host] = self.hosts.get(host, 0) + 1

    def v2_runner_on_ok(self, result):
        self._count(result)

    def v2_runner_on_skipped(self, result):
        self._count(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._count(result)

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get("BENCH_TASKS_FILE")
        if path:
            with open(path, "w", encoding="utf-8") as fh:
                json.dump({"hosts": self.hosts, "run_once": self.run_once}, fh)
