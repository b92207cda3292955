"""Fixtures of the end-to-end tests: a simulated fleet and the real Ansible CLI against it.

``winsim(fleet_dict, https=False)`` writes the fleet to a temporary YAML, starts
``python -m tests.winsim up …`` from the repository root with the test's own interpreter,
waits for the inventory and returns a ``WinSim``. Every simulator started by a test is
stopped in teardown, even when the test failed.

Ansible runs from the same virtualenv as ``sys.executable``, with
``ANSIBLE_COLLECTIONS_PATH`` pointing at a temporary farm in which
``ansible_collections/mdeops/defender`` is a symlink to the repository root.

The simulators run the collection's real PowerShell. Each writes what its interpreter saw
into a directory of this session (``$WINSIM_PS_REPORT``); at the end the session fails if any
construct was not modelled, and prints the PowerShell line coverage (``ps_coverage.py``;
``--ps-coverage-min`` also fails it below that percentage or when a function never ran).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e import ps_coverage
from tests.tools.local_fleet import winsim_up_command
from tests.winsim.clock import fleet_time
from tests.winsim.ps.report import ENV as PS_REPORT_ENV

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN_DIR = Path(sys.executable).parent
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
RUN_TIMEOUT = 600.0
#: The simulated hosts' clock runs 20 times faster than the wall clock unless a fleet sets its own
#: ``time_scale``: a Sense that takes its 15 s to start costs 0.75 s, a 30 s reboot 1.5 s.
TIME_SCALE = 0.05
_PS_SESSION = pytest.StashKey["ps_coverage.Session"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--ps-coverage-min",
        type=float,
        default=None,
        help="fail the session when the PowerShell line coverage of the collection is below this percentage "
        "or a PowerShell function never ran (the whole e2e suite: make e2e)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: end-to-end test against the simulated fleet (slow, starts processes)")
    # Every simulator this session starts writes what its PowerShell interpreter saw here. With
    # pytest-xdist the workers inherit the controller's directory (they start after this ran there), and
    # the controller adds up the coverage of all of them.
    if not hasattr(config, "workerinput"):
        os.environ[PS_REPORT_ENV] = tempfile.mkdtemp(prefix="winsim-ps-")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if hasattr(session.config, "workerinput"):
        return  # an xdist worker: the controller judges the whole session
    directory = Path(os.environ.get(PS_REPORT_ENV, ""))
    if not directory.is_dir() or not any(directory.glob("ps-*.json")):
        return
    ps = ps_coverage.Session.collect(directory)
    session.config.stash[_PS_SESSION] = ps
    minimum = session.config.getoption("--ps-coverage-min")
    failed = bool(ps.unsupported)
    if minimum is not None and (ps.total_percent < minimum or ps.never_called()):
        failed = True
    if failed:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    ps = config.stash.get(_PS_SESSION, None)
    if ps is None:
        return
    write = terminalreporter.write_line
    terminalreporter.section("PowerShell run by the simulated hosts (%d simulator processes)" % ps.reports)
    for line in ps.table().splitlines():
        write(line)
    if ps.unsupported:
        write("")
        write("FAILED: the simulator met PowerShell it does not model (docs/powershell.md):", red=True)
        for item in ps.unsupported:
            write("  %s: %s" % (item["module"], item["message"]), red=True)
    minimum = config.getoption("--ps-coverage-min")
    if minimum is not None:
        if ps.total_percent < minimum:
            write("")
            write("FAILED: PowerShell line coverage %.1f%% is below %.0f%%" % (ps.total_percent, minimum), red=True)
            write("lines that never ran:")
            for line in ps.missed_lines().splitlines():
                write("  " + line)
        never = ps.never_called()
        if never:
            write("")
            write("FAILED: PowerShell functions no end-to-end test ran:", red=True)
            for name in never:
                write("  " + name, red=True)


def collections_farm(base: Path) -> Path:
    """``base/collections/ansible_collections/mdeops/defender`` → the repository root."""
    galaxy = (
        yaml.safe_load((REPO_ROOT / "galaxy.yml").read_text(encoding="utf-8"))
        if (REPO_ROOT / "galaxy.yml").exists()
        else {"namespace": "mdeops", "name": "defender"}
    )
    ns_dir = base / "collections" / "ansible_collections" / galaxy["namespace"]
    ns_dir.mkdir(parents=True, exist_ok=True)
    link = ns_dir / galaxy["name"]
    if not link.exists():
        link.symlink_to(REPO_ROOT, target_is_directory=True)
    return base / "collections"


def ansible_env(base: Path) -> dict[str, str]:
    """A clean, quiet Ansible environment rooted in ``base``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(
        {
            "ANSIBLE_COLLECTIONS_PATH": str(collections_farm(base)),
            "ANSIBLE_HOME": str(base / "ansible-home"),
            "ANSIBLE_LOCAL_TEMP": str(base / "ansible-tmp"),
            "ANSIBLE_HOST_KEY_CHECKING": "False",
            "ANSIBLE_RETRY_FILES_ENABLED": "False",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            # The collection must work without injected facts (the default from ansible-core 2.24) and
            # must not trigger any deprecation: both are on for every run (WinSim.run checks the output).
            "ANSIBLE_INJECT_FACT_VARS": "False",
            "ANSIBLE_DEPRECATION_WARNINGS": "True",
            "ANSIBLE_SYSTEM_WARNINGS": "False",
            "ANSIBLE_STDOUT_CALLBACK": "default",
            "ANSIBLE_CALLBACK_RESULT_FORMAT": "json",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PATH": str(BIN_DIR) + os.pathsep + os.environ.get("PATH", ""),
        }
    )
    return env


DEPRECATION = re.compile(r"\[DEPRECATION WARNING\]:?(.*)")


def assert_no_deprecation(output: str) -> None:
    """No deprecation warning in an ansible run's output (the collection must not trigger any)."""
    found = DEPRECATION.findall(output)
    assert not found, (
        "deprecation warning(s) in the run:\n" + "\n".join(f.strip() for f in found) + "\n\n" + output[-4000:]
    )


class WinSim:
    """One running simulator process and helpers to drive Ansible against it."""

    def __init__(self, base: Path, fleet: dict[str, Any], https: bool = False, extra_args: Sequence[str] = ()) -> None:
        self.base = base
        self.base.mkdir(parents=True, exist_ok=True)
        self.fleet_path = base / "fleet.yml"
        fleet = {"time_scale": TIME_SCALE, **fleet}
        self.time_scale = float(fleet["time_scale"])
        self.fleet_path.write_text(yaml.safe_dump(fleet, sort_keys=False), encoding="utf-8")
        self.inventory = base / "inventory.yml"
        self.state_dir = base / "state"
        self.https = https
        self.extra_args = list(extra_args)
        self.env = ansible_env(base)
        self.proc: subprocess.Popen[bytes] | None = None
        self.returncode: int | None = None
        self.banner = ""
        self.last_output: tuple[str, str] = ("", "")
        self.outputs: list[tuple[str, str]] = []  # every run's (stdout, stderr); Invariants reads the new ones

    # ------------------------------------------------------------------ process
    def start(self, reset: bool = True, timeout: float = START_TIMEOUT) -> WinSim:
        """Start (or restart) the simulator; returns once the inventory was written."""
        if self.inventory.exists():
            self.inventory.unlink()
        self.returncode = None
        cmd = winsim_up_command(self.fleet_path, self.inventory, self.state_dir, *self.extra_args)
        if reset:
            cmd.append("--reset")
        if self.https:
            cmd.append("--https")
        self._out = open(self.base / "winsim.stdout", "ab")
        self._err = open(self.base / "winsim.stderr", "ab")
        self.proc = subprocess.Popen(
            cmd, cwd=REPO_ROOT, stdout=self._out, stderr=self._err, env={**os.environ, "PYTHONUNBUFFERED": "1"}
        )
        deadline = time.monotonic() + timeout
        while not self.inventory.exists():
            if self.proc.poll() is not None:
                raise RuntimeError(
                    "winsim exited with %s before writing the inventory:\n%s" % (self.proc.returncode, self.stderr())
                )
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("winsim wrote no inventory within %.0f s:\n%s" % (timeout, self.stderr()))
            time.sleep(0.05)
        self.banner = (self.base / "winsim.stdout").read_text(encoding="utf-8", errors="replace").strip()
        return self

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after a grace period; returns the exit code."""
        if self.proc is None:
            return self.returncode
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.returncode = self.proc.returncode
        self.proc = None
        self._out.close()
        self._err.close()
        return self.returncode

    def restart(self) -> WinSim:
        """Stop and start again on the saved state (state survives restarts)."""
        self.stop()
        return self.start(reset=False)

    def sim_time(self) -> float:
        """The simulated hosts' clock now (the anchor the simulator keeps in ``clock.json``)."""
        return fleet_time(str(self.state_dir))

    def wait_until(self, sim_time: float) -> None:
        """Sleep until the simulated clock has reached ``sim_time`` (e.g. a host timer's ``at``)."""
        time.sleep(max(0.0, (sim_time - self.sim_time()) * self.time_scale))

    def set_faults(self, host: str, faults: dict[str, Any] | None) -> WinSim:
        """Replace one host's faults (``None`` or ``{}`` clears them) and restart on the saved state.

        The simulator is stopped (so it cannot overwrite the file), ``DIR/<host>.json``'s ``faults``
        is rewritten in the simulator's own format, and it starts again with ``reset=False``.
        """
        running = self.proc is not None
        if running:
            self.stop()
        path = self.state_dir / f"{host}.json"
        state = json.loads(path.read_text(encoding="utf-8"))
        state["faults"] = dict(faults or {})
        path.write_text(json.dumps(state, sort_keys=True, indent=1) + "\n", encoding="utf-8")
        return self.start(reset=False) if running else self

    def clear_faults(self, *hosts: str) -> WinSim:
        """Remove every fault of ``hosts`` (default: all hosts) with one restart."""
        running = self.proc is not None
        if running:
            self.stop()
        names = hosts or [p.name[:-5] for p in self.state_dir.glob("*.json") if not p.name.endswith(".counters.json")]
        for name in names:
            self.set_faults(name, None)
        return self.start(reset=False) if running else self

    def module_runs(self, host: str) -> dict[str, int]:
        """``{module name: runs}`` the simulator counted for ``host``."""
        return dict(self.counters(host).get("modules") or {})

    def stderr(self) -> str:
        path = self.base / "winsim.stderr"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    # ------------------------------------------------------------------ state
    def state(self, host: str) -> dict[str, Any]:
        return json.loads((self.state_dir / f"{host}.json").read_text(encoding="utf-8"))

    def counters(self, host: str) -> dict[str, Any]:
        path = self.state_dir / f"{host}.counters.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}

    def all_states(self) -> dict[str, dict[str, Any]]:
        return {
            p.name[:-5]: json.loads(p.read_text(encoding="utf-8"))
            for p in sorted(self.state_dir.glob("*.json"))
            if not p.name.endswith(".counters.json")
        }

    def inventory_data(self) -> dict[str, Any]:
        return yaml.safe_load(self.inventory.read_text(encoding="utf-8"))

    # ------------------------------------------------------------------ ansible
    def run(
        self,
        cmd: Sequence[str],
        timeout: float = RUN_TIMEOUT,
        env: dict[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        allow_deprecations: bool = False,
    ) -> tuple[int, str, str]:
        """Run a command (``ansible*`` names resolve to this venv's scripts); (rc, stdout, stderr).

        Fails when Ansible printed a deprecation warning, unless ``allow_deprecations``.
        """
        argv = list(cmd)
        if argv and argv[0].startswith("ansible") and os.sep not in argv[0]:
            argv[0] = str(BIN_DIR / argv[0])
        proc = subprocess.run(
            argv,
            cwd=cwd or self.base,
            env={**self.env, **(env or {})},
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        out, err = proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")
        self.last_output = (out, err)
        self.outputs.append((out, err))
        if allow_deprecations is False:
            assert_no_deprecation(out + err)
        return proc.returncode, out, err

    def adhoc(self, pattern: str, module: str, args: str | None = None, *extra: str, **kw: Any) -> tuple[int, str, str]:
        cmd = ["ansible", "-i", str(self.inventory), pattern, "-m", module]
        if args is not None:
            cmd += ["-a", args]
        return self.run([*cmd, *extra], **kw)

    def module(
        self,
        pattern: str,
        module: str,
        args: dict[str, Any] | None = None,
        check: bool = False,
        diff: bool = False,
        extra: Sequence[str] = (),
    ) -> dict[str, dict[str, Any]]:
        """Run one module ad hoc and return ``{host: result}`` (parsed from the json callback).

        Unreachable hosts get ``{"unreachable": True, "msg": ...}``.
        """
        cmd = ["ansible", "-i", str(self.inventory), pattern, "-m", module]
        if args is not None:
            cmd += ["-a", json.dumps(args)]
        if check:
            cmd.append("--check")
        if diff:
            cmd.append("--diff")
        rc, out, err = self.run(
            [*cmd, *extra],
            env={"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1"},
        )
        start = out.find("{")
        if start < 0:
            raise AssertionError("no JSON from ansible (rc %s):\n%s\n%s" % (rc, out, err))
        data = json.loads(out[start:])
        results: dict[str, dict[str, Any]] = {}
        for play in data.get("plays", []):
            for task in play.get("tasks", []):
                for host, res in task.get("hosts", {}).items():
                    results[host] = res
        return results

    def playbook(
        self,
        path: str | os.PathLike[str],
        extra_vars: dict[str, Any] | None = None,
        check: bool = False,
        limit: str | None = None,
        diff: bool = False,
        extra_args: Sequence[str] = (),
        **kw: Any,
    ) -> tuple[int, str, str]:
        cmd = ["ansible-playbook", "-i", str(self.inventory), str(path)]
        if extra_vars:
            cmd += ["-e", json.dumps(extra_vars)]
        if check:
            cmd.append("--check")
        if diff:
            cmd.append("--diff")
        if limit:
            cmd += ["--limit", limit]
        return self.run([*cmd, *extra_args], **kw)


@pytest.fixture
def winsim(tmp_path: Path) -> Iterator[Callable[..., WinSim]]:
    """Factory: ``winsim(fleet_dict, https=False, extra_args=())`` → a started ``WinSim``."""
    started: list[WinSim] = []

    def factory(
        fleet: dict[str, Any], https: bool = False, extra_args: Sequence[str] = (), name: str | None = None
    ) -> WinSim:
        sim = WinSim(tmp_path / (name or "winsim-%d" % len(started)), fleet, https=https, extra_args=extra_args)
        started.append(sim)
        return sim.start()

    yield factory
    for sim in started:
        sim.stop()
