"""Decoding what Ansible sent to a simulated host, and answering it from the host model.

Two steps, kept apart so the server can look at a request before it has any effect
(the ``drop_connection`` fault needs the module name first):

* ``decode(command_line, stdin)`` → ``Invocation``: unwraps ``-EncodedCommand`` (nested for
  ansible-core ≤ 2.18), reads 2.21's ``-EncodedArguments``, recognises the bootstrap wrapper,
  splits its input on ``\\n\\0\\0\\0\\0\\n`` into bootstrap JSON, exec manifest and trailing
  input, and classifies the last manifest action (module, script, put_file, fetch_file,
  mkdtemp, expand_user). Everything else is a raw script.
* ``execute(host, invocation)`` → ``Outcome``: runs it against the host (the collection's modules
  through the PowerShell interpreter, ``ps/wrapper.py``; other collections' modules through their
  twins; ``raw.run_raw`` for raw scripts and ``ansible.builtin.script`` bodies).

See winrm-sim-notes §5, §8 and §13.
"""

from __future__ import annotations

import base64
import binascii
import json
import ntpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import raw, twins
from .host import SimHost

SEPARATOR = b"\n\0\0\0\0\n"
LEGACY_SEPARATOR = b"\0\0\0\0"

KIND_MODULE = "module"
KIND_SCRIPT = "script"
KIND_PUT = "put_file"
KIND_FETCH = "fetch_file"
KIND_MKDTEMP = "mkdtemp"
KIND_EXPAND_USER = "expand_user"
KIND_RAW = "raw"

_ACTION_KINDS = {
    "winrm_put_file.ps1": KIND_PUT,
    "winrm_fetch_file.ps1": KIND_FETCH,
    "powershell_mkdtemp.ps1": KIND_MKDTEMP,
    "powershell_expand_user.ps1": KIND_EXPAND_USER,
}
#: Actions that wrap the last one and which the simulator runs straight through.
_PASS_THROUGH_WRAPPERS = {"become_wrapper.ps1", "coverage_wrapper.ps1"}
_ASYNC_WRAPPERS = {"async_wrapper.ps1", "async_watchdog.ps1"}
_MODULE_SCRIPT = re.compile(r"^ansible_collections\.(\w+)\.(\w+)\.plugins\.modules\.(\w+)\.ps1$")
_BUILTIN_MODULE_SCRIPT = re.compile(r"^ansible\.modules\.(\w+)\.ps1$")
_PWSH_EXE = re.compile(r"^\s*(?:&\s*)?['\"]?(?:[\w:\\. ]*\\)?(?:powershell|pwsh)(?:\.exe)?['\"]?\s", re.I)
_SCRIPT_BODY = re.compile(r"^\s*&\s*(\S+|'(?:[^']|'')*')(.*?);\s*exit\s+\$LASTEXITCODE\s*$", re.I | re.S)


#: Modules whose PowerShell the simulator runs (every other module is answered by a twin).
INTERPRETED = ("mdeops.defender.",)


class PayloadError(ValueError):
    """Input that claims to be an Ansible payload but cannot be read; the message says why."""


@dataclass
class PowerShellCall:
    """A decoded ``powershell … -EncodedCommand …`` command line."""

    script: str
    arguments: list[str] = field(default_factory=list)
    layers: int = 0


@dataclass
class Invocation:
    """What Ansible asked the host to do."""

    kind: str
    script: str
    module: str | None = None
    module_args: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    wrappers: list[str] = field(default_factory=list)
    data: bytes = b""
    script_body: str | None = None
    core: str = "2.19+"
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def is_async(self) -> bool:
        return any(w in _ASYNC_WRAPPERS for w in self.wrappers)


@dataclass
class Outcome:
    rc: int
    stdout: str = ""
    stderr: str = ""
    delay: float = 0.0
    label: str = ""


# ---------------------------------------------------------------------------- command line
def _tokens(command_line: str) -> list[str]:
    return [t.strip('"').lstrip("^").rstrip("^") for t in command_line.split()]


def _b64_utf16(token: str, what: str) -> str:
    try:
        return base64.b64decode(token, validate=True).decode("utf-16-le")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise PayloadError("%s is not base64 of UTF-16-LE text: %s" % (what, exc)) from exc


def _clixml_strings(clixml: str) -> list[str]:
    """The ``<S>`` values of 2.21's ``-EncodedArguments`` ArrayList CLIXML (``_xHHHH_`` unescaped)."""
    values = re.findall(r"<S>(.*?)</S>|<S\s*/>", clixml, re.S)
    out = []
    for value in values:
        text = value.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&apos;", "'")
        text = text.replace("&amp;", "&")
        text = re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), text)
        out.append(text)
    return out


def decode_command_line(command_line: str) -> PowerShellCall | None:
    """Decode ``-EncodedCommand`` (and ``-EncodedArguments``); ``None`` if it is not such a line.

    ansible-core ≤ 2.18 wraps an already encoded command once more, so the decoded script
    may itself be a PowerShell command line: unwrap until it is not.
    """
    call: PowerShellCall | None = None
    line = command_line
    while True:
        tokens = _tokens(line)
        lowered = [t.lower() for t in tokens]
        if "-encodedcommand" not in lowered:
            return call
        index = lowered.index("-encodedcommand")
        if index + 1 >= len(tokens):
            raise PayloadError("-EncodedCommand without a value in %r" % line[:200])
        script = _b64_utf16(tokens[index + 1], "-EncodedCommand")
        arguments: list[str] = []
        if "-encodedarguments" in lowered:
            arg_index = lowered.index("-encodedarguments")
            if arg_index + 1 >= len(tokens):
                raise PayloadError("-EncodedArguments without a value")
            arguments = _clixml_strings(_b64_utf16(tokens[arg_index + 1], "-EncodedArguments"))
        call = PowerShellCall(script, arguments, (call.layers + 1) if call else 1)
        if not _PWSH_EXE.match(script) or "-encodedcommand" not in script.lower():
            return call
        line = script.strip()


# ---------------------------------------------------------------------------- wrappers
def is_bootstrap_wrapper(script: str) -> bool:
    """The 2.19+ bootstrap wrapper (2.19: ``foreach ($in in $input)``; 2.21: ``$inputData``)."""
    low = script.lower()
    return "`0`0`0`0" in script and "convertfrom-json" in low and "$code.params" in low


def is_legacy_exec_wrapper(script: str) -> bool:
    """The ≤ 2.18 stub: ``$exec_wrapper_str = $input | Out-String`` split on ``\\0\\0\\0\\0``."""
    low = script.lower()
    return "$exec_wrapper_str" in low and "`0`0`0`0" in script


def _json(data: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise PayloadError("%s is not JSON: %s" % (what, exc)) from exc
    if not isinstance(value, dict):
        raise PayloadError("%s is not a JSON object" % what)
    return value


def module_name_from_script(script_name: str, module_args: dict[str, Any]) -> str:
    """``ansible_collections.ns.coll.plugins.modules.name.ps1`` → ``ns.coll.name``."""
    match = _MODULE_SCRIPT.match(script_name)
    if match:
        return "%s.%s.%s" % match.groups()
    match = _BUILTIN_MODULE_SCRIPT.match(script_name)
    if match:
        return "ansible.builtin." + match.group(1)
    name = module_args.get("_ansible_module_name")
    if isinstance(name, str) and name:
        return name
    raise PayloadError("cannot tell the module from manifest Script %r (and no _ansible_module_name)" % script_name)


def _script_source(manifest: dict[str, Any], name: str) -> str:
    entry = (manifest.get("scripts") or {}).get(name)
    if not isinstance(entry, dict) or "script" not in entry:
        raise PayloadError("exec manifest has no script %r" % name)
    try:
        return base64.b64decode(entry["script"]).decode("utf-8-sig")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise PayloadError("manifest script %r is not base64 UTF-8: %s" % (name, exc)) from exc


def _decode_manifest(script: str, stdin: bytes) -> Invocation:
    parts = stdin.split(SEPARATOR, 2)
    if len(parts) < 2:
        raise PayloadError(
            "bootstrap input has no exec manifest (no \\n\\0\\0\\0\\0\\n separator in %d bytes)" % len(stdin)
        )
    bootstrap = _json(parts[0], "bootstrap JSON")
    if bootstrap.get("name") != "exec_wrapper":
        raise PayloadError("bootstrap JSON names %r, expected 'exec_wrapper'" % bootstrap.get("name"))
    manifest = _json(parts[1], "exec manifest")
    actions = manifest.get("actions") or []
    if not actions or not isinstance(actions[-1], dict):
        raise PayloadError("exec manifest has no actions")
    last = actions[-1]
    name = str(last.get("name", ""))
    params = dict(last.get("params") or {})
    inv = Invocation(
        kind="",
        script=script,
        params=params,
        wrappers=[str(a.get("name")) for a in actions[:-1]],
        data=parts[2] if len(parts) > 2 else b"",
    )
    unknown = [w for w in inv.wrappers if w not in _PASS_THROUGH_WRAPPERS | _ASYNC_WRAPPERS]
    if unknown:
        raise PayloadError("exec manifest wraps the last action in unknown actions %s" % unknown)
    if name in _ACTION_KINDS:
        inv.kind = _ACTION_KINDS[name]
    elif name == "module_wrapper.ps1":
        _classify_module_wrapper(inv, manifest)
    else:
        raise PayloadError("exec manifest's last action %r is not one the simulator knows" % name)
    return inv


def _classify_module_wrapper(inv: Invocation, manifest: dict[str, Any]) -> None:
    script_name = str(inv.params.get("Script", ""))
    if inv.params.get("ForModule"):
        variables = {v.get("Name"): v.get("Value") for v in inv.params.get("Variables") or [] if isinstance(v, dict)}
        args = variables.get("complex_args")
        if not isinstance(args, dict):
            raise PayloadError("module_wrapper action without a complex_args variable")
        inv.kind = KIND_MODULE
        inv.module_args = args
        inv.module = module_name_from_script(script_name, args)
        inv.manifest = manifest
    else:
        inv.kind = KIND_SCRIPT
        inv.module = script_name
        inv.script_body = _script_source(manifest, script_name)


def _decode_legacy(script: str, stdin: bytes) -> Invocation:
    """ansible-core ≤ 2.18: ``<exec_wrapper source>\\0\\0\\0\\0<JSON payload>``."""
    parts = stdin.split(LEGACY_SEPARATOR, 1)
    if len(parts) != 2:
        raise PayloadError("legacy exec wrapper input has no \\0\\0\\0\\0 separator")
    payload = _json(parts[1].strip(), "legacy exec payload")
    actions = [str(a) for a in payload.get("actions") or []]
    inv = Invocation(
        kind="",
        script=script,
        core="<=2.18",
        wrappers=[
            {
                "become": "become_wrapper.ps1",
                "async_watchdog": "async_watchdog.ps1",
                "async_wrapper": "async_wrapper.ps1",
            }.get(a, a)
            for a in actions
            if a not in ("module_powershell_wrapper", "module_script_wrapper", "exec")
        ],
    )
    if "module_script_wrapper" in actions:
        inv.kind = KIND_SCRIPT
        inv.module = "ansible.builtin.script"
        inv.script_body = base64.b64decode(payload.get("module_entry", "")).decode("utf-8-sig")
    elif "module_powershell_wrapper" in actions:
        inv.kind = KIND_MODULE
        inv.module_args = dict(payload.get("module_args") or {})
        inv.module = module_name_from_script("", inv.module_args)
    else:
        raise PayloadError("legacy exec payload with actions %s is not one the simulator knows" % actions)
    return inv


def decode(
    command_line: str, stdin: bytes = b"", read_remote_file: Callable[[str], bytes | None] | None = None
) -> Invocation:
    """Classify one WinRS command (its joined command line and all of its stdin)."""
    call = decode_command_line(command_line)
    if call is None:
        # Not PowerShell at all (a plain cmd.exe line): the raw table decides.
        return Invocation(kind=KIND_RAW, script=command_line)
    if is_bootstrap_wrapper(call.script):
        if not stdin and call.arguments:
            # Not pipelined: -EncodedArguments names the file holding the input.
            content = read_remote_file(call.arguments[0]) if read_remote_file else None
            if content is None:
                raise PayloadError("bootstrap input file %r does not exist on the host" % call.arguments[0])
            stdin = content.replace(b"\r\n", b"\n")
        return _decode_manifest(call.script, stdin)
    if is_legacy_exec_wrapper(call.script):
        return _decode_legacy(call.script, stdin)
    return Invocation(kind=KIND_RAW, script=call.script)


# ---------------------------------------------------------------------------- execution
def execute(host: SimHost, inv: Invocation, power: raw.PowerControl | None = None) -> Outcome:
    """Run a decoded invocation against the host model."""
    if inv.is_async:
        return _json_failure(
            "winsim: async is not simulated (module %s); run the task without async/poll" % (inv.module or inv.kind),
            label=inv.module or inv.kind,
        )
    handler = {
        KIND_MODULE: _run_module,
        KIND_SCRIPT: _run_script,
        KIND_PUT: _put_file,
        KIND_FETCH: _fetch_file,
        KIND_MKDTEMP: _mkdtemp,
        KIND_EXPAND_USER: _expand_user,
    }.get(inv.kind)
    if handler is not None:
        return handler(host, inv, power)
    result = raw.run_raw(host, inv.script, power)
    return Outcome(result.rc, result.stdout, result.stderr, label=result.kind)


def _json_failure(msg: str, label: str) -> Outcome:
    return Outcome(1, json.dumps({"failed": True, "changed": False, "msg": msg}), label=label)


def _run_module(host: SimHost, inv: Invocation, power: raw.PowerControl | None) -> Outcome:
    assert inv.module
    if inv.module.startswith(INTERPRETED) and inv.manifest:
        return _interpret(host, inv)
    rc, result, ctx = twins.dispatch(host, inv.module, inv.module_args)
    return Outcome(rc, json.dumps(result), delay=max(0.0, float(ctx.delay or 0.0)), label=inv.module)


def _interpret(host: SimHost, inv: Invocation) -> Outcome:
    """Run the module's own PowerShell (and its module utils) as module_wrapper.ps1 would."""
    from .ps import report
    from .ps.errors import PSUnsupported
    from .ps.wrapper import run_module

    params = inv.params
    script_name = str(params.get("Script", ""))
    try:
        utils = [(str(name), _script_source(inv.manifest, str(name))) for name in params.get("PowerShellModules") or []]
        run = run_module(
            host,
            script_name,
            _script_source(inv.manifest, script_name),
            utils,
            [str(name).removesuffix(".cs") for name in params.get("CSharpModules") or []],
            list(params.get("Variables") or []),
            dict(params.get("Environment") or {}),
        )
    except PSUnsupported as exc:
        message = "winsim: unsupported PowerShell at %s:%s: %s" % (exc.file, exc.line, exc.what)
        report.unsupported(inv.module or script_name, message)
        return _json_failure(message, label=inv.module or "module")
    if run.result is not None:
        report.result(inv.module or script_name, run.result)
    return Outcome(run.rc, run.stdout, label=inv.module or "module")


def _run_script(host: SimHost, inv: Invocation, power: raw.PowerControl | None) -> Outcome:
    """``ansible.builtin.script``: run the uploaded file named in ``& <path> <args>; exit $LASTEXITCODE``."""
    match = _SCRIPT_BODY.match(inv.script_body or "")
    if not match:
        return Outcome(
            1, "", "winsim: unsupported script wrapper body: %s\r\n" % (inv.script_body or "")[:200], label="script"
        )
    path = raw.unquote(match.group(1).strip())
    content = host.read_file(path)
    if content is None:
        return Outcome(
            1,
            "",
            "& : The term '%s' is not recognized as the name of a cmdlet, function, script file, "
            "or operable program.\r\n" % path,
            label="script",
        )
    result = raw.run_raw(host, content.decode("utf-8-sig", errors="replace"), power)
    return Outcome(result.rc, result.stdout, result.stderr, label="script:" + result.kind)


def _put_file(host: SimHost, inv: Invocation, power: raw.PowerControl | None) -> Outcome:
    path = str(inv.params.get("Path", ""))
    try:
        data = b"".join(base64.b64decode(line) for line in inv.data.split(b"\r\n") if line.strip())
    except binascii.Error as exc:
        return Outcome(
            1, "", "winsim: put_file input for %s is not base64 lines: %s\r\n" % (path, exc), label="put_file"
        )
    sha1 = host.write_file(path, data)
    return Outcome(0, '{"sha1":"%s"}\r\n' % sha1, label="put_file")


def _fetch_file(host: SimHost, inv: Invocation, power: raw.PowerControl | None) -> Outcome:
    path = str(inv.params.get("Path", ""))
    size = int(inv.params.get("BufferSize", 524288))
    offset = int(inv.params.get("Offset", 0))
    content = host.read_file(path)
    if content is None:
        if host.is_dir(path):
            return Outcome(0, "[DIR]\r\n", label="fetch_file")
        return Outcome(1, "", "%s does not exist\r\n" % path, label="fetch_file")
    chunk = content[offset : offset + size]
    return Outcome(0, (base64.b64encode(chunk).decode("ascii") + "\r\n") if chunk else "", label="fetch_file")


def _mkdtemp(host: SimHost, inv: Invocation, power: raw.PowerControl | None) -> Outcome:
    directory = str(inv.params.get("Directory") or "%TEMP%")
    name = str(inv.params.get("Name") or "")
    if not name:
        return Outcome(1, "", "winsim: powershell_mkdtemp.ps1 without a Name\r\n", label="mkdtemp")
    return Outcome(0, host.mkdtemp(directory, name) + "\r\n", label="mkdtemp")


def _expand_user(host: SimHost, inv: Invocation, power: raw.PowerControl | None) -> Outcome:
    path = str(inv.params.get("Path", ""))
    profile = "C:\\Users\\%s" % (host.state.get("credentials") or {}).get("username", "ansible")
    if path == "~":
        out = profile
    elif path.startswith(("~\\", "~/")):
        out = ntpath.join(profile, path[2:].replace("/", "\\"))
    else:
        out = path
    return Outcome(0, out + "\r\n", label="expand_user")
