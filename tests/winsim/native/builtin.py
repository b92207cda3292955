"""cmd.exe's internal commands (Microsoft Learn: "echo", "set", "goto", "call", "exit", "pause",
"del", "cd", "type", "rem"); ``if`` and blocks are in the parser (``batch.py``)."""

from __future__ import annotations

import math

from . import setexpr
from .batch import Node
from .process import OEM
from .shell import NO_FILE, NO_PATH, BatchExit, CmdExit, Gen, Goto, Handles, Shell, batch_args


def _echo(sh: Shell, rest: str, h: Handles, node: Node) -> Gen:
    if not rest.strip(" \t"):
        h.stdout.write(("ECHO is %s.\r\n" % ("on" if sh.echo_on else "off")).encode(OEM))
        return
    if rest[0] in " \t":
        body = rest[1:]
        if body.strip(" \t").lower() in ("on", "off"):
            sh.echo_on = body.strip(" \t").lower() == "on"
            return
    else:
        body = rest[1:]
    h.stdout.write((body + "\r\n").encode(OEM, errors="replace"))
    yield from ()


def _set(sh: Shell, rest: str, h: Handles, node: Node) -> Gen:
    text = rest.lstrip(" \t")
    low = text.lower()
    if low.startswith("/a") and (len(text) == 2 or text[2] in ' \t"'):
        try:
            setexpr.evaluate(text[2:], sh.env, sh.where)
        except setexpr.DivideByZero:
            h.stderr.write(b"Divide by zero error.\r\n")
            sh.errorlevel = 1073750993
        return
    if low.startswith("/p") and (len(text) == 2 or text[2] in ' \t"'):
        yield from _set_p(sh, text[2:].lstrip(" \t"), h)
        return
    if text.startswith("/"):
        raise sh.fail("SET %s" % text.split()[0], node)
    if text.startswith('"'):
        end = text.rfind('"')
        text = text[1:end] if end > 0 else text[1:]
    if "=" not in text:
        matches = sorted((k, v) for k, v in sh.env.items() if k.lower().startswith(text.strip().lower()))
        for k, v in matches:
            h.stdout.write(("%s=%s\r\n" % (k, v)).encode(OEM))
        if not matches:
            h.stderr.write(("Environment variable %s not defined\r\n" % text.strip()).encode(OEM))
            sh.errorlevel = 1
        return
    name, value = text.split("=", 1)
    if not name:
        raise sh.fail("SET with an empty name", node)
    if value:
        sh.env[name] = value
    else:
        sh.env.pop(name, None)


def _set_p(sh: Shell, text: str, h: Handles) -> Gen:
    """``SET /P var=prompt``: print the prompt, read one line; nothing read: var unchanged, ERRORLEVEL 1."""
    if text.startswith('"'):
        end = text.rfind('"')
        text = text[1:end] if end > 0 else text[1:]
    if "=" not in text:
        raise sh.fail("SET /P without '='")
    name, prompt = text.split("=", 1)
    if len(prompt) >= 2 and prompt.lstrip(" ").startswith('"') and prompt.endswith('"'):
        prompt = prompt.lstrip(" ")[1:-1]
    h.stdout.write(prompt.encode(OEM, errors="replace"))
    if h.stdin.console:
        yield math.inf  # nobody types at this console
        return
    line = h.stdin.read_line()
    if not line:
        sh.errorlevel = 1
        return
    sh.env[name] = line


def _goto(sh: Shell, rest: str, h: Handles, node: Node) -> Gen:
    label = rest.strip(" \t").lstrip(":").split()[0] if rest.strip(" \t:") else ""
    if not label:
        raise sh.fail("GOTO without a label", node)
    raise Goto(label.lower())
    yield  # pragma: no cover  # pylint: disable=unreachable


def _call(sh: Shell, rest: str, h: Handles, node: Node) -> Gen:
    text = rest.strip(" \t")
    if text.startswith(":"):
        parts = batch_args(text)
        label = parts[0][1:].lower()
        script = sh.script
        if script is None:
            raise sh.fail("CALL :label outside a batch file", node)
        target = script.find_label(label, 0)
        if target is None:
            h.stderr.write(("The system cannot find the batch label specified - %s\r\n" % label).encode(OEM))
            sh.errorlevel = 1
            return
        yield from sh.run_batch(script, parts, target + 1)
        return
    word, _rest = sh._split_word(text)
    if sh._builtin(word) is not None:
        raise sh.fail("CALL of an internal command", node)
    yield from sh.external(text, word, h, node, via_call=True)


def _exit(sh: Shell, rest: str, h: Handles, node: Node) -> Gen:
    words = rest.split()
    to_batch = bool(words) and words[0].lower() == "/b"
    if to_batch:
        words = words[1:]
    code = setexpr.parse_number(words[0]) if words else None
    if words and code is None:
        code = 0
    if to_batch:
        raise BatchExit(code)
    # UNCONFIRMED: without a number cmd.exe ends with the current ERRORLEVEL.
    raise CmdExit(sh.errorlevel if code is None else code)
    yield  # pragma: no cover  # pylint: disable=unreachable


def _pause(sh: Shell, rest: str, h: Handles, node: Node) -> Gen:
    h.stdout.write(b"Press any key to continue . . . ")
    if h.stdin.console:
        yield math.inf  # a key from a console nobody types into
        return
    h.stdin.read_char()
    h.stdout.write(b"\r\n")


def _del(sh: Shell, rest: str, h: Handles, node: Node) -> Gen:
    words = batch_args(rest)
    switches = [w for w in words if w.startswith("/")]
    paths = [w for w in words if not w.startswith("/")]
    if any(s.lower() not in ("/f", "/q") for s in switches) or len(paths) != 1:
        raise sh.fail("DEL %s" % rest.strip(), node)
    if any(ch in paths[0] for ch in "*?"):
        raise sh.fail("DEL with wildcards", node)
    path = sh.full_path(paths[0])
    host = sh.ctx.host
    if host.read_file(path) is None:
        h.stderr.write(("Could Not Find %s\r\n" % path).encode(OEM))
        return
    host.remove_path(path)
    yield from ()


def _cd(sh: Shell, rest: str, h: Handles, node: Node) -> Gen:
    target = rest.strip(" \t")
    if not target:
        h.stdout.write((sh.ctx.cwd + "\r\n").encode(OEM))
        return
    if target.lower().startswith("/d"):
        target = target[2:].strip(" \t")
    path = sh.full_path(target)
    if not sh.ctx.host.is_dir(path):
        h.stderr.write(NO_PATH.encode(OEM))
        sh.errorlevel = 1
        return
    sh.ctx.cwd = path
    yield from ()


def _type(sh: Shell, rest: str, h: Handles, node: Node) -> Gen:
    words = batch_args(rest)
    if len(words) != 1:
        raise sh.fail("TYPE %s" % rest.strip(), node)
    data = sh.ctx.host.read_file(sh.full_path(words[0]))
    if data is None:
        h.stderr.write(NO_FILE.encode(OEM))
        sh.errorlevel = 1
        return
    h.stdout.write(data)
    yield from ()


def _rem(sh: Shell, rest: str, h: Handles, node: Node) -> Gen:
    yield from ()


BUILTINS = {
    "echo": _echo,
    "set": _set,
    "goto": _goto,
    "call": _call,
    "exit": _exit,
    "pause": _pause,
    "del": _del,
    "erase": _del,
    "chdir": _cd,
    "cd": _cd,
    "type": _type,
    "rem": _rem,
}
