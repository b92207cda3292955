"""Shared helpers of the simulator's unit tests.

* ``recorded(version)``: real payloads captured from ansible-core 2.21.5 and 2.19.14
  (``fixtures/core-*.json``, big scripts stripped) as ``Recorded`` objects.
* ``make_host``: a fresh ``SimHost`` from fleet settings.
* ``server``: a factory running ``HostEndpoint``s on an asyncio loop in a background thread,
  so tests can talk to them with the real pywinrm client.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.winsim import fleet
from tests.winsim.host import SimHost
from tests.winsim.server import HostEndpoint

FIXTURES = Path(__file__).parent / "fixtures"
CORES = ("2.21.5", "2.19.14")
SEPARATOR = b"\n\0\0\0\0\n"


@dataclass
class Recorded:
    label: str
    command_line: str
    stdin: bytes


def recorded(version: str) -> dict[str, Recorded]:
    doc = json.loads((FIXTURES / f"core-{version}.json").read_text(encoding="utf-8"))
    return {
        r["label"]: Recorded(r["label"], doc["command_lines"][r["command_line"]], base64.b64decode(r["stdin_b64"]))
        for r in doc["records"]
    }


def encoded_command(script: str, executable: str = "PowerShell") -> str:
    """What win_reboot and old cores send: ``PowerShell … -EncodedCommand <utf-16-le b64>``."""
    b64 = base64.b64encode(script.encode("utf-16-le")).decode()
    return "%s -NoProfile -NonInteractive -ExecutionPolicy Unrestricted -EncodedCommand %s" % (executable, b64)


def module_stdin(module: str, args: dict[str, Any], version: str = "2.21.5") -> tuple[str, bytes]:
    """A module run for ``module`` built from the recorded win_ping run (real framing, new name/args)."""
    rec = recorded(version)["module_win_ping"]
    boot, manifest = rec.stdin.split(SEPARATOR)
    data = json.loads(manifest)
    namespace, collection, name = module.split(".")
    action = data["actions"][-1]
    action["params"]["Script"] = "ansible_collections.%s.%s.plugins.modules.%s.ps1" % (namespace, collection, name)
    complex_args = action["params"]["Variables"][0]["Value"]
    for key in [k for k in complex_args if not k.startswith("_ansible_")]:
        del complex_args[key]
    complex_args.update(args)
    complex_args["_ansible_module_name"] = module
    return rec.command_line, boot + SEPARATOR + json.dumps(data).encode()


def make_host(name: str = "ws01", state_dir: Path | None = None, **settings: Any) -> SimHost:
    host = SimHost(name, fleet.new_state(name, settings), str(state_dir) if state_dir else None)
    return host


class LoopThread:
    """An asyncio loop in a daemon thread; ``call(coro)`` runs a coroutine there and waits."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def call(self, coro: Any, timeout: float = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Callable[..., HostEndpoint]]:
    """Factory: ``server(name="ws01", max_hold=2.0, **fleet_settings)`` → a started endpoint."""
    loop = LoopThread()
    endpoints: list[HostEndpoint] = []

    def start(name: str = "ws01", max_hold: float = 2.0, **settings: Any) -> HostEndpoint:
        host = make_host(name, tmp_path, **settings)
        endpoint = HostEndpoint(host, max_hold=max_hold)
        loop.call(endpoint.start())
        endpoints.append(endpoint)
        endpoint.loop_thread = loop  # type: ignore[attr-defined]
        return endpoint

    yield start
    for endpoint in endpoints:
        loop.call(endpoint.close())
    loop.close()


def client(endpoint: HostEndpoint, password: str = fleet.DEFAULT_PASSWORD, timeout: int = 20):
    """A real pywinrm Protocol aimed at the endpoint."""
    from winrm.protocol import Protocol

    return Protocol(
        "http://127.0.0.1:%d/wsman" % endpoint.port,
        transport="plaintext",
        username="ansible",
        password=password,
        operation_timeout_sec=timeout,
        read_timeout_sec=timeout + 10,
    )


def run(protocol: Any, command_line: str, stdin: bytes = b"") -> tuple[int, bytes, bytes]:
    """One command through pywinrm: Create, Command, [Send], Receive…, Signal, Delete."""
    shell_id = protocol.open_shell(codepage=65001)
    try:
        command, _sep, arguments = command_line.partition(" ")
        command_id = protocol.run_command(
            shell_id, command, [arguments] if arguments else [], console_mode_stdin=not stdin
        )
        try:
            if stdin:
                protocol.send_command_input(shell_id, command_id, stdin, end=True)
            stdout, stderr, rc = protocol.get_command_output(shell_id, command_id)
        finally:
            protocol.cleanup_command(shell_id, command_id)
    finally:
        protocol.close_shell(shell_id)
    return rc, stdout, stderr
