"""The fake cloud's HTTPS server: Entra sign-in, the Defender for Endpoint API and Graph.

Paths (one port; the prefixes keep the three services apart so a module that sends a call
to the wrong base URL gets a 404, as it would in production):

* ``/{tenant}/v2.0/.well-known/openid-configuration``, ``/{tenant}/oauth2/v2.0/token``
  - the authority (``authority_host`` = ``https://127.0.0.1:PORT``)
* ``/mde/api/...`` - the Defender API (``api_base_url`` = ``https://127.0.0.1:PORT/mde``)
* ``/graph/v1.0/...``, ``/graph/beta/...`` - Graph (``graph_base_url`` = ``https://127.0.0.1:PORT/graph``)
* ``/_fake/...`` - the control endpoint (counters, faults, config) for the tests

Each API request goes through: faults (configured ones are served first) -> bearer token
(signature, expiry, audience = this API) -> permission (the token's ``roles``) ->
throttling (per tenant and endpoint family, sliding minute and hour windows; 429 with
``Retry-After``) -> the handler. Counters per family and status are written to
``DIR/cloud/counters.json`` after every request and served at ``GET /_fake/counters``.
"""

from __future__ import annotations

import base64
import collections
import datetime
import hashlib
import json
import math
import os
import re
import secrets
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt

from ..clock import fleet_time
from . import catalog, kql
from .config import API_PERMISSIONS, GRAPH_PERMISSIONS, CloudConfig, Fault, Tenant, parse_fault
from .devices import HUNTING_TABLES, Fleet, iso
from .intune import GraphError, IntuneStore
from .odata import ODataError, compile_filter

API_RESOURCES = {
    "https://api.securitycenter.microsoft.com",
    "https://api.security.microsoft.com",
    "https://securitycenter.onmicrosoft.com/windowsatpservice",
    "https://api-gcc.securitycenter.microsoft.us",
    "https://api-gov.securitycenter.microsoft.us",
}
GRAPH_RESOURCES = {"https://graph.microsoft.com", "https://graph.microsoft.us", "https://dod-graph.microsoft.us"}

MACHINE_FILTER = {
    "computerDnsName",
    "id",
    "version",
    "deviceValue",
    "aadDeviceId",
    "machineTags",
    "lastSeen",
    "exposureLevel",
    "onboardingStatus",
    "lastIpAddress",
    "healthStatus",
    "osPlatform",
    "riskScore",
    "rbacGroupId",
}
AVINFO_FILTER = {
    "machineId",
    "computerDnsName",
    "osKind",
    "osPlatform",
    "osVersion",
    "avMode",
    "avSignatureVersion",
    "avEngineVersion",
    "avPlatformVersion",
    "quickScanResult",
    "quickScanError",
    "fullScanResult",
    "fullScanError",
    "avIsSignatureUpToDate",
    "avIsEngineUpToDate",
    "avIsPlatformUpToDate",
    "rbacGroupId",
}
ALERT_FILTER = {
    "alertCreationTime",
    "lastUpdateTime",
    "incidentId",
    "InvestigationId",
    "id",
    "assignedTo",
    "detectionSource",
    "lastEventTime",
    "status",
    "severity",
    "category",
}
POLICY_FILTER = {"name", "id", "platforms", "technologies", "templateReference/templateId"}

READ_MACHINES = ("Machine.Read.All", "Machine.ReadWrite.All")
READ_ALERTS = ("Alert.Read.All", "Alert.ReadWrite.All")
READ_INTUNE = ("DeviceManagementConfiguration.Read.All", "DeviceManagementConfiguration.ReadWrite.All")
WRITE_INTUNE = ("DeviceManagementConfiguration.ReadWrite.All",)


class HttpError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


class CannedAnswer(Exception):
    """A fault that answers with a given JSON body (a malformed answer of the service)."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__("canned answer %d" % status)
        self.status = status
        self.body = body


class CloudState:
    """Everything the handlers share (one lock around the mutable parts)."""

    def __init__(self, config: CloudConfig, state_dir: str, base_url: str = "") -> None:
        self.config = config
        self.state_dir = state_dir
        self.cloud_dir = os.path.join(state_dir, "cloud")
        os.makedirs(self.cloud_dir, exist_ok=True)
        self.fleet = Fleet(state_dir)
        self.intune = IntuneStore(os.path.join(self.cloud_dir, "graph.json"))
        self.base_url = base_url
        self.signing_key = secrets.token_bytes(32)
        self.lock = threading.RLock()
        self.windows: dict[tuple[str, str], collections.deque] = {}
        self.faults: list[Fault] = list(config.faults)
        self.counters: dict[str, Any] = {}
        self.reset_counters()

    # ------------------------------------------------------------------ counters
    def reset_counters(self) -> None:
        with self.lock:
            self.counters = {
                "requests": {},
                "status": {},
                "by_route": {},
                "throttled": {},
                "faults_served": {},
                "api_calls": 0,
                "since": iso(datetime.datetime.now(datetime.UTC)),
            }
            self.save_counters()

    def count(self, family: str, route: str, status: int) -> None:
        with self.lock:
            c = self.counters
            c["requests"][family] = c["requests"].get(family, 0) + 1
            c["by_route"][route] = c["by_route"].get(route, 0) + 1
            fam = c["status"].setdefault(family, {})
            fam[str(status)] = fam.get(str(status), 0) + 1
            if family not in ("token", "discovery", "control"):
                c["api_calls"] += 1
            self.save_counters()

    def save_counters(self) -> None:
        path = os.path.join(self.cloud_dir, "counters.json")
        tmp = path + ".tmp.%d" % threading.get_ident()
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(self.counters, fh, sort_keys=True, indent=1)
        os.replace(tmp, path)

    # ------------------------------------------------------------------ faults / throttling
    def take_fault(self, family: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                fam = fault.family
                if fam is None and family in ("token", "discovery", "control"):
                    continue
                if fam is not None and fam != family:
                    continue
                if fault.count is not None:
                    fault.count -= 1
                    if fault.count <= 0:
                        self.faults.remove(fault)
                served = self.counters["faults_served"]
                served[family] = served.get(family, 0) + 1
                return fault
        return None

    def throttle(self, tenant: str, family: str) -> float | None:
        """None when the call is admitted, else seconds until it would be."""
        per_min, per_hour = self.config.limits.get(family, (None, None))
        if not per_min and not per_hour:
            return None
        now = time.monotonic()
        with self.lock:
            calls = self.windows.setdefault((tenant, family), collections.deque())
            while calls and calls[0] <= now - 3600:
                calls.popleft()
            wait = 0.0
            recent = [t for t in calls if t > now - 60]
            if per_min and len(recent) >= per_min:
                wait = max(wait, recent[-per_min] + 60 - now)
            if per_hour and len(calls) >= per_hour:
                wait = max(wait, calls[-per_hour] + 3600 - now)
            if wait > 0:
                self.counters["throttled"][family] = self.counters["throttled"].get(family, 0) + 1
                return wait
            calls.append(now)
            return None

    # ------------------------------------------------------------------ tokens
    def issue_token(self, tenant: Tenant, client_id: str, resource: str, roles: list[str]) -> str:
        now = int(time.time())
        claims = {
            "aud": resource,
            "iss": "https://sts.windows.net/%s/" % tenant.tenant_id,
            "iat": now,
            "nbf": now,
            "exp": now + 3599,
            "appid": client_id,
            "azp": client_id,
            "tid": tenant.tenant_id,
            "roles": roles,
            "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, client_id)),
            "ver": "1.0",
        }
        return jwt.encode(claims, self.signing_key, algorithm="HS256", headers={"kid": "winsim-cloud"})

    def check_token(self, header: str | None, api: str) -> dict:
        if not header or not header.startswith("Bearer "):
            raise HttpError(
                401,
                "Unauthorized" if api == "mde" else "InvalidAuthenticationToken",
                "Authorization header is missing or is not a Bearer token.",
            )
        try:
            claims = jwt.decode(header[7:], self.signing_key, algorithms=["HS256"], options={"verify_aud": False})
        except jwt.ExpiredSignatureError as exc:
            raise HttpError(
                401,
                "Unauthorized" if api == "mde" else "InvalidAuthenticationToken",
                "Lifetime validation failed, the token is expired.",
            ) from exc
        except jwt.PyJWTError as exc:
            raise HttpError(
                401,
                "Unauthorized" if api == "mde" else "InvalidAuthenticationToken",
                "Access token validation failure.",
            ) from exc
        allowed = API_RESOURCES if api == "mde" else GRAPH_RESOURCES
        if claims.get("aud", "").rstrip("/") not in allowed:
            raise HttpError(
                401,
                "Unauthorized" if api == "mde" else "InvalidAuthenticationToken",
                "Access token validation failure. Invalid audience.",
            )
        if claims.get("tid") not in self.config.tenants:
            raise HttpError(401, "Unauthorized", "Tenant is unknown.")
        return claims


# =========================================================================== handler
class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "winsim-cloud/1.0"
    cloud: CloudState  # set on the subclass by make_server

    def log_message(self, format: str, *args: Any) -> None:
        if os.environ.get("WINSIM_CLOUD_LOG"):
            super().log_message(format, *args)

    # ------------------------------------------------------------------ plumbing
    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(
        self,
        status: int,
        data: Any = None,
        headers: dict | None = None,
        raw: bytes | None = None,
        content_type: str = "application/json; charset=utf-8",
    ) -> None:
        body = raw if raw is not None else (b"" if data is None else json.dumps(data).encode("utf-8"))
        self.send_response(status)
        if body or status not in (204,):
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("request-id", str(uuid.uuid4()))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if body:
            self.wfile.write(body)
        self._status = status

    def _error(self, exc: HttpError, api: str) -> None:
        corr = str(uuid.uuid4())
        if api == "graph":
            body = {
                "error": {
                    "code": exc.code,
                    "message": exc.message,
                    "innerError": {
                        "date": iso(datetime.datetime.now(datetime.UTC)),
                        "request-id": corr,
                        "client-request-id": corr,
                    },
                }
            }
        elif api == "login":
            body = {
                "error": exc.code,
                "error_description": "%s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s"
                % (exc.message, corr, corr, iso(datetime.datetime.now(datetime.UTC))),
                "error_codes": [int(m) for m in re.findall(r"AADSTS(\d+)", exc.message)[:1]],
                "timestamp": iso(datetime.datetime.now(datetime.UTC)),
                "trace_id": corr,
                "correlation_id": corr,
            }
        else:
            body = {"error": {"code": exc.code, "message": exc.message, "target": corr}}
        self._send(exc.status, body, exc.headers)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # ------------------------------------------------------------------ routing
    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        path = parts.path
        self.query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        self._status = 500
        self._next_link: Fault | None = None
        body = self._body()
        family, route, api = "unknown", "%s %s" % (method, re.sub(r"/[0-9a-fA-F-]{36}(?=/|$)", "/{id}", path)), "mde"
        try:
            if path.startswith("/_fake/"):
                family, api = "control", "control"
                self._control(method, path, body)
                return
            m = re.match(r"^/([^/]+)/(v2\.0/\.well-known/openid-configuration|oauth2/v2\.0/token)$", path)
            if m:
                api = "login"
                family = "discovery" if m.group(2).startswith("v2.0") else "token"
                self._fault_gate(family, api)
                if family == "discovery":
                    self._discovery(method, m.group(1))
                else:
                    self._token(method, m.group(1), body)
                return
            if path.startswith("/mde/"):
                api = "mde"
                family, perms, handler = self._mde_route(method, path[4:])
            elif path.startswith("/graph/"):
                api = "graph"
                family, perms, handler = self._graph_route(method, path[6:])
            else:
                raise HttpError(404, "NotFound", "No such path: %s" % path)
            self._fault_gate(family, api)
            claims = self.cloud.check_token(self.headers.get("Authorization"), api)
            roles = set(claims.get("roles") or [])
            if perms and not roles & set(perms):
                raise HttpError(
                    403,
                    "Forbidden",
                    "The application does not have any of the required application "
                    "permissions (%s) to access the resource." % ", ".join(perms),
                )
            wait = self.cloud.throttle(claims["tid"], family)
            if wait is not None:
                per_min, per_hour = self.cloud.config.limits.get(family, (None, None))
                raise HttpError(
                    429,
                    "TooManyRequests",
                    "API calls quota exceeded! Maximum admitted %s per Minute and %s per Hour." % (per_min, per_hour),
                    {"Retry-After": str(max(1, math.ceil(wait)))},
                )
            tenant = self.cloud.config.tenants[claims["tid"]]
            handler(tenant, body)
        except CannedAnswer as exc:
            self._send(exc.status, exc.body)
        except HttpError as exc:
            self._error(exc, api)
        except (ODataError, kql.KqlError) as exc:
            self._error(HttpError(400, "BadRequest" if isinstance(exc, kql.KqlError) else "ODataError", str(exc)), api)
        except GraphError as exc:
            self._error(HttpError(exc.status, exc.code, exc.message), "graph")
        except Exception as exc:  # a bug in the fake: answer, never hang the client
            import traceback

            traceback.print_exc()
            self._error(HttpError(500, "InternalServerError", "winsim cloud fake bug: %r" % exc), api)
        finally:
            if family != "control":
                self.cloud.count(family, route, self._status)

    def _fault_gate(self, family: str, api: str) -> None:
        fault = self.cloud.take_fault(family)
        if fault is None:
            return
        if fault.has_body:
            raise CannedAnswer(fault.status, fault.body)
        if fault.has_next_link:
            self._next_link = fault  # the request goes on; _page puts this link on its page
            return
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
        codes = {
            401: "Unauthorized",
            403: "Forbidden",
            429: "TooManyRequests",
            500: "InternalServerError",
            502: "BadGateway",
            503: "ServiceUnavailable",
            504: "GatewayTimeout",
            408: "RequestTimeout",
        }
        code = fault.code or codes.get(fault.status, "Error")
        message = fault.message or {
            401: "Unauthorized (injected fault).",
            403: "The application does not have any of the required application permissions (injected fault).",
            429: "API calls quota exceeded! (injected fault)",
        }.get(fault.status, "The service is unavailable (injected fault).")
        if api == "login":
            code = fault.code or ("temporarily_unavailable" if fault.status >= 500 else "invalid_request")
        raise HttpError(fault.status, code, message, headers)

    # ------------------------------------------------------------------ sign-in
    def _discovery(self, method: str, tenant_id: str) -> None:
        if method != "GET":
            raise HttpError(405, "invalid_request", "GET only")
        tenant = self.cloud.config.tenants.get(tenant_id.lower())
        if tenant is None:
            raise HttpError(
                400,
                "invalid_tenant",
                "AADSTS90002: Tenant '%s' not found. Check to make sure you have "
                "the correct tenant ID and are signing into the correct cloud." % tenant_id,
            )
        base = "%s/%s" % (self.cloud.base_url, tenant_id)
        self._send(
            200,
            {
                "token_endpoint": base + "/oauth2/v2.0/token",
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                    "client_secret_basic",
                ],
                "jwks_uri": base + "/discovery/v2.0/keys",
                "response_modes_supported": ["query", "fragment", "form_post"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "issuer": base + "/v2.0",
                "request_uri_parameter_supported": False,
                "authorization_endpoint": base + "/oauth2/v2.0/authorize",
                "device_authorization_endpoint": base + "/oauth2/v2.0/devicecode",
                "end_session_endpoint": base + "/oauth2/v2.0/logout",
                "tenant_region_scope": "WW",
                "cloud_instance_name": "microsoftonline.com",
            },
        )

    def _token(self, method: str, tenant_id: str, body: bytes) -> None:
        if method != "POST":
            raise HttpError(405, "invalid_request", "POST only")
        tenant = self.cloud.config.tenants.get(tenant_id.lower())
        if tenant is None:
            raise HttpError(400, "invalid_tenant", "AADSTS90002: Tenant '%s' not found." % tenant_id)
        form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8")).items()}
        if form.get("grant_type") != "client_credentials":
            raise HttpError(400, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.")
        client = next((c for c in tenant.clients if c.client_id == str(form.get("client_id", "")).lower()), None)
        if client is None:
            raise HttpError(
                400,
                "unauthorized_client",
                "AADSTS700016: Application with identifier '%s' was not found "
                "in the directory '%s'." % (form.get("client_id"), tenant.name),
            )
        token_url = "%s/%s/oauth2/v2.0/token" % (self.cloud.base_url, tenant_id)
        if "client_assertion" in form:
            self._check_assertion(client, form, token_url)
        elif client.secret is None or not secrets.compare_digest(str(form.get("client_secret", "")), client.secret):
            raise HttpError(
                401,
                "invalid_client",
                "AADSTS7000215: Invalid client secret provided. Ensure the secret "
                "being sent in the request is the client secret value, not the client secret ID, for a "
                "secret added to app '%s'." % client.client_id,
            )
        scope = str(form.get("scope") or "").split()
        resource = scope[0][: -len("/.default")].rstrip("/") if scope and scope[0].endswith("/.default") else None
        if resource in API_RESOURCES:
            roles = [p for p in client.permissions if p in API_PERMISSIONS]
        elif resource in GRAPH_RESOURCES:
            roles = [p for p in client.permissions if p in GRAPH_PERMISSIONS]
        else:
            raise HttpError(
                400,
                "invalid_scope",
                "AADSTS1002012: The provided value for scope %s is not valid. Client "
                "credential flows must have a scope value with /.default suffixed to the resource "
                "identifier (application ID URI)." % " ".join(scope),
            )
        token = self.cloud.issue_token(tenant, client.client_id, resource, roles)
        self._send(200, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token})

    def _check_assertion(self, client, form: dict, token_url: str) -> None:
        bad = HttpError(
            401,
            "invalid_client",
            "AADSTS700027: The certificate with identifier used to sign the client "
            "assertion is not registered on application.",
        )
        if form.get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
            raise HttpError(400, "invalid_request", "AADSTS50027: Invalid client_assertion_type.")
        if not client.cert_pem:
            raise bad
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes

        cert = x509.load_pem_x509_certificate(client.cert_pem.encode())
        assertion = form["client_assertion"]
        header = jwt.get_unverified_header(assertion)
        sha1 = base64.urlsafe_b64encode(cert.fingerprint(hashes.SHA1())).rstrip(b"=").decode()
        sha256 = base64.urlsafe_b64encode(cert.fingerprint(hashes.SHA256())).rstrip(b"=").decode()
        if str(header.get("x5t", "")).rstrip("=") != sha1 and str(header.get("x5t#S256", "")).rstrip("=") != sha256:
            raise bad
        try:
            claims = jwt.decode(
                assertion, cert.public_key(), algorithms=["RS256", "PS256", "ES256"], audience=token_url
            )
        except jwt.PyJWTError as exc:
            raise HttpError(
                401, "invalid_client", "AADSTS700027: Client assertion failed signature validation: %s" % exc
            ) from exc
        if claims.get("iss") != client.client_id or claims.get("sub") != client.client_id:
            raise HttpError(401, "invalid_client", "AADSTS700023: Client assertion audience/issuer mismatch.")

    # ------------------------------------------------------------------ Defender API
    def _mde_route(self, method: str, path: str):
        routes = [
            ("GET", r"^/api/machines$", "machines", READ_MACHINES, self._machines),
            ("GET", r"^/api/machines/([^/]+)$", "machines", READ_MACHINES, self._machine),
            ("GET", r"^/api/machines/([^/]+)/alerts$", "machines", READ_ALERTS, self._machine_alerts),
            ("GET", r"^/api/deviceavinfo$", "deviceavinfo", READ_MACHINES, self._avinfo),
            ("GET", r"^/api/alerts$", "alerts", READ_ALERTS, self._alerts),
            ("POST", r"^/api/advancedqueries/run$", "advancedqueries", ("AdvancedQuery.Read.All",), self._hunt_mde),
        ]
        return self._match(routes, method, path, "mde")

    def _graph_route(self, method: str, path: str):
        pol = r"^/beta/deviceManagement/configurationPolicies"
        routes = [
            (
                "POST",
                r"^/(?:v1\.0|beta)/security/runHuntingQuery$",
                "graph_hunting",
                ("ThreatHunting.Read.All",),
                self._hunt_graph,
            ),
            ("GET", pol + "$", "graph_intune", READ_INTUNE, self._policies),
            ("POST", pol + "$", "graph_intune", WRITE_INTUNE, self._policy_create),
            ("GET", pol + r"/([^/]+)$", "graph_intune", READ_INTUNE, self._policy_get),
            ("PUT", pol + r"/([^/]+)$", "graph_intune", WRITE_INTUNE, self._policy_put),
            ("PATCH", pol + r"/([^/]+)$", "graph_intune", WRITE_INTUNE, self._policy_patch),
            ("DELETE", pol + r"/([^/]+)$", "graph_intune", WRITE_INTUNE, self._policy_delete),
            ("POST", pol + r"/([^/]+)/assign$", "graph_intune", WRITE_INTUNE, self._policy_assign),
            ("GET", pol + r"/([^/]+)/(settings|assignments)$", "graph_intune", READ_INTUNE, self._policy_part),
            ("GET", r"^/beta/deviceManagement/configurationSettings$", "graph_intune", READ_INTUNE, self._definitions),
            (
                "GET",
                r"^/beta/deviceManagement/configurationSettings/([^/]+)$",
                "graph_intune",
                READ_INTUNE,
                self._definition,
            ),
        ]
        return self._match(routes, method, path, "graph")

    def _match(self, routes, method: str, path: str, api: str):
        known_path = False
        for r_method, pattern, family, perms, func in routes:
            m = re.match(pattern, path)
            if not m:
                continue
            known_path = True
            if r_method == method:
                args = m.groups()
                return family, perms, (lambda tenant, body, func=func, args=args: func(tenant, body, *args))
        if known_path:
            raise HttpError(405, "MethodNotAllowed", "%s is not allowed on %s" % (method, path))
        raise HttpError(
            404,
            "ResourceNotFound" if api == "graph" else "NotFound",
            "Resource not found for the segment '%s'." % path.rsplit("/", 1)[-1],
        )

    def _now(self) -> datetime.datetime:
        # The devices' world runs on the simulated hosts' clock (tests/winsim/clock.py).
        return datetime.datetime.fromtimestamp(fleet_time(self.cloud.state_dir), datetime.UTC)

    def _devices(self, tenant: Tenant):
        cfg = self.cloud.config
        return self.cloud.fleet.devices(tenant.org_id, self._now(), cfg.ingestion_delay_s, cfg.discovery)

    def _page(self, items: list[dict], family: str, prefix: str, graph: bool = False) -> dict:
        cap = self.cloud.config.page_size.get(family, 10000)
        top_raw = self.query.get("$top")
        if top_raw is not None:
            try:
                top = int(top_raw)
            except ValueError as exc:
                raise HttpError(400, "InvalidInput" if not graph else "BadRequest", "$top must be a number") from exc
            if top < 1 or top > 10000:
                raise HttpError(
                    400,
                    "InvalidInput" if not graph else "BadRequest",
                    "The limit of '10000' for Top query has been exceeded. The value from the incoming "
                    "request is '%s'." % top,
                )
        else:
            top = {"deviceavinfo": 20, "graph_intune": 100}.get(family, 10000)
        size = min(top, cap)
        skip_key = "$skiptoken" if graph else "$skip"
        try:
            skip = int(self.query.get(skip_key) or 0)
        except ValueError as exc:
            raise HttpError(400, "InvalidInput", "%s must be a number" % skip_key) from exc
        out = {
            "@odata.context": "%s%s/$metadata#%s" % (self.cloud.base_url, prefix, family),
            "value": items[skip : skip + size],
        }
        if skip + size < len(items):
            query = {k: v for k, v in self.query.items() if k not in ("$skip", "$skiptoken", "$top")}
            query["$top"] = str(size)
            query[skip_key] = str(skip + size)
            path = urlsplit(self.path).path
            encoded = urlencode(query, safe="$'(),:/ ").replace(" ", "%20")
            out["@odata.nextLink"] = "%s%s?%s" % (self.cloud.base_url, path, encoded)
        if self._next_link is not None:
            link = self._next_link.next_link
            if isinstance(link, str):
                link = link.replace("{self}", self.cloud.base_url + self.path).replace("{base}", self.cloud.base_url)
            out["@odata.nextLink"] = link
        return out

    def _machines(self, tenant: Tenant, body: bytes) -> None:
        now = self._now()
        pred = compile_filter(self.query.get("$filter"), MACHINE_FILTER)
        items = [m for m in (d.machine(now) for d in self._devices(tenant)) if pred(m)]
        if not items:
            raise HttpError(404, "NotFound", "No recent machines were found.")
        self._send(200, self._page(items, "machines", "/mde/api"))

    def _find_machine(self, tenant: Tenant, key: str):
        now = self._now()
        for d in self._devices(tenant):
            if key.lower() in (d.id, d.dns, d.dns.split(".", 1)[0]):
                return d, now
        raise HttpError(404, "ResourceNotFound", "Machine %s was not found." % key)

    def _machine(self, tenant: Tenant, body: bytes, key: str) -> None:
        d, now = self._find_machine(tenant, key)
        self._send(
            200, dict(d.machine(now), **{"@odata.context": self.cloud.base_url + "/mde/api/$metadata#Machines/$entity"})
        )

    def _machine_alerts(self, tenant: Tenant, body: bytes, key: str) -> None:
        d, now = self._find_machine(tenant, key)
        items = d.alerts(now, tenant.tenant_id, self.cloud.config.alert_delay_s)
        self._send(200, {"@odata.context": self.cloud.base_url + "/mde/api/$metadata#Alerts", "value": items})

    def _avinfo(self, tenant: Tenant, body: bytes) -> None:
        now = self._now()
        pred = compile_filter(self.query.get("$filter"), AVINFO_FILTER)
        items = [a for a in (d.av_info(now) for d in self._devices(tenant) if d.onboarded) if a and pred(a)]
        self._send(200, self._page(items, "deviceavinfo", "/mde/api"))

    def _alerts(self, tenant: Tenant, body: bytes) -> None:
        now = self._now()
        pred = compile_filter(self.query.get("$filter"), ALERT_FILTER)
        items = []
        for d in self._devices(tenant):
            items += d.alerts(now, tenant.tenant_id, self.cloud.config.alert_delay_s)
        items = sorted((a for a in items if pred(a)), key=lambda a: a["alertCreationTime"], reverse=True)
        self._send(200, self._page(items, "alerts", "/mde/api"))

    # ------------------------------------------------------------------ advanced hunting
    def _hunt(self, tenant: Tenant, body: bytes) -> tuple[list[dict], list[dict]]:
        try:
            data = json.loads(body.decode("utf-8") or "{}")
        except ValueError as exc:
            raise HttpError(400, "InvalidRequestBody", "The request body is not valid JSON.") from exc
        query = data.get("Query") if isinstance(data, dict) else None
        if not isinstance(query, str) or not query.strip():
            raise HttpError(
                400, "MissingRequiredParameter", "Query is a required parameter (body parameters are case-sensitive)."
            )
        now = self._now()
        try:
            parsed, hints = kql.parse(query, now)
        except kql.KqlUnsupported as exc:
            raise HttpError(
                400,
                "BadRequest",
                "The local fake of advanced hunting does not support %s. It "
                "implements the subset documented in tests/winsim/cloud/kql.py." % exc,
            ) from exc
        since = max(hints.get("since") or now - datetime.timedelta(days=30), now - datetime.timedelta(days=30))
        names = hints.get("DeviceName")
        ids = hints.get("DeviceId")
        devices = [
            d
            for d in self._devices(tenant)
            if (names is None or d.dns in names or d.dns.split(".", 1)[0] in names) and (ids is None or d.id in ids)
        ]

        def source(table: str):
            if table not in HUNTING_TABLES:
                raise HttpError(
                    400, "BadRequest", "'%s' is not a table this tenant has (or the local fake knows)." % table
                )
            for d in devices:
                yield from d.hunting_rows(table, since, now)

        rows = kql.run(parsed, source)
        return kql.column_types(rows), [{k: kql.jsonable(v) for k, v in r.items()} for r in rows]

    def _hunt_mde(self, tenant: Tenant, body: bytes) -> None:
        schema, rows = self._hunt(tenant, body)
        self._send(200, {"Schema": [{"Name": c["name"], "Type": c["type"]} for c in schema], "Results": rows})

    def _hunt_graph(self, tenant: Tenant, body: bytes) -> None:
        schema, rows = self._hunt(tenant, body)
        self._send(
            200,
            {
                "@odata.context": self.cloud.base_url + "/graph/v1.0/$metadata#microsoft.graph.security."
                "huntingQueryResults",
                "schema": schema,
                "results": rows,
            },
        )

    # ------------------------------------------------------------------ Intune (Graph beta)
    def _expand(self) -> set[str]:
        return {e.strip() for e in (self.query.get("$expand") or "").split(",") if e.strip()}

    def _json(self, body: bytes) -> Any:
        try:
            return json.loads(body.decode("utf-8") or "null")
        except ValueError as exc:
            raise HttpError(400, "BadRequest", "Invalid JSON in the request body.") from exc

    def _policies(self, tenant: Tenant, body: bytes) -> None:
        store = self.cloud.intune
        pred = compile_filter(self.query.get("$filter"), POLICY_FILTER)
        expand = self._expand()
        items = []
        for p in store.policies(tenant.tenant_id).values():
            view = store.view(p, expand)
            flat = dict(view, **{"templateReference/templateId": view["templateReference"].get("templateId")})
            if pred(flat):
                items.append(view)
        select = self.query.get("$select")
        if select:
            keep = {s.strip() for s in select.split(",")} | {"id", "@odata.type"}
            items = [{k: v for k, v in i.items() if k in keep} for i in items]
        items.sort(key=lambda i: i.get("id"))
        self._send(200, self._page(items, "graph_intune", "/graph/beta", graph=True))

    def _policy_create(self, tenant: Tenant, body: bytes) -> None:
        policy = self.cloud.intune.create(tenant.tenant_id, self._json(body))
        self._send(201, self.cloud.intune.view(policy, set()))

    def _policy_get(self, tenant: Tenant, body: bytes, pid: str) -> None:
        policy = self.cloud.intune.get(tenant.tenant_id, pid)
        self._send(200, self.cloud.intune.view(policy, self._expand()))

    def _policy_put(self, tenant: Tenant, body: bytes, pid: str) -> None:
        self.cloud.intune.put(tenant.tenant_id, pid, self._json(body) or {})
        self._send(204)

    def _policy_patch(self, tenant: Tenant, body: bytes, pid: str) -> None:
        policy = self.cloud.intune.patch(tenant.tenant_id, pid, self._json(body) or {})
        self._send(200, self.cloud.intune.view(policy, set()))

    def _policy_delete(self, tenant: Tenant, body: bytes, pid: str) -> None:
        self.cloud.intune.delete(tenant.tenant_id, pid)
        self._send(204)

    def _policy_assign(self, tenant: Tenant, body: bytes, pid: str) -> None:
        out = self.cloud.intune.assign(tenant.tenant_id, pid, self._json(body) or {})
        self._send(200, {"value": out})

    def _policy_part(self, tenant: Tenant, body: bytes, pid: str, part: str) -> None:
        view = self.cloud.intune.view(self.cloud.intune.get(tenant.tenant_id, pid), {part})
        self._send(200, {"value": view[part]})

    def _definitions(self, tenant: Tenant, body: bytes) -> None:
        pred = compile_filter(self.query.get("$filter"), {"id", "name", "displayName", "baseUri", "offsetUri"})
        items = [d for d in (catalog.definition(i) for i in sorted(catalog.DEFINITIONS)) if pred(d)]
        self._send(200, self._page(items, "graph_intune", "/graph/beta", graph=True))

    def _definition(self, tenant: Tenant, body: bytes, did: str) -> None:
        found = catalog.definition(did)
        if found is None:
            raise HttpError(404, "ResourceNotFound", "Setting definition '%s' was not found." % did)
        self._send(200, found)

    # ------------------------------------------------------------------ control
    def _control(self, method: str, path: str, body: bytes) -> None:
        cloud = self.cloud
        if path == "/_fake/counters" and method == "GET":
            with cloud.lock:
                self._send(200, json.loads(json.dumps(cloud.counters)))
        elif path == "/_fake/counters/reset" and method == "POST":
            cloud.reset_counters()
            self._send(200, {"reset": True})
        elif path == "/_fake/faults" and method == "GET":
            with cloud.lock:
                self._send(200, {"faults": [f.as_dict() for f in cloud.faults]})
        elif path == "/_fake/faults" and method == "POST":
            data = self._json(body) or {}
            faults = [parse_fault(f, "faults[%d]" % i) for i, f in enumerate(data.get("faults") or [])]
            with cloud.lock:
                if data.get("mode", "replace") == "replace":
                    cloud.faults = faults
                else:
                    cloud.faults.extend(faults)
                self._send(200, {"faults": [f.as_dict() for f in cloud.faults]})
        elif path == "/_fake/faults" and method == "DELETE":
            with cloud.lock:
                cloud.faults = []
            self._send(200, {"faults": []})
        elif path == "/_fake/config" and method == "POST":
            data = self._json(body) or {}
            with cloud.lock:
                for family, value in (data.get("limits") or {}).items():
                    cloud.config.limits[family] = (None, None) if value is None else (value[0], value[1])
                for family, value in (data.get("page_size") or {}).items():
                    cloud.config.page_size[family] = int(value)
                for key in ("alert_delay_s", "ingestion_delay_s"):
                    if key in data:
                        setattr(cloud.config, key, float(data[key]))
                if data.get("reset_windows"):
                    cloud.windows.clear()
            self._send(200, {"limits": cloud.config.limits, "page_size": cloud.config.page_size})
        elif path == "/_fake/health":
            self._send(200, {"ok": True})
        else:
            raise HttpError(404, "NotFound", "unknown control path %s" % path)


def make_server(state: CloudState, bind: str = "127.0.0.1", port: int = 0, ssl_context=None) -> ThreadingHTTPServer:
    handler = type("BoundHandler", (Handler,), {"cloud": state})
    server = ThreadingHTTPServer((bind, port), handler)
    server.daemon_threads = True
    if ssl_context is not None:
        server.socket = ssl_context.wrap_socket(server.socket, server_side=True)
    host, real_port = server.server_address[:2]
    state.base_url = (
        "https://%s:%d" % (host, real_port) if ssl_context is not None else "http://%s:%d" % (host, real_port)
    )
    return server


def thumbprint(cert_pem: str) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    return x509.load_pem_x509_certificate(cert_pem.encode()).fingerprint(hashes.SHA1()).hex().upper()


def make_client_certificate(directory: str, client_id: str) -> tuple[str, str, str]:
    """A self-signed RSA certificate for a client: ``(pem path with key + cert, cert pem, SHA-1 thumbprint)``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "winsim-cloud client %s" % client_id[:8])])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    path = os.path.join(directory, "client-%s.pem" % client_id)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(key_pem + cert_pem)
    return path, cert_pem, hashlib.sha1(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()
