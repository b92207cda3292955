"""The contract between the action plugins and their PowerShell modules.

Every key path an action plugin reads from a module result (nested keys included) must be
produced by that module's PowerShell on some path the tests execute: a key renamed or dropped on
one side, or read where the PowerShell never sets it, fails here.

The action plugin tests (``tests/unit/plugins/action``) run the real ``.ps1`` through the
simulator's interpreter (``PsHost`` in ``tests/unit/conftest.py``), record the key paths of
every result (``PRODUCED``) and hand each plugin a mapping that records what it reads
(``READ``). They run here in a child pytest, so the check always sees all of them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.unit.conftest import RECORD_ENV, REPO

ACTION_TESTS = REPO / "tests" / "unit" / "plugins" / "action"
MODULES = REPO / "plugins" / "modules"
# What Ansible itself (or the transport) can put in any module result: read by the shared error
# handling of every action plugin, produced by FailJson/ExitJson or the connection, not by a module.
ANSIBLE_KEYS = {"changed", "failed", "msg", "unreachable", "exception", "rc", "stdout", "stderr", "warnings"}


@pytest.fixture(scope="module")
def record(tmp_path_factory) -> dict:
    path = tmp_path_factory.mktemp("contract") / "record.json"
    env = {**os.environ, RECORD_ENV: str(path)}
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", str(ACTION_TESTS)]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, "the action plugin tests failed:\n%s" % proc.stdout[-4000:]
    return json.loads(path.read_text(encoding="utf-8"))


def test_every_powershell_module_is_exercised(record):
    modules = {"mdeops.defender." + p.stem for p in MODULES.glob("*.ps1")}
    assert modules - set(record["produced"]) == set(), "no action plugin test runs these modules"
    assert modules - set(record["read"]) == set(), "no action plugin test reads these modules' results"


def test_every_key_read_is_produced(record):
    missing = []
    for module, reads in sorted(record["read"].items()):
        produced = set(record["produced"].get(module, ()))
        for path, test in sorted(reads.items()):
            if path not in produced and path not in ANSIBLE_KEYS:
                missing.append("%s: %s (read in %s)" % (module, path, test))
    assert not missing, "keys the action plugins read but the PowerShell never produced:\n" + "\n".join(missing)
