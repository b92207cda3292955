"""Errors of the native layer.

``NativeUnsupported`` is the strict answer to anything the model does not implement: a batch
construct, an internal command, a program, a switch. It names the script and line (or the
command line) so that the test that hit it fails loudly instead of trusting a guess.
"""

from __future__ import annotations


class NativeUnsupported(Exception):
    """A construct, command, program or switch the native model does not implement."""

    def __init__(self, what: str, where: str | None = None) -> None:
        self.what = what
        self.where = where
        super().__init__("winsim: unsupported native command at %s: %s" % (where, what) if where else what)


class NativeStartError(OSError):
    """CreateProcess failed: ``winerror`` and the system message, as Win32Exception reports them."""

    def __init__(self, winerror: int, message: str, command_line: str) -> None:
        super().__init__(winerror, message)
        self.winerror = winerror
        self.message = message
        self.command_line = command_line

    def __str__(self) -> str:
        return self.message


class NativeBlocked(Exception):
    """``run_until(None)`` on a process that never ends (it waits for input or for ever).

    Real Windows would hang the caller; the simulator refuses to, loudly.
    """
