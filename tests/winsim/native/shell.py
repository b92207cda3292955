"""cmd.exe's interpreter: batch files and ``/c`` command lines, for what the portal's scripts use.

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
from typing import Any

from . import batch, setexpr
from .batch import AndOr, Block, Comment, If, Node, Pipe, Redirect, Seq, Simple
from .errors import NativeUnsupported
from .process import OEM, Capture, Ctx, Environ, FileOut, InStream, Nul, OutStream, resolve

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

    def parse(self, index: int, expand: Any) -> tuple[Node, int]:
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
        for name in _builtins():
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
            yield from _builtins()[name](self, glued + rest, h, node)
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


def _builtins() -> dict:
    from .builtin import BUILTINS  # they need Shell: imported when first used

    return BUILTINS
