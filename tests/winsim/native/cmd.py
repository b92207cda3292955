"""cmd.exe itself: its switches, the quote rules of ``/c``, its exit code (Microsoft Learn: "cmd")."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from .errors import NativeUnsupported
from .process import SYSTEM32, Ctx, Environ, program, resolve
from .shell import CmdExit, Shell


def _after_program(command_line: str) -> str:
    text = command_line.lstrip(" \t")
    if text.startswith('"'):
        end = text.find('"', 1)
        return text[end + 1 :] if end >= 0 else ""
    i = 0
    while i < len(text) and text[i] not in " \t":
        i += 1
    return text[i:]


def _strip_c_quotes(text: str, host: Any, env: Environ, cwd: str, keep_rule: bool) -> str:
    """``cmd /?``: the quote rules for the text after /c or /k."""
    body = text.lstrip(" \t")
    if keep_rule and body.count('"') == 2 and body.startswith('"'):
        inner = body[1 : body.index('"', 1)]
        if not any(ch in inner for ch in "&<>()@^|") and any(ch in inner for ch in " \t"):
            try:
                if resolve(host, inner, env, cwd) is not None:
                    return body
            except NativeUnsupported:
                return body
    if body.startswith('"'):
        last = body.rfind('"')
        return body[1:last] + body[last + 1 :] if last > 0 else body[1:]
    return body


@program(SYSTEM32 + "\\cmd.exe")
def cmd_exe(ctx: Ctx, argv: list[str], command_line: str) -> Generator[float, None, int]:
    rest = _after_program(command_line)
    echo_on = True
    strip_rule_s = False
    command = None
    i = 0
    while i < len(rest):
        if rest[i] in " \t":
            i += 1
            continue
        if rest[i] != "/":
            raise NativeUnsupported("cmd.exe without /c: %s" % command_line)
        switch = rest[i + 1 : i + 2].lower()
        if switch in ("c", "k"):
            if switch == "k":
                raise NativeUnsupported("cmd.exe /k: %s" % command_line)
            command = rest[i + 2 :]
            break
        word_end = i + 1
        while word_end < len(rest) and rest[word_end] not in " \t/":
            word_end += 1
        word = rest[i:word_end].lower()
        if word == "/d":
            pass
        elif word == "/q":
            echo_on = False
        elif word == "/s":
            strip_rule_s = True
        elif word in ("/a", "/u", "/e:on", "/v:off", "/f:off"):
            if word == "/u":
                raise NativeUnsupported("cmd.exe /u (UTF-16 output): %s" % command_line)
        else:
            raise NativeUnsupported("cmd.exe switch %s: %s" % (word, command_line))
        i = word_end
    if command is None:
        raise NativeUnsupported("cmd.exe without /c (an interactive shell): %s" % command_line)
    shell = Shell(ctx, echo_on=echo_on)
    line = _strip_c_quotes(command, ctx.host, ctx.env, ctx.cwd, keep_rule=not strip_rule_s)
    try:
        yield from shell.run_command_line(line)
    except CmdExit as exc:
        return exc.code
    # UNCONFIRMED: ERRORLEVEL is 9009 after a command that is not found, cmd.exe's exit code is 1.
    return 1 if shell.not_found and shell.errorlevel == 9009 else shell.errorlevel
