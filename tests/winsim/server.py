"""The asyncio server of the simulated fleet: one WinRM listener per host, one event loop.

``HostEndpoint`` owns one host's port. It serves HTTP/1.1 keep-alive connections
(TCP_NODELAY, optional TLS), authenticates each request with Basic auth against
``SimHost.check_credentials``, hands SOAP to a ``wsman.WinrsService`` and runs commands
through ``payload.decode``/``payload.execute``. It also plays the host's faults
(``latency_ms``, ``down``, ``drop_connection``, ``reboot_never_returns`` and the events of
``faults.inject``, see ``faults.py``), its reboots
(stop listening, reset the open connections, come back on the same port) and keeps the
per-host counters (``<state_dir>/<host>.counters.json``).

``Fleet`` starts and stops all endpoints. ``make_tls_material`` writes a throwaway CA and a
server certificate (EC P-256, SAN ``DNS:localhost`` + ``IP:127.0.0.1``).
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import json
import logging
import os
import socket
import ssl
import struct
import traceback
from collections.abc import Iterable
from dataclasses import dataclass

from . import faults, payload, wsman
from .fleet import FleetError
from .host import SimHost

log = logging.getLogger("winsim")

#: Counter names (see ``docs/development.md``): plain counters and grouped ones.
GROUP_REQUESTS = "requests"
GROUP_MODULES = "modules"
GROUP_RAW = "raw"
GROUP_FAULTS = "faults"


@dataclass
class DropFault:
    """The host's ``drop_connection`` fault as it applies to one command."""

    after_effects: bool


class HostEndpoint:
    """One simulated host's WinRM endpoint on ``bind:port``."""

    def __init__(
        self,
        host: SimHost,
        bind: str = "127.0.0.1",
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
        trace_path: str | None = None,
        max_hold: float = 2.0,
    ) -> None:
        self.host = host
        self.bind = bind
        self.port = port
        self.ssl_context = ssl_context
        self.trace_path = trace_path
        self.max_hold = max_hold
        self.status = "stopped"  # listening | down | rebooting | stopped
        self.service = self._new_service()
        self._server: asyncio.base_events.Server | None = None
        self._held: socket.socket | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._reboot_task: asyncio.Task[None] | None = None
        self._going_down = False
        self._dirty = False

    # ------------------------------------------------------------------ listening
    @property
    def scheme(self) -> str:
        return "https" if self.ssl_context else "http"

    async def start(self) -> None:
        """Bind the port; listen unless the host is ``down`` (then connections are refused)."""
        check_faults(self.host)
        self._hold_port()
        if self.host.faults.get("down"):
            self.status = "down"
            return
        await self._listen()

    def _hold_port(self) -> None:
        """Bind (without listening) so the port stays ours while the host is down or rebooting."""
        if self._held is not None:
            return
        family = socket.AF_INET6 if ":" in self.bind else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.bind, self.port))
        self.port = sock.getsockname()[1]
        self._held = sock

    async def _listen(self) -> None:
        self._hold_port()
        sock, self._held = self._held, None
        assert sock is not None
        self._server = await asyncio.start_server(
            self._serve,
            sock=sock,
            ssl=self.ssl_context,
            ssl_handshake_timeout=30 if self.ssl_context else None,
            limit=wsman.MAX_HEADER_BYTES,
        )
        self.status = "listening"

    async def _stop_listening(self, hold: bool) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        self._abort_connections()
        if hold:
            self._hold_port()

    def _abort_connections(self) -> None:
        for writer in list(self._writers):
            _abort(writer)
        self._writers.clear()

    async def close(self) -> None:
        """Stop for good: cancel a pending reboot, close listener and connections, flush."""
        if self._reboot_task is not None:
            self._reboot_task.cancel()
            self._reboot_task = None
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()
        if self._held is not None:
            self._held.close()
            self._held = None
        self.status = "stopped"
        self.host.save_if_changed()
        self.host.save_counters()

    # ------------------------------------------------------------------ connections
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._writers.add(writer)
        self._count("connections")
        aborted = False
        try:
            while True:
                try:
                    request = await wsman.read_http_request(reader)
                except wsman.HttpError as exc:
                    body = ("winsim: %s\r\n" % exc.message).encode()
                    writer.write(wsman.http_response(exc.status, body, content_type="text/plain", keep_alive=False))
                    await writer.drain()
                    break
                if request is None:
                    break
                response, keep_alive = await self._respond(request)
                self._count("bytes_out", len(response))
                writer.write(response)
                await writer.drain()
                if not keep_alive:
                    break
        except wsman.DropConnection:
            aborted = True
            _abort(writer)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, TimeoutError):
            aborted = True
        finally:
            self._writers.discard(writer)
            if not aborted and not writer.is_closing():
                writer.close()
            if self._dirty:
                self.flush_counters()

    async def _respond(self, request: wsman.HttpRequest) -> tuple[bytes, bool]:
        latency = float(self.host.faults.get("latency_ms") or 0) / 1000.0
        if latency > 0:
            await asyncio.sleep(latency)
        self._count("http_requests")
        self._count("bytes_in", request.raw_size)
        keep = request.keep_alive
        if request.path.split("?", 1)[0].rstrip("/").lower() != "/wsman":
            return wsman.http_response(
                404, b"winsim: only /wsman is served\r\n", content_type="text/plain", keep_alive=keep
            ), keep
        if request.method != "POST":
            return wsman.http_response(
                405,
                b"winsim: WS-Management takes POST\r\n",
                content_type="text/plain",
                keep_alive=keep,
                extra_headers={"Allow": "POST"},
            ), keep
        creds = wsman.parse_basic_auth(request.headers.get("authorization"))
        if creds is None or not self.host.check_credentials(*creds):
            self._count("auth_failures")
            return wsman.unauthorized_response(keep), keep
        soap: wsman.SoapRequest | None = None
        try:
            soap = wsman.parse_soap(request.body)
            self._count_in(GROUP_REQUESTS, soap.short_action)
            body = await self.service.handle(soap)
        except wsman.WsmanError as exc:
            fault = wsman.fault_response(
                soap.message_id if soap else "",
                exc.code,
                exc.reason,
                exc.subcode,
                machine=self.host.state.get("hostname", self.host.name),
            )
            return wsman.http_response(500, fault, keep_alive=keep), keep
        if soap.action == wsman.ACTION_DELETE:
            self.flush_counters()
        return wsman.http_response(200, body, keep_alive=keep), keep

    # ------------------------------------------------------------------ commands
    def _new_service(self) -> wsman.WinrsService:
        return wsman.WinrsService(
            self._run,
            on_event=self._on_event,
            max_hold=self.max_hold,
            machine=str(self.host.state.get("hostname", self.host.name)),
        )

    def _on_event(self, name: str) -> None:
        if name in ("shell", "command"):
            self._count(name + "s")
        elif name == "receive_timeout":
            self._count("receive_timeouts")
        elif name == "drop":
            self._count_in(GROUP_FAULTS, "drop_connection")

    def _run(self, command: wsman.WinrsCommand) -> wsman.CommandResult:
        """Decode, apply the faults, execute, persist; never raises."""
        line = command.line.full
        stdin = command.stdin_bytes
        self._trace(line, stdin)
        try:
            inv = payload.decode(line, stdin, self.host.read_file)
        except payload.PayloadError as exc:
            self._count_in(GROUP_RAW, "undecodable")
            return wsman.CommandResult(1, b"", ("winsim: cannot decode the command: %s\r\n" % exc).encode())
        drop = self._drop_fault(inv)
        if drop is not None and not drop.after_effects:
            self.host.save_if_changed()
            return wsman.CommandResult(1, drop=True)
        fired = self._injected(inv)
        faults.apply_state_events(self.host, fired.before)
        if fired.skip_run:
            result = self._fault_answer(fired.before, wsman.CommandResult(1, b"", b"winsim: the command never ran\r\n"))
            self.host.save_if_changed()
            self._maybe_schedule_reboot()
            return result
        self.host.begin_command()
        try:
            outcome = payload.execute(self.host, inv, power=self)
        except Exception as exc:  # a simulator bug must surface, not kill the server
            outcome = _crash_outcome(inv, exc)
        finally:
            # The answer waits until the wall clock has caught up with the command's virtual time.
            held = self.host.end_command()
        outcome.delay = max(outcome.delay, held)
        self._count_invocation(inv, outcome)
        faults.apply_state_events(self.host, fired.after)
        result = self._fault_answer(
            fired.after,
            wsman.CommandResult(
                outcome.rc,
                outcome.stdout.encode("utf-8"),
                outcome.stderr.encode("utf-8"),
                delay=outcome.delay,
                drop=drop is not None,
            ),
        )
        self.host.save_if_changed()
        self._maybe_schedule_reboot()
        return result

    def _injected(self, inv: payload.Invocation) -> faults.Fired:
        """The ``faults.inject`` events this module run triggers (counted in the group ``faults``)."""
        if inv.kind != payload.KIND_MODULE or inv.is_async:
            return faults.Fired([], [])
        fired = faults.take(self.host, inv.module)
        for event in fired.before + fired.after:
            self._count_in(GROUP_FAULTS, event["do"])
        return fired

    def _fault_answer(self, events: list[dict], result: wsman.CommandResult) -> wsman.CommandResult:
        """The command's answer as the injected events change it."""
        for event in events:
            action = event["do"]
            if action == "http_500":
                result.fault = "winsim: the WS-Management service failed (injected http_500)"
            elif action == "hang":
                # Real seconds: what cuts a hung command is the controller's bound, in real time.
                result.delay = max(result.delay, float(event["seconds"]))
            elif action == "drop":
                result.drop = True
            elif action == "reboot":
                self.host.request_reboot(0.0)
                result.drop = True
        return result

    def _drop_fault(self, inv: payload.Invocation) -> DropFault | None:
        """Consume one ``drop_connection`` countdown if it targets this module run."""
        spec = self.host.faults.get("drop_connection")
        if inv.kind != payload.KIND_MODULE or not isinstance(spec, dict) or not inv.module:
            return None
        target = str(spec.get("module", ""))
        if target not in (inv.module, inv.module.rsplit(".", 1)[-1]):
            return None
        times = int(spec.get("times", 1))
        if times <= 0:
            return None
        with self.host.lock:
            self.host.state["faults"]["drop_connection"] = {**spec, "times": times - 1}
        return DropFault(after_effects=bool(spec.get("after_effects", True)))

    def _count_invocation(self, inv: payload.Invocation, outcome: payload.Outcome) -> None:
        if inv.kind == payload.KIND_MODULE and not inv.is_async:
            self._count_in(GROUP_MODULES, inv.module or "?")
        elif inv.kind == payload.KIND_RAW:
            self._count_in(GROUP_RAW, outcome.label or "unsupported")
        elif inv.kind == payload.KIND_SCRIPT:
            self._count("scripts")
        else:
            self._count(inv.kind)

    def _trace(self, line: str, stdin: bytes) -> None:
        if not self.trace_path:
            return
        record = {"host": self.host.name, "command_line": line, "stdin": stdin.decode("latin-1")}
        with open(self.trace_path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")

    # ------------------------------------------------------------------ reboots (raw.PowerControl)
    def reboot_pending(self) -> bool:
        return self._reboot_task is not None and not self._reboot_task.done()

    def abort_reboot(self) -> bool:
        if self.reboot_pending() and not self._going_down:
            assert self._reboot_task is not None
            self._reboot_task.cancel()
            self._reboot_task = None
            self._count("reboots_aborted")
            return True
        return False

    def _maybe_schedule_reboot(self) -> None:
        delay = self.host.reboot_requested
        if delay is None:
            return
        self.host.reboot_requested = None
        self._reboot_task = asyncio.get_running_loop().create_task(self._reboot(delay))

    async def _reboot(self, delay: float) -> None:
        await asyncio.sleep(self.host.clock.fleet.real_seconds(delay))
        self._going_down = True
        try:
            self._count("reboots")
            self.status = "rebooting"
            await self._stop_listening(hold=True)
            self.service = self._new_service()  # every shell dies with the machine
            self.flush_counters()
            await asyncio.sleep(self.host.clock.fleet.real_seconds(float(self.host.state.get("reboot_seconds", 2))))
            if self.host.faults.get("reboot_never_returns"):
                self.status = "down"
                return
            self.host.complete_boot()
            await self._listen()
        finally:
            self._going_down = False

    # ------------------------------------------------------------------ counters
    def _count(self, key: str, amount: int = 1) -> None:
        self.host.count(key, amount)
        self._dirty = True

    def _count_in(self, group: str, key: str, amount: int = 1) -> None:
        self.host.count_in(group, key, amount)
        self._dirty = True

    def flush_counters(self) -> None:
        self.host.save_counters()
        self._dirty = False


faults_module = faults


def check_faults(host: SimHost) -> None:
    """Reject protocol fault settings the server would not understand (``FleetError``)."""
    faults = host.faults
    latency = faults.get("latency_ms", 0)
    if not isinstance(latency, int | float) or isinstance(latency, bool) or latency < 0:
        raise FleetError("%s: faults.latency_ms must be a number of milliseconds >= 0, got %r" % (host.name, latency))
    try:
        faults_module.check_inject(host.name, faults.get("inject"))
    except faults_module.FaultSpecError as exc:
        raise FleetError(str(exc)) from exc
    drop = faults.get("drop_connection")
    if drop is None:
        return
    if not isinstance(drop, dict) or not isinstance(drop.get("module"), str) or not drop["module"]:
        raise FleetError(
            "%s: faults.drop_connection must be a mapping with 'module' (and optional 'times', "
            "'after_effects'), got %r" % (host.name, drop)
        )
    unknown = set(drop) - {"module", "times", "after_effects"}
    if unknown:
        raise FleetError("%s: faults.drop_connection: unknown keys %s" % (host.name, sorted(unknown)))
    if not isinstance(drop.get("times", 1), int) or isinstance(drop.get("times", 1), bool):
        raise FleetError("%s: faults.drop_connection.times must be an integer" % host.name)


def _abort(writer: asyncio.StreamWriter) -> None:
    """Reset the TCP connection (RST, not FIN), as a dying host or a cut cable would."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    writer.transport.abort()


def _crash_outcome(inv: payload.Invocation, exc: Exception) -> payload.Outcome:
    detail = "".join(traceback.format_exception(exc))
    log.error("winsim: %s crashed: %s", inv.module or inv.kind, detail)
    msg = "winsim: the simulator crashed running %s: %s: %s" % (inv.module or inv.kind, type(exc).__name__, exc)
    if inv.kind == payload.KIND_MODULE:
        return payload.Outcome(
            1, json.dumps({"failed": True, "changed": False, "msg": msg, "exception": detail}), label="crash"
        )
    return payload.Outcome(1, "", msg + "\r\n" + detail, label="crash")


# ---------------------------------------------------------------------------- the fleet
class Fleet:
    """All endpoints of one simulator process."""

    def __init__(self, endpoints: Iterable[HostEndpoint]) -> None:
        self.endpoints = list(endpoints)

    async def start(self) -> None:
        for endpoint in self.endpoints:
            await endpoint.start()

    async def stop(self) -> None:
        for endpoint in self.endpoints:
            await endpoint.close()

    @property
    def listening(self) -> int:
        return sum(1 for e in self.endpoints if e.status == "listening")


# ---------------------------------------------------------------------------- TLS
@dataclass
class TlsMaterial:
    ca_path: str
    cert_path: str
    key_path: str

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.cert_path, self.key_path)
        return ctx


def make_tls_material(
    directory: str, names: tuple[str, ...] = ("localhost",), addresses: tuple[str, ...] = ("127.0.0.1",)
) -> TlsMaterial:
    """Write a throwaway CA (``winsim-ca.pem``) and a server certificate signed by it.

    Both EC P-256. The server certificate names ``DNS:localhost`` and ``IP:127.0.0.1`` so
    full validation with ``ansible_winrm_ca_trust_path`` works (the CA is a proper CA, so
    X.509 strict mode is satisfied too).
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "winsim test CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    san = [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    material = TlsMaterial(
        os.path.join(directory, "winsim-ca.pem"),
        os.path.join(directory, "winsim-server.pem"),
        os.path.join(directory, "winsim-server.key"),
    )
    _write(material.ca_path, ca.public_bytes(serialization.Encoding.PEM))
    _write(material.cert_path, cert.public_bytes(serialization.Encoding.PEM))
    _write(
        material.key_path,
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
        mode=0o600,
    )
    return material


def _write(path: str, data: bytes, mode: int = 0o644) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
