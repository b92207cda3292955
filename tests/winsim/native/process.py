"""Native processes on a simulated host: standard handles, the process table, the virtual clock.

A program is a Python generator function ``program(ctx, argv, command_line)``: it does its work
on the host model and ``yield``s the seconds it waits (``math.inf``: until it is killed); its
return value is the exit code. A parent runs a child with ``yield from ctx.spawn(...)``. Only
the root process's :meth:`NativeProcess.run_until` moves the host's clock (``host.advance``),
so every wait of a whole process tree happens on the simulated clock, in order, with the host's
timers (Sense starting, ...) running at their time in between.

Standard input, as ``CreateProcess`` hands it to the program (Microsoft Learn:
"ProcessStartInfo.RedirectStandardInput", "CreateProcess", "STARTUPINFO"):

* ``stdin_redirected=True``: an anonymous pipe; the bytes given, then end of file (the caller
  closed its end);
* not redirected, ``has_console=True``: a console nobody types into (``CreateNoWindow`` with
  no redirection gives the child a new, hidden console): a read waits for ever;
* not redirected, no console: the handle inherited from the parent, which under WinRM is not a
  console (UNCONFIRMED: it reads as end of file).
"""

from __future__ import annotations

import math
import ntpath
import weakref
from collections.abc import Callable, Generator, Iterator, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from ..host import on_boot
from .errors import NativeBlocked, NativeStartError, NativeUnsupported

#: Console output of Windows programs: the OEM code page of an en-US system.
OEM = "cp437"
#: MODEL: what creating a child process costs on the simulated clock.
PROCESS_START_S = 0.01

Program = Callable[["Ctx", list[str], str], Generator[float, None, int]]


# ----------------------------------------------------------------------------- environment
class Environ(MutableMapping[str, str]):
    """A process environment: names are case-insensitive and keep the case they were set with."""

    def __init__(self, items: dict[str, str] | None = None) -> None:
        self._data: dict[str, tuple[str, str]] = {}
        for k, v in (items or {}).items():
            self[k] = v

    def __getitem__(self, key: str) -> str:
        return self._data[key.upper()][1]

    def __setitem__(self, key: str, value: str) -> None:
        old = self._data.get(key.upper())
        self._data[key.upper()] = (old[0] if old else key, str(value))

    def __delitem__(self, key: str) -> None:
        del self._data[key.upper()]

    def __iter__(self) -> Iterator[str]:
        return (name for name, _value in self._data.values())

    def __len__(self) -> int:
        return len(self._data)

    def copy(self) -> Environ:
        return Environ(dict(self.items()))

    def snapshot(self) -> tuple[tuple[str, str], ...]:
        return tuple(sorted((k, v[1]) for k, v in self._data.items()))


def default_environment(host: Any, user: str | None = None) -> dict[str, str]:
    """The environment block of a process of ``user`` (default: the connection user) on a 64-bit host.

    ``PROCESSOR_ARCHITEW6432`` is absent: it exists only in 32-bit processes on 64-bit Windows.
    """
    user = user or str((host.state.get("credentials") or {}).get("username") or "ansible").rsplit("\\", 1)[-1]
    profile = "C:\\Users\\%s" % user
    temp = host.temp_dir()
    computer = str(host.state.get("hostname") or host.name).upper()
    return {
        "ALLUSERSPROFILE": "C:\\ProgramData",
        "APPDATA": profile + "\\AppData\\Roaming",
        "CommonProgramFiles": "C:\\Program Files\\Common Files",
        "COMPUTERNAME": computer,
        "ComSpec": "C:\\Windows\\system32\\cmd.exe",
        "LOCALAPPDATA": profile + "\\AppData\\Local",
        "NUMBER_OF_PROCESSORS": "2",
        "OS": "Windows_NT",
        "Path": "C:\\Windows\\system32;C:\\Windows;C:\\Windows\\System32\\Wbem;"
        "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\",
        "PATHEXT": ".COM;.EXE;.BAT;.CMD;.VBS;.VBE;.JS;.JSE;.WSF;.WSH;.MSC",
        "PROCESSOR_ARCHITECTURE": "AMD64",
        "ProgramData": "C:\\ProgramData",
        "ProgramFiles": "C:\\Program Files",
        "ProgramFiles(x86)": "C:\\Program Files (x86)",
        "ProgramW6432": "C:\\Program Files",
        "PUBLIC": "C:\\Users\\Public",
        "SystemDrive": "C:",
        "SystemRoot": "C:\\Windows",
        "TEMP": temp,
        "TMP": temp,
        "USERDOMAIN": computer,
        "USERNAME": user,
        "USERPROFILE": profile,
        "windir": "C:\\Windows",
    }


# ----------------------------------------------------------------------------- standard handles
class InStream:
    """A standard input handle. ``console``: reads wait for a key; ``redirected``: not a console."""

    def __init__(self, kind: str, data: bytes = b"") -> None:
        assert kind in ("console", "pipe", "file", "nul", "eof"), kind
        self.kind = kind
        self._data = data
        self._pos = 0

    @property
    def console(self) -> bool:
        return self.kind == "console"

    @property
    def redirected(self) -> bool:
        return self.kind != "console"

    @property
    def position(self) -> int:
        return self._pos

    def read_line(self) -> str | None:
        """One line without its line break; None at end of file. Never call on a console."""
        assert not self.console
        if self._pos >= len(self._data):
            return None
        end = self._data.find(b"\n", self._pos)
        if end < 0:
            end = len(self._data)
        raw = self._data[self._pos : end]
        self._pos = end + 1
        return raw.rstrip(b"\r").decode(OEM, errors="replace")

    def read_all(self) -> bytes:
        assert not self.console
        data = self._data[self._pos :]
        self._pos = len(self._data)
        return data

    def read_char(self) -> bool:
        """Consume one byte; False at end of file."""
        assert not self.console
        if self._pos >= len(self._data):
            return False
        self._pos += 1
        return True


class OutStream:
    """A standard output/error handle."""

    target = "?"

    def write(self, data: bytes) -> None:
        raise NotImplementedError


class Capture(OutStream):
    """A pipe read by the parent, or a console: the bytes are kept."""

    target = "pipe"

    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes) -> None:
        self.data += data


class Nul(OutStream):
    target = "NUL"

    def write(self, data: bytes) -> None:
        return None


class FileOut(OutStream):
    """A file of the host, opened for writing (``>``) or appending (``>>``)."""

    def __init__(self, host: Any, path: str, append: bool) -> None:
        self.host = host
        self.path = path
        self.target = path
        if not append or host.read_file(path) is None:
            host.write_file(path, b"")

    def write(self, data: bytes) -> None:
        if data:
            self.host.write_file(self.path, (self.host.read_file(self.path) or b"") + data)


# ----------------------------------------------------------------------------- programs
@dataclass
class ProgramSpec:
    image: str  # full path, as Windows names it
    run: Program
    installed: Callable[[Any], bool] = field(default=lambda host: True)


_PROGRAMS: dict[str, ProgramSpec] = {}
SYSTEM32 = "C:\\Windows\\System32"
#: Programs every Windows has in System32 that the model does not implement: running one is
#: NativeUnsupported, never "not recognized" (which would be a silent, wrong answer).
WINDOWS_PROGRAMS = frozenset(
    """arp attrib auditpol bcdedit bitsadmin certutil choice cipher clip cmdkey compact conhost cscript curl
    diskpart dism driverquery expand findstr forfiles fsutil getmac hostname icacls ipconfig klist logman logoff
    manage-bde mode more mountvol msg mshta net1 netsh netstat nltest nslookup openfiles pathping ping pnputil
    powercfg qprocess query regsvr32 replace robocopy route rundll32 runas schtasks secedit setx sfc shutdown
    sort systeminfo takeown tar taskkill tasklist tracert tree w32tm waitfor wevtutil where whoami wmic wscript
    xcopy""".split()
)


def program(image: str, installed: Callable[[Any], bool] | None = None) -> Callable[[Program], Program]:
    """Register a program at its full path (``C:\\Windows\\System32\\reg.exe``)."""

    def register(func: Program) -> Program:
        _PROGRAMS[image.lower()] = ProgramSpec(image, func, installed or (lambda host: True))
        return func

    return register


def program_at(host: Any, path: str) -> ProgramSpec | None:
    spec = _PROGRAMS.get(ntpath.normpath(path).lower())
    if spec is not None and spec.installed(host):
        return spec
    return None


def _extensions(env: MutableMapping[str, str]) -> list[str]:
    return [e.lower() for e in (env.get("PATHEXT") or ".COM;.EXE;.BAT;.CMD").split(";") if e]


def _candidates(path: str, env: MutableMapping[str, str]) -> list[str]:
    if ntpath.splitext(path)[1]:
        return [path]
    return [path + ext for ext in _extensions(env)]


def resolve(host: Any, name: str, env: MutableMapping[str, str], cwd: str) -> tuple[str, ProgramSpec | None] | None:
    """Find a program as cmd.exe / CreateProcess do: a path, or the current directory then PATH.

    Returns (full path, spec) for a modelled program, (full path, None) for a batch file of the
    host's file system, None when nothing is found. A file that exists but is no modelled
    program is NativeUnsupported.
    """
    if not name:
        return None
    if any(ch in name for ch in "\\/:"):
        base = name if ntpath.isabs(name) else ntpath.join(cwd, name)
        dirs = [ntpath.dirname(ntpath.normpath(base))]
        leaf = ntpath.basename(base)
    else:
        dirs = [cwd] + [d for d in (env.get("PATH") or "").split(";") if d]
        leaf = name
    for directory in dirs:
        for candidate in _candidates(ntpath.join(directory, leaf), env):
            full = ntpath.normpath(candidate)
            spec = program_at(host, full)
            if spec is not None:
                return spec.image, spec
            if host.read_file(full) is not None:
                if full.lower().endswith((".cmd", ".bat")):
                    return full, None
                raise NativeUnsupported("the program %s exists on the host but is not modelled" % full)
    stem, ext = ntpath.splitext(ntpath.basename(name).lower())
    in_system32 = not any(ch in name for ch in "\\/:") or ntpath.dirname(ntpath.normpath(name)).lower() in (
        SYSTEM32.lower(),
        "c:\\windows\\sysnative",
    )
    if in_system32 and ext in ("", ".exe") and stem in WINDOWS_PROGRAMS:
        raise NativeUnsupported("the Windows program %s is not modelled" % name)
    return None


# ----------------------------------------------------------------------------- the context of a program
@dataclass
class Ctx:
    host: Any
    process: NativeProcess
    env: Environ
    cwd: str
    stdin: InStream
    stdout: OutStream
    stderr: OutStream

    def out(self, text: str) -> None:
        self.stdout.write(text.encode(OEM, errors="replace"))

    def err(self, text: str) -> None:
        self.stderr.write(text.encode(OEM, errors="replace"))

    def now(self) -> float:
        return float(self.host.now())

    def spawn(
        self,
        command_line: str,
        resolved: tuple[str, ProgramSpec | None],
        stdin: InStream | None = None,
        stdout: OutStream | None = None,
        stderr: OutStream | None = None,
        env: Environ | None = None,
    ) -> Generator[float, None, int]:
        """Run a child process to its end (``yield from``); returns its exit code."""
        image, spec = resolved
        table = process_table(self.host)
        child = NativeProcess(self.host, image, command_line, parent=self.process, table=table)
        child_ctx = Ctx(
            self.host,
            child,
            env if env is not None else self.env.copy(),
            self.cwd,
            stdin or self.stdin,
            stdout or self.stdout,
            stderr or self.stderr,
        )
        child.begin(_program_generator(child_ctx, image, spec, command_line))
        yield PROCESS_START_S
        return (yield from child.run_nested())


def _program_generator(
    ctx: Ctx, image: str, spec: ProgramSpec | None, command_line: str
) -> Generator[float, None, int]:
    from . import argv as argv_mod

    if spec is None:  # a batch file: CreateProcess runs it with cmd.exe /c
        cmd = _PROGRAMS[(SYSTEM32 + "\\cmd.exe").lower()]
        line = 'C:\\Windows\\system32\\cmd.exe /c "%s"' % command_line
        return cmd.run(ctx, argv_mod.split(line), line)
    return spec.run(ctx, argv_mod.split(command_line), command_line)


# ----------------------------------------------------------------------------- processes
class ProcessTable:
    def __init__(self) -> None:
        self.next_pid = 2104
        self.live: dict[int, NativeProcess] = {}

    def new_pid(self) -> int:
        while self.next_pid in self.live:
            self.next_pid += 4
        pid = self.next_pid
        self.next_pid += 4
        if self.next_pid > 65000:
            self.next_pid = 2104
        return pid


_TABLES: weakref.WeakKeyDictionary[Any, ProcessTable] = weakref.WeakKeyDictionary()


def process_table(host: Any) -> ProcessTable:
    table = _TABLES.get(host)
    if table is None:
        table = _TABLES[host] = ProcessTable()
    return table


def processes(host: Any) -> list[NativeProcess]:
    """The running native processes of a host (for Win32_Process, Get-Process, Stop-Process)."""
    table = process_table(host)
    now = float(host.now())
    for proc in list(table.live.values()):
        proc.reap_orphan(now)
    return sorted(table.live.values(), key=lambda p: p.pid)


def find_process(host: Any, pid: int) -> NativeProcess | None:
    return next((p for p in processes(host) if p.pid == pid), None)


@on_boot
def _processes_end_at_boot(host: Any) -> None:
    table = _TABLES.pop(host, None)
    for proc in list(table.live.values()) if table else []:
        proc.terminate(-1)


def advance(host: Any, seconds: float) -> None:
    """Let ``seconds`` pass on the host's clock (due timers run at their time)."""
    if seconds <= 0:
        return
    hook = getattr(host, "advance", None)
    if hook is None:
        raise NativeUnsupported("the simulated host has no virtual clock (host.advance)")
    hook(seconds)


class NativeProcess:
    """A process started on a simulated host.

    ``run_until(deadline_s)`` runs it on the host's clock until it exits (True) or until the
    host time ``deadline_s`` (absolute, as ``host.now()``) is reached (False); ``None`` runs it
    to its end. Output is in ``stdout`` / ``stderr`` (bytes in the OEM code page).
    ``kill()`` is TerminateProcess as .NET's ``Process.Kill`` calls it: exit code -1; the
    process's own children keep running (Windows has no tree kill).
    """

    def __init__(self, host: Any, image: str, command_line: str, parent: NativeProcess | None, table: ProcessTable):
        self.host = host
        self.image = image
        self.name = ntpath.basename(image)
        self.command_line = command_line
        self.parent = parent
        self.parent_pid: int | None = parent.pid if parent else None
        self.table = table
        self.pid: int = table.new_pid()
        self.started_at = float(host.now())
        self.exit_code: int | None = None
        self.exited_at: float | None = None
        self.killed = False
        self.out_capture = Capture()
        self.err_capture = Capture()
        self._gen: Generator[float, None, int] | None = None
        self._wake_at: float | None = None
        self._interrupted = False
        self._orphan_until: float | None = None
        self._running_child: NativeProcess | None = None
        table.live[self.pid] = self

    # -- output
    @property
    def stdout(self) -> bytes:
        return bytes(self.out_capture.data)

    @property
    def stderr(self) -> bytes:
        return bytes(self.err_capture.data)

    @property
    def has_exited(self) -> bool:
        return self.exit_code is not None

    def __repr__(self) -> str:
        return "<NativeProcess %d %s exit=%r>" % (self.pid, self.name, self.exit_code)

    # -- lifecycle
    def begin(self, gen: Generator[float, None, int]) -> None:
        self._gen = gen

    def _root(self) -> NativeProcess:
        proc = self
        while proc.parent is not None and proc.parent._running_child is proc:
            proc = proc.parent
        return proc

    def terminate(self, code: int) -> None:
        if self.exit_code is not None:
            return
        self.exit_code = code
        self.exited_at = float(self.host.now())
        self.table.live.pop(self.pid, None)

    def kill(self) -> None:
        if self.exit_code is not None:
            return
        self.killed = True
        root = self._root()
        self.terminate(-1)
        gen, self._gen = self._gen, None
        if root is not self:
            root._interrupted = True  # the parent's wait on this child ends now
        if gen is not None:
            gen.close()  # its own children still running become orphans (run_nested)

    def _abort(self) -> None:
        """The model failed inside this process tree (NativeUnsupported...): nothing of it keeps running."""
        for proc in list(self.table.live.values()):
            chain: NativeProcess | None = proc
            while chain is not None and chain is not self:
                chain = chain.parent
            if chain is self:
                proc.terminate(-1)

    def reap_orphan(self, now: float) -> None:
        if self._orphan_until is not None and self._orphan_until <= now:
            self.terminate(0)

    def run_nested(self) -> Generator[float, None, int]:
        """Drive this child inside its parent's generator; returns the exit code."""
        assert self.parent is not None and self._gen is not None
        self.parent._running_child = self
        try:
            while self.exit_code is None:
                if self._gen is None:
                    break
                try:
                    wait = next(self._gen)
                except StopIteration as stop:
                    self.terminate(int(stop.value or 0))
                    break
                self._wake_at = float(self.host.now()) + wait
                yield wait
            return int(self.exit_code if self.exit_code is not None else 0)
        except GeneratorExit:
            # The parent was killed while this child ran: Windows leaves the child running. It
            # goes on with what it was waiting for, then ends (MODEL: with exit code 0).
            if self.exit_code is None:
                self._orphan_until = self._wake_at if self._wake_at is not None else float(self.host.now())
                if self._gen is not None:
                    self._gen.close()
            raise
        finally:
            self.parent._running_child = None

    def run_until(self, deadline_s: float | None) -> bool:
        if self.parent is not None:
            raise NativeUnsupported("run_until() on a child process; run its root process %s" % self._root().pid)
        while self.exit_code is None:
            if self._wake_at is not None:
                if self._interrupted:
                    self._interrupted = False
                else:
                    now = float(self.host.now())
                    if self._wake_at > now:
                        if deadline_s is None and math.isinf(self._wake_at):
                            raise NativeBlocked(
                                "%s (pid %d) waits for ever (console input or no end); give run_until a deadline"
                                % (self.command_line, self.pid)
                            )
                        target = self._wake_at if deadline_s is None else min(self._wake_at, deadline_s)
                        if target > now:
                            advance(self.host, target - now)
                        if self._interrupted:
                            continue
                        if self._wake_at > float(self.host.now()) + 1e-9:
                            return False
                self._wake_at = None
            assert self._gen is not None
            try:
                wait = next(self._gen)
            except StopIteration as stop:
                self.terminate(int(stop.value or 0))
                break
            except BaseException:
                self._abort()
                raise
            self._wake_at = float(self.host.now()) + max(0.0, wait)
            if wait <= 0:
                self._wake_at = None
        return True


def start_process(
    host: Any,
    command_line: str,
    *,
    stdin: bytes | None,
    stdin_redirected: bool,
    has_console: bool,
    cwd: str,
    env: dict[str, str],
    parent_pid: int | None = None,
) -> NativeProcess:
    """CreateProcess on the simulated host; the process runs until its first wait.

    ``stdin``: the bytes on a redirected standard input, then end of file. ``has_console``: the
    process has a console (no redirection and ``CreateNoWindow``, or ``Start-Process`` without
    ``-NoNewWindow``): ``timeout`` and ``pause`` wait on it. ``parent_pid``: the caller's process.
    Raises NativeStartError (Win32 error 2) when the program does not exist, NativeUnsupported for
    what is not modelled.
    """
    from . import argv as argv_mod
    from . import conditions

    conditions.prepare(host)
    environ = Environ(env)
    words = argv_mod.split(command_line)
    if not words:
        raise NativeStartError(2, "The system cannot find the file specified", command_line)
    found = resolve(host, words[0], environ, cwd)
    if found is None:
        raise NativeStartError(2, "The system cannot find the file specified", command_line)
    image, spec = found
    if stdin_redirected:
        in_stream = InStream("pipe", stdin or b"")
    elif has_console:
        in_stream = InStream("console")
    else:
        in_stream = InStream("eof")
    table = process_table(host)
    proc = NativeProcess(host, image, command_line, parent=None, table=table)
    proc.parent_pid = parent_pid
    ctx = Ctx(host, proc, environ, cwd, in_stream, proc.out_capture, proc.err_capture)
    proc.begin(_program_generator(ctx, image, spec, command_line))
    proc.run_until(float(host.now()))
    return proc
