"""cmd.exe's reading of a command: percent expansion, then parsing into a command tree.

The phases follow cmd.exe's documented and well-known behaviour (Microsoft Learn: "cmd",
"if", "set", "Command redirection operators", "Using batch parameters"):

1. Percent expansion of the text as it is read. A parenthesised block is read whole (all its
   lines) before any of it runs, so ``%VAR%`` inside a block has the value it had before the
   block started: ``set lastError=%ERRORLEVEL%`` inside ``if ... ( ... )`` gets the ERRORLEVEL
   of the command before the ``if``. In a batch file an undefined ``%VAR%`` expands to nothing;
   on the ``/c`` command line it stays as written.
2. Parsing: ``"`` toggles quoting (cmd knows no ``\\"`` escape), ``^`` escapes the next
   character outside quotes, ``& && || |`` separate commands, ``( )`` make blocks, ``<``, ``>``,
   ``>>``, ``n>``, ``n>&m`` are redirections (taken out of the command text; the text keeps the
   space before them, so ``echo x >NUL`` prints ``x `` with a trailing space). Inside a block an
   unquoted ``)`` ends the block, wherever it is.

Delayed expansion (``!VAR!``), ``FOR``, ``%~`` modifiers, ``%VAR:~n%`` and line continuation
with ``^`` are not modelled: they raise NativeUnsupported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import NativeUnsupported

SPECIAL = "&|<>()"
DELIMS = " \t"


# ----------------------------------------------------------------------------- phase 1
def expand(text: str, lookup: Callable[[str], str | None], args: list[str] | None, where: str) -> str:
    """Percent expansion of one line. ``args`` None: the command-line mode of ``cmd /c``."""
    out: list[str] = []
    i = 0
    n = len(text)
    batch = args is not None
    while i < n:
        ch = text[i]
        if ch != "%":
            out.append(ch)
            i += 1
            continue
        nxt = text[i + 1] if i + 1 < n else ""
        if batch and nxt == "%":
            out.append("%")
            i += 2
            continue
        if batch and nxt.isdigit():
            k = int(nxt)
            out.append(args[k] if args is not None and k < len(args) else "")
            i += 2
            continue
        if batch and nxt == "*":
            out.append(" ".join(args[1:]) if args else "")
            i += 2
            continue
        if batch and nxt == "~":
            raise NativeUnsupported("%~ parameter modifiers", where)  # pylint: disable=raising-format-tuple
        end = text.find("%", i + 1)
        if end < 0:
            if batch:
                i += 1  # a lone % is dropped
            else:
                out.append(ch)
                i += 1
            continue
        name = text[i + 1 : end]
        if ":" in name:
            raise NativeUnsupported("substring/replace expansion %%%s%%" % name, where)
        value = lookup(name) if name else None
        if value is not None:
            out.append(value)
            i = end + 1
        elif batch:
            i = end + 1  # undefined: removed
        else:
            out.append(text[i:end])  # command line: left as written (its closing % is rescanned)
            i = end
    return "".join(out)


# ----------------------------------------------------------------------------- the tree
@dataclass
class Redirect:
    handle: int  # 0 stdin, 1 stdout, 2 stderr
    op: str  # "<", ">", ">>", ">&"
    target: str  # a path, NUL, or a handle number for ">&"


@dataclass
class Node:
    line: int = 0
    redirects: list[Redirect] = field(default_factory=list)


@dataclass
class Simple(Node):
    text: str = ""
    echo: bool = True  # False: "@" in front


@dataclass
class Block(Node):
    body: list[Node] = field(default_factory=list)


@dataclass
class If(Node):
    negate: bool = False
    icase: bool = False
    kind: str = "compare"  # compare, exist, defined, errorlevel
    left: str = ""
    op: str = "=="
    right: str = ""
    then: Node | None = None
    otherwise: Node | None = None


@dataclass
class Seq(Node):
    parts: list[Node] = field(default_factory=list)


@dataclass
class AndOr(Node):
    left: Node | None = None
    op: str = "&&"
    right: Node | None = None


@dataclass
class Pipe(Node):
    left: Node | None = None
    right: Node | None = None


@dataclass
class Comment(Node):
    pass


# ----------------------------------------------------------------------------- phase 2
class Source:
    """The characters of the statement being read; lines are pulled in while a block is open."""

    def __init__(self, first: str, first_line: int, more: Callable[[], tuple[str, int] | None]) -> None:
        self.text = first
        self.pos = 0
        self.line = first_line
        self.lines_read = 1
        self._more = more

    def peek(self, k: int = 0) -> str:
        i = self.pos + k
        return self.text[i] if i < len(self.text) else ""

    def at_eol(self) -> bool:
        return self.pos >= len(self.text)

    def next_line(self) -> bool:
        got = self._more()
        if got is None:
            return False
        self.text, self.line = got
        self.pos = 0
        self.lines_read += 1
        return True

    def skip_ws(self) -> None:
        while self.peek() and self.peek() in DELIMS:
            self.pos += 1

    def where(self, name: str) -> str:
        return "%s:%d" % (name, self.line)


class Parser:
    def __init__(self, src: Source, name: str) -> None:
        self.src = src
        self.name = name

    def fail(self, what: str) -> NativeUnsupported:
        return NativeUnsupported(what, self.src.where(self.name))

    # statement := seq (at depth 0: up to the end of the line)
    def statement(self) -> Node:
        node = self.seq(0)
        if not self.src.at_eol():
            raise self.fail("unexpected %r" % self.src.peek())
        return node

    def seq(self, depth: int) -> Node:
        line = self.src.line
        parts = [self.andor(depth)]
        while self.src.peek() == "&" and self.src.peek(1) != "&":
            self.src.pos += 1
            parts.append(self.andor(depth))
        return parts[0] if len(parts) == 1 else Seq(line=line, parts=parts)

    def andor(self, depth: int) -> Node:
        line = self.src.line
        node = self.pipe(depth)
        while True:
            two = self.src.peek() + self.src.peek(1)
            if two not in ("&&", "||"):
                return node
            self.src.pos += 2
            node = AndOr(line=line, left=node, op=two, right=self.pipe(depth))

    def pipe(self, depth: int) -> Node:
        line = self.src.line
        node = self.command(depth)
        while self.src.peek() == "|" and self.src.peek(1) != "|":
            self.src.pos += 1
            node = Pipe(line=line, left=node, right=self.command(depth))
        return node

    def command(self, depth: int) -> Node:
        src = self.src
        src.skip_ws()
        echo = True
        while src.peek() == "@":
            echo = False
            src.pos += 1
            src.skip_ws()
        line = src.line
        if src.peek() == "(":
            src.pos += 1
            return self.block(depth + 1, line)
        word = self._peek_word().lower()
        if word == "rem" or src.peek() == ":":
            src.pos = len(src.text)  # a remark or a label line: the rest of the line is ignored
            return Comment(line=line)
        if word == "if":
            src.pos += 2
            return self.if_(depth, line)
        if word in ("for", "setlocal", "endlocal"):
            raise self.fail("the %s command" % word.upper())
        return self.simple(depth, line, echo)

    def _peek_word(self) -> str:
        src = self.src
        i = src.pos
        out = []
        while i < len(src.text) and (src.text[i].isalnum() or src.text[i] == "_"):
            out.append(src.text[i])
            i += 1
        nxt = src.text[i] if i < len(src.text) else ""
        if nxt and nxt not in DELIMS + '(@/.;,=+:[]"' + SPECIAL:
            return ""
        return "".join(out)

    def block(self, depth: int, line: int) -> Block:
        src = self.src
        body: list[Node] = []
        while True:
            src.skip_ws()
            if src.at_eol():
                if not src.next_line():
                    raise self.fail("a block opened with ( is never closed")
                continue
            if src.peek() == ")":
                src.pos += 1
                break
            body.append(self.seq(depth))
            if src.peek() == "&":  # '&' before ')' or a new line
                src.pos += 1
        node = Block(line=line, body=body)
        node.redirects = self.redirections_only(depth)
        return node

    def redirections_only(self, depth: int) -> list[Redirect]:
        """Redirections after a block's ``)``."""
        src = self.src
        out: list[Redirect] = []
        while True:
            src.skip_ws()
            ch = src.peek()
            if ch in ("<", ">") or (ch.isdigit() and src.peek(1) == ">"):
                out.append(self.redirect())
                continue
            return out

    def if_(self, depth: int, line: int) -> If:
        src = self.src
        node = If(line=line)
        src.skip_ws()
        while True:
            word = self._peek_word().lower()
            if src.peek() == "/" and src.peek(1).lower() == "i" and (src.peek(2) in DELIMS or not src.peek(2)):
                node.icase = True
                src.pos += 2
            elif word == "not":
                node.negate = True
                src.pos += 3
            else:
                break
            src.skip_ws()
        word = self._peek_word().lower()
        if word in ("exist", "defined", "errorlevel"):
            src.pos += len(word)
            src.skip_ws()
            node.kind = word
            node.left = self.operand()
        elif word == "cmdextversion":
            raise self.fail("IF CMDEXTVERSION")
        else:
            node.left = self.operand(stop_at_equals=True)
            src.skip_ws()
            if src.peek() == "=" and src.peek(1) == "=":
                src.pos += 2
                node.op = "=="
            else:
                op = self.operand().upper()
                if op not in ("EQU", "NEQ", "LSS", "LEQ", "GTR", "GEQ"):
                    raise self.fail("IF with the comparison %r" % op)
                node.op = op
            src.skip_ws()
            node.right = self.operand()
        src.skip_ws()
        if src.at_eol() or src.peek() in "&|" or (src.peek() == ")" and depth > 0):
            raise self.fail("IF without a command")
        node.then = self.seq(depth) if src.peek() != "(" else self.command(depth)
        if isinstance(node.then, Block):
            src.skip_ws()
            if self._peek_word().lower() == "else":
                src.pos += 4
                src.skip_ws()
                node.otherwise = self.seq(depth) if src.peek() != "(" else self.command(depth)
        return node

    def operand(self, stop_at_equals: bool = False) -> str:
        """One IF operand: up to a delimiter (quotes group; ``==`` ends the left operand)."""
        src = self.src
        out = []
        quoted = False
        while not src.at_eol():
            ch = src.peek()
            if ch == '"':
                quoted = not quoted
            elif not quoted:
                if ch in DELIMS or ch in SPECIAL:
                    break
                if stop_at_equals and ch == "=" and src.peek(1) == "=":
                    break
            out.append(ch)
            src.pos += 1
        if not out:
            raise self.fail("IF with a missing operand")
        return "".join(out)

    def redirect(self) -> Redirect:
        src = self.src
        handle = None
        if src.peek().isdigit():
            handle = int(src.peek())
            src.pos += 1
        ch = src.peek()
        src.pos += 1
        if ch == "<":
            op, default = "<", 0
        elif src.peek() == ">":
            src.pos += 1
            op, default = ">>", 1
        else:
            op, default = ">", 1
        if op != "<" and src.peek() == "&":
            src.pos += 1
            target = src.peek()
            if not target.isdigit():
                raise self.fail("redirection to a handle %r" % target)
            src.pos += 1
            return Redirect(default if handle is None else handle, ">&", target)
        src.skip_ws()
        chars: list[str] = []
        quoted = False
        while not src.at_eol():
            c = src.peek()
            if c == '"':
                quoted = not quoted
            elif not quoted and (c in DELIMS or c in SPECIAL):
                break
            chars.append(c)
            src.pos += 1
        if not chars:
            raise self.fail("a redirection without a target")
        return Redirect(default if handle is None else handle, op, "".join(chars).replace('"', ""))

    def simple(self, depth: int, line: int, echo: bool) -> Simple:
        src = self.src
        text: list[str] = []
        redirects: list[Redirect] = []
        quoted = False
        while not src.at_eol():
            ch = src.peek()
            if ch == '"':
                quoted = not quoted
                text.append(ch)
                src.pos += 1
                continue
            if quoted:
                text.append(ch)
                src.pos += 1
                continue
            if ch == "^":
                if src.pos + 1 >= len(src.text):
                    raise self.fail("line continuation with ^")
                text.append(src.peek(1))
                src.pos += 2
                continue
            if ch in "&|":
                break
            if ch == ")" and depth > 0:
                break
            if ch in "<>" or (ch.isdigit() and src.peek(1) == ">" and (not text or text[-1] in DELIMS)):
                redirects.append(self.redirect())
                continue
            text.append(ch)
            src.pos += 1
        return Simple(line=line, redirects=redirects, text="".join(text), echo=echo)


def parse(first: str, first_line: int, more: Callable[[], tuple[str, int] | None], name: str) -> tuple[Node, int]:
    """Parse one statement starting with ``first``; returns it and the number of lines it used."""
    src = Source(first, first_line, more)
    node = Parser(src, name).statement()
    return node, src.lines_read
