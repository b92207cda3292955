"""Raw (non-module) PowerShell scripts a simulated host understands.

Ansible sends these outside the exec wrapper: ``-m raw`` commands, the temp-dir removal,
the ``ansible.windows.win_reboot`` commands (ecosystem-notes §12), and the script body of
``ansible.builtin.script`` runs. There is no PowerShell here: each script is matched
against a small table of recognised shapes (case-insensitively) and answered from the
host model. Anything else fails with rc 1 and ``winsim: unsupported raw command: …`` —
never a silent success.
"""

from __future__ import annotations

import json
import ntpath
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from . import host as host_mod
from .host import SimHost

#: LogonUI creates this (volatile) key when the logon screen is ready; win_reboot removes
#: it before rebooting and waits for it to come back.
LOGON_UI_KEY = r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon\AutoLogonChecked"

_STRICT_MODE = re.compile(r"^\s*Set-StrictMode\s+-Version\s+Latest\s*;?\s*$", re.I | re.M)
_PRESERVE_RC = re.compile(
    r";?\s*If\s*\(-not\s+\$\?\)\s*\{\s*If\s*\(Get-Variable\s+LASTEXITCODE\s+-ErrorAction\s+SilentlyContinue\)\s*"
    r"\{\s*exit\s+\$LASTEXITCODE\s*\}\s*Else\s*\{\s*exit\s+1\s*\}\s*\}\s*$",
    re.I,
)
_CONSOLE_ENCODING = re.compile(
    r"^\s*try\s*\{\s*\[Console\]::OutputEncoding\s*=\s*New-Object\s+System\.Text\.UTF8Encoding\s*\}\s*catch\s*\{\s*\}"
    r"\s*;?",
    re.I,
)
_QUOTED = r"'(?:[^']|'')*'"
#: A literal PowerShell argument: single-quoted, double-quoted without expansion, or a plain bareword.
_ARG = r"(?:'(?:[^']|'')*'|\"[^\"$`]*\"|[^\s;'\"$`(){}@|&<>,]+)"


@dataclass
class RawResult:
    rc: int
    stdout: str = ""
    stderr: str = ""
    kind: str = "unsupported"


class PowerControl(Protocol):
    """What the server tells raw commands about a pending ``shutdown.exe /r``."""

    def reboot_pending(self) -> bool: ...

    def abort_reboot(self) -> bool: ...


class NoPower:
    """A PowerControl for callers without a server (nothing is ever pending)."""

    def reboot_pending(self) -> bool:
        return False

    def abort_reboot(self) -> bool:
        return False


def unquote(token: str) -> str:
    """PowerShell literal: ``'it''s'`` → ``it's``; ``"x"`` → ``x``; barewords unchanged."""
    if len(token) >= 2 and token[0] == token[-1] == "'":
        return token[1:-1].replace("''", "'")
    if len(token) >= 2 and token[0] == token[-1] == '"':
        return token[1:-1]
    return token


def normalise(script: str) -> str:
    """Drop what Ansible wraps around a raw script: strict mode, console encoding, rc trailer."""
    text = script.replace("\r\n", "\n")
    text = _STRICT_MODE.sub("", text)
    text = _CONSOLE_ENCODING.sub("", text.strip())
    text = _PRESERVE_RC.sub("", text.strip())
    return text.strip().rstrip(";").strip()


def split_outside(text: str, separators: str) -> list[str]:
    """Split on any of ``separators`` outside quotes, braces and parentheses (parts stripped, empty kept)."""
    out, buf, depth, quote = [], [], 0, ""
    for ch in text:
        if quote:
            buf.append(ch)
            if ch == quote:
                quote = ""
            continue
        if ch in "'\"":
            quote = ch
        elif ch in "({":
            depth += 1
        elif ch in ")}":
            depth -= 1
        elif ch in separators and depth <= 0:
            out.append("".join(buf).strip())
            buf = []
            continue
        buf.append(ch)
    out.append("".join(buf).strip())
    return out


def split_statements(script: str) -> list[str]:
    """Split on newlines and ``;`` outside quotes, braces and parentheses."""
    return [s for s in split_outside(script, ";\n") if s]


# ---------------------------------------------------------------------------- whole scripts
def _boot_time(host: SimHost, script: str, power: PowerControl) -> RawResult | None:
    if (
        re.search(r"LastBootUpTime\s*\)?\s*\.\s*ToFileTime\(\)", script, re.I)
        and "win32_operatingsystem" in script.lower()
    ):
        return RawResult(0, "%d\r\n" % host.last_boot_filetime, kind="boot_time")
    return None


def _reboot(host: SimHost, script: str, power: PowerControl) -> RawResult | None:
    match = re.search(r"shutdown(?:\.exe)?\s+/r\s+/t\s+(\d+)", script, re.I)
    if not match:
        return None
    removal = re.search(r"if\s*\(\$(True|False)\)\s*\{\s*Remove-Item\s+-LiteralPath\s+(%s)" % _QUOTED, script, re.I)
    if removal and removal.group(1).lower() == "true":
        host.reg_delete_key(_registry_path(unquote(removal.group(2))))
    if power.reboot_pending():
        rc, out, err = 1190, "", "A system shutdown has already been scheduled.(1190)"
    else:
        host.request_reboot(float(match.group(1)))
        rc, out, err = 0, "", ""
    if "convertto-json" in script.lower():
        return RawResult(
            0, json.dumps({"stdout": out, "stderr": err, "rc": rc}, separators=(",", ":")) + "\r\n", kind="reboot"
        )
    return RawResult(rc, out, err, kind="reboot")


def _reboot_abort(host: SimHost, script: str, power: PowerControl) -> RawResult | None:
    if not re.fullmatch(r"(?:&\s*)?(?:C:\\Windows\\System32\\)?shutdown(?:\.exe)?\s+/a", script.strip(), re.I):
        return None
    if power.abort_reboot():
        return RawResult(0, kind="reboot_abort")
    return RawResult(
        1116,
        "",
        "Unable to abort the system shutdown because no shutdown was in progress.(1116)\r\n",
        kind="reboot_abort",
    )


def _get_item_check(host: SimHost, script: str, power: PowerControl) -> RawResult | None:
    match = re.fullmatch(
        r"Get-Item\s+-LiteralPath\s+(%s)\s+-ErrorAction\s+Stop\s*;\s*(%s)" % (_QUOTED, _QUOTED), script.strip(), re.I
    )
    if not match:
        return None
    path = unquote(match.group(1))
    kind = "logon_check" if path.lower().endswith("autologonchecked") else "get_item"
    if path.upper().startswith("HKLM:"):
        exists = host.reg_key_exists(_registry_path(path))
    else:
        exists = host.path_exists(path)
    if not exists:
        return RawResult(1, "", "Get-Item : Cannot find path '%s' because it does not exist.\r\n" % path, kind=kind)
    name = ntpath.basename(path)
    return RawResult(
        0,
        "\r\n    Hive: %s\r\n\r\nName\r\n----\r\n%s\r\n%s\r\n" % (ntpath.dirname(path), name, unquote(match.group(2))),
        kind=kind,
    )


def _legacy_mkdtemp(host: SimHost, script: str, power: PowerControl) -> RawResult | None:
    base = re.search(r"ExpandEnvironmentVariables\((%s)\)" % _QUOTED, script, re.I)
    name = re.search(r"New-Item\s+-Type\s+Directory\s+-Path\s+\$tmp_path\s+-Name\s+(%s)" % _QUOTED, script, re.I)
    if not (base and name):
        return None
    return RawResult(0, host.mkdtemp(unquote(base.group(1)), unquote(name.group(1))) + "\r\n", kind="mkdtemp")


_WHOLE: list[Callable[[SimHost, str, PowerControl], RawResult | None]] = [
    _boot_time,
    _reboot,
    _reboot_abort,
    _get_item_check,
    _legacy_mkdtemp,
]


# ---------------------------------------------------------------------------- statements
@dataclass
class _Statement:
    kind: str
    pattern: re.Pattern[str]
    run: Callable[[SimHost, re.Match[str]], RawResult]


def _user(host: SimHost) -> str:
    return str((host.state.get("credentials") or {}).get("username", "ansible"))


def _remove(host: SimHost, m: re.Match[str]) -> RawResult:
    path = unquote(m.group(1))
    if host.remove_path(path):
        return RawResult(0, kind="remove")
    return RawResult(1, "", "Remove-Item : Cannot find path '%s' because it does not exist.\r\n" % path, kind="remove")


def _echo(host: SimHost, m: re.Match[str]) -> RawResult:
    args = re.findall(_ARG, m.group(1) or "")
    return RawResult(0, "".join(unquote(a) + "\r\n" for a in args), kind="echo")


def _exit(host: SimHost, m: re.Match[str]) -> RawResult:
    return RawResult(int(m.group(1)), kind="exit")


def _test_path(host: SimHost, m: re.Match[str]) -> RawResult:
    exists = host.path_exists(unquote(m.group(2)))
    if m.group(1):  # "exit -not (Test-Path …)": Ansible's exists() helper
        return RawResult(0 if exists else 1, kind="exists")
    return RawResult(0, "True\r\n" if exists else "False\r\n", kind="test_path")


def _home(host: SimHost, m: re.Match[str]) -> RawResult:
    suffix = unquote(m.group(1)) if m.group(1) else ""
    return RawResult(0, "C:\\Users\\%s%s\r\n" % (_user(host), suffix), kind="expand_user")


_STATEMENTS = [
    _Statement(
        "remove",
        re.compile(r"Remove-Item\s+(?:-LiteralPath\s+|-Path\s+)?(%s|[^\s']+)\s+-Force(?:\s+-Recurse)?" % _QUOTED, re.I),
        _remove,
    ),
    _Statement(
        "hostname",
        re.compile(r"hostname(?:\.exe)?|\$env:COMPUTERNAME", re.I),
        lambda h, m: RawResult(0, "%s\r\n" % h.state.get("hostname", h.name), kind="hostname"),
    ),
    _Statement(
        "whoami",
        re.compile(r"whoami(?:\.exe)?", re.I),
        lambda h, m: RawResult(
            0, "%s\\%s\r\n" % (str(h.state.get("hostname", h.name)).lower(), _user(h).lower()), kind="whoami"
        ),
    ),
    _Statement("echo", re.compile(r"(?:echo|Write-Output|Write-Host)((?:\s+%s)*)" % _ARG, re.I), _echo),
    _Statement("echo", re.compile(r"((?:%s))" % _QUOTED), _echo),
    _Statement("exit", re.compile(r"exit\s+(\d+)", re.I), _exit),
    _Statement(
        "test_path",
        re.compile(r"(exit\s+-not\s+)?\(?Test-Path\s+(?:-LiteralPath\s+|-Path\s+)?(%s|[^\s')]+)\)?" % _QUOTED, re.I),
        _test_path,
    ),
    _Statement("expand_user", re.compile(r"\(?\(Get-Location\)\.Path(?:\s*\+\s*(%s))?\)?" % _QUOTED, re.I), _home),
]


def run_raw(host: SimHost, script: str, power: PowerControl | None = None) -> RawResult:
    """Answer a raw PowerShell script the way the real host would, or fail naming it."""
    power = power or NoPower()
    text = normalise(script)
    for recogniser in _WHOLE:
        result = recogniser(host, text, power)
        if result is not None:
            return result
    plan = []
    for statement in split_statements(text):
        match = next(((s, m) for s in _STATEMENTS if (m := s.pattern.fullmatch(statement))), None)
        if match is None:
            return unsupported(script)
        plan.append(match)
    if not plan:
        return unsupported(script)
    out, err, rc = [], [], 0
    for statement, m in plan:
        result = statement.run(host, m)
        out.append(result.stdout)
        err.append(result.stderr)
        rc = result.rc
        if statement.kind == "exit":
            break
    kind = plan[0][0].kind if len(plan) == 1 else "+".join(s.kind for s, _match in plan)
    return RawResult(rc, "".join(out), "".join(err), kind=kind)


def unsupported(script: str) -> RawResult:
    shown = normalise(script) or script.strip()
    return RawResult(1, "", "winsim: unsupported raw command: %s\r\n" % shown[:200], kind="unsupported")


def _registry_path(path: str) -> str:
    """``HKLM:\\SOFTWARE\\…`` → ``HKLM\\SOFTWARE\\…`` (the host model's key form)."""
    return re.sub(r"^HKLM:\\?", "HKLM\\\\", path, flags=re.I)


@host_mod.on_boot
def _logon_ui_ready(host: SimHost) -> None:
    """At the end of a boot LogonUI (re)creates its AutoLogonChecked key."""
    host.reg_ensure_key(LOGON_UI_KEY)
