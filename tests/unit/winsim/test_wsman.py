"""WS-Man message handling: HTTP framing, Basic auth, SOAP parsing and the WinRS state machine.

The WinRS tests drive ``WinrsService`` with the real pywinrm ``Protocol`` (its transport
replaced by a direct call), so every reply is read by the same parser Ansible relies on.
"""

from __future__ import annotations

import asyncio
import base64
import xml.etree.ElementTree as ET

import pytest

from tests.winsim import wsman
from tests.winsim.wsman import CommandResult, WinrsService, WsmanError

winrm_protocol = pytest.importorskip("winrm.protocol")
winrm_exceptions = pytest.importorskip("winrm.exceptions")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class DirectTransport:
    """Stands in for pywinrm's HTTP transport: hands each message to the service."""

    def __init__(self, service: WinrsService) -> None:
        self.service = service
        self.sent: list[bytes] = []

    def send_message(self, message: str | bytes) -> bytes:
        data = message.encode() if isinstance(message, str) else message
        self.sent.append(data)
        try:
            req = wsman.parse_soap(data)
            return asyncio.run(self.service.handle(req))
        except WsmanError as exc:
            body = wsman.fault_response("", exc.code, exc.reason, exc.subcode).decode()
            raise winrm_exceptions.WinRMTransportError("http", 500, body) from exc

    def close_session(self) -> None:
        pass


def protocol_for(service: WinrsService):
    proto = winrm_protocol.Protocol("http://windows-host:5985/wsman", transport="plaintext", username="u", password="p")
    proto.transport = DirectTransport(service)
    return proto


def echo_runner(calls: list):
    def runner(cmd: wsman.WinrsCommand) -> CommandResult:
        calls.append(cmd)
        return CommandResult(7, b"out:" + cmd.stdin_bytes, b"err:" + cmd.line.full.encode())

    return runner


# ---------------------------------------------------------------------------- WinRS via pywinrm
def test_full_command_cycle_with_pywinrm():
    calls: list = []
    events: list[str] = []
    service = WinrsService(echo_runner(calls), on_event=events.append)
    proto = protocol_for(service)
    shell_id = proto.open_shell(codepage=65001)
    command_id = proto.run_command(
        shell_id, "powershell", ["-NoProfile", "-EncodedCommand", "AAAA"], console_mode_stdin=False
    )
    proto.send_command_input(shell_id, command_id, b"part1-", end=False)
    proto.send_command_input(shell_id, command_id, b"part2", end=True)
    stdout, stderr, rc = proto.get_command_output(shell_id, command_id)
    proto.cleanup_command(shell_id, command_id)  # asserts RelatesTo
    proto.close_shell(shell_id)  # asserts RelatesTo
    assert (stdout, stderr, rc) == (b"out:part1-part2", b"err:powershell -NoProfile -EncodedCommand AAAA", 7)
    assert len(calls) == 1 and calls[0].stdin_ended and not calls[0].line.console_mode_stdin
    assert events == ["shell", "command", "shell_deleted"]
    assert service.shells == {}


def test_unknown_shell_is_fault_2150858843():
    proto = protocol_for(WinrsService(echo_runner([])))
    with pytest.raises(winrm_exceptions.WSManFaultError) as info:
        proto.run_command("NO-SUCH-SHELL", "hostname")
    assert info.value.wsman_fault_code == wsman.FAULT_SHELL_NOT_FOUND


def test_slow_command_answers_operation_timeout_faults_then_result():
    clock = FakeClock()
    events: list[str] = []
    service = WinrsService(
        lambda cmd: CommandResult(0, b"late", delay=5.0),
        on_event=events.append,
        max_hold=2.0,
        clock=clock,
        sleep=clock.sleep,
    )
    proto = protocol_for(service)
    shell_id = proto.open_shell()
    command_id = proto.run_command(shell_id, "slow")
    timeouts = 0
    while True:
        try:
            stdout, _stderr, rc, done = proto._raw_get_command_output(shell_id, command_id)
        except winrm_exceptions.WinRMOperationTimeoutError:
            timeouts += 1
            continue
        if done:
            break
    assert (stdout, rc, timeouts) == (b"late", 0, 2)
    assert clock.slept == [2.0, 2.0, 1.0]
    assert events.count("receive_timeout") == 2


def test_hold_never_exceeds_the_clients_operation_timeout():
    clock = FakeClock()
    service = WinrsService(lambda cmd: CommandResult(0, delay=30.0), max_hold=60.0, clock=clock, sleep=clock.sleep)
    proto = protocol_for(service)
    proto.operation_timeout_sec = 5
    proto.read_timeout_sec = 15
    shell_id = proto.open_shell()
    command_id = proto.run_command(shell_id, "slow")
    with pytest.raises(winrm_exceptions.WinRMOperationTimeoutError):
        proto._raw_get_command_output(shell_id, command_id)
    assert clock.slept == [5.0]


def test_large_output_is_split_over_receives():
    big = b"x" * (wsman.MAX_RECEIVE_BYTES * 2 + 10)
    proto = protocol_for(WinrsService(lambda cmd: CommandResult(0, big)))
    shell_id = proto.open_shell()
    command_id = proto.run_command(shell_id, "big")
    stdout, _stderr, rc = proto.get_command_output(shell_id, command_id)
    assert stdout == big and rc == 0
    receives = [m for m in proto.transport.sent if wsman.ACTION_RECEIVE.encode() in m]
    assert len(receives) == 3


def test_drop_raises_drop_connection():
    service = WinrsService(lambda cmd: CommandResult(0, drop=True))
    proto = protocol_for(service)
    shell_id = proto.open_shell()
    command_id = proto.run_command(shell_id, "x")
    body = proto.transport.sent[-1].replace(wsman.ACTION_COMMAND.encode(), wsman.ACTION_RECEIVE.encode())
    req = wsman.parse_soap(body)
    req.body = ET.fromstring(
        '<s:Body xmlns:s="%s" xmlns:rsp="%s"><rsp:Receive><rsp:DesiredStream CommandId="%s">stdout stderr'
        "</rsp:DesiredStream></rsp:Receive></s:Body>" % (wsman.NS_SOAP, wsman.NS_SHELL, command_id)
    )
    with pytest.raises(wsman.DropConnection):
        asyncio.run(service.handle(req))


def test_unknown_action_is_a_fault():
    req = wsman.SoapRequest(
        "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate", "uuid:1", None, 20.0, ET.Element("Body")
    )
    with pytest.raises(WsmanError) as info:
        asyncio.run(WinrsService(echo_runner([])).handle(req))
    assert info.value.code == wsman.FAULT_INVALID_ACTION and "Enumerate" in info.value.reason


# ---------------------------------------------------------------------------- SOAP
def test_parse_soap_reads_header_fields():
    proto = protocol_for(WinrsService(echo_runner([])))
    shell_id = proto.open_shell()
    proto.run_command(shell_id, "cmd", ["/c", "dir"])
    req = wsman.parse_soap(proto.transport.sent[-1])
    assert req.short_action == "Command" and req.shell_id == shell_id
    assert req.message_id.startswith("uuid:") and req.operation_timeout == 20.0
    assert req.options["WINRS_CONSOLEMODE_STDIN"] == "TRUE"
    assert wsman.parse_command(req).full == "cmd /c dir"


@pytest.mark.parametrize(
    "text, seconds",
    [("PT20S", 20.0), ("PT1M30S", 90.0), ("PT0.5S", 0.5), ("bogus", 20.0), (None, 20.0), ("PT1H", 3600.0)],
)
def test_parse_duration(text, seconds):
    assert wsman.parse_duration(text) == seconds


def test_parse_soap_rejects_garbage():
    with pytest.raises(WsmanError, match="not XML"):
        wsman.parse_soap(b"<nope")
    with pytest.raises(WsmanError, match="Header and Body"):
        wsman.parse_soap(b"<x/>")


def test_fault_envelope_is_what_pywinrm_parses():
    body = wsman.fault_response("uuid:1", wsman.FAULT_OPERATION_TIMEOUT, "timed out", "w:TimedOut").decode()
    root = ET.fromstring(body)
    fault = root.find("{%s}Body/{%s}Fault" % (wsman.NS_SOAP, wsman.NS_SOAP))
    detail = fault.find("{%s}Detail/{%s}WSManFault" % (wsman.NS_SOAP, wsman.NS_FAULT))
    assert detail.get("Code") == str(wsman.FAULT_OPERATION_TIMEOUT)


def test_receive_response_done_has_exactly_one_done_state_and_exit_code():
    req = wsman.SoapRequest(wsman.ACTION_RECEIVE, "uuid:9", "S", 20.0, ET.Element("b"))
    root = ET.fromstring(wsman.receive_response(req, "C1", b"o", b"", True, 3))
    done = [n for n in root.iter() if n.get("State", "").endswith("CommandState/Done")]
    codes = [n.text for n in root.iter() if n.tag.endswith("ExitCode")]
    streams = [n for n in root.iter() if n.tag.endswith("Stream")]
    assert len(done) == 1 and codes == ["3"] and all(s.get("Name") for s in streams)


# ---------------------------------------------------------------------------- HTTP
def _read(data: bytes) -> wsman.HttpRequest | None:
    async def go():
        reader = asyncio.StreamReader()
        reader.feed_data(data)
        reader.feed_eof()
        return await wsman.read_http_request(reader)

    return asyncio.run(go())


def test_read_http_request():
    req = _read(b"POST /wsman HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nhello")
    assert req and (req.method, req.path, req.body, req.keep_alive) == ("POST", "/wsman", b"hello", True)
    assert _read(b"") is None


@pytest.mark.parametrize(
    "data, status",
    [
        (b"POST /wsman HTTP/1.1\r\nHost: x\r\n\r\n", 411),
        (b"POST /wsman HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 501),
        (b"GARBAGE\r\n\r\n", 400),
        (b"POST /wsman HTTP/1.1\r\nContent-Length: 10\r\n\r\nshort", 400),
    ],
)
def test_bad_http_requests(data, status):
    with pytest.raises(wsman.HttpError) as info:
        _read(data)
    assert info.value.status == status


def test_http_response_is_one_buffer_with_length():
    out = wsman.http_response(200, b"<x/>", keep_alive=False)
    head, _sep, body = out.partition(b"\r\n\r\n")
    assert body == b"<x/>" and b"Content-Length: 4" in head and b"Connection: close" in head


def test_basic_auth():
    token = base64.b64encode(b"ansible:pa:ss").decode()
    assert wsman.parse_basic_auth("Basic " + token) == ("ansible", "pa:ss")
    assert wsman.parse_basic_auth("Negotiate abc") is None
    assert wsman.parse_basic_auth("Basic !!!") is None
    assert wsman.parse_basic_auth(None) is None
    unauthorized = wsman.unauthorized_response()
    assert unauthorized.startswith(b"HTTP/1.1 401 ") and b'WWW-Authenticate: Basic realm="WSMAN"' in unauthorized
