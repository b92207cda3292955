"""Twins of the ansible.windows / community.windows modules the naive baseline runs.

The baseline (``tests/bench/baseline/``) does the guide's steps the way public roles do, with
generic modules: ``win_copy`` the onboarding zip, ``win_unzip`` it, ``win_command`` the ``.cmd``,
``win_shell`` ``Get-MpComputerStatus`` and ``Get-WinEvent``, ``win_regedit`` the passive-mode
value, ``win_service_info`` Sense. These twins answer those module runs from the host model so
the benchmark can compare the collection with it on the same simulated fleet.

* ``ansible.windows.win_copy``: the four ``_copy_mode`` calls of the action plugin (query,
  single, explode, remote; ecosystem-notes §13). The transfer itself is ``put_file`` (payload.py).
* ``community.windows.win_unzip`` and ``Expand-Archive`` (win_shell / win_powershell): zip
  members land in the host's simulated filesystem.
* ``ansible.windows.win_command`` (and ``win_shell`` with ``executable: cmd``): the command line
  runs on the native model (``tests/winsim/native``) the way Start-AnsibleWindowsProcess starts
  it: stdin a pipe (so ``timeout`` in a script fails at once), a console, no time limit. The
  portal's ``.cmd`` scripts, ``msiexec /i md4ws.msi`` and the other modelled programs do what
  Windows does; anything not modelled fails, naming the command line.
* ``ansible.windows.win_shell`` / ``win_powershell``: a handful of PowerShell pipelines
  (``Get-MpComputerStatus``, ``Get-WinEvent``, ``Expand-Archive`` with ``Select-Object``,
  ``ConvertTo-Json``, ``Format-List``, ``Out-String``). Anything else fails, naming the statement.
* ``ansible.windows.win_regedit``: set / delete registry values and keys, with check mode and
  the module's diff (``0x%08x`` for DWORDs).
* ``ansible.windows.win_service_info``: the module's service dicts from ``state["services"]``.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import io
import json
import ntpath
import re
import zipfile
from typing import Any

from .. import native, raw
from ..host import SimHost, norm_path
from ..ps import win_defender
from ..ps.dotnet import DateTime
from . import ModuleFail, check_args, twin

WIN_COPY = "ansible.windows.win_copy"
WIN_UNZIP = "community.windows.win_unzip"
WIN_COMMAND = "ansible.windows.win_command"
WIN_SHELL = "ansible.windows.win_shell"
WIN_POWERSHELL = "ansible.windows.win_powershell"
WIN_REGEDIT = "ansible.windows.win_regedit"
WIN_SERVICE_INFO = "ansible.windows.win_service_info"

NO_EVENTS = "Get-WinEvent : No events were found that match the specified selection criteria."
_TRUE = {"true", "yes", "on", "1", "y"}


# ----------------------------------------------------------------------------- helpers
def _bool(value: Any, default: bool = False) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in _TRUE


def _legacy_args(module: str, args: dict, required: tuple[str, ...] = ()) -> dict:
    """``Parse-Args`` + ``Get-AnsibleParam``: legacy modules ignore unknown options."""
    opts = {k: v for k, v in args.items() if not k.startswith("_ansible_")}
    for name in required:
        if opts.get(name) in (None, ""):
            raise ModuleFail("Get-AnsibleParam: Missing required argument: %s" % name)
    return opts


def _home(host: SimHost) -> str:
    return "C:\\Users\\%s" % (host.state.get("credentials") or {}).get("username", "ansible")


def _abs(host: SimHost, path: str, cwd: str | None = None) -> str:
    """A path as the module sees it: environment expanded, relative to ``cwd`` (the user's home)."""
    text = host.expand_env(str(path)).replace("/", "\\")
    drive = ntpath.splitdrive(text)[0]
    if drive and ntpath.isabs(text):
        return text
    return ntpath.join(cwd or _home(host), text)


def _is_file(host: SimHost, path: str) -> bool:
    return host.read_file(path) is not None


def _children(host: SimHost, path: str) -> list[str]:
    """Direct children of a directory (normalised lower-case paths, as the host model keeps them)."""
    prefix = norm_path(path) + "\\"
    out = []
    for existing in host.state.get("files", {}):
        if existing.startswith(prefix) and "\\" not in existing[len(prefix) :]:
            out.append(existing)
    return sorted(out)


def _sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def _basename_any(path: str) -> str:
    """``Split-Path -Leaf`` of a controller path (POSIX or Windows separators)."""
    return re.split(r"[\\/]", str(path).rstrip("\\/"))[-1]


def _now_fields(start: datetime.datetime) -> dict:
    end = datetime.datetime.now(datetime.UTC)
    delta = end - start
    return {
        "start": start.strftime("%Y-%m-%d %H:%M:%S.%f"),
        "end": end.strftime("%Y-%m-%d %H:%M:%S.%f"),
        "delta": "%d:%02d:%02d.%06d"
        % (delta.seconds // 3600, delta.seconds // 60 % 60, delta.seconds % 60, delta.microseconds),
    }


def _skip_check_mode(ctx, module_short: str) -> dict | None:
    """What Ansible.Basic answers for a module without check-mode support under --check."""
    if ctx.check_mode:
        return {
            "changed": False,
            "skipped": True,
            "msg": "remote module (%s) does not support check mode" % module_short,
        }
    return None


# ----------------------------------------------------------------------------- zips
def extract_zip(
    host: SimHost, src: str, dest: str, check_mode: bool = False, overwrite: bool = True, names_b64: bool = False
) -> list[str]:
    """Extract a zip of the simulated filesystem into ``dest``; returns the written paths.

    Raises ``ValueError`` with the .NET-like reason when the archive cannot be read or a member
    would land outside ``dest``, and ``FileExistsError`` when ``overwrite`` is off and a file exists.
    ``names_b64``: member names are base64 (win_copy's explode zip).
    """
    data = host.read_file(src)
    if data is None:
        raise FileNotFoundError(src)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        raise ValueError(
            'Exception calling "Open" with "3" argument(s): "End of Central Directory record could '
            'not be found." (%s)' % exc
        ) from None
    root = norm_path(dest)
    written = []
    for member in members:
        name = member.filename
        is_dir = name.endswith(("/", "\\"))
        if names_b64:
            try:
                name = base64.b64decode(name.rstrip("/\\")).decode("utf-8") + ("/" if is_dir else "")
            except (binascii.Error, UnicodeDecodeError):
                raise ValueError("invalid base64 archive name '%s'" % member.filename) from None
        target = ntpath.join(dest, name.replace("/", "\\"))
        full = norm_path(target)
        if not (full + "\\").startswith(root + "\\"):
            raise ValueError(
                "Filename contains relative paths which would extract outside the destination: %s" % target
            )
        if check_mode:
            continue
        if is_dir:
            host.make_dirs(target)
            continue
        if not overwrite and host.path_exists(target):
            raise FileExistsError(target)
        try:
            content = archive.read(member)
        except (zipfile.BadZipFile, ValueError, OSError) as exc:
            raise ValueError("the archive entry %s cannot be read: %s" % (member.filename, exc)) from None
        host.write_file(target, content)
        written.append(target)
    return written


# ----------------------------------------------------------------------------- win_copy
def _copy_file(host: SimHost, source: str, dest: str, force: bool, check_mode: bool, result: dict) -> tuple[str, str]:
    """``Copy-File`` of win_copy.ps1 (remote mode); returns (diff, source checksum)."""
    diff = ""
    data = host.read_file(source) or b""
    checksum = _sha1(data) if force else None
    copy = False
    if host.is_dir(dest):
        raise ModuleFail("cannot copy file from '%s' to '%s': dest is already a folder" % (source, dest), **result)
    if _is_file(host, dest):
        copy = force and _sha1(host.read_file(dest) or b"") != checksum
    else:
        copy = True
    if copy:
        parent = ntpath.dirname(dest)
        if _is_file(host, parent):
            raise ModuleFail(
                "cannot copy file from '%s' to '%s': object at dest parent dir is not a folder" % (source, dest),
                **result,
            )
        if not host.path_exists(parent):
            if not check_mode:
                host.make_dirs(parent)
            diff += "+%s\\\n" % parent
        if _is_file(host, dest):
            diff += "-%s\n" % dest
        if not check_mode:
            host.write_file(dest, data)
        diff += "+%s\n" % dest
        result["changed"] = True
    return diff, checksum or ""


def _copy_folder(host: SimHost, source: str, dest: str, force: bool, check_mode: bool, result: dict) -> str:
    diff = ""
    if not host.is_dir(dest):
        if _is_file(host, dest):
            raise ModuleFail("cannot copy folder from '%s' to '%s': dest is already a file" % (source, dest), **result)
        if not check_mode:
            host.make_dirs(dest)
        diff += "+%s\\\n" % dest
        result["changed"] = True
    for child in _children(host, source):
        target = ntpath.join(dest, ntpath.basename(child))
        if host.is_dir(child):
            diff += _copy_folder(host, child, target, force, check_mode, result)
        else:
            diff += _copy_file(host, child, target, force, check_mode, result)[0]
    return diff


def _tree_size(host: SimHost, path: str) -> int:
    data = host.read_file(path)
    if data is not None:
        return len(data)
    prefix = norm_path(path) + "\\"
    return sum(item.get("size", 0) for k, item in host.state.get("files", {}).items() if k.startswith(prefix))


@twin(WIN_COPY)
def win_copy(host, args, ctx):
    """win_copy.ps1 (legacy module: unknown options are ignored, as Parse-Args does)."""
    mode = str(args.get("_copy_mode") or "single")
    if mode not in ("explode", "query", "remote", "single"):
        raise ModuleFail(
            "Get-AnsibleParam: Argument _copy_mode needs to be one of explode,query,remote,single but was %s." % mode
        )
    opts = _legacy_args(WIN_COPY, args, ("dest", "src") if mode in ("explode", "single") else ("dest",))
    dest = _abs(host, opts["dest"])
    force = _bool(opts.get("force"), True)
    backup = _bool(opts.get("backup"), False)
    result: dict[str, Any] = {"changed": False}
    if ctx.diff:
        result["diff"] = {}

    if mode == "query":
        changed_files, changed_dirs = [], []
        for item in opts.get("files") or []:
            filename = str(item.get("dest", ""))
            path = ntpath.join(dest, filename)
            if host.is_dir(path):
                filename = ntpath.join(filename, _basename_any(item.get("src", "")))
                path = ntpath.join(dest, filename)
            if _is_file(host, path):
                if force and _sha1(host.read_file(path) or b"") != item.get("checksum"):
                    changed_files.append(item)
            elif host.is_dir(path):
                raise ModuleFail(
                    "cannot copy file to dest '%s': object at path is already a directory" % path, **result
                )
            else:
                changed_files.append(item)
        for item in opts.get("directories") or []:
            path = ntpath.join(dest, str(item.get("dest", "")))
            if _is_file(host, ntpath.dirname(path)):
                raise ModuleFail(
                    "cannot copy folder to dest '%s': object at parent directory path is already a file" % path,
                    **result,
                )
            if _is_file(host, path):
                raise ModuleFail("cannot copy folder to dest '%s': object at path is already a file" % path, **result)
            if not host.is_dir(path):
                changed_dirs.append(item)
        result.update(files=changed_files, directories=changed_dirs, symlinks=[])
        return result

    src = _abs(host, opts.get("src") or "")
    if mode == "explode":
        if not _is_file(host, src):
            raise ModuleFail("Cannot expand src zip file: '%s' as it does not exist" % src, **result)
        try:
            extract_zip(host, src, dest, check_mode=ctx.check_mode, names_b64=True)
        except ValueError as exc:
            raise ModuleFail(str(exc), **result) from None
        result["changed"] = True
        return result

    if mode == "single":
        if not _is_file(host, src):
            raise ModuleFail("Cannot copy src file: '%s' as it does not exist" % src, **result)
        remote_dest = dest
        if str(opts["dest"]).endswith(("\\", "/")) or host.is_dir(dest):
            remote_dest = ntpath.join(dest, str(opts.get("_original_basename") or ntpath.basename(src)))
        parent = ntpath.dirname(remote_dest) or _home(host)
        if _is_file(host, parent):
            raise ModuleFail("object at destination parent dir '%s' is currently a file" % parent, **result)
        if not host.is_dir(parent):
            if norm_path(dest) == norm_path(remote_dest):
                raise ModuleFail("Destination directory '%s' does not exist" % parent, **result)
            host.make_dirs(parent)
        if backup and _is_file(host, remote_dest):
            stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
            result["backup_file"] = "%s.%d.%s.bak" % (remote_dest, 4242, stamp)
            if not ctx.check_mode:
                host.write_file(result["backup_file"], host.read_file(remote_dest) or b"")
        host.write_file(remote_dest, host.read_file(src) or b"")
        result["changed"] = True
        return result

    # remote: everything happens on the host (remote_src: true)
    result.update(src=src, dest=dest)
    if not host.path_exists(src):
        raise ModuleFail("Cannot copy src file: '%s' as it does not exist" % src, **result)
    remote_dest = dest
    if host.is_dir(src):
        result["operation"] = "folder_copy"
        if str(opts.get("src")).endswith(("\\", "/")):
            diff = ""
            for child in _children(host, src):
                target = ntpath.join(dest, ntpath.basename(child))
                if host.is_dir(child):
                    diff += _copy_folder(host, child, target, force, ctx.check_mode, result)
                else:
                    diff += _copy_file(host, child, target, force, ctx.check_mode, result)[0]
        else:
            remote_dest = ntpath.join(dest, ntpath.basename(src.rstrip("\\")))
            result["dest"] = remote_dest
            diff = _copy_folder(host, src, remote_dest, force, ctx.check_mode, result)
    else:
        result["operation"] = "file_copy"
        result["original_basename"] = ntpath.basename(src)
        if str(opts["dest"]).endswith(("\\", "/")) or host.is_dir(dest):
            remote_dest = ntpath.join(dest, ntpath.basename(src))
        result["dest"] = remote_dest
        parent = ntpath.dirname(remote_dest) or _home(host)
        if _is_file(host, parent):
            raise ModuleFail("object at destination parent dir '%s' is currently a file" % parent, **result)
        if not host.is_dir(parent):
            if norm_path(dest) == norm_path(remote_dest):
                raise ModuleFail("Destination directory '%s' does not exist" % parent, **result)
            host.make_dirs(parent)
        diff, checksum = _copy_file(host, src, remote_dest, force, ctx.check_mode, result)
        result["checksum"] = checksum
    result["size"] = _tree_size(host, remote_dest) if host.path_exists(remote_dest) else None
    if ctx.diff:
        result["diff"]["prepared"] = diff
    return result


# ----------------------------------------------------------------------------- win_unzip
@twin(WIN_UNZIP)
def win_unzip(host, args, ctx):
    """community.windows.win_unzip (legacy module): .zip through System.IO.Compression."""
    opts = _legacy_args(WIN_UNZIP, args, ("src", "dest"))
    src = _abs(host, opts["src"])
    dest = _abs(host, opts["dest"])
    delete_archive = _bool(opts.get("delete_archive", opts.get("rm")), False)
    result: dict[str, Any] = {"changed": False, "dest": dest, "removed": False, "src": src}
    creates = opts.get("creates")
    if creates and host.path_exists(_abs(host, creates)):
        result.update(skipped=True, msg="The file or directory '%s' already exists." % _abs(host, creates))
        return result
    if not host.path_exists(src):
        raise ModuleFail("File '%s' does not exist." % src, **result)
    if not host.is_dir(dest) and not ctx.check_mode:
        host.make_dirs(dest)
    extension = ntpath.splitext(src)[1].lower()
    if extension == ".zip" and not _bool(opts.get("recurse")) and not opts.get("password"):
        try:
            extract_zip(host, src, dest, check_mode=ctx.check_mode)
        except ValueError as exc:
            raise ModuleFail(
                "Error unzipping '%s' to '%s'!. Method: System.IO.Compression.ZipFile, Exception: %s"
                % (src, dest, exc),
                **result,
            ) from None
        result["changed"] = True
    else:
        # The simulated hosts have neither PSCX nor tar-based archives to offer.
        raise ModuleFail(
            "PowerShellCommunityExtensions PowerShell Module (PSCX) is required for this archive type, recursive "
            "extraction, or password-protected archives.",
            **result,
        )
    if delete_archive:
        if not ctx.check_mode:
            host.remove_path(src)
        result["removed"] = True
    return result


# ----------------------------------------------------------------------------- win_command
def run_command_line(host: SimHost, line: str, cwd: str, stdin: str | None = None) -> tuple[int, str, str]:
    """One command line as ansible.windows' Start-AnsibleWindowsProcess runs it, on the native model.

    Its CreateProcess gives the child anonymous pipes for all three handles (stdin carries the
    ``stdin`` option, then end of file) and a console of its own; the module waits for the end
    without a limit.
    """
    try:
        proc = native.start(
            host,
            line,
            stdin=(stdin or "").encode("utf-8"),
            stdin_redirected=True,
            has_console=True,
            cwd=cwd,
            env=native.default_environment(host),
        )
        proc.run_until(None)
    except native.NativeStartError as exc:
        raise ModuleFail("Failed to run: '%s': %s" % (line, exc.message), rc=exc.winerror, cmd=line) from None
    except native.NativeBlocked:
        raise ModuleFail(
            "winsim: '%s' never ends on the simulated host (it waits for console input or loops for ever); "
            "win_command waits without a limit, so on Windows the task would hang" % line,
            rc=None,
        ) from None
    except native.NativeUnsupported as exc:
        raise ModuleFail("winsim: ansible.windows.win_command cannot run '%s': %s" % (line, exc), rc=None) from None
    assert proc.exit_code is not None
    return proc.exit_code, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")


@twin(WIN_COMMAND)
def win_command(host, args, ctx):
    opts = check_args(
        WIN_COMMAND,
        args,
        {
            "_raw_params": None,
            "cmd": None,
            "argv": None,
            "chdir": None,
            "creates": None,
            "removes": None,
            "stdin": None,
            "output_encoding_override": None,
        },
    )
    given = [k for k in ("_raw_params", "argv", "cmd") if opts[k]]
    if not given:
        raise ModuleFail("one of the following is required: _raw_params, argv, cmd")
    if len(given) > 1:
        raise ModuleFail("parameters are mutually exclusive: _raw_params, argv, cmd")
    skipped = _skip_check_mode(ctx, "win_command")
    if skipped:
        return skipped
    if opts["cmd"]:
        line = str(opts["cmd"])
    elif opts["_raw_params"]:
        line = str(opts["_raw_params"]).strip()
    else:
        line = " ".join('"%s"' % a if " " in str(a) else str(a) for a in opts["argv"])
    cwd = _abs(host, opts["chdir"]) if opts["chdir"] else _home(host)
    if opts["chdir"] and not host.is_dir(cwd):
        raise ModuleFail("Failed to run: '%s': The directory name is invalid" % line, rc=267, cmd=line)
    result: dict[str, Any] = {"changed": False, "cmd": line, "rc": 0}
    if opts["creates"] and host.path_exists(_abs(host, opts["creates"], cwd)):
        result.update(msg="skipped, since %s exists" % opts["creates"], skipped=True)
        return result
    if opts["removes"] and not host.path_exists(_abs(host, opts["removes"], cwd)):
        result.update(msg="skipped, since %s does not exist" % opts["removes"], skipped=True)
        return result
    start = datetime.datetime.now(datetime.UTC)
    rc, stdout, stderr = run_command_line(host, line, cwd, opts["stdin"])
    result.update(changed=True, stdout=stdout, stderr=stderr, rc=rc, **_now_fields(start))
    if rc != 0:
        raise ModuleFail("non-zero return code", **result)
    return result


# ----------------------------------------------------------------------------- PowerShell
class PsError(Exception):
    """A (non-terminating) PowerShell error record: written to stderr, ``$?`` false."""


def _ps_tokens(text: str) -> list[str]:
    """Tokens of a command: quoted strings, ``@{...}`` / ``@(...)`` blocks, commas, barewords."""
    tokens = re.findall(r"@\{[^}]*\}|@\([^)]*\)|'(?:[^']|'')*'|\"[^\"]*\"|,|[^\s,]+", text)
    return tokens


def _ps_value(token: str) -> Any:
    token = token.strip()
    if token.startswith("@(") and token.endswith(")"):
        return [_ps_value(t) for t in _ps_tokens(token[2:-1]) if t != ","]
    value = raw.unquote(token)
    if token == value and re.fullmatch(r"-?\d+", token):
        return int(token)
    if token.lower() in ("$true", "$false"):
        return token.lower() == "$true"
    return value


def _hashtable(token: str) -> dict:
    body = token.strip()[2:-1]
    out = {}
    for part in raw.split_statements(body):
        if "=" not in part:
            raise ValueError("not a hashtable entry: %s" % part)
        key, _sep, value = part.partition("=")
        items = [t for t in _ps_tokens(value) if t != ","]
        parsed = [_ps_value(t) for t in items]
        out[raw.unquote(key.strip()).lower()] = parsed[0] if len(parsed) == 1 else parsed
    return out


def _params(tokens: list[str], switches: tuple[str, ...] = ()) -> tuple[dict, list]:
    """``-Name value`` pairs (lower-cased names; a comma list becomes a list) and positional values."""
    named: dict[str, Any] = {}
    positional: list[Any] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.startswith("-") and re.fullmatch(r"-[A-Za-z]\w*(:\$\w+)?", tok):
            name, _sep, inline = tok[1:].partition(":")
            name = name.lower()
            if inline:
                named[name] = inline.lower() == "$true"
                i += 1
                continue
            if name in switches:
                named[name] = True
                i += 1
                continue
            values = []
            i += 1
            while i < len(tokens):
                values.append(tokens[i])
                if i + 1 < len(tokens) and tokens[i + 1] == ",":
                    i += 2
                    continue
                i += 1
                break
            named[name] = values[0] if len(values) == 1 else values
            continue
        if tok != ",":
            positional.append(tok)
        i += 1
    return named, positional


def _dotnet_date(ts: float) -> str:
    return "/Date(%d)/" % int(ts * 1000)


def _get_mp_status(host: SimHost, tokens: list[str]) -> list[dict]:
    if tokens:
        raise ValueError("Get-MpComputerStatus takes no arguments here")
    if not win_defender.defender_installed(host):
        raise PsError(
            "Get-MpComputerStatus : Get-MpComputerStatus is not available on this host\r\n"
            "    + CategoryInfo          : NotSpecified: (MSFT_MpComputerStatus) [Get-MpComputerStatus], CimException"
        )
    # every property, like the cmdlet; dates as ConvertTo-Json writes them
    status = win_defender.status(host)
    return [{k: _dotnet_date(v.unix()) if isinstance(v, DateTime) else v for k, v in status.items()}]


def _get_win_event(host: SimHost, tokens: list[str]) -> list[dict]:
    named, positional = _params(tokens)
    error_action = str(named.pop("erroraction", "continue")).strip("'\"").lower()
    max_events = int(named.pop("maxevents", 0) or 0)
    log = source = None
    ids: list[int] = []
    if "filterhashtable" in named:
        table = _hashtable(named.pop("filterhashtable"))
        log = table.pop("logname", None)
        source = table.pop("providername", None)
        wanted = table.pop("id", None)
        ids = [int(i) for i in (wanted if isinstance(wanted, list) else [wanted])] if wanted is not None else []
        if table:
            raise ValueError("FilterHashtable keys %s are not simulated" % sorted(table))
    if "logname" in named:
        log = raw.unquote(named.pop("logname"))
    if "providername" in named:
        source = raw.unquote(named.pop("providername"))
    if positional and log is None:
        log = raw.unquote(positional.pop(0))
    if named or positional or not (log or source):
        raise ValueError("Get-WinEvent with %s is not simulated" % " ".join(tokens))
    events = list(host.events(log=log if isinstance(log, str) else None, source=source))
    if ids:
        events = [e for e in events if e["id"] in ids]
    events = sorted(events, key=lambda e: e["record"], reverse=True)
    if max_events:
        events = events[:max_events]
    if not events:
        if error_action in ("silentlycontinue", "ignore"):
            return []
        raise PsError(NO_EVENTS)
    return [
        {
            "Id": e["id"],
            "LevelDisplayName": e["level"],
            "LogName": e["log"],
            "Message": e["message"],
            "ProviderName": e["source"],
            "RecordId": e["record"],
            "TimeCreated": _dotnet_date(e["time"]),
        }
        for e in events
    ]


def _expand_archive(host: SimHost, tokens: list[str], check_mode: bool) -> list[dict]:
    named, positional = _params(tokens, switches=("force",))
    src = named.pop("literalpath", None) or named.pop("path", None) or (positional.pop(0) if positional else None)
    dest = named.pop("destinationpath", None) or (positional.pop(0) if positional else None)
    force = bool(named.pop("force", False))
    named.pop("erroraction", None)
    if not src or not dest or named or positional:
        raise ValueError("Expand-Archive with %s is not simulated" % " ".join(tokens))
    src, dest = _abs(host, raw.unquote(src)), _abs(host, raw.unquote(dest))
    if host.read_file(src) is None:
        raise PsError("Expand-Archive : The path '%s' either does not exist or is not a valid file system path." % src)
    try:
        extract_zip(host, src, dest, check_mode=check_mode, overwrite=force)
    except ValueError as exc:
        raise PsError("Expand-Archive : %s" % exc) from None
    except FileExistsError as exc:
        raise PsError(
            "Expand-Archive : Failed to create file '%s' while expanding the archive file '%s' contents as the "
            "file '%s' already exists. Use the -Force parameter if you want to overwrite the existing directory "
            "'%s' contents when expanding the archive file." % (exc, src, exc, dest)
        ) from None
    return []


def _select(objects: list, tokens: list[str]) -> list:
    named, positional = _params(tokens)
    first = int(named.pop("first", 0) or 0)
    expand = named.pop("expandproperty", None)
    props = named.pop("property", None) or positional
    if named:
        raise ValueError("Select-Object %s is not simulated" % " ".join(tokens))
    props = [raw.unquote(p) for p in (props if isinstance(props, list) else [props])]
    out = objects[:first] if first else list(objects)
    if expand:
        name = raw.unquote(expand)
        return [_prop(o, name) for o in out]
    if props:
        return [{p: _prop(o, p) for p in props} if isinstance(o, dict) else o for o in out]
    return out


def _prop(obj: Any, name: str) -> Any:
    if not isinstance(obj, dict):
        return None
    for key, value in obj.items():
        if key.lower() == name.lower():
            return value
    return None


def _to_json(objects: list, compress: bool) -> str:
    value: Any = objects[0] if len(objects) == 1 else objects
    if compress:
        return json.dumps(value, separators=(",", ":"))
    return json.dumps(value, indent=4)


def _format_list(objects: list) -> str:
    blocks = []
    for obj in objects:
        if isinstance(obj, dict):
            width = max((len(k) for k in obj), default=0)
            blocks.append("\r\n".join("%s : %s" % (k.ljust(width), _ps_text(v)) for k, v in obj.items()))
        else:
            blocks.append(_ps_text(obj))
    return ("\r\n\r\n" + "\r\n\r\n".join(blocks) + "\r\n\r\n\r\n") if blocks else ""


def _ps_text(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    return "" if value is None else str(value)


SUPPORTED = (
    "Get-MpComputerStatus, Get-WinEvent -FilterHashtable @{...} [-MaxEvents N], "
    "Expand-Archive -Path <zip> -DestinationPath <dir> [-Force], piped to Select-Object, ConvertTo-Json, "
    "Format-List or Out-String"
)
_IGNORED_STATEMENTS = re.compile(
    r"(?i)^\$ErrorActionPreference\s*=\s*'\w+'$|^Set-StrictMode\s+-Version\s+\w+$|^\$ProgressPreference\s*=\s*'\w+'$"
)
_ANSIBLE_FLAG = re.compile(r"(?i)^\$Ansible\.(Changed|Failed)\s*=\s*\$(true|false)$")


class PsRun:
    """What a recognised PowerShell script did: objects out, text, errors, the $Ansible flags."""

    def __init__(self) -> None:
        self.objects: list[Any] = []
        self.text: list[str] = []
        self.errors: list[str] = []
        self.changed: bool | None = None
        self.failed: bool | None = None
        self.wrote = False

    @property
    def stdout(self) -> str:
        return "".join(self.text)

    @property
    def rc(self) -> int:
        return 1 if self.errors else 0


def run_powershell(host: SimHost, script: str, check_mode: bool = False, module: str = WIN_SHELL) -> PsRun:
    """Interpret the few PowerShell statements the baseline sends; ModuleFail for anything else."""
    run = PsRun()
    # A line that ends with a pipe continues on the next one (PowerShell 5.1 has no leading pipes).
    text = re.sub(r"\|[ \t]*\n\s*", "| ", script.replace("\r\n", "\n")).strip()
    for statement in raw.split_statements(text):
        if _IGNORED_STATEMENTS.match(statement):
            continue
        flag = _ANSIBLE_FLAG.match(statement)
        if flag:
            if module != WIN_POWERSHELL:
                raise ModuleFail("winsim: $Ansible.%s only exists in win_powershell" % flag.group(1))
            setattr(run, flag.group(1).lower(), flag.group(2).lower() == "true")
            continue
        try:
            _run_pipeline(host, statement, check_mode, run)
        except ValueError as exc:
            raise ModuleFail(
                "winsim: %s cannot run this PowerShell on the simulated host: %s (%s). It understands: %s"
                % (module, statement[:200], exc, SUPPORTED)
            ) from None
        except PsError as exc:
            run.errors.append(str(exc))
    return run


def _run_pipeline(host: SimHost, statement: str, check_mode: bool, run: PsRun) -> None:
    stages = raw.split_outside(statement, "|")
    head = _ps_tokens(stages[0])
    if not head:
        raise ValueError("empty statement")
    command = head[0].lower()
    if command == "get-mpcomputerstatus":
        objects = _get_mp_status(host, head[1:])
    elif command == "get-winevent":
        objects = _get_win_event(host, head[1:])
    elif command == "expand-archive":
        objects = _expand_archive(host, head[1:], check_mode)
        run.wrote = True
    else:
        raise ValueError("%s is not a simulated command" % head[0])
    as_text: str | None = None
    for stage in stages[1:]:
        tokens = _ps_tokens(stage)
        name = tokens[0].lower() if tokens else ""
        if as_text is not None and name not in ("out-string",):
            raise ValueError("%s after text output is not simulated" % name)
        if name in ("select-object", "select"):
            objects = _select(objects, tokens[1:])
        elif name == "convertto-json":
            named = _params(tokens[1:], switches=("compress",))[0]
            as_text = _to_json(objects, bool(named.get("compress"))) + "\r\n" if objects else ""
        elif name in ("format-list", "fl"):
            as_text = _format_list(objects)
        elif name == "out-string":
            as_text = as_text if as_text is not None else _format_list(objects)
        else:
            raise ValueError("the pipeline stage %s is not simulated" % (tokens[0] if tokens else stage))
    if as_text is not None:
        run.objects.append(as_text)
        run.text.append(as_text)
    else:
        run.objects.extend(objects)
        run.text.append(_format_list(objects))


@twin(WIN_SHELL)
def win_shell(host, args, ctx):
    given = dict(args)
    if "_raw_params" in given:
        given["cmd"] = given.pop("_raw_params")
    opts = check_args(
        WIN_SHELL,
        given,
        {
            "cmd": ...,
            "chdir": None,
            "creates": None,
            "executable": None,
            "removes": None,
            "stdin": None,
            "no_profile": False,
            "output_encoding_override": None,
        },
    )
    skipped = _skip_check_mode(ctx, "win_shell")
    if skipped:
        return skipped
    cmd = str(opts["cmd"]).strip()
    result: dict[str, Any] = {"changed": False, "cmd": cmd}
    if opts["creates"] and host.path_exists(_abs(host, opts["creates"])):
        result.update(msg="skipped, since %s exists" % opts["creates"], skipped=True, rc=0)
        return result
    if opts["removes"] and not host.path_exists(_abs(host, opts["removes"])):
        result.update(msg="skipped, since %s does not exist" % opts["removes"], skipped=True, rc=0)
        return result
    executable = ntpath.basename(str(opts["executable"] or "powershell")).lower()
    start = datetime.datetime.now(datetime.UTC)
    if executable in ("cmd", "cmd.exe"):
        cwd = _abs(host, opts["chdir"]) if opts["chdir"] else _home(host)
        rc, stdout, stderr = run_command_line(host, "cmd.exe /c " + cmd, cwd, opts["stdin"])
    elif executable in ("powershell", "powershell.exe", "pwsh", "pwsh.exe"):
        run = run_powershell(host, cmd, module=WIN_SHELL)
        rc, stdout, stderr = run.rc, run.stdout, "".join(e + "\r\n" for e in run.errors)
    else:
        raise ModuleFail("winsim: win_shell with executable %r is not simulated" % opts["executable"])
    result.update(changed=True, rc=rc, stdout=stdout, stderr=stderr, **_now_fields(start))
    if rc != 0:
        raise ModuleFail("non-zero return code", **result)
    return result


@twin(WIN_POWERSHELL)
def win_powershell(host, args, ctx):
    opts = check_args(
        WIN_POWERSHELL,
        args,
        {
            "arguments": None,
            "chdir": None,
            "creates": None,
            "depth": 2,
            "error_action": "continue",
            "executable": None,
            "parameters": None,
            "path": None,
            "sensitive_parameters": None,
            "remote_src": False,
            "removes": None,
            "script": None,
        },
    )
    if opts["path"] and opts["script"]:
        raise ModuleFail("parameters are mutually exclusive: path, script")
    if opts["error_action"] not in ("silently_continue", "continue", "stop"):
        raise ModuleFail(
            "value of error_action must be one of: silently_continue, continue, stop, got: %s" % opts["error_action"]
        )
    result: dict[str, Any] = {
        "changed": False,
        "result": {},
        "host_out": "",
        "host_err": "",
        "output": [],
        "error": [],
        "warning": [],
        "verbose": [],
        "debug": [],
        "information": [],
    }
    if opts["path"]:
        path = _abs(host, opts["path"])
        data = host.read_file(path)
        if data is None:
            raise ModuleFail("Could not find or access '%s' on Windows host" % path, **result)
        script = data.decode("utf-8-sig", errors="replace")
    elif opts["script"]:
        script = str(opts["script"])
    else:
        raise ModuleFail("one of the following is required: path, script")
    if opts["creates"] and host.path_exists(_abs(host, opts["creates"])):
        result["msg"] = "skipped, since %s exists" % opts["creates"]
        return result
    if opts["removes"] and not host.path_exists(_abs(host, opts["removes"])):
        result["msg"] = "skipped, since %s does not exist" % opts["removes"]
        return result
    if ctx.check_mode:
        # No $Ansible.CheckMode support in the scripts the baseline sends: the module skips them.
        result.update(changed=True, msg="skipped, running in check mode")
        return result
    run = run_powershell(host, script, module=WIN_POWERSHELL)
    if opts["error_action"] == "silently_continue":
        run.errors = []
    result["output"] = run.objects
    result["error"] = [
        {
            "output": err,
            "error_details": None,
            "exception": {"message": err.split("\r\n")[0].split(" : ", 1)[-1], "type": "System.Exception"},
            "target_object": None,
            "category_info": {"category": "ObjectNotFound"},
            "fully_qualified_error_id": "NoMatchingEventsFound,Microsoft.PowerShell.Commands.GetWinEventCommand",
            "script_stack_trace": "at <ScriptBlock>, <No file>: line 1",
        }
        for err in run.errors
    ]
    result["changed"] = True if run.changed is None else run.changed
    failed = bool(run.failed) or (opts["error_action"] == "stop" and bool(run.errors))
    if failed:
        raise ModuleFail("Error occurred while running the script" if run.errors else "", **result)
    return result


# ----------------------------------------------------------------------------- win_regedit
_REG_TYPES = {
    "none": "REG_NONE",
    "binary": "REG_BINARY",
    "dword": "REG_DWORD",
    "expandstring": "REG_EXPAND_SZ",
    "multistring": "REG_MULTI_SZ",
    "string": "REG_SZ",
    "qword": "REG_QWORD",
}
_KIND_NAMES = {
    "REG_NONE": "None",
    "REG_BINARY": "Binary",
    "REG_DWORD": "DWord",
    "REG_EXPAND_SZ": "ExpandString",
    "REG_MULTI_SZ": "MultiString",
    "REG_SZ": "String",
    "REG_QWORD": "QWord",
}


def _reg_data(rtype: str, data: Any, name: str | None = "x") -> Any:
    """win_regedit.ps1's conversion of ``data`` for its ``type`` (None: no data to write)."""
    if rtype in ("binary", "none"):
        if data is None:
            data = ""
        if isinstance(data, str):
            text = re.sub(r"[^a-f0-9\\,x\-:]", "", data.lower().removeprefix("hex:")).replace(",", ":")
            if not text:
                return []
            if ":" in text:
                return [int(b, 16) for b in re.split(r":+", text) if b]
            if len(text) == 1:
                return [int(text, 16)]
            if len(text) % 2 == 0:
                return [int(text[i : i + 2], 16) for i in range(0, len(text), 2)]
            return []
        if isinstance(data, int):
            if data > 255:
                raise ModuleFail(
                    "cannot convert binary data '%s' to byte array, please specify this value as a yaml byte array "
                    "or a comma separated hex value string" % data
                )
            return [data]
        return [int(b) for b in data]
    if rtype in ("dword", "qword"):
        if data is None:
            data = 0
        if isinstance(data, str):
            try:
                data = int(data, 16) if data.lower().startswith("0x") else int(data)
            except ValueError:
                raise ModuleFail('Cannot convert value "%s" to type "System.UInt64".' % data) from None
        elif isinstance(data, float):
            if data % 1:
                raise ModuleFail(
                    "data '%s' cannot be a decimal or float value with a remainder when type is dword or qword" % data
                )
            data = int(data)
        limit = 0xFFFFFFFF if rtype == "dword" else 0xFFFFFFFFFFFFFFFF
        if int(data) > limit:
            raise ModuleFail("data cannot be larger than 0x%x when type is %s" % (limit, rtype))
        return int(data)
    if rtype == "multistring":
        if data is None:
            return []
        return [str(d) for d in data] if isinstance(data, list) else [str(data)]
    if data is None:
        # A named string value without data is written as ""; the default value is left alone.
        return "" if name else None
    return data


def _diff_value(kind: str, value: Any) -> dict:
    shown = value
    if kind in ("REG_BINARY", "REG_NONE"):
        shown = ["0x%02x" % b for b in value or []]
    elif kind == "REG_DWORD":
        shown = "0x%08x" % (int(value) & 0xFFFFFFFF)
    elif kind == "REG_QWORD":
        shown = "0x%016x" % (int(value) & 0xFFFFFFFFFFFFFFFF)
    return {"type": _KIND_NAMES.get(kind, kind), "value": shown}


@twin(WIN_REGEDIT)
def win_regedit(host, args, ctx):
    given = dict(args)
    for alias, name in (("key", "path"), ("entry", "name"), ("value", "name"), ("datatype", "type")):
        if alias in given:
            given.setdefault(name, given.pop(alias))
    opts = check_args(
        WIN_REGEDIT,
        given,
        {
            "path": ...,
            "name": None,
            "data": None,
            "type": "string",
            "state": "present",
            "delete_key": True,
            "hive": None,
        },
    )
    rtype = str(opts["type"]).lower()
    if rtype not in _REG_TYPES:
        raise ModuleFail(
            "value of type must be one of: none, binary, dword, expandstring, multistring, string, qword. "
            "Got no match for: %s" % opts["type"]
        )
    if opts["state"] not in ("present", "absent"):
        raise ModuleFail("value of state must be one of: present, absent. Got no match for: %s" % opts["state"])
    result: dict[str, Any] = {"changed": False, "data_changed": False, "data_type_changed": False}
    warnings = []
    path = str(opts["path"])
    name = opts["name"] if opts["name"] not in ("",) else None
    if name is None and rtype != "string":
        warnings.append(
            "the data type when name is not specified can only be 'string', the type has automatically been converted"
        )
        rtype = "string"
    if not re.match(r"^HK(CC|CR|CU|LM|U):\\", path):
        raise ModuleFail("path: %s is not a valid powershell path, see module documentation for examples." % path)
    if not path.upper().startswith("HKLM:"):
        raise ModuleFail("winsim: only HKLM is simulated; %s is not" % path)
    if opts["hive"]:
        raise ModuleFail("winsim: win_regedit hive= (loading a hive file) is not simulated")
    ctx.warnings.extend(warnings)
    key = "HKLM\\" + path[len("HKLM:\\") :].strip("\\")
    value_name = name if name is not None else ""
    diff: dict[str, Any] = {"before": "", "after": ""}

    if opts["state"] == "absent":
        if not host.reg_key_exists(key):
            pass
        elif _bool(opts["delete_key"], True) and name is None:
            if not ctx.check_mode:
                host.reg_delete_key(key)
            result["changed"] = True
            diff = {"before": {path: {}}, "after": {}}
        else:
            item = host.reg_get_item(key, value_name)
            if item is not None:
                if not ctx.check_mode:
                    host.reg_delete_value(key, value_name)
                result["changed"] = True
                diff = {"before": {path: {value_name: _diff_value(item["type"], item["data"])}}, "after": {path: {}}}
    else:
        data = _reg_data(rtype, opts["data"], name)
        kind = _REG_TYPES[rtype]
        key_exists = host.reg_key_exists(key)
        if not key_exists:
            if not ctx.check_mode:
                host.reg_ensure_key(key)
            result["changed"] = True
            diff = {"before": {}, "after": {path: {}}}
        else:
            diff = {"before": {path: {}}, "after": {path: {}}}
        # Set-StatePresent: nothing more when the key was only "created" in check mode, or without data
        # (the default value of a key with no data given).
        if (key_exists or not ctx.check_mode) and data is not None:
            item = host.reg_get_item(key, value_name)
            if item is None:
                if not ctx.check_mode:
                    host.reg_set(key, value_name, data, kind)
                result["changed"] = True
                diff["after"][path][value_name] = _diff_value(kind, data)
            else:
                change = False
                if item["type"] != kind:
                    change = True
                    result["data_type_changed"] = True
                    result["data_changed"] = item["data"] != data
                elif item["data"] != data:
                    change = True
                    result["data_changed"] = True
                if change:
                    if not ctx.check_mode:
                        host.reg_set(key, value_name, data, kind)
                    result["changed"] = True
                    diff["before"][path][value_name] = _diff_value(item["type"], item["data"])
                    diff["after"][path][value_name] = _diff_value(kind, data)
                else:
                    same = _diff_value(item["type"], item["data"])
                    diff["before"][path][value_name] = same
                    diff["after"][path][value_name] = same
    if ctx.diff:
        result["diff"] = diff
    return result


# ----------------------------------------------------------------------------- win_service_info
_SERVICE_STATES = {
    "running": "started",
    "stopped": "stopped",
    "start_pending": "start_pending",
    "stop_pending": "stop_pending",
    "paused": "paused",
}
_SERVICE_PATHS = {
    "windefend": '"C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.24090.11-0\\MsMpEng.exe"',
    "sense": '"C:\\Program Files\\Windows Defender Advanced Threat Protection\\MsSense.exe"',
    "wscsvc": "C:\\Windows\\System32\\svchost.exe -k LocalServiceNetworkRestricted -p",
}


def service_dict(host: SimHost, name: str, svc: dict) -> dict:
    state = _SERVICE_STATES.get(svc.get("state", "stopped"), svc.get("state"))
    running = state == "started"
    pid = (int(hashlib.sha1((host.name + name).encode()).hexdigest()[:4], 16) % 60000 + 1000) if running else 0
    return {
        "checkpoint": 0,
        "controls_accepted": ["stop", "shutdown"] if running else [],
        "dependencies": ["RpcSs"],
        "dependency_of": [],
        "description": svc.get("display_name", name),
        "desktop_interact": False,
        "display_name": svc.get("display_name", name),
        "error_control": "normal",
        "failure_actions": [{"type": "restart", "delay_ms": 60000}],
        "failure_actions_on_non_crash_failure": False,
        "failure_command": None,
        "failure_reboot_msg": None,
        "failure_reset_period_sec": 86400,
        "launch_protection": "antimalware_light" if name.lower() in ("windefend", "sense") else "none",
        "load_order_group": "",
        "name": name,
        "path": _SERVICE_PATHS.get(name.lower(), "C:\\Program Files\\%s\\%s.exe" % (name, name)),
        "pre_shutdown_timeout_ms": 180000,
        "preferred_node": None,
        "process_id": pid,
        "required_privileges": [],
        "service_exit_code": 0,
        "service_flags": ["runs_in_system_process"] if running else [],
        "service_type": "win32_own_process",
        "sid_info": "unrestricted",
        "start_mode": {"auto": "auto", "manual": "manual", "disabled": "disabled"}.get(
            svc.get("start_mode", "auto"), svc.get("start_mode")
        ),
        "state": state,
        "triggers": [],
        "username": "LocalSystem",
        "wait_hint_ms": 0,
        "win32_exit_code": 0 if running else 1077,
    }


@twin(WIN_SERVICE_INFO)
def win_service_info(host, args, ctx):
    opts = check_args(WIN_SERVICE_INFO, args, {"name": None})
    wanted = opts["name"]
    services = []
    for name, svc in sorted(host.state.get("services", {}).items(), key=lambda kv: kv[0].lower()):
        if wanted is None or name.lower() == str(wanted).lower():
            services.append(service_dict(host, name, svc))
    return {"changed": False, "exists": bool(services), "services": services}
