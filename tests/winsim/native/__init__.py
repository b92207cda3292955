"""The native side of a simulated Windows host: processes, cmd.exe and the programs it runs.

Entry point (for the PowerShell model's ``Process.Start`` / ``Start-Process`` / ``& prog`` and
for the ansible.windows twins)::

    proc = start(host, command_line, stdin=b"", stdin_redirected=True, has_console=False,
                 cwd="C:\\\\Windows\\\\system32", env=default_environment(host))
    proc.run_until(host.now() + timeout)   # True when it exited; moves the host's clock
    proc.exit_code, proc.stdout, proc.stderr
    proc.kill()

``processes(host)`` lists the running processes (pid, parent_pid, name, command_line) for
Win32_Process / Get-Process / Stop-Process; ``find_process(host, pid)`` finds one.
``services.policy_changed(host)`` must be called by any writer of the ATP policy key (Sense
watches it); ``conditions.elevated`` / ``conditions.registry_denied`` tell the registry
provider what the connection user may change.

Modelled programs: cmd.exe (``cmd.py``; its interpreter ``shell.py``, ``builtin.py``,
``batch.py``), reg.exe (``reg.py``), sc.exe and net.exe (``svc.py``), find.exe, timeout.exe,
eventcreate.exe (``tools.py``), powershell.exe and MpCmdRun.exe (``powershell.py``), msiexec.exe
(``msiexec.py``), gpupdate.exe and gpresult.exe (``grouppolicy.py``). Anything else is
NativeUnsupported (a loud failure).
"""

from __future__ import annotations

# Importing the program modules registers the programs.
from . import cmd, conditions, grouppolicy, msiexec, powershell, reg, services, svc, tools  # noqa: F401
from .errors import NativeBlocked, NativeStartError, NativeUnsupported
from .process import NativeProcess, default_environment, find_process, processes, start_process

#: ``start(host, command_line, *, stdin, stdin_redirected, has_console, cwd, env, parent_pid=None)``
start = start_process


__all__ = [
    "NativeBlocked",
    "NativeProcess",
    "NativeStartError",
    "NativeUnsupported",
    "conditions",
    "default_environment",
    "find_process",
    "processes",
    "services",
    "start",
]
