"""Helpers shared by the unit tests.

``PsHost`` stands in for an action plugin's ``_execute_module``: it runs the module's real
PowerShell (``plugins/modules/<name>.ps1`` and the module utils it requires) through the
simulator's interpreter on a simulated host, exactly as the simulator does for a WinRM exec
manifest (``tests/winsim/ps/wrapper.py``), with the internal ``_ansible_*`` options this
ansible-core sends. A construct the interpreter does not model fails the test.

Every result is recorded (``PRODUCED``) and every action plugin gets it wrapped in a mapping that
records what the plugin reads (``READ``): ``tests/unit/test_ps_contract.py`` holds the two against
each other.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import ansible.plugins.action as _action_base
import pytest
from ansible.release import __version__ as ANSIBLE_VERSION

from tests.winsim import domain
from tests.winsim.fleet import new_state
from tests.winsim.host import SimHost
from tests.winsim.ps import report
from tests.winsim.ps.wrapper import run_module

REPO = Path(__file__).resolve().parents[2]
COLLECTION = "ansible_collections.mdeops.defender"
_REQUIRES = re.compile(r"(?im)^#AnsibleRequires\s+-(PowerShell|CSharpUtil)\s+(\S+)")

#: key paths of every result each module's PowerShell produced in this test session
PRODUCED: dict[str, set[str]] = {}
#: key paths each action plugin read from a module result, and the test that read it
READ: dict[str, dict[str, str]] = {}


@lru_cache(maxsize=1)
def internal_option_names() -> tuple[str, ...]:
    """The ``_ansible_*`` options this ansible-core's ActionBase adds to every module's arguments."""
    source = Path(_action_base.__file__).read_text(encoding="utf-8")
    return tuple(sorted(set(re.findall(r"module_args\['(_ansible_\w+)'\]", source))))


def internal_options(module: str, check_mode: bool, diff: bool) -> dict[str, Any]:
    values: dict[str, Any] = {
        "_ansible_check_mode": check_mode,
        "_ansible_no_log": False,
        "_ansible_debug": False,
        "_ansible_diff": diff,
        "_ansible_verbosity": 0,
        "_ansible_version": ANSIBLE_VERSION,
        "_ansible_module_name": module,
        "_ansible_syslog_facility": "LOG_USER",
        "_ansible_selinux_special_fs": ["fuse", "nfs", "vboxsf", "ramfs", "9p", "vfat"],
        "_ansible_socket": None,
        "_ansible_shell_executable": "/bin/sh",
        "_ansible_keep_remote_files": False,
        "_ansible_tmpdir": None,
        "_ansible_remote_tmp": "%TEMP%",
        "_ansible_ignore_unknown_opts": False,
        "_ansible_target_log_info": None,
        "_ansible_tracebacks_for": [],
        "_ansible_inject_invocation": False,
    }
    return {k: values[k] for k in internal_option_names() if k in values}


def _util_path(name: str, requirer: str) -> tuple[str, Path]:
    """A ``#AnsibleRequires -PowerShell`` name → (manifest name, file)."""
    if name.startswith("."):
        package = requirer.rsplit(".", 2)[0]  # the module's package
        base = package.split(".")
        dots = len(name) - len(name.lstrip("."))
        full = ".".join([*base[: len(base) - (dots - 1)], name.lstrip(".")])
    else:
        full = name
    if not full.startswith(COLLECTION + "."):
        raise AssertionError("module util %s is not part of the collection" % name)
    rel = full[len(COLLECTION) + 1 :].replace(".", "/") + ".psm1"
    return full + ".psm1", REPO / rel


def module_sources(module: str) -> tuple[str, str, list[tuple[str, str]], list[str]]:
    """(script name, text, module utils, C# utils) of a module, as Ansible's exec manifest carries them."""
    short = module.rsplit(".", 1)[-1]
    script_name = "%s.plugins.modules.%s.ps1" % (COLLECTION, short)
    text = (REPO / "plugins" / "modules" / (short + ".ps1")).read_text(encoding="utf-8-sig")
    utils: list[tuple[str, str]] = []
    csharp: list[str] = []
    pending = [(script_name, text)]
    while pending:
        owner, owner_text = pending.pop(0)
        for kind, name in _REQUIRES.findall(owner_text):
            if kind.lower() == "csharputil":
                if name not in csharp:
                    csharp.append(name)
                continue
            util_name, path = _util_path(name, owner)
            if util_name not in (u[0] for u in utils):
                util_text = path.read_text(encoding="utf-8-sig")
                utils.append((util_name, util_text))
                pending.append((util_name, util_text))
    return script_name, text, utils, csharp


def run_ps_module(host: SimHost, module: str, args: dict, check_mode: bool = False, diff: bool = False) -> dict:
    """Run ``module``'s PowerShell on ``host`` and return its result as Ansible parses it."""
    script_name, text, utils, csharp = module_sources(module)
    complex_args = dict(copy.deepcopy(args), **internal_options(module, check_mode, diff))
    run = run_module(
        host, script_name, text, utils, csharp, [{"Name": "complex_args", "Value": complex_args, "Scope": "Global"}]
    )
    result = run.result
    if result is None:
        raise AssertionError("%s returned no JSON (rc %s):\n%s" % (module, run.rc, run.stdout))
    if run.info.get("junk"):
        raise AssertionError("%s wrote output after its JSON:\n%s" % (module, run.stdout))
    PRODUCED.setdefault(module, set()).update(report.key_paths(result))
    return result


class Recording(dict):
    """A module result that records the key paths an action plugin reads from it."""

    def __init__(self, data: dict, module: str, path: str, test: str) -> None:
        super().__init__({k: _wrap(v, module, "%s.%s" % (path, k) if path else k, test) for k, v in data.items()})
        self._module = module
        self._path = path
        self._test = test

    def _note(self, key: Any) -> None:
        path = "%s.%s" % (self._path, key) if self._path else str(key)
        READ.setdefault(self._module, {}).setdefault(path, self._test)

    def __getitem__(self, key: Any) -> Any:
        self._note(key)
        return super().__getitem__(key)

    def get(self, key: Any, default: Any = None) -> Any:
        self._note(key)
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        self._note(key)
        return super().__contains__(key)

    # Iterating or copying a mapping hands every key on (the plugin passes them through).
    def _note_all(self) -> None:
        for key in dict.keys(self):
            self._note(key)

    def __iter__(self) -> Any:
        self._note_all()
        return super().__iter__()

    def keys(self) -> Any:
        self._note_all()
        return super().keys()

    def items(self) -> Any:
        self._note_all()
        return super().items()

    def values(self) -> Any:
        self._note_all()
        return super().values()

    def __deepcopy__(self, memo: dict) -> dict:
        self._note_all()
        return {k: copy.deepcopy(v, memo) for k, v in dict.items(self)}


def _wrap(value: Any, module: str, path: str, test: str) -> Any:
    if isinstance(value, dict):
        return Recording(value, module, path, test)
    if isinstance(value, list):
        return [_wrap(v, module, path + "[]", test) for v in value]
    return value


def _current_test() -> str:
    import os

    return os.environ.get("PYTEST_CURRENT_TEST", "?").split(" ")[0]


class PsHost:
    """``_execute_module`` answered by the module's real PowerShell on a simulated host.

    ``fail`` maps a module name to a result returned instead of running it (a transport failure
    the interpreter cannot produce). ``calls`` records every module run with its arguments.
    """

    def __init__(
        self,
        settings: dict | None = None,
        *,
        host: SimHost | None = None,
        check_mode: bool = False,
        fail: dict[str, dict] | None = None,
    ) -> None:
        self.host = host if host is not None else SimHost("h", new_state("h", settings or {}), None)
        self.check_mode = check_mode
        self.diff = False
        self.fail = fail or {}
        self.calls: list[tuple[str, dict]] = []

    def __call__(
        self, module_name: str | None = None, module_args: dict | None = None, task_vars: Any = None, **kw: Any
    ) -> dict:
        assert module_name is not None
        args = dict(module_args or {})
        self.calls.append((module_name, copy.deepcopy(args)))
        if module_name in self.fail:
            return copy.deepcopy(self.fail[module_name])
        result = run_ps_module(self.host, module_name, args, self.check_mode, self.diff)
        # What Ansible hands the action plugin: the parsed JSON, read through a recorder.
        return Recording(json.loads(json.dumps(result)), module_name, "", _current_test())

    execute_module = __call__

    @property
    def modules(self) -> list[str]:
        return [c[0] for c in self.calls]

    def value(self, key: str, name: str) -> Any:
        return self.host.reg_get(key, name)


def run_action(
    plugin_cls: Any,
    fake: PsHost,
    module: str,
    args: dict | None = None,
    *,
    check_mode: bool = False,
    diff: bool = False,
    task_vars: dict | None = None,
) -> dict:
    """Run an action plugin's ``run()`` with ``_execute_module`` answered by ``fake``."""
    from unittest.mock import MagicMock

    from ansible.playbook.task import Task

    task = MagicMock(Task)
    task.args = dict(args or {})
    task.check_mode = check_mode
    task.diff = diff
    task.async_val = 0
    task.delegate_to = None
    task.action = module
    fake.check_mode = check_mode
    fake.diff = diff
    connection = MagicMock()
    connection._shell.tmpdir = None
    plugin = plugin_cls(task, connection, MagicMock(), loader=None, templar=None, shared_loader_obj=None)
    plugin._execute_module = fake
    return plugin.run(task_vars=task_vars if task_vars is not None else {})


@pytest.fixture
def state_dir(tmp_path: Path) -> Iterator[str]:
    """A state directory for simulated hosts (the hosts of one domain share it); its domain is
    forgotten at teardown."""
    path = str(tmp_path / "state")
    os.makedirs(path)
    yield path
    domain.forget(path)


def saved_hosts(state_dir: str, settings: dict[str, dict]) -> dict[str, SimHost]:
    """One simulated host per name of ``settings``, made from its settings and saved in ``state_dir``
    (the hosts of one domain share it)."""
    hosts = {}
    for name, host_settings in settings.items():
        host = SimHost(name, new_state(name, host_settings), state_dir)
        host.save_if_changed()
        hosts[name] = host
    return hosts


def run_on_host(
    plugin_cls: Any,
    module: str,
    host: SimHost,
    args: dict,
    *,
    check_mode: bool = False,
    diff: bool = False,
    fail: dict[str, dict] | None = None,
) -> tuple[dict, PsHost]:
    """``run_action`` for the task of ``host`` (its ``inventory_hostname``), every module answered by
    its real PowerShell on ``host``; returns the result and the ``PsHost`` that recorded the calls."""
    fake = PsHost(host=host, fail=fail)
    result = run_action(
        plugin_cls, fake, module, args, check_mode=check_mode, diff=diff, task_vars={"inventory_hostname": host.name}
    )
    return result, fake


#: names a file: the session writes PRODUCED and READ there when it ends (tests/unit/test_ps_contract.py)
RECORD_ENV = "MDEOPS_PS_CONTRACT_RECORD"


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    import os

    path = os.environ.get(RECORD_ENV)
    if path:
        data = {"produced": {m: sorted(p) for m, p in PRODUCED.items()}, "read": READ}
        Path(path).write_text(json.dumps(data, sort_keys=True), encoding="utf-8")
