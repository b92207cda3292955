"""Which PowerShell lines and functions ran: recorded per process, written to a file on request.

Lines are statement starts (``ast.Script.statement_lines`` are the executable ones). Files are
named as Ansible names them in the exec manifest (e.g.
``ansible_collections.mdeops.defender.plugins.module_utils._MdeDefender.psm1``). The simulator
writes the record with its report (``report.py``) when it stops; the end-to-end tests merge the
records of every simulator process (``merge``) and report per repository file.
"""

from __future__ import annotations

import threading
from typing import Any


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.hits: dict[str, set[int]] = {}
        self.executable: dict[str, set[int]] = {}
        self.functions: dict[str, set[str]] = {}
        self.called: dict[str, set[str]] = {}

    def hits_for(self, file: str) -> set[int]:
        with self.lock:
            return self.hits.setdefault(file, set())

    def define_function(self, file: str, name: str) -> None:
        with self.lock:
            self.functions.setdefault(file, set()).add(name)

    def add_script(self, file: str, lines: frozenset[int]) -> None:
        with self.lock:
            self.executable.setdefault(file, set()).update(lines)

    def add_calls(self, called: dict[str, set[str]]) -> None:
        with self.lock:
            for file, names in called.items():
                self.called.setdefault(file, set()).update(names)

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                file: {
                    "executable": sorted(self.executable.get(file, ())),
                    "hit": sorted(self.hits.get(file, ())),
                    "functions": sorted(self.functions.get(file, ())),
                    "called": sorted(self.called.get(file, ())),
                }
                for file in sorted(set(self.executable) | set(self.hits))
            }


RECORDER = Recorder()


def merge(records: list[dict[str, Any]]) -> dict[str, dict[str, set]]:
    """Union of several ``snapshot()``s."""
    out: dict[str, dict[str, set]] = {}
    for record in records:
        for file, data in record.items():
            entry = out.setdefault(file, {"executable": set(), "hit": set(), "functions": set(), "called": set()})
            for key in entry:
                entry[key].update(data.get(key, ()))
    return out
