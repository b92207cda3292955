"""Command lines as Windows programs see them.

A Windows process receives one command line string; C programs split it into ``argv`` with the
Microsoft C runtime rules, the same as ``CommandLineToArgvW`` (Microsoft Learn: "Parsing C
command-line arguments", "CommandLineToArgvW function"):

* arguments are delimited by spaces or tabs;
* a string surrounded by double quotes is one argument, whatever it contains;
* ``2n`` backslashes followed by a quote give ``n`` backslashes and the quote starts or ends a
  quoted part; ``2n+1`` backslashes followed by a quote give ``n`` backslashes and a literal quote;
  backslashes not followed by a quote are literal;
* inside a quoted part, ``""`` is a literal quote (the CRT since 2008).

The first argument (the program name) has its own rule: it ends at the first space or tab
outside quotes, and backslashes are never escapes there.
"""

from __future__ import annotations


def split(command_line: str) -> list[str]:
    """``argv`` of a command line, program name included."""
    text = command_line
    i = 0
    n = len(text)
    while i < n and text[i] in " \t":
        i += 1
    if i >= n:
        return []
    # argv[0]: quotes group, no escapes.
    name = []
    quoted = False
    while i < n:
        ch = text[i]
        if ch == '"':
            quoted = not quoted
        elif ch in " \t" and not quoted:
            break
        else:
            name.append(ch)
        i += 1
    return ["".join(name), *split_arguments(text[i:])]


def split_arguments(text: str) -> list[str]:
    """The arguments after the program name (CRT rules above)."""
    out: list[str] = []
    buf: list[str] = []
    started = False
    quoted = False
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "\\":
            j = i
            while j < n and text[j] == "\\":
                j += 1
            count = j - i
            if j < n and text[j] == '"':
                buf.append("\\" * (count // 2))
                started = True
                if count % 2:
                    buf.append('"')
                    i = j + 1
                else:
                    i = j  # the quote is handled below
                continue
            buf.append("\\" * count)
            started = True
            i = j
            continue
        if ch == '"':
            started = True
            if quoted and i + 1 < n and text[i + 1] == '"':
                buf.append('"')
                i += 2
                continue
            quoted = not quoted
            i += 1
            continue
        if ch in " \t" and not quoted:
            if started:
                out.append("".join(buf))
                buf = []
                started = False
            i += 1
            continue
        buf.append(ch)
        started = True
        i += 1
    if started:
        out.append("".join(buf))
    return out


def quote(arg: str, force: bool = False) -> str:
    """Quote one argument so that :func:`split_arguments` gives it back unchanged."""
    if arg and not force and not any(ch in arg for ch in ' \t"'):
        return arg
    out = ['"']
    backslashes = 0
    for ch in arg:
        if ch == "\\":
            backslashes += 1
            continue
        if ch == '"':
            out.append("\\" * (backslashes * 2 + 1) + '"')
        else:
            out.append("\\" * backslashes + ch)
        backslashes = 0
    out.append("\\" * (backslashes * 2) + '"')
    return "".join(out)


def quote_inner(text: str) -> str:
    """What goes between the quotes of ``"..."`` so that the argument is ``text``."""
    return quote(text, force=True)[1:-1]
