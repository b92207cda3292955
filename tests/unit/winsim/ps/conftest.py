"""Running PowerShell snippets through the interpreter in the unit tests."""

from __future__ import annotations

from typing import Any

import pytest

from tests.winsim.fleet import new_state
from tests.winsim.host import SimHost
from tests.winsim.ps import engine
from tests.winsim.ps.jsonps import to_plain
from tests.winsim.ps.runtime import Frame, Runspace, Scope


class Ps:
    """A runspace on a simulated host with ``$ErrorActionPreference = 'Stop'`` (as modules run)."""

    def __init__(self, settings: dict | None = None, eap: str = "Stop") -> None:
        self.host = SimHost("h", new_state("h", settings or {"os": "windows11_23h2"}), None)
        self.rs: Runspace = engine.new_runspace(
            self.host, {"TEMP": "C:\\Windows\\TEMP", "USERPROFILE": "C:\\Users\\ansible"}
        )
        self.rs.global_scope.vars["erroractionpreference"] = eap
        # One script scope for every snippet, like an interactive session: functions stay defined.
        self.scope = Scope(self.rs.global_scope, self.rs.global_session)
        self.rs.global_session.script_scope = self.scope
        self.count = 0

    def raw(self, script: str) -> list:
        """The output objects of a script (as PowerShell values)."""
        self.count += 1
        out: list = []
        engine.compiled(script, "test%d.ps1" % self.count)(Frame(self.rs, self.scope), out)
        return out

    def run(self, script: str) -> Any:
        """The output as plain Python (what ConvertTo-Json would see), one object unwrapped."""
        out = [to_plain(v) for v in self.raw(script)]
        return out[0] if len(out) == 1 else out

    def var(self, name: str) -> Any:
        return to_plain(self.rs.global_session.script_scope.vars.get(name.lower()))


@pytest.fixture
def ps() -> Ps:
    return Ps()
