"""WS-Management (WinRS) protocol layer of the simulated Windows hosts.

Three parts, none of which knows anything about a host model:

* HTTP/1.1 framing on asyncio streams (``read_http_request``, ``http_response``) and
  Basic authentication (``parse_basic_auth``, ``unauthorized_response``).
* SOAP: parsing a request envelope (``parse_soap``) and building the replies pywinrm and
  Ansible's winrm connection plugin read (``create_response`` … ``fault_response``).
* ``WinrsService``: the WinRS shell/command state machine (Create, Command, Send, Receive,
  Signal, Delete). It buffers stdin, runs a command through an injected ``runner`` on the
  first Receive, holds Receives of slow commands with the operation-timeout fault, streams
  output and raises ``DropConnection`` when the runner asks for the TCP connection to die.

See ``/work/shared/reference/winrm-sim-notes.md`` §1-§4 for the wire format.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

# ---------------------------------------------------------------------------- constants
NS_SOAP = "http://www.w3.org/2003/05/soap-envelope"
NS_ADDRESSING = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
NS_WSMAN = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
NS_WSMAN_MS = "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"
NS_TRANSFER = "http://schemas.xmlsoap.org/ws/2004/09/transfer"
NS_SHELL = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
NS_FAULT = "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault"

ACTION_CREATE = NS_TRANSFER + "/Create"
ACTION_DELETE = NS_TRANSFER + "/Delete"
ACTION_COMMAND = NS_SHELL + "/Command"
ACTION_SEND = NS_SHELL + "/Send"
ACTION_RECEIVE = NS_SHELL + "/Receive"
ACTION_SIGNAL = NS_SHELL + "/Signal"
ACTION_FAULT = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault"

STATE_DONE = NS_SHELL + "/CommandState/Done"
STATE_RUNNING = NS_SHELL + "/CommandState/Running"
ANONYMOUS = NS_ADDRESSING + "/role/anonymous"

#: ERROR_WSMAN_OPERATION_TIMEDOUT (0x80338029): pywinrm turns it into WinRMOperationTimeoutError.
FAULT_OPERATION_TIMEOUT = 2150858793
#: ERROR_WINRS_SHELL_NOT_FOUND (0x8033805B).
FAULT_SHELL_NOT_FOUND = 2150858843
#: ERROR_WSMAN_INVALID_ACTIONURI (0x80338001).
FAULT_INVALID_ACTION = 2150858753
#: ERROR_WSMAN_SCHEMA_VALIDATION_ERROR-like "bad request" for envelopes we cannot read (0x803380E4).
FAULT_BAD_REQUEST = 2150858980
#: ERROR_WSMAN_INTERNAL_ERROR: the service failed (the injected ``http_500`` fault).
FAULT_INTERNAL_ERROR = 2150858752

CONTENT_TYPE = "application/soap+xml;charset=UTF-8"
MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 64 * 1024 * 1024
#: Raw output bytes (per stream) put in one ReceiveResponse; the rest follows in later Receives.
MAX_RECEIVE_BYTES = 1024 * 1024
#: Default WS-Man OperationTimeout when the request names none (pywinrm sends PT20S).
DEFAULT_OPERATION_TIMEOUT = 20.0

_NS = {"s": NS_SOAP, "a": NS_ADDRESSING, "w": NS_WSMAN, "rsp": NS_SHELL, "x": NS_TRANSFER}
_DURATION = re.compile(r"^PT(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?$")


class WsmanError(Exception):
    """A request the service refuses; answered as a SOAP fault (HTTP 500)."""

    def __init__(self, code: int, reason: str, subcode: str = "w:InternalError") -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.subcode = subcode


class DropConnection(Exception):
    """Raised by the service when the connection must be aborted instead of answered."""


class HttpError(Exception):
    """An HTTP request that cannot be served; answered with ``status`` and the connection closed."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# ---------------------------------------------------------------------------- HTTP layer
@dataclass
class HttpRequest:
    method: str
    path: str
    version: str
    headers: dict[str, str]
    body: bytes
    raw_size: int

    @property
    def keep_alive(self) -> bool:
        conn = self.headers.get("connection", "").lower()
        if self.version == "HTTP/1.0":
            return conn == "keep-alive"
        return conn != "close"


_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    411: "Length Required",
    413: "Payload Too Large",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
}


async def read_http_request(reader: asyncio.StreamReader) -> HttpRequest | None:
    """Read one request; ``None`` when the client closed the connection between requests."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial.strip():
            return None
        raise HttpError(400, "connection closed in the middle of the request headers") from exc
    except asyncio.LimitOverrunError as exc:
        raise HttpError(431, "request headers larger than %d bytes" % MAX_HEADER_BYTES) from exc
    lines = head.decode("iso-8859-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        raise HttpError(400, "malformed request line %r" % lines[0][:100])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise HttpError(400, "malformed header line %r" % line[:100])
        headers[name.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        raise HttpError(501, "chunked request bodies are not supported; send Content-Length")
    length_text = headers.get("content-length")
    if length_text is None:
        if parts[0] == "POST":
            raise HttpError(411, "POST without Content-Length")
        length = 0
    else:
        try:
            length = int(length_text)
        except ValueError as exc:
            raise HttpError(400, "bad Content-Length %r" % length_text) from exc
    if length > MAX_BODY_BYTES:
        raise HttpError(413, "body of %d bytes is over the %d byte limit" % (length, MAX_BODY_BYTES))
    try:
        body = await reader.readexactly(length) if length else b""
    except asyncio.IncompleteReadError as exc:
        raise HttpError(400, "connection closed after %d of %d body bytes" % (len(exc.partial), length)) from exc
    return HttpRequest(parts[0], parts[1], parts[2], headers, body, len(head) + length)


def http_response(
    status: int,
    body: bytes = b"",
    *,
    content_type: str | None = CONTENT_TYPE,
    keep_alive: bool = True,
    extra_headers: dict[str, str] | None = None,
) -> bytes:
    """Serialise a complete HTTP/1.1 response (headers and body in one buffer: one write)."""
    lines = ["HTTP/1.1 %d %s" % (status, _REASONS.get(status, "Status")), "Server: Microsoft-HTTPAPI/2.0"]
    if body and content_type:
        lines.append("Content-Type: " + content_type)
    lines.append("Content-Length: %d" % len(body))
    lines.append("Connection: " + ("Keep-Alive" if keep_alive else "close"))
    for name, value in (extra_headers or {}).items():
        lines.append("%s: %s" % (name, value))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + body


def parse_basic_auth(header: str | None) -> tuple[str, str] | None:
    """Decode an ``Authorization: Basic …`` header into (user, password); ``None`` otherwise."""
    if not header:
        return None
    scheme, _sep, token = header.partition(" ")
    if scheme.lower() != "basic" or not token.strip():
        return None
    try:
        text = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = text.partition(":")
    return (user, password) if sep else None


def unauthorized_response(keep_alive: bool = True) -> bytes:
    """What WinRM answers to a rejected Basic login."""
    return http_response(401, b"", keep_alive=keep_alive, extra_headers={"WWW-Authenticate": 'Basic realm="WSMAN"'})


# ---------------------------------------------------------------------------- SOAP parsing
@dataclass
class SoapRequest:
    """The parts of a WS-Man request envelope the service acts on."""

    action: str
    message_id: str
    shell_id: str | None
    operation_timeout: float
    body: ET.Element
    options: dict[str, str] = field(default_factory=dict)

    @property
    def short_action(self) -> str:
        """``Create``, ``Command``, … (the last path segment of the action URI)."""
        return self.action.rsplit("/", 1)[-1]


@dataclass
class CommandLine:
    command: str
    arguments: list[str]
    console_mode_stdin: bool

    @property
    def full(self) -> str:
        """The command line as WinRS joins it: command and arguments separated by spaces."""
        return " ".join([self.command, *self.arguments]).strip()


@dataclass
class StdinChunk:
    command_id: str
    data: bytes
    end: bool


def parse_duration(text: str | None, default: float = DEFAULT_OPERATION_TIMEOUT) -> float:
    """``PT20S`` → 20.0 (xs:duration, the subset WS-Man clients send)."""
    if not text:
        return default
    match = _DURATION.match(text.strip())
    if not match or not any(match.groups()):
        return default
    hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def parse_soap(data: bytes) -> SoapRequest:
    """Parse a request envelope; ``WsmanError`` names what is missing."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise WsmanError(FAULT_BAD_REQUEST, "request body is not XML: %s" % exc, "w:InvalidMessage") from exc
    header = root.find("s:Header", _NS)
    body = root.find("s:Body", _NS)
    if header is None or body is None:
        raise WsmanError(
            FAULT_BAD_REQUEST, "request is not a SOAP 1.2 envelope with Header and Body", "w:InvalidMessage"
        )
    action = (header.findtext("a:Action", "", _NS) or "").strip()
    if not action:
        raise WsmanError(FAULT_BAD_REQUEST, "request has no a:Action header", "a:MessageAddressingHeaderRequired")
    message_id = (header.findtext("a:MessageID", "", _NS) or "").strip()
    shell_id = None
    for selector in header.iterfind("w:SelectorSet/w:Selector", _NS):
        if selector.get("Name") == "ShellId":
            shell_id = (selector.text or "").strip()
    timeout = parse_duration(header.findtext("w:OperationTimeout", None, _NS))
    options = {o.get("Name", ""): (o.text or "").strip() for o in header.iterfind("w:OptionSet/w:Option", _NS)}
    return SoapRequest(action, message_id, shell_id, timeout, body, options)


def parse_command(req: SoapRequest) -> CommandLine:
    line = req.body.find("rsp:CommandLine", _NS)
    if line is None:
        raise WsmanError(FAULT_BAD_REQUEST, "Command request without rsp:CommandLine", "w:InvalidMessage")
    command = (line.findtext("rsp:Command", "", _NS) or "").strip()
    arguments = [(a.text or "") for a in line.iterfind("rsp:Arguments", _NS)]
    console_stdin = req.options.get("WINRS_CONSOLEMODE_STDIN", "TRUE").upper() == "TRUE"
    return CommandLine(command, arguments, console_stdin)


def parse_send(req: SoapRequest) -> list[StdinChunk]:
    chunks = []
    for stream in req.body.iterfind("rsp:Send/rsp:Stream", _NS):
        if stream.get("Name", "stdin") != "stdin":
            raise WsmanError(
                FAULT_BAD_REQUEST, "Send to stream %r; only stdin exists" % stream.get("Name"), "w:InvalidMessage"
            )
        try:
            data = base64.b64decode(stream.text or "")
        except binascii.Error as exc:
            raise WsmanError(FAULT_BAD_REQUEST, "Send stream is not base64: %s" % exc, "w:InvalidMessage") from exc
        end = (stream.get("End") or "false").lower() == "true"
        chunks.append(StdinChunk(stream.get("CommandId") or "", data, end))
    if not chunks:
        raise WsmanError(FAULT_BAD_REQUEST, "Send request without rsp:Stream", "w:InvalidMessage")
    return chunks


def parse_receive(req: SoapRequest) -> str:
    stream = req.body.find("rsp:Receive/rsp:DesiredStream", _NS)
    if stream is None:
        raise WsmanError(FAULT_BAD_REQUEST, "Receive request without rsp:DesiredStream", "w:InvalidMessage")
    return stream.get("CommandId") or ""


def parse_signal(req: SoapRequest) -> tuple[str, str]:
    signal = req.body.find("rsp:Signal", _NS)
    if signal is None:
        raise WsmanError(FAULT_BAD_REQUEST, "Signal request without rsp:Signal", "w:InvalidMessage")
    return signal.get("CommandId") or "", (signal.findtext("rsp:Code", "", _NS) or "").strip()


# ---------------------------------------------------------------------------- SOAP replies
_ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<s:Envelope xml:lang="en-US" xmlns:s="%s" xmlns:a="%s" xmlns:x="%s" xmlns:w="%s" xmlns:rsp="%s" xmlns:p="%s">'
    "<s:Header><a:Action>{action}</a:Action><a:MessageID>uuid:{mid}</a:MessageID>"
    "<a:To>%s</a:To><a:RelatesTo>{relates}</a:RelatesTo></s:Header>"
    "<s:Body>{body}</s:Body></s:Envelope>"
) % (NS_SOAP, NS_ADDRESSING, NS_TRANSFER, NS_WSMAN, NS_SHELL, NS_WSMAN_MS, ANONYMOUS)


def envelope(action: str, relates_to: str, body: str) -> bytes:
    """A response envelope; ``RelatesTo`` echoes the request's MessageID (pywinrm asserts it)."""
    return _ENVELOPE.format(action=escape(action), mid=uuid.uuid4(), relates=escape(relates_to), body=body).encode(
        "utf-8"
    )


def create_response(req: SoapRequest, shell_id: str) -> bytes:
    sid = escape(shell_id)
    body = (
        "<x:ResourceCreated><a:Address>%s</a:Address><a:ReferenceParameters>"
        "<w:ResourceURI>%s/cmd</w:ResourceURI>"
        '<w:SelectorSet><w:Selector Name="ShellId">%s</w:Selector></w:SelectorSet>'
        "</a:ReferenceParameters></x:ResourceCreated>"
        "<rsp:Shell><rsp:ShellId>%s</rsp:ShellId><rsp:ResourceUri>%s/cmd</rsp:ResourceUri>"
        "<rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell>"
    ) % (ANONYMOUS, NS_SHELL, sid, sid, NS_SHELL)
    return envelope(NS_TRANSFER + "/CreateResponse", req.message_id, body)


def command_response(req: SoapRequest, command_id: str) -> bytes:
    body = "<rsp:CommandResponse><rsp:CommandId>%s</rsp:CommandId></rsp:CommandResponse>" % escape(command_id)
    return envelope(ACTION_COMMAND + "Response", req.message_id, body)


def send_response(req: SoapRequest) -> bytes:
    return envelope(ACTION_SEND + "Response", req.message_id, "<rsp:SendResponse/>")


def receive_response(
    req: SoapRequest, command_id: str, stdout: bytes, stderr: bytes, done: bool, exit_code: int | None = None
) -> bytes:
    """A ReceiveResponse; when ``done`` the streams carry ``End`` and the state an ExitCode."""
    cid = quoteattr(command_id)
    parts = ["<rsp:ReceiveResponse>"]
    for name, data in (("stdout", stdout), ("stderr", stderr)):
        if data:
            parts.append(
                '<rsp:Stream Name="%s" CommandId=%s>%s</rsp:Stream>'
                % (name, cid, base64.b64encode(data).decode("ascii"))
            )
        if done:
            parts.append('<rsp:Stream Name="%s" CommandId=%s End="true"></rsp:Stream>' % (name, cid))
    if done:
        parts.append(
            '<rsp:CommandState CommandId=%s State="%s"><rsp:ExitCode>%d</rsp:ExitCode></rsp:CommandState>'
            % (cid, STATE_DONE, int(exit_code or 0))
        )
    else:
        parts.append('<rsp:CommandState CommandId=%s State="%s"/>' % (cid, STATE_RUNNING))
    parts.append("</rsp:ReceiveResponse>")
    return envelope(ACTION_RECEIVE + "Response", req.message_id, "".join(parts))


def signal_response(req: SoapRequest) -> bytes:
    return envelope(ACTION_SIGNAL + "Response", req.message_id, "<rsp:SignalResponse/>")


def delete_response(req: SoapRequest) -> bytes:
    return envelope(NS_TRANSFER + "/DeleteResponse", req.message_id, "")


def fault_response(
    relates_to: str, code: int, reason: str, subcode: str = "w:InternalError", machine: str = "localhost"
) -> bytes:
    """A WS-Man fault envelope (sent with HTTP 500); pywinrm reads ``WSManFault/@Code``."""
    body = (
        "<s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value>%s</s:Value></s:Subcode></s:Code>"
        '<s:Reason><s:Text xml:lang="en-US">%s</s:Text></s:Reason>'
        '<s:Detail><f:WSManFault xmlns:f="%s" Code="%d" Machine=%s><f:Message>%s</f:Message></f:WSManFault>'
        "</s:Detail></s:Fault>"
    ) % (escape(subcode), escape(reason), NS_FAULT, code, quoteattr(machine), escape(reason))
    return envelope(ACTION_FAULT, relates_to, body)


# ---------------------------------------------------------------------------- WinRS service
@dataclass
class CommandResult:
    """What a command produced. ``delay`` holds the answer; ``drop`` aborts the connection."""

    rc: int
    stdout: bytes = b""
    stderr: bytes = b""
    delay: float = 0.0
    drop: bool = False
    #: Answer the Receive with this WS-Management fault (HTTP 500) instead of the output.
    fault: str | None = None


@dataclass
class WinrsCommand:
    command_id: str
    line: CommandLine
    stdin: list[bytes] = field(default_factory=list)
    stdin_ended: bool = False
    result: CommandResult | None = None
    ready_at: float = 0.0
    out_pos: int = 0
    err_pos: int = 0

    @property
    def stdin_bytes(self) -> bytes:
        return b"".join(self.stdin)


@dataclass
class WinrsShell:
    shell_id: str
    created: float
    last_used: float
    commands: dict[str, WinrsCommand] = field(default_factory=dict)


Runner = Callable[[WinrsCommand], CommandResult]
EventHook = Callable[[str], None]


class WinrsService:
    """The WinRS shells of one host, and what each WS-Man action does to them.

    ``runner`` is called once per command, on its first Receive, with all stdin buffered
    (Ansible sends all input before it asks for output). ``on_event`` hears ``shell``,
    ``shell_deleted``, ``command``, ``receive_timeout`` and ``drop``.
    """

    #: Shells unused for this long are forgotten (clients killed mid-task never Delete them).
    IDLE_SHELL_SECONDS = 600.0

    def __init__(
        self,
        runner: Runner,
        *,
        on_event: EventHook | None = None,
        max_hold: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        machine: str = "localhost",
    ) -> None:
        self.runner = runner
        self.on_event = on_event or (lambda _name: None)
        self.max_hold = max_hold
        self.clock = clock
        self.sleep = sleep
        self.machine = machine
        self.shells: dict[str, WinrsShell] = {}

    async def handle(self, req: SoapRequest) -> bytes:
        """Answer one request (a fault envelope for ``WsmanError``; ``DropConnection`` propagates)."""
        handler = {
            ACTION_CREATE: self._create,
            ACTION_COMMAND: self._command,
            ACTION_SEND: self._send,
            ACTION_RECEIVE: self._receive,
            ACTION_SIGNAL: self._signal,
            ACTION_DELETE: self._delete,
        }.get(req.action)
        if handler is None:
            raise WsmanError(
                FAULT_INVALID_ACTION, "winsim: unsupported WS-Management action %r" % req.action, "a:ActionNotSupported"
            )
        return await handler(req)

    # -- shells
    def _shell(self, req: SoapRequest) -> WinrsShell:
        shell = self.shells.get(req.shell_id or "")
        if shell is None:
            raise WsmanError(
                FAULT_SHELL_NOT_FOUND,
                "The request for the Windows Remote Shell with ShellId %s failed because the shell "
                "was not found on the server." % (req.shell_id or "<none>"),
                "w:InvalidSelectors",
            )
        shell.last_used = self.clock()
        return shell

    def _command_of(self, shell: WinrsShell, command_id: str) -> WinrsCommand:
        cmd = shell.commands.get(command_id)
        if cmd is None:
            raise WsmanError(
                FAULT_SHELL_NOT_FOUND,
                "winsim: shell %s has no command %s" % (shell.shell_id, command_id or "<none>"),
                "w:InvalidSelectors",
            )
        return cmd

    async def _create(self, req: SoapRequest) -> bytes:
        now = self.clock()
        for sid in [s for s, sh in self.shells.items() if now - sh.last_used > self.IDLE_SHELL_SECONDS]:
            del self.shells[sid]
        shell_id = str(uuid.uuid4()).upper()
        self.shells[shell_id] = WinrsShell(shell_id, now, now)
        self.on_event("shell")
        return create_response(req, shell_id)

    async def _delete(self, req: SoapRequest) -> bytes:
        self._shell(req)
        del self.shells[req.shell_id or ""]
        self.on_event("shell_deleted")
        return delete_response(req)

    # -- commands
    async def _command(self, req: SoapRequest) -> bytes:
        shell = self._shell(req)
        line = parse_command(req)
        command_id = str(uuid.uuid4()).upper()
        shell.commands[command_id] = WinrsCommand(command_id, line)
        self.on_event("command")
        return command_response(req, command_id)

    async def _send(self, req: SoapRequest) -> bytes:
        shell = self._shell(req)
        for chunk in parse_send(req):
            cmd = self._command_of(shell, chunk.command_id)
            if cmd.stdin_ended or cmd.result is not None:
                raise WsmanError(
                    FAULT_BAD_REQUEST,
                    "winsim: stdin of command %s was already closed" % chunk.command_id,
                    "w:InvalidMessage",
                )
            cmd.stdin.append(chunk.data)
            cmd.stdin_ended = chunk.end
        return send_response(req)

    async def _signal(self, req: SoapRequest) -> bytes:
        shell = self._shell(req)
        command_id, _code = parse_signal(req)
        shell.commands.pop(command_id, None)
        return signal_response(req)

    async def _receive(self, req: SoapRequest) -> bytes:
        shell = self._shell(req)
        cmd = self._command_of(shell, parse_receive(req))
        if cmd.result is None:
            cmd.result = self.runner(cmd)
            cmd.ready_at = self.clock() + max(0.0, cmd.result.delay)
        result = cmd.result
        if result.drop:
            shell.commands.pop(cmd.command_id, None)
            self.on_event("drop")
            raise DropConnection("command %s asked for the connection to be dropped" % cmd.command_id)
        remaining = cmd.ready_at - self.clock()
        if remaining > 0:
            hold = min(req.operation_timeout, self.max_hold)
            if remaining > hold:
                await self.sleep(hold)
                self.on_event("receive_timeout")
                raise WsmanError(
                    FAULT_OPERATION_TIMEOUT,
                    "The WS-Management service cannot complete the "
                    "operation within the time specified in OperationTimeout.",
                    "w:TimedOut",
                )
            await self.sleep(remaining)
        if result.fault:
            shell.commands.pop(cmd.command_id, None)
            raise WsmanError(FAULT_INTERNAL_ERROR, result.fault, "w:InternalError")
        out = result.stdout[cmd.out_pos : cmd.out_pos + MAX_RECEIVE_BYTES]
        err = result.stderr[cmd.err_pos : cmd.err_pos + MAX_RECEIVE_BYTES]
        cmd.out_pos += len(out)
        cmd.err_pos += len(err)
        done = cmd.out_pos >= len(result.stdout) and cmd.err_pos >= len(result.stderr)
        return receive_response(req, cmd.command_id, out, err, done, result.rc)
