"""cmd.exe: ``cmd /c <command>`` and batch files, for what the portal's scripts use.

Modelled (Microsoft Learn: "cmd", "echo", "set", "if", "goto", "call", "exit", "pause",
"del", "Command redirection operators"): ``@``, ``echo`` (``echo.``, ``echo off``), ``rem``,
``::``, labels, ``set`` (``set "x=y"``, ``set /a``, ``set /p``), ``if [/i] [not]`` with ``==``,
``EQU NEQ LSS LEQ GTR GEQ``, ``exist``, ``defined``, ``errorlevel`` and ``else``, blocks, ``goto``
(``:eof``), ``call :label``, ``exit [/b] [n]``, ``pause``, ``del``, ``cd``, ``type``, pipes, ``&``,
``&&``, ``||`` and redirections; external programs are found on ``PATH`` and run as child
processes. ``ERRORLEVEL`` and ``CD`` are dynamic variables unless set.

A batch file runs with echo on until ``@echo off``: echoing commands is not modelled (a command
that would be echoed is NativeUnsupported). A ``goto`` loop that comes back to the same label
with the same variables, ERRORLEVEL and input, at the same simulated time (only internal
commands in between), would spin for ever on Windows: the model detects it and the process
waits for ever instead (it ends when it is killed).
"""

from __future__ import annotations

import math
import ntpath
from collections.abc import Generator
from dataclasses import dataclass

from . import batch, setexpr
from .batch import AndOr, Block, Comment, If, Node, Pipe, Redirect, Seq, Simple
from .errors import NativeUnsupported
from .process import (
    OEM,
    SYSTEM32,
    Capture,
    Ctx,
    Environ,
    FileOut,
    InStream,
    Nul,
    OutStream,
    program,
    resolve,
)

Gen = Generator[float, None, None]

NOT_RECOGNISED = "'%s' is not recognized as an internal or external command,\r\noperable program or batch file.\r\n"
NO_PATH = "The system cannot find the path specified.\r\n"
NO_FILE = "The system cannot find the file specified.\r\n"
_ECHO_CHARS = "./\\:[]+(=;,"
_LABEL_END = " \t+:;,=()&|<>^"


class Goto(Exception):
    def __init__(self, label: str) -> None:
        super().__init__(label)
        self.label = label


class BatchExit(Exception):
    """``exit /b``: the batch (or the ``call``ed label) ends with this ERRORLEVEL."""

    def __init__(self, code: int | None) -> None:
        super().__init__(code)
        self.code = code


class CmdExit(Exception):
    """``exit``: cmd.exe itself ends with this exit code."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class Handles:
    stdin: InStream
    stdout: OutStream
    stderr: OutStream


class Script:
    """A batch file's lines, with a parse cache per (line, expanded text)."""

    def __init__(self, path: str, data: bytes) -> None:
        self.path = path
        self.name = ntpath.basename(path)
        text = data.decode(OEM, errors="replace")
        # cmd.exe drops every carriage return of a line it reads.
        self.lines = [line.replace("\r", "") for line in text.split("\n")]
        self._cache: dict[int, list[tuple[list[str], Node]]] = {}

    def label_at(self, index: int) -> str | None:
        text = self.lines[index].lstrip(" \t")
        if not text.startswith(":"):
            return None
        name = []
        for ch in text[1:]:
            if ch in _LABEL_END:
                break
            name.append(ch)
        return "".join(name).lower()

    def find_label(self, label: str, start: int) -> int | None:
        wanted = label.lower()
        order = list(range(start, len(self.lines))) + list(range(min(start, len(self.lines))))
        for i in order:
            if self.label_at(i) == wanted:
                return i
        return None

    def parse(self, index: int, expand) -> tuple[Node, int]:
        """Parse the statement at ``index`` (expanding each line as cmd reads it)."""
        first = expand(self.lines[index], index)
        for texts, node in self._cache.get(index, []):
            if texts[0] == first and all(
                index + k < len(self.lines) and expand(self.lines[index + k], index + k) == t
                for k, t in enumerate(texts[1:], 1)
            ):
                return node, len(texts)
        read = [first]
        cursor = [index]

        def more() -> tuple[str, int] | None:
            cursor[0] += 1
            if cursor[0] >= len(self.lines):
                return None
            text = expand(self.lines[cursor[0]], cursor[0])
            read.append(text)
            return text, cursor[0] + 1

        node, used = batch.parse(first, index + 1, more, self.name)
        self._cache.setdefault(index, []).append((read[:used], node))
        return node, used


class Shell:
    """The state of one cmd.exe: variables, ERRORLEVEL, echo, the running batch files."""

    def __init__(self, ctx: Ctx, echo_on: bool = True) -> None:
        self.ctx = ctx
        self.env: Environ = ctx.env
        self.errorlevel = 0
        self.echo_on = echo_on
        self.std = Handles(ctx.stdin, ctx.stdout, ctx.stderr)
        self.where = "cmd /c"
        self.script: Script | None = None
        self.not_found = False  # the last command was not found (see cmd_exe)
        self._seen: dict[tuple, float] = {}

    # -- variables
    def lookup(self, name: str) -> str | None:
        if name in self.env:
            return self.env[name]
        upper = name.upper()
        if upper == "ERRORLEVEL":
            return str(self.errorlevel)
        if upper == "CD":
            return self.ctx.cwd
        if upper == "CMDEXTVERSION":
            return "2"
        if upper in ("DATE", "TIME", "RANDOM", "CMDCMDLINE", "HIGHESTNUMANODENUMBER"):
            raise NativeUnsupported("the dynamic variable %%%s%%" % name, self.where)
        return None

    def fail(self, what: str, node: Node | None = None) -> NativeUnsupported:
        where = self.where
        if node is not None and self.script is not None:
            where = "%s:%d" % (self.script.name, node.line)
        return NativeUnsupported(what, where)

    def full_path(self, path: str) -> str:
        path = path.replace('"', "")
        return ntpath.normpath(path if ntpath.isabs(path) else ntpath.join(self.ctx.cwd, path))

    # -- the /c command line and batch files
    def run_command_line(self, text: str) -> Gen:
        self.where = "cmd /c"
        line = batch.expand(text, self.lookup, None, self.where)
        node, _used = batch.parse(line, 1, lambda: None, "cmd /c")
        try:
            yield from self.execute(node, self.std)
        except BatchExit as exc:
            if exc.code is not None:
                self.errorlevel = exc.code
        except Goto:
            raise self.fail("goto outside a batch file") from None

    def run_batch(self, script: Script, args: list[str], start: int = 0) -> Gen:
        """Run a batch file from line ``start`` until its end, ``goto :eof`` or ``exit /b``."""
        saved = self.where, self.script
        self.script = script
        pc = start
        try:
            while pc < len(script.lines):
                raw = script.lines[pc]
                stripped = raw.lstrip(" \t")
                if not stripped or stripped.startswith(":"):
                    pc += 1
                    continue
                self.where = "%s:%d" % (script.name, pc + 1)

                def expand(text: str, index: int) -> str:
                    return batch.expand(text, self.lookup, args, "%s:%d" % (script.name, index + 1))

                node, used = script.parse(pc, expand)
                if self.echo_on and not stripped.startswith("@"):
                    raise self.fail("a command echoed by 'echo on' (add @echo off)")
                try:
                    yield from self.execute(node, self.std)
                except Goto as jump:
                    if jump.label == "eof":
                        return
                    target = script.find_label(jump.label, pc + used)
                    if target is None:
                        self.ctx.err("The system cannot find the batch label specified - %s\r\n" % jump.label)
                        self.errorlevel = 1
                        return
                    key = (id(script), target, self.env.snapshot(), self.errorlevel, self.std.stdin.position)
                    now = self.ctx.now()
                    if self._seen.get(key) == now:
                        yield math.inf  # an endless loop of internal commands: it spins until killed
                    self._seen[key] = now
                    pc = target + 1
                    continue
                pc += used
        except BatchExit as exc:
            if exc.code is not None:
                self.errorlevel = exc.code
        finally:
            self.where, self.script = saved

    # -- execution
    def execute(self, node: Node, h: Handles) -> Gen:
        if isinstance(node, Comment):
            return
        opened = self.redirect(node.redirects, h)
        if opened is None:
            return
        if isinstance(node, Simple):
            yield from self.simple(node, opened)
        elif isinstance(node, Seq | Block):
            for part in node.parts if isinstance(node, Seq) else node.body:
                yield from self.execute(part, opened)
        elif isinstance(node, AndOr):
            assert node.left is not None and node.right is not None
            yield from self.execute(node.left, opened)
            if (self.errorlevel == 0) == (node.op == "&&"):
                yield from self.execute(node.right, opened)
        elif isinstance(node, Pipe):
            assert node.left is not None and node.right is not None
            buf = Capture()
            yield from self.isolated(node.left, Handles(opened.stdin, buf, opened.stderr), keep_level=False)
            piped = Handles(InStream("pipe", bytes(buf.data)), opened.stdout, opened.stderr)
            yield from self.isolated(node.right, piped, keep_level=True)
        elif isinstance(node, If):
            assert node.then is not None
            if self.test(node):
                yield from self.execute(node.then, opened)
            elif node.otherwise is not None:
                yield from self.execute(node.otherwise, opened)
        else:
            raise self.fail("the command %r" % type(node).__name__, node)

    def isolated(self, node: Node, h: Handles, keep_level: bool) -> Gen:
        """One side of a pipe: a program runs directly, anything else in a child cmd.exe."""
        if isinstance(node, Simple) and self._external_word(node.text) is not None:
            level = self.errorlevel
            yield from self.execute(node, h)
            if not keep_level:
                self.errorlevel = level
            return
        child = Shell(
            Ctx(self.ctx.host, self.ctx.process, self.env.copy(), self.ctx.cwd, h.stdin, h.stdout, h.stderr),
            echo_on=False,
        )
        child.where = self.where
        yield from child.execute(node, h)
        if keep_level:
            self.errorlevel = child.errorlevel

    def redirect(self, redirects: list[Redirect], h: Handles) -> Handles | None:
        if not redirects:
            return h
        handles: list = [h.stdin, h.stdout, h.stderr]
        for r in redirects:
            if r.handle > 2:
                raise self.fail("redirection of handle %d" % r.handle)
            if r.op == ">&":
                source = int(r.target)
                if source > 2:
                    raise self.fail("redirection to handle %d" % source)
                handles[r.handle] = handles[source]
                continue
            if r.target.lower() in ("nul", "nul:"):
                handles[r.handle] = InStream("nul") if r.op == "<" else Nul()
                continue
            if r.target.lower() in ("con", "con:", "prn", "aux"):
                raise self.fail("redirection to the device %s" % r.target)
            path = self.full_path(r.target)
            host = self.ctx.host
            if r.op == "<":
                data = host.read_file(path)
                if data is None:
                    h.stderr.write(NO_FILE.encode(OEM))
                    self.errorlevel = 1
                    return None
                handles[0] = InStream("file", data)
                continue
            if not host.is_dir(ntpath.dirname(path)):
                h.stderr.write(NO_PATH.encode(OEM))
                self.errorlevel = 1
                return None
            if host.is_dir(path):
                h.stderr.write(b"Access is denied.\r\n")
                self.errorlevel = 1
                return None
            handles[r.handle] = FileOut(host, path, append=r.op == ">>")
        return Handles(*handles)

    def test(self, node: If) -> bool:
        if node.kind == "exist":
            target = node.left.replace('"', "")
            if any(ch in target for ch in "*?"):
                raise self.fail("IF EXIST with wildcards", node)
            result = self.ctx.host.path_exists(self.full_path(target))
        elif node.kind == "defined":
            result = node.left in self.env
        elif node.kind == "errorlevel":
            number = setexpr.parse_number(node.left)
            if number is None:
                raise self.fail("IF ERRORLEVEL %s" % node.left, node)
            result = self.errorlevel >= number
        else:
            left, right = node.left, node.right
            if node.icase:
                left, right = left.lower(), right.lower()
            if node.op == "==":
                result = left == right
            else:
                a, b = setexpr.parse_number(node.left), setexpr.parse_number(node.right)
                x: int | str = a if a is not None and b is not None else left
                y: int | str = b if a is not None and b is not None else right
                result = {
                    "EQU": x == y,
                    "NEQ": x != y,
                    "LSS": x < y,  # type: ignore[operator]
                    "LEQ": x <= y,  # type: ignore[operator]
                    "GTR": x > y,  # type: ignore[operator]
                    "GEQ": x >= y,  # type: ignore[operator]
                }[node.op]
        return result != node.negate

    # -- one command
    @staticmethod
    def _split_word(text: str) -> tuple[str, str]:
        text = text.lstrip(" \t;,=")
        if text.startswith('"'):
            end = text.find('"', 1)
            end = len(text) if end < 0 else end + 1
            return text[:end], text[end:]
        i = 0
        while i < len(text) and text[i] not in " \t":
            if text[i] == '"':
                close = text.find('"', i + 1)
                i = len(text) if close < 0 else close + 1
                continue
            i += 1
        return text[:i], text[i:]

    def _builtin(self, word: str) -> tuple[str, str] | None:
        low = word.lower()
        for name in BUILTINS:
            if low == name:
                return name, ""
            if low.startswith(name) and low[len(name)] in _ECHO_CHARS:
                return name, word[len(name) :]
        return None

    def _external_word(self, text: str) -> str | None:
        word, _rest = self._split_word(text)
        return None if not word or self._builtin(word) is not None else word

    def simple(self, node: Simple, h: Handles) -> Gen:
        text = node.text.lstrip(" \t;,=")
        if not text.strip():
            return
        self.not_found = False
        word, rest = self._split_word(text)
        builtin = self._builtin(word)
        if builtin is not None:
            name, glued = builtin
            yield from BUILTINS[name](self, glued + rest, h, node)
            return
        yield from self.external(text, word, h, node)

    def external(self, text: str, word: str, h: Handles, node: Node, via_call: bool = False) -> Gen:
        name = word.replace('"', "")
        found = resolve(self.ctx.host, name, self.env, self.ctx.cwd)
        if found is None:
            h.stderr.write((NOT_RECOGNISED % word).encode(OEM))
            self.errorlevel = 9009
            self.not_found = True
            return
        image, spec = found
        if spec is None:
            data = self.ctx.host.read_file(image) or b""
            args = [word, *batch_args(text[len(word) :])]
            if self.script is not None and not via_call:
                raise self.fail("running a batch file from a batch file without CALL", node)
            saved = self.std
            self.std = h
            try:
                yield from self.run_batch(Script(image, data), args)
            finally:
                self.std = saved
            return
        code = yield from self.ctx.spawn(text.rstrip(" \t"), found, h.stdin, h.stdout, h.stderr, self.env.copy())
        self.errorlevel = code


def batch_args(text: str) -> list[str]:
    """Batch parameters: separated by spaces, tabs, commas, semicolons or equals; quotes group and stay."""
    out: list[str] = []
    buf: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
            buf.append(ch)
        elif ch in " \t,;=" and not quoted:
            if buf:
                out.append("".join(buf))
                buf = []
        else:
            buf.append(ch)
    if buf:
        out.append("".join(buf))
    return out


# ----------------------------------------------------------------------------- internal commands
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
    yield  # pragma: no cover


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
    yield  # pragma: no cover


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


# ----------------------------------------------------------------------------- cmd.exe itself
def _after_program(command_line: str) -> str:
    text = command_line.lstrip(" \t")
    if text.startswith('"'):
        end = text.find('"', 1)
        return text[end + 1 :] if end >= 0 else ""
    i = 0
    while i < len(text) and text[i] not in " \t":
        i += 1
    return text[i:]


def _strip_c_quotes(text: str, host, env: Environ, cwd: str, keep_rule: bool) -> str:
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
