"""Protocol-level behaviour of ``HostEndpoint`` over real sockets with the real pywinrm client.

Covers every fault the server plays (latency, down, drop_connection, reboot,
reboot_never_returns), wrong credentials, unknown modules and raw commands, slow
commands, HTTPS and the counters.
"""

from __future__ import annotations

import http.client
import json
import socket
import time

import pytest

from tests.unit.winsim.conftest import client, encoded_command, module_stdin, run
from tests.winsim import twins
from tests.winsim.server import make_tls_material

requests = pytest.importorskip("requests")
pytest.importorskip("winrm")

twins._load_all()  # register the real twins before adding test ones


@twins.twin("winsim.test.touch")
def _touch(host, args, ctx):
    host.reg_set("HKLM\\SOFTWARE\\WinsimTest", "Touched", int(args.get("value", 1)))
    return {"changed": True}


@twins.twin("winsim.test.slow")
def _slow(host, args, ctx):
    ctx.delay = float(args.get("seconds", 0.5))
    return {"changed": False, "slept": ctx.delay}


def _refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except ConnectionRefusedError:
        return True


def _wait(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def _module(endpoint, module: str, **args):
    line, stdin = module_stdin(module, args)
    rc, out, err = run(client(endpoint), line, stdin)
    return rc, json.loads(out) if out else None, err


# ---------------------------------------------------------------------------- happy path and counters
def test_module_run_costs_six_requests_and_counters_are_saved(server, tmp_path):
    endpoint = server()
    rc, result, _err = _module(endpoint, "ansible.windows.win_ping", data="hi")
    assert (rc, result) == (0, {"changed": False, "ping": "hi"})
    saved = json.loads((tmp_path / "ws01.counters.json").read_text())  # flushed at Delete
    assert saved["requests"] == {"Create": 1, "Command": 1, "Send": 1, "Receive": 1, "Signal": 1, "Delete": 1}
    assert saved["modules"] == {"ansible.windows.win_ping": 1}
    assert saved["shells"] == saved["commands"] == 1
    assert saved["bytes_in"] > 10_000 and saved["bytes_out"] > 0


def test_unknown_module_fails_naming_it(server):
    rc, result, _err = _module(server(), "demo.win.win_unknown")
    assert rc == 1 and result["failed"] and "demo.win.win_unknown" in result["msg"]


def test_unknown_raw_command_fails(server):
    endpoint = server()
    rc, out, err = run(client(endpoint), encoded_command("Get-Process lsass"))
    assert rc == 1 and out == b"" and b"winsim: unsupported raw command: Get-Process lsass" in err
    assert endpoint.host.counters["raw"] == {"unsupported": 1}


def test_slow_command_is_kept_alive_with_operation_timeouts(server):
    endpoint = server(max_hold=0.2)
    started = time.monotonic()
    rc, result, _err = _module(endpoint, "winsim.test.slow", seconds=0.7)
    assert rc == 0 and result["slept"] == 0.7
    assert time.monotonic() - started >= 0.7
    assert endpoint.host.counters["receive_timeouts"] >= 2


# ---------------------------------------------------------------------------- authentication
def test_wrong_password_is_401_with_basic_challenge(server):
    endpoint = server()
    conn = http.client.HTTPConnection("127.0.0.1", endpoint.port, timeout=5)
    conn.request("POST", "/wsman", body=b"<x/>", headers={"Authorization": "Basic YW5zaWJsZTp3cm9uZw=="})
    response = conn.getresponse()
    response.read()
    assert response.status == 401 and response.getheader("WWW-Authenticate") == 'Basic realm="WSMAN"'
    from winrm.exceptions import InvalidCredentialsError

    with pytest.raises(InvalidCredentialsError):
        client(endpoint, password="wrong").open_shell()
    assert endpoint.host.counters["auth_failures"] == 2


# ---------------------------------------------------------------------------- faults
def test_latency_is_added_to_every_request(server):
    endpoint = server(faults={"latency_ms": 150})
    proto = client(endpoint)
    started = time.monotonic()
    proto.close_shell(proto.open_shell())
    assert time.monotonic() - started >= 0.3  # two requests


def test_down_host_refuses_connections(server):
    endpoint = server(faults={"down": True})
    assert endpoint.status == "down" and endpoint.port > 0
    assert _refused(endpoint.port)
    with pytest.raises(requests.exceptions.ConnectionError):
        client(endpoint).open_shell()


def test_drop_connection_after_effects_then_recovers(server, tmp_path):
    endpoint = server(faults={"drop_connection": {"module": "winsim.test.touch", "times": 2}})
    line, stdin = module_stdin("winsim.test.touch", {"value": 5})
    for remaining in (1, 0):
        proto = client(endpoint)
        shell_id = proto.open_shell()
        command_id = proto.run_command(
            shell_id, *line.split(" ", 1)[:1], [line.split(" ", 1)[1]], console_mode_stdin=False
        )
        proto.send_command_input(shell_id, command_id, stdin, end=True)
        with pytest.raises(requests.exceptions.ConnectionError):
            proto.get_command_output(shell_id, command_id)
        saved = json.loads((tmp_path / "ws01.json").read_text())
        assert saved["faults"]["drop_connection"]["times"] == remaining  # survives a restart
    assert endpoint.host.reg_get("HKLM\\SOFTWARE\\WinsimTest", "Touched") == 5  # effects applied
    assert endpoint.host.counters["faults"]["drop_connection"] == 2
    rc, out, _err = run(client(endpoint), line, stdin)  # countdown exhausted: answers normally
    assert rc == 0 and json.loads(out)["changed"] is True


def test_drop_connection_without_effects(server):
    endpoint = server(faults={"drop_connection": {"module": "touch", "after_effects": False}})
    line, stdin = module_stdin("winsim.test.touch", {"value": 9})
    with pytest.raises(requests.exceptions.ConnectionError):
        run(client(endpoint), line, stdin)
    assert endpoint.host.reg_get("HKLM\\SOFTWARE\\WinsimTest", "Touched") is None
    assert "modules" not in endpoint.host.counters


REBOOT = "shutdown.exe /r /t 1 /c 'test'"
BOOT_TIME = "(Get-CimInstance -ClassName Win32_OperatingSystem -Property LastBootUpTime).LastBootUpTime.ToFileTime()"


def test_reboot_goes_down_and_comes_back_on_the_same_port(server):
    endpoint = server(reboot_seconds=0.5)
    port = endpoint.port
    proto = client(endpoint)
    rc, out, _err = run(proto, encoded_command(BOOT_TIME))
    boot_before = int(out)
    stale_shell = proto.open_shell()
    assert run(proto, encoded_command(REBOOT))[0] == 0
    assert endpoint.reboot_pending()
    assert _wait(lambda: _refused(port), 5), "host never went down"
    assert _wait(lambda: endpoint.status == "listening", 5), "host never came back"
    assert endpoint.port == port
    rc, out, _err = run(client(endpoint), encoded_command(BOOT_TIME))
    assert rc == 0 and int(out) > boot_before
    assert endpoint.host.state["boot"]["count"] == 2
    from winrm.exceptions import WSManFaultError

    with pytest.raises(WSManFaultError) as info:  # shells die with the machine
        client(endpoint).run_command(stale_shell, "hostname")
    assert info.value.wsman_fault_code == 2150858843
    assert endpoint.host.counters["reboots"] == 1


def test_reboot_can_be_aborted(server):
    endpoint = server(reboot_seconds=0.2)
    assert run(client(endpoint), encoded_command("shutdown.exe /r /t 2"))[0] == 0
    rc, _out, err = run(client(endpoint), encoded_command(REBOOT))
    assert rc == 1190 and b"already been scheduled" in err
    assert run(client(endpoint), encoded_command(r"C:\Windows\System32\shutdown.exe /a"))[0] == 0
    time.sleep(2.5)
    assert endpoint.status == "listening" and endpoint.host.state["boot"]["count"] == 1


def test_reboot_never_returns(server):
    endpoint = server(reboot_seconds=0.2, faults={"reboot_never_returns": True})
    assert run(client(endpoint), encoded_command(REBOOT))[0] == 0
    assert _wait(lambda: endpoint.status == "down", 5)
    time.sleep(0.5)
    assert _refused(endpoint.port) and endpoint.host.state["boot"]["count"] == 1


# ---------------------------------------------------------------------------- HTTPS
def test_https_endpoint_validates_against_generated_ca(tmp_path, server):
    from tests.winsim.server import HostEndpoint

    material = make_tls_material(str(tmp_path))
    plain = server()
    endpoint = HostEndpoint(plain.host, ssl_context=material.server_context())
    plain.loop_thread.call(endpoint.start())
    try:
        from winrm.protocol import Protocol

        for host in ("127.0.0.1", "localhost"):
            proto = Protocol(
                "https://%s:%d/wsman" % (host, endpoint.port),
                transport="ssl",
                username="ansible",
                password="Sim-Passw0rd!",
                ca_trust_path=material.ca_path,
            )
            assert run(proto, encoded_command("hostname"))[1] == b"WS01\r\n"
        bad = Protocol(
            "https://127.0.0.1:%d/wsman" % endpoint.port, transport="ssl", username="ansible", password="Sim-Passw0rd!"
        )
        with pytest.raises(requests.exceptions.SSLError):
            bad.open_shell()
    finally:
        plain.loop_thread.call(endpoint.close())


@pytest.mark.parametrize(
    "faults, message",
    [
        ({"drop_connection": "win_ping"}, "must be a mapping with 'module'"),
        ({"drop_connection": {"module": "x", "when": 1}}, "unknown keys"),
        ({"drop_connection": {"module": "x", "times": "2"}}, "times must be an integer"),
        ({"latency_ms": "slow"}, "latency_ms must be a number"),
    ],
)
def test_malformed_faults_are_rejected(server, faults, message):
    from tests.winsim.fleet import FleetError

    with pytest.raises(FleetError, match=message):
        server(faults=faults)
