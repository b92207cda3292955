"""Native programs from PowerShell: ``& prog args``, ``System.Diagnostics.Process``, Start-Process,
Stop-Process. The programs themselves are the native layer's (``tests/winsim/native``).

Windows PowerShell 5.1 semantics modelled (about_Redirection, about_Preference_Variables,
about_Automatic_Variables ``$LASTEXITCODE``):

* stdout lines (OEM code page) become string output; pipeline input is written to the program's
  standard input, one line per object, then closed; without input the program inherits a
  standard input that is not a console (under WinRM);
* with ``2>&1`` (or ``2>$null``) each stderr line becomes an ErrorRecord (RemoteException; the
  first ``NativeCommandError``, the others ``NativeCommandErrorMessage``) that goes through the
  error pipeline: under ``$ErrorActionPreference = 'Stop'`` the first one is a terminating error.
  The order of stdout and stderr lines is not modelled (stdout first). stderr without a
  redirection is PSUnsupported (where it goes depends on the host);
* ``$LASTEXITCODE`` is the exit code, ``$?`` is true when it is 0.

``Process.Start(psi)``: the command line is ``"FileName" Arguments``; standard input is a pipe
when ``RedirectStandardInput``; with no redirection and ``CreateNoWindow`` (or ShellExecute)
the program gets a new, hidden console. ``Start-Process`` uses ShellExecute (a new console).
``WaitForExit(ms)`` runs the program on the host's simulated clock.
"""

from __future__ import annotations

from typing import Any, ClassVar

from . import convert as C
from . import win_files
from .commands import CmdletCall, ParamSpec, array_of, cmdlet, type_of
from .errors import ErrorRecord, NetException, PSUnsupported, error
from .runtime import Frame
from .types import PSType, register
from .values import AUTOMATION_NULL, NetObject, is_null

OEM = "cp437"


def _native() -> Any:
    from .. import native

    return native


def shell_pid(rs: Any) -> int:
    """The process id of the PowerShell that runs the module (parent of what it starts)."""
    return int(rs.extras.setdefault("pid", 4242))


def _cwd(f: Frame) -> str:
    return f.rs.env.get("USERPROFILE") or "C:\\Users\\ansible"


def find_program(f: Frame, name: str) -> str | None:
    """The full path of a native program PowerShell would run for ``name`` (PATH and PATHEXT)."""
    native = _native()
    from ..native.process import Environ, resolve

    try:
        found = resolve(f.rs.host, name, Environ(f.rs.env), "C:\\__no_current_directory__")
    except native.NativeUnsupported as exc:
        raise PSUnsupported("", 0, "native program: %s" % exc.what) from None
    return None if found is None else found[0]


def _quote(arg: str) -> str:
    """Windows PowerShell 5.1's quoting of a native argument: spaces → double quotes, nothing escaped."""
    if arg == "":
        return '""'
    if any(ch in arg for ch in " \t") and not (arg.startswith('"') and arg.endswith('"')):
        return '"%s"' % arg
    return arg


def _native_args(items: list) -> list[str]:
    out: list[str] = []
    for item in items:
        if item[0] == "pos":
            values = item[1] if isinstance(item[1], list) else [item[1]]
            out.extend(C.to_string(v) for v in values)
            continue
        _kind, written, value, has_value, colon = item
        if not has_value:
            out.append("-" + written)
        elif colon:
            out.append("-%s:%s" % (written, C.to_string(value)))
        else:
            out.append("-" + written)
            out.extend(C.to_string(v) for v in (value if isinstance(value, list) else [value]))
    return out


def start(f: Frame, command_line: str, stdin: bytes | None, redirected: bool, console: bool) -> Any:
    native = _native()
    try:
        return native.start(
            f.rs.host,
            command_line,
            stdin=stdin,
            stdin_redirected=redirected,
            has_console=console,
            cwd=_cwd(f),
            env=dict(f.rs.env),
            parent_pid=shell_pid(f.rs),
        )
    except native.NativeUnsupported as exc:
        raise PSUnsupported("", 0, "native program: %s" % exc) from None
    except native.NativeStartError as exc:
        raise error(
            "This command cannot be run due to the error: %s." % exc.message,
            "InvalidOperationException,Microsoft.PowerShell.Commands.StartProcessCommand",
            exc_type="System.InvalidOperationException",
            category="InvalidOperation",
        ) from None


def _run(proc: Any, deadline: float | None) -> bool:
    native = _native()
    try:
        return bool(proc.run_until(deadline))
    except native.NativeUnsupported as exc:
        raise PSUnsupported("", 0, "native program: %s" % exc) from None
    except native.NativeBlocked as exc:
        raise PSUnsupported("", 0, "a native program that never ends (Windows would hang here): %s" % exc) from None


def lines(data: bytes) -> list[str]:
    text = data.decode(OEM, errors="replace").replace("\r\n", "\n")
    parts = text.split("\n")
    if parts and parts[-1] == "":
        parts.pop()
    return parts


class NativeErrorRecord(ErrorRecord):
    """A stderr line of a native program as PowerShell 5.1 wraps it."""

    def __init__(self, program: str, line: str, first: bool) -> None:
        super().__init__(
            NetException("System.Management.Automation.RemoteException", line),
            "NativeCommandError" if first else "NativeCommandErrorMessage",
            "NotSpecified",
            target=line,
        )
        self.target_name = program


def run_native(f: Frame, name: str, items: list, input_objects: list | None, merge: bool, discard_err: bool) -> list:
    """``& name args`` for a native program."""
    image = find_program(f, name)
    if image is None:
        raise error(
            "The term '%s' is not recognized as the name of a cmdlet, function, script file, or operable program. "
            "Check the spelling of the name, or if a path was included, verify that the path is correct and try "
            "again." % name,
            "CommandNotFoundException",
            exc_type="System.Management.Automation.CommandNotFoundException",
            category="ObjectNotFound",
            target=name,
        )
    command_line = " ".join([_quote(image)] + [_quote(a) for a in _native_args(items)])
    stdin = None
    if input_objects is not None:
        stdin = "".join(C.to_string(o) + "\r\n" for o in input_objects).encode(OEM, errors="replace")
    proc = start(f, command_line, stdin, input_objects is not None, console=False)
    _run(proc, None)
    f.rs.global_scope.vars["lastexitcode"] = proc.exit_code
    out: list = list(lines(proc.stdout))
    errors = lines(proc.stderr)
    if errors and not (merge or discard_err):
        raise PSUnsupported("", 0, "stderr of %s without a redirection (where it goes depends on the host)" % name)
    sink: list = []
    for index, line in enumerate(errors):
        record = NativeErrorRecord(name, line, index == 0)
        f.write_error(record, None, out if merge else sink)
    f.rs.last_ok = proc.exit_code == 0
    return out


# ---------------------------------------------------------------------------- .NET objects
class ProcessStartInfo(NetObject):
    TYPE_NAMES = ("System.Diagnostics.ProcessStartInfo", "System.Object")
    _FIELDS: ClassVar[dict[str, Any]] = {
        "filename": "", "arguments": "", "useshellexecute": True, "createnowindow": False,
        "redirectstandardinput": False, "redirectstandardoutput": False, "redirectstandarderror": False,
        "workingdirectory": "", "windowstyle": "Normal",
    }  # fmt: skip

    def __init__(self, *args: Any) -> None:
        self.values = dict(self._FIELDS)
        if args:
            self.values["filename"] = C.to_string(args[0])
        if len(args) > 1:
            self.values["arguments"] = C.to_string(args[1])

    def __getattr__(self, name: str) -> Any:
        if name.startswith("p_") and name[2:] in self._FIELDS:
            return lambda: self.values[name[2:]]
        if name.startswith("set_") and name[4:] in self._FIELDS:
            field = name[4:]

            def setter(value: Any) -> None:
                default = self._FIELDS[field]
                self.values[field] = C.to_bool(value) if isinstance(default, bool) else C.to_string(value)

            return setter
        raise AttributeError(name)


class Task(NetObject):
    """``Task<string>`` of ``ReadToEndAsync``: complete once the process has exited."""

    TYPE_NAMES = ("System.Threading.Tasks.Task`1[System.String]", "System.Object")

    def __init__(self, process: Process, stream: str) -> None:
        self.process = process
        self.stream = stream

    def m_wait(self, ctx: Any, ms: Any = None) -> bool:
        if not self.process.proc.has_exited and not is_null(ms):
            self.process.wait(C.to_integer(ms) / 1000)
        return bool(self.process.proc.has_exited)

    def p_result(self) -> str:
        if not self.process.proc.has_exited:
            self.process.wait(None)
        data = self.process.proc.stdout if self.stream == "out" else self.process.proc.stderr
        return data.decode(OEM, errors="replace")


class StreamReader(NetObject):
    TYPE_NAMES = ("System.IO.StreamReader", "System.IO.TextReader", "System.Object")

    def __init__(self, process: Process, stream: str) -> None:
        self.process = process
        self.stream = stream

    def m_readtoendasync(self, ctx: Any) -> Task:
        return Task(self.process, self.stream)

    def m_readtoend(self, ctx: Any) -> str:
        return Task(self.process, self.stream).p_result()


class StreamWriter(NetObject):
    TYPE_NAMES = ("System.IO.StreamWriter", "System.IO.TextWriter", "System.Object")

    def m_close(self, ctx: Any) -> Any:
        return AUTOMATION_NULL

    def m_dispose(self, ctx: Any) -> Any:
        return AUTOMATION_NULL


class Process(NetObject):
    TYPE_NAMES = ("System.Diagnostics.Process", "System.ComponentModel.Component", "System.Object")

    def __init__(self, proc: Any, redirect: dict[str, bool]) -> None:
        self.proc = proc
        self.redirect = redirect

    def wait(self, seconds: float | None) -> bool:
        host = self.proc.host
        deadline = None if seconds is None else host.now() + max(0.0, seconds)
        if self.proc.parent is not None:
            raise PSUnsupported("", 0, "waiting for a process started by another process")
        return _run(self.proc, deadline)

    def p_id(self) -> int:
        return int(self.proc.pid)

    def p_hasexited(self) -> bool:
        return bool(self.proc.has_exited)

    def p_exitcode(self) -> int:
        if not self.proc.has_exited:
            raise error(
                "Process must exit before requested information can be determined.",
                "InvalidOperationException",
                exc_type="System.InvalidOperationException",
            )
        return int(self.proc.exit_code)

    def p_processname(self) -> str:
        return self.proc.name.rsplit(".", 1)[0]

    def p_standardinput(self) -> StreamWriter:
        self._require("input")
        return StreamWriter()

    def p_standardoutput(self) -> StreamReader:
        self._require("output")
        return StreamReader(self, "out")

    def p_standarderror(self) -> StreamReader:
        self._require("error")
        return StreamReader(self, "err")

    def _require(self, stream: str) -> None:
        if not self.redirect.get(stream):
            raise error(
                "Standard%s has not been redirected." % stream.capitalize(),
                "InvalidOperationException",
                exc_type="System.InvalidOperationException",
            )

    def m_waitforexit(self, ctx: Any, ms: Any = None) -> Any:
        if is_null(ms):
            self.wait(None)
            return AUTOMATION_NULL
        return self.wait(C.to_integer(ms) / 1000)

    def m_kill(self, ctx: Any) -> Any:
        self.proc.kill()
        return AUTOMATION_NULL

    def m_dispose(self, ctx: Any) -> Any:
        return AUTOMATION_NULL

    def m_close(self, ctx: Any) -> Any:
        return AUTOMATION_NULL


def _process_start(ctx: Any, psi: Any, *rest: Any) -> Process:
    if rest or not isinstance(psi, ProcessStartInfo):
        raise PSUnsupported("", 0, "Process.Start other than Process.Start(ProcessStartInfo)")
    v = psi.values
    if not v["filename"]:
        raise error(
            "Cannot start process because a file name has not been provided.",
            "InvalidOperationException",
            exc_type="System.InvalidOperationException",
        )
    redirect = {
        "input": v["redirectstandardinput"],
        "output": v["redirectstandardoutput"],
        "error": v["redirectstandarderror"],
    }
    if v["useshellexecute"] and any(redirect.values()):
        raise error(
            "The Process object must have the UseShellExecute property set to false in order to redirect IO streams.",
            "InvalidOperationException",
            exc_type="System.InvalidOperationException",
        )
    if v["workingdirectory"] and not win_files.is_dir(ctx.rs.host, win_files.full_path(v["workingdirectory"])):
        raise error("The directory name is invalid", "Win32Exception", exc_type="System.ComponentModel.Win32Exception")
    image = find_program(ctx, v["filename"])
    if image is None:
        raise error(
            "The system cannot find the file specified",
            "Win32Exception",
            exc_type="System.ComponentModel.Win32Exception",
        )
    command_line = _quote(v["filename"]) + (" " + v["arguments"] if v["arguments"] else "")
    console = v["useshellexecute"] or (v["createnowindow"] and not any(redirect.values()))
    proc = start(ctx, command_line, b"" if redirect["input"] else None, redirect["input"], console)
    return Process(proc, redirect)


register(PSType("System.Diagnostics.ProcessStartInfo", new=lambda ctx, *args: ProcessStartInfo(*args)))
register(PSType("System.Diagnostics.Process", static_methods={"Start": _process_start}))


@cmdlet(
    "Start-Process",
    [
        ParamSpec("FilePath", type_of("string"), mandatory=True, position=0, aliases=("PSPath",)),
        ParamSpec("ArgumentList", array_of("string"), position=1, aliases=("Args",)),
        ParamSpec("WindowStyle", type_of("string"), validate_set=["Normal", "Hidden", "Minimized", "Maximized"]),
        ParamSpec("PassThru", switch=True),
        ParamSpec("Wait", switch=True),
        ParamSpec("NoNewWindow", switch=True),
        ParamSpec("WorkingDirectory", type_of("string")),
    ],
)
def start_process(call: CmdletCall) -> None:
    if call.p["nonewwindow"] or call.p["workingdirectory"]:
        raise PSUnsupported("", 0, "Start-Process -NoNewWindow/-WorkingDirectory")
    image = find_program(call.f, call.p["filepath"])
    if image is None:
        call.error(
            call.record(
                "This command cannot be run due to the error: The system cannot find the file specified.",
                "InvalidOperationException",
                "InvalidOperation",
                exc_type="System.InvalidOperationException",
            )
        )
        return
    arguments = " ".join(call.p["argumentlist"] or [])
    command_line = _quote(call.p["filepath"]) + (" " + arguments if arguments else "")
    proc = start(call.f, command_line, None, False, console=True)
    process = Process(proc, {})
    if call.p["wait"]:
        process.wait(None)
    if call.p["passthru"]:
        call.write(process)


@cmdlet(
    "Stop-Process",
    [
        ParamSpec("Id", array_of("int"), mandatory=True, position=0),
        ParamSpec("Force", switch=True),
        ParamSpec("PassThru", switch=True),
    ],
    should_process=True,
)
def stop_process(call: CmdletCall) -> None:
    native = _native()
    for pid in call.p["id"]:
        proc = native.find_process(call.host, pid)
        if proc is None:
            call.error(
                call.record(
                    "Cannot find a process with the process identifier %d." % pid,
                    "NoProcessFoundForGivenId",
                    "ObjectNotFound",
                    exc_type="System.InvalidOperationException",
                    target=pid,
                )
            )
            continue
        proc.kill()
