"""Helpers of the native-layer tests: a host inside a command (the clock moves only when something waits)."""

from __future__ import annotations

from typing import Any

from tests.winsim import fleet, native
from tests.winsim.host import SimHost
from tests.winsim.native.process import NativeProcess

CMD = r"C:\Windows\system32\cmd.exe"
CLIENT = {"os": "windows11_23h2", "third_party_av": [{"name": "CrowdStrike Falcon"}]}
SERVER = {"os": "server2022", "third_party_av": [{"name": "CrowdStrike Falcon"}]}
ORG = "0a1b2c3d-1111-2222-3333-444455556666"
OTHER_ORG = "99d1c52c-a198-4a16-8826-0a81f6f4ea5a"
SCRIPT_DIR = r"C:\Windows\Temp\mde"


def make_host(**settings: Any) -> SimHost:
    """A client (by default) whose clock is frozen except for what runs on it."""
    host = SimHost("h", fleet.new_state("h", {**CLIENT, **settings}), None)
    host.begin_command()
    return host


def start(
    host: SimHost,
    command_line: str,
    *,
    stdin: bytes | None = b"",
    redirected: bool = True,
    console: bool = False,
    cwd: str = r"C:\Windows\system32",
) -> NativeProcess:
    return native.start(
        host,
        command_line,
        stdin=stdin,
        stdin_redirected=redirected,
        has_console=console,
        cwd=cwd,
        env=native.default_environment(host),
    )


def run(host: SimHost, command_line: str, timeout: float | None = None, **kw: Any) -> NativeProcess:
    proc = start(host, command_line, **kw)
    proc.run_until(None if timeout is None else host.now() + timeout)
    return proc


def cmd(host: SimHost, line: str, **kw: Any) -> NativeProcess:
    """``cmd.exe /d /c <line>`` to its end."""
    return run(host, "%s /d /c %s" % (CMD, line), **kw)


def batch(host: SimHost, text: str, name: str = "test.cmd", args: str = "", **kw: Any) -> NativeProcess:
    """Write a batch file and run it the way Invoke-MdeOnboardingScript does (cmd.exe /d /c "<path>")."""
    path = SCRIPT_DIR + "\\" + name
    host.write_file(path, text.replace("\r\n", "\n").replace("\n", "\r\n").encode("ascii"))
    return cmd(host, '""%s"%s"' % (path, (" " + args) if args else ""), **kw)


def out(proc: NativeProcess) -> str:
    return proc.stdout.decode("cp437")


def err(proc: NativeProcess) -> str:
    return proc.stderr.decode("cp437")


def events(host: SimHost, source: str | None = None) -> list[tuple[str, int]]:
    return [(e["source"], e["id"]) for e in host.events(source=source)]
