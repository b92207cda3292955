"""End-to-end fixtures for the controller-side API modules: the fake cloud next to a simulated fleet.

``cloud_stand(fleet, with_winsim=True)`` starts ``python -m tests.winsim up`` (unless
``with_winsim=False``, then the hosts' initial state files are written directly), then
``python -m tests.winsim.cloud`` on the same state dir and fleet file, and returns a
:class:`CloudStand` that runs real ``ansible-playbook`` with the simulated hosts plus
``localhost`` (``ansible_connection: local``, ``ansible_python_interpreter`` = this
interpreter) in the inventory. Import the fixture in a test module with
``from tests.e2e.cloud_fixtures import cloud_stand  # noqa: F401``.
"""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.conftest import REPO_ROOT, WinSim, ansible_env
from tests.winsim import fleet as fleet_mod

START_TIMEOUT = 60.0


def api_play(hosts: str, tasks: str) -> str:
    """A play whose API modules use the fake cloud's connection (the variable ``api`` holds it);
    ``tasks`` is the YAML of its tasks, indented by four spaces."""
    return (
        "\n- hosts: %s\n  gather_facts: false\n  module_defaults:\n"
        '    group/mdeops.defender.api: "{{ api }}"\n  tasks:\n%s' % (hosts, tasks.lstrip("\n"))
    )


#: The first task of a wave confirmation: one device lookup for every Windows host.
LOOK_UP_THE_WAVE = """
    - name: look up the wave
      mdeops.defender.mde_machine_info:
        names: "{{ groups['windows'] }}"
      register: mde
"""


class FakeCloud:
    """One ``python -m tests.winsim.cloud`` process."""

    def __init__(self, base: Path, fleet_path: Path, state_dir: Path) -> None:
        self.base = base
        self.fleet_path = fleet_path
        self.state_dir = state_dir
        self.config_path = base / "cloud.json"
        self.proc: subprocess.Popen[bytes] | None = None
        self.config: dict[str, Any] = {}

    def start(self, timeout: float = START_TIMEOUT) -> FakeCloud:
        if self.config_path.exists():
            self.config_path.unlink()
        self._out = open(self.base / "cloud.stdout", "ab")
        self._err = open(self.base / "cloud.stderr", "ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.winsim.cloud",
                "--state-dir",
                str(self.state_dir),
                "--fleet",
                str(self.fleet_path),
                "--out",
                str(self.config_path),
            ],
            cwd=REPO_ROOT,
            stdout=self._out,
            stderr=self._err,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + timeout
        while not self.config_path.exists():
            if self.proc.poll() is not None:
                raise RuntimeError("the fake cloud exited with %s:\n%s" % (self.proc.returncode, self.stderr()))
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the fake cloud wrote no config within %.0f s:\n%s" % (timeout, self.stderr()))
            time.sleep(0.05)
        self.config = json.loads(self.config_path.read_text(encoding="utf-8"))
        return self

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        self._out.close()
        self._err.close()

    def stderr(self) -> str:
        path = self.base / "cloud.stderr"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    # ------------------------------------------------------------------ control endpoint
    def control(self, method: str, path: str, data: Any = None) -> Any:
        ctx = ssl.create_default_context(cafile=self.config["ca_path"])
        req = urllib.request.Request(
            self.config["control_url"] + path,
            method=method,
            data=None if data is None else json.dumps(data).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, context=ctx, timeout=15) as resp:
            return json.loads(resp.read() or b"null")

    def counters(self) -> dict[str, Any]:
        return self.control("GET", "/counters")

    def reset_counters(self) -> None:
        self.control("POST", "/counters/reset")

    def set_faults(self, faults: list[dict]) -> None:
        self.control("POST", "/faults", {"faults": faults})

    def graph_store(self) -> dict[str, Any]:
        path = self.state_dir / "cloud" / "graph.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}

    def client(self, index: int = 0) -> dict[str, Any]:
        return self.config["clients"][index]

    def connection(self, client: dict[str, Any] | None = None) -> dict[str, Any]:
        """The API modules' connection options (for ``module_defaults: group/mdeops.defender.api``)."""
        c = client or self.client(0)
        out = {
            "tenant_id": c["tenant_id"],
            "client_id": c["client_id"],
            "api_base_url": self.config["api_base_url"],
            "graph_base_url": self.config["graph_base_url"],
            "authority_host": self.config["authority_host"],
            "ca_path": self.config["ca_path"],
        }
        if c.get("client_secret"):
            out["client_secret"] = c["client_secret"]
        else:
            out["client_certificate_path"] = c["client_certificate_path"]
        return out


class CloudStand:
    """A simulated fleet (optional) and the fake cloud, and ansible-playbook against both."""

    def __init__(
        self, base: Path, fleet: dict[str, Any], with_winsim: bool, winsim_factory: Callable[..., WinSim] | None
    ) -> None:
        self.base = base
        base.mkdir(parents=True, exist_ok=True)
        self.sim: WinSim | None = None
        if with_winsim:
            assert winsim_factory is not None
            self.sim = winsim_factory(fleet, name="fleet")
            self.fleet_path = self.sim.fleet_path
            self.state_dir = self.sim.state_dir
        else:
            self.fleet_path = base / "fleet.yml"
            self.fleet_path.write_text(yaml.safe_dump(fleet, sort_keys=False), encoding="utf-8")
            self.state_dir = base / "state"
            self.state_dir.mkdir(exist_ok=True)
            validated = fleet_mod.validate_fleet(fleet)
            for name in validated["hosts"]:
                state = fleet_mod.new_state(name, fleet_mod.host_settings(validated, name))
                (self.state_dir / ("%s.json" % name)).write_text(
                    json.dumps(state, sort_keys=True, indent=1) + "\n", encoding="utf-8"
                )
        self.cloud = FakeCloud(base, self.fleet_path, self.state_dir).start()
        self.local_inventory = base / "localhost.yml"
        self.local_inventory.write_text(
            yaml.safe_dump(
                {
                    "all": {
                        "hosts": {
                            "localhost": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
                        }
                    }
                }
            ),
            encoding="utf-8",
        )
        self.env = self.sim.env if self.sim else ansible_env(base)
        self.outputs: list[tuple[str, str]] = []  # every playbook's (stdout, stderr); Invariants reads the new ones

    def stop(self) -> None:
        self.cloud.stop()

    def state(self, host: str) -> dict[str, Any]:
        return json.loads((self.state_dir / ("%s.json" % host)).read_text(encoding="utf-8"))

    def playbook(
        self,
        text: str,
        extra_vars: dict[str, Any] | None = None,
        check: bool = False,
        diff: bool = False,
        extra_args: tuple[str, ...] = (),
        json_output: bool = True,
        name: str = "play",
        env: dict[str, str] | None = None,
    ) -> PlayRun:
        play = self.base / ("%s.yml" % name)
        play.write_text(text, encoding="utf-8")
        vars_file = self.base / ("%s.vars.json" % name)
        data = {"cloud": self.cloud.config, "api": self.cloud.connection()}
        data.update(extra_vars or {})
        vars_file.write_text(json.dumps(data), encoding="utf-8")
        cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(self.local_inventory)]
        if self.sim is not None:
            cmd += ["-i", str(self.sim.inventory)]
        cmd += [str(play), "-e", "@%s" % vars_file]
        if check:
            cmd.append("--check")
        if diff:
            cmd.append("--diff")
        cmd += list(extra_args)
        env = {**self.env, **(env or {})}
        if json_output:
            env.update({"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1"})
        proc = subprocess.run(cmd, cwd=self.base, env=env, capture_output=True, timeout=900, check=False)
        run = PlayRun(
            proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace"), json_output
        )
        self.outputs.append((run.out, run.err))
        return run


class PlayRun:
    """The outcome of one ansible-playbook run; ``task(name)`` gives ``{host: result}``."""

    def __init__(self, rc: int, out: str, err: str, parsed: bool) -> None:
        self.rc = rc
        self.out = out
        self.err = err
        self.tasks: list[tuple[str, dict[str, Any]]] = []
        if parsed:
            start = out.find("{")
            if start < 0:
                raise AssertionError("no JSON from ansible-playbook (rc %s):\n%s\n%s" % (rc, out, err))
            data = json.loads(out[start:])
            for play in data.get("plays", []):
                for task in play.get("tasks", []):
                    self.tasks.append((task["task"]["name"], task.get("hosts", {})))

    def task(self, name: str, host: str = "localhost") -> dict[str, Any]:
        for tname, hosts in self.tasks:
            if tname == name:
                if host not in hosts:
                    raise AssertionError("task %r has no result for %s: %s" % (name, host, sorted(hosts)))
                return hosts[host]
        raise AssertionError("no task %r in %s\n%s" % (name, [t for t, _hosts in self.tasks], self.err[-3000:]))

    def __str__(self) -> str:
        return "rc=%s\n%s\n%s" % (self.rc, self.out[-6000:], self.err[-3000:])


@pytest.fixture
def cloud_stand(tmp_path: Path, winsim: Callable[..., WinSim]) -> Iterator[Callable[..., CloudStand]]:
    """Factory: ``cloud_stand(fleet_dict, with_winsim=True)`` -> a started :class:`CloudStand`."""
    started: list[CloudStand] = []

    def factory(fleet: dict[str, Any], with_winsim: bool = True) -> CloudStand:
        stand = CloudStand(tmp_path / ("stand-%d" % len(started)), fleet, with_winsim, winsim)
        started.append(stand)
        return stand

    yield factory
    for stand in started:
        stand.stop()
