"""Errors of the interpreter: unsupported constructs, and PowerShell's own error model.

``PSUnsupported`` is never a PowerShell error: it means the interpreter or the Windows model
does not implement something the script uses. It is not catchable by the script's try/catch
and the simulator turns it into a loud failure naming the file and line.
"""

from __future__ import annotations

from typing import Any

from .values import NetObject


class PSUnsupported(Exception):
    """A construct, cmdlet, parameter, type or member the interpreter does not implement."""

    def __init__(self, file: str, line: int, what: str) -> None:
        super().__init__("%s:%s: %s" % (file, line, what))
        self.file = file
        self.line = line
        self.what = what


# ---------------------------------------------------------------------------- flow control
class FlowSignal(Exception):
    """break / continue / return / exit: never caught by a script's catch."""


class BreakSignal(FlowSignal):
    pass


class ContinueSignal(FlowSignal):
    pass


class ReturnSignal(FlowSignal):
    pass


class ExitSignal(FlowSignal):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


# ---------------------------------------------------------------------------- .NET exceptions
#: Each modelled exception type and its base type (``-is``, ``catch [T]``, ``GetType()``).
EXCEPTION_BASES: dict[str, str | None] = {
    "System.Exception": None,
    "System.SystemException": "System.Exception",
    "System.ArgumentException": "System.SystemException",
    "System.ArgumentNullException": "System.ArgumentException",
    "System.ArgumentOutOfRangeException": "System.ArgumentException",
    "System.FormatException": "System.SystemException",
    "System.InvalidOperationException": "System.SystemException",
    "System.InvalidCastException": "System.SystemException",
    "System.NotSupportedException": "System.SystemException",
    "System.OverflowException": "System.ArithmeticException",
    "System.IndexOutOfRangeException": "System.SystemException",
    "System.ArithmeticException": "System.SystemException",
    "System.DivideByZeroException": "System.ArithmeticException",
    "System.UnauthorizedAccessException": "System.SystemException",
    "System.Security.SecurityException": "System.SystemException",
    "System.IO.IOException": "System.SystemException",
    "System.IO.FileNotFoundException": "System.IO.IOException",
    "System.IO.DirectoryNotFoundException": "System.IO.IOException",
    "System.Runtime.InteropServices.ExternalException": "System.SystemException",
    "System.ComponentModel.Win32Exception": "System.Runtime.InteropServices.ExternalException",
    "System.Management.Automation.RuntimeException": "System.SystemException",
    "System.Management.Automation.SessionStateException": "System.Management.Automation.RuntimeException",
    "System.Management.Automation.ItemNotFoundException": "System.Management.Automation.SessionStateException",
    "System.Management.Automation.PSArgumentException": "System.ArgumentException",
    "System.Management.Automation.PSInvalidCastException": "System.InvalidCastException",
    "System.Management.Automation.ParameterBindingException": "System.Management.Automation.RuntimeException",
    "System.Management.Automation.CommandNotFoundException": "System.Management.Automation.RuntimeException",
    "System.Management.Automation.MethodException": "System.Management.Automation.RuntimeException",
    "System.Management.Automation.MethodInvocationException": "System.Management.Automation.MethodException",
    "System.Management.Automation.PropertyNotFoundException": "System.Management.Automation.RuntimeException",
    "System.Management.Automation.ValidationMetadataException": "System.Management.Automation.RuntimeException",
    "System.Management.Automation.ActionPreferenceStopException": "System.Management.Automation.RuntimeException",
    "System.Management.Automation.RemoteException": "System.Management.Automation.RuntimeException",
    "Microsoft.Management.Infrastructure.CimException": "System.Exception",
    # ActiveDirectory module (Microsoft Learn: "ADIdentityNotFoundException Class").
    "Microsoft.ActiveDirectory.Management.ADException": "System.InvalidOperationException",
    "Microsoft.ActiveDirectory.Management.ADIdentityResolutionException": (
        "Microsoft.ActiveDirectory.Management.ADException"
    ),
    "Microsoft.ActiveDirectory.Management.ADIdentityNotFoundException": (
        "Microsoft.ActiveDirectory.Management.ADIdentityResolutionException"
    ),
    "System.Xml.XmlException": "System.SystemException",
}


def exception_chain(type_name: str) -> tuple[str, ...]:
    chain = []
    current: str | None = type_name
    while current is not None:
        if current not in EXCEPTION_BASES:
            raise KeyError("exception type %s is not modelled" % current)
        chain.append(current)
        current = EXCEPTION_BASES[current]
    return tuple(chain)


class NetException(NetObject):
    """A .NET exception: ``Message``, ``InnerException``, its type chain."""

    def __init__(self, type_name: str, message: str, inner: NetException | None = None, **extra: Any) -> None:
        self.TYPE_NAMES = exception_chain(type_name)  # type: ignore[misc]
        self.message = message
        self.inner = inner
        self.error_record: ErrorRecord | None = None
        self.extra = extra

    def p_message(self) -> str:
        return self.message

    def p_innerexception(self) -> NetException | None:
        return self.inner

    def p_stacktrace(self) -> None:
        return None

    def p_errorrecord(self) -> ErrorRecord | None:
        if "System.Management.Automation.RuntimeException" not in self.TYPE_NAMES:
            raise KeyError("errorrecord")
        return self.error_record

    def p_hresult(self) -> int:
        return int(self.extra.get("hresult", -2146233088))

    def m_tostring(self, ctx: Any) -> str:
        return "%s: %s" % (self.TYPE_NAMES[0], self.message)

    def ps_to_string(self) -> str:
        return "%s: %s" % (self.TYPE_NAMES[0], self.message)


class CategoryInfo(NetObject):
    TYPE_NAMES = ("System.Management.Automation.ErrorCategoryInfo", "System.Object")

    def __init__(self, category: str, reason: str, target_name: str = "", target_type: str = "") -> None:
        self.category = category
        self.reason = reason
        self.target_name = target_name
        self.target_type = target_type

    def p_category(self) -> str:
        return self.category

    def p_reason(self) -> str:
        return self.reason

    def p_targetname(self) -> str:
        return self.target_name

    def ps_to_string(self) -> str:
        return "%s: (%s:%s) [], %s" % (self.category, self.target_name, self.target_type, self.reason)


class InvocationInfo(NetObject):
    TYPE_NAMES = ("System.Management.Automation.InvocationInfo", "System.Object")

    def __init__(self, file: str, line: int, text: str = "") -> None:
        self.file = file
        self.line = line
        self.text = text

    def p_scriptname(self) -> str:
        return self.file

    def p_scriptlinenumber(self) -> int:
        return self.line

    def p_positionmessage(self) -> str:
        return "At %s:%d char:1\r\n+ %s" % (self.file, self.line, self.text)

    def p_line(self) -> str:
        return self.text


class ErrorRecord(NetObject):
    """``System.Management.Automation.ErrorRecord``: what ``$_`` is in a catch block."""

    TYPE_NAMES = ("System.Management.Automation.ErrorRecord", "System.Object")

    def __init__(
        self,
        exception: NetException,
        error_id: str,
        category: str = "NotSpecified",
        target: Any = None,
        invocation: InvocationInfo | None = None,
        stack: str = "",
    ) -> None:
        self.exception = exception
        self.error_id = error_id
        self.category = category
        self.target = target
        self.invocation = invocation or InvocationInfo("", 0)
        self.stack = stack
        if exception.error_record is None and "System.Management.Automation.RuntimeException" in exception.TYPE_NAMES:
            exception.error_record = self

    def p_exception(self) -> NetException:
        return self.exception

    def p_fullyqualifiederrorid(self) -> str:
        return self.error_id

    def p_categoryinfo(self) -> CategoryInfo:
        target = "" if self.target is None else str(self.target)
        return CategoryInfo(self.category, self.exception.TYPE_NAMES[0].rsplit(".", 1)[-1], target)

    def p_targetobject(self) -> Any:
        return self.target

    def p_invocationinfo(self) -> InvocationInfo:
        return self.invocation

    def p_scriptstacktrace(self) -> str:
        return self.stack

    def p_errordetails(self) -> None:
        return None

    def ps_to_string(self) -> str:
        return self.exception.message


class PSRuntimeError(Exception):
    """A terminating error travelling up to the nearest try/catch, with its ErrorRecord."""

    def __init__(self, record: ErrorRecord) -> None:
        super().__init__(record.exception.message)
        self.record = record


def error(
    message: str,
    error_id: str | None = None,
    *,
    exc_type: str = "System.Management.Automation.RuntimeException",
    category: str = "NotSpecified",
    target: Any = None,
    inner: NetException | None = None,
) -> PSRuntimeError:
    """A terminating error with a new exception of ``exc_type`` (raise the result)."""
    exception = NetException(exc_type, message, inner)
    return PSRuntimeError(ErrorRecord(exception, error_id or exc_type.rsplit(".", 1)[-1], category, target))
