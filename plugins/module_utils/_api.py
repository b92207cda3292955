# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""HTTP client of the Defender for Endpoint API and Microsoft Graph. PRIVATE to this collection.

One :class:`ApiClient` per module run:

* Sign-in: OAuth 2.0 client credentials through msal's ``ConfidentialClientApplication``
  (client secret, or a certificate: PEM private key + SHA-1 thumbprint or the certificate
  itself). msal's in-memory token cache gives one token per resource per run. msal's HTTP
  goes through this client too, so the sign-in endpoint gets the same TLS settings, the same
  retries and the same counters as the APIs.
* Clouds: ``public``, ``usgov_gcc``, ``usgov_gcc_high``, ``usgov_dod`` (docs/sources.md §7.2 and
  Microsoft's US Government page); ``api_base_url`` / ``graph_base_url`` /
  ``authority_host`` override them (geo hosts such as ``https://eu.api.security.microsoft.com``,
  or a local test double).
* Transport: Ansible's ``open_url`` with TLS verification on by default and ``ca_path``.
* ONE retry decision point, :meth:`ApiClient.decide_retry`: retry on connection errors, 408,
  429 and 500/502/503/504; honour ``Retry-After`` (seconds or HTTP date) clamped to
  1..``MAX_RETRY_AFTER`` seconds, otherwise exponential backoff; at most ``max_retries``
  retries; one log line per retry; a typed :class:`MdeError` at the end
  (``api_throttled`` after 429s, ``api_error`` otherwise). Clock and sleep are injectable.
* 401 -> ``api_unauthorized`` and 403 -> ``api_forbidden`` at once, the 403 message naming the
  permission the call needs.
* A client-side rate limiter per endpoint family (:data:`FAMILIES`) keeps every run under the
  documented limits (machines/alerts 100/min and 1,500/h, deviceavinfo 30/min and 1,000/h,
  advanced hunting 45/min and 1,500/h): the client waits instead of being throttled.
* OData paging through ``@odata.nextLink`` (only followed on the host it came from).
"""

from __future__ import annotations

import datetime
import email.utils
import json
import re
import ssl
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import quote, urlencode, urlsplit

from ansible.module_utils.urls import open_url

from ._errors import MdeError

try:
    import msal

    HAS_MSAL = True
    MSAL_IMPORT_ERROR = None
except ImportError as _exc:  # pragma: no cover - depends on the controller
    msal = None
    HAS_MSAL = False
    MSAL_IMPORT_ERROR = _exc

__all__ = [
    "API_ARGUMENT_SPEC",
    "API_MUTUALLY_EXCLUSIVE",
    "API_REQUIRED_ONE_OF",
    "CLOUDS",
    "FAMILIES",
    "HAS_MSAL",
    "MAX_RETRY_AFTER",
    "ApiClient",
    "ApiSettings",
    "HttpResponse",
    "OpenUrlTransport",
    "RateLimiter",
    "TransportError",
    "odata_quote",
    "parse_retry_after",
]

#: Module code may run on a Python older than 3.11 (no datetime.UTC there).
_UTC = datetime.timezone.utc
#: Longest wait the client accepts from a ``Retry-After`` header (seconds).
MAX_RETRY_AFTER = 60.0
#: Backoff without ``Retry-After``: BACKOFF_BASE * 2**attempt, capped.
BACKOFF_BASE = 1.0
BACKOFF_CAP = 30.0
#: Statuses worth another attempt (-1 = connection error).
RETRY_STATUSES = frozenset({-1, 408, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Cloud:
    authority_host: str
    api_base_url: str
    api_scope: str
    graph_base_url: str
    graph_scope: str


#: Sovereign clouds. US Government URIs: defender-docs defender-endpoint/gov.md ("API" table);
#: Graph roots: graph-docs concepts/deployments.md (GCC uses the global Graph service).
CLOUDS: dict[str, Cloud] = {
    "public": Cloud(
        authority_host="https://login.microsoftonline.com",
        api_base_url="https://api.security.microsoft.com",
        api_scope="https://api.securitycenter.microsoft.com/.default",
        graph_base_url="https://graph.microsoft.com",
        graph_scope="https://graph.microsoft.com/.default",
    ),
    "usgov_gcc": Cloud(
        authority_host="https://login.microsoftonline.com",
        api_base_url="https://api-gcc.securitycenter.microsoft.us",
        api_scope="https://api-gcc.securitycenter.microsoft.us/.default",
        graph_base_url="https://graph.microsoft.com",
        graph_scope="https://graph.microsoft.com/.default",
    ),
    "usgov_gcc_high": Cloud(
        authority_host="https://login.microsoftonline.us",
        api_base_url="https://api-gov.securitycenter.microsoft.us",
        api_scope="https://api-gov.securitycenter.microsoft.us/.default",
        graph_base_url="https://graph.microsoft.us",
        graph_scope="https://graph.microsoft.us/.default",
    ),
    "usgov_dod": Cloud(
        authority_host="https://login.microsoftonline.us",
        api_base_url="https://api-gov.securitycenter.microsoft.us",
        api_scope="https://api-gov.securitycenter.microsoft.us/.default",
        graph_base_url="https://dod-graph.microsoft.us",
        graph_scope="https://dod-graph.microsoft.us/.default",
    ),
}


@dataclass(frozen=True)
class Family:
    """An endpoint family: the unit Microsoft's rate limits apply to."""

    name: str
    resource: str  # "api", "graph" or "login"
    per_minute: int | None
    per_hour: int | None
    label: str


#: Endpoint families and their documented limits (docs/sources.md §7.3-7.6). Graph publishes no
#: fixed numbers for runHuntingQuery (the advanced hunting quota applies) nor for Intune;
#: the Intune cap is a conservative client-side choice, not a Microsoft figure.
FAMILIES: dict[str, Family] = {
    "machines": Family("machines", "api", 100, 1500, "Defender API machines"),
    "alerts": Family("alerts", "api", 100, 1500, "Defender API alerts"),
    "deviceavinfo": Family("deviceavinfo", "api", 30, 1000, "Defender API device AV health"),
    "advancedqueries": Family("advancedqueries", "api", 45, 1500, "Defender API advanced hunting"),
    "graph_hunting": Family("graph_hunting", "graph", 45, 1500, "Graph runHuntingQuery"),
    "graph_intune": Family("graph_intune", "graph", 100, None, "Graph Intune"),
    "login": Family("login", "login", None, None, "Microsoft Entra sign-in"),
}

# --------------------------------------------------------------------------- options
#: The shared options of every API module (documented in plugins/doc_fragments/api.py).
API_ARGUMENT_SPEC: dict[str, dict] = dict(
    tenant_id=dict(type="str", required=True),
    client_id=dict(type="str", required=True),
    client_secret=dict(type="str", no_log=True),
    client_certificate_path=dict(type="path"),
    client_certificate_key=dict(type="str", no_log=True),
    client_certificate_thumbprint=dict(type="str"),
    client_certificate_passphrase=dict(type="str", no_log=True),
    cloud=dict(type="str", default="public", choices=sorted(CLOUDS)),
    api_base_url=dict(type="str"),
    graph_base_url=dict(type="str"),
    authority_host=dict(type="str"),
    ca_path=dict(type="path"),
    validate_certs=dict(type="bool", default=True),
    timeout=dict(type="int", default=30),
    max_retries=dict(type="int", default=5),
)
API_MUTUALLY_EXCLUSIVE = [
    ("client_secret", "client_certificate_path"),
    ("client_secret", "client_certificate_key"),
    ("client_certificate_path", "client_certificate_key"),
]
API_REQUIRED_ONE_OF = [("client_secret", "client_certificate_path", "client_certificate_key")]
#: Environment variables read when an option is not set (AWX credential types, CI secrets).
API_ENV_FALLBACKS = {
    "tenant_id": "MDE_TENANT_ID",
    "client_id": "MDE_CLIENT_ID",
    "client_secret": "MDE_CLIENT_SECRET",
}


@dataclass
class ApiSettings:
    """Connection settings of one run (the shared module options)."""

    tenant_id: str
    client_id: str
    client_secret: str | None = None
    client_certificate_path: str | None = None
    client_certificate_key: str | None = None
    client_certificate_thumbprint: str | None = None
    client_certificate_passphrase: str | None = None
    cloud: str = "public"
    api_base_url: str | None = None
    graph_base_url: str | None = None
    authority_host: str | None = None
    ca_path: str | None = None
    validate_certs: bool = True
    timeout: int = 30
    max_retries: int = 5

    @classmethod
    def from_params(cls, params: dict) -> ApiSettings:
        return cls(**{k: params.get(k) for k in API_ARGUMENT_SPEC if params.get(k) is not None})

    @property
    def endpoints(self) -> Cloud:
        if self.cloud not in CLOUDS:
            raise MdeError(
                "invalid_argument", "cloud must be one of %s, got %r" % (", ".join(sorted(CLOUDS)), self.cloud)
            )
        base = CLOUDS[self.cloud]
        return Cloud(
            authority_host=_clean_base(self.authority_host, "authority_host") or base.authority_host,
            api_base_url=_clean_base(self.api_base_url, "api_base_url") or base.api_base_url,
            api_scope=base.api_scope,
            graph_base_url=_clean_base(self.graph_base_url, "graph_base_url") or base.graph_base_url,
            graph_scope=base.graph_scope,
        )


def _clean_base(url: str | None, option: str) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.netloc:
        raise MdeError("invalid_argument", "%s must be an https:// URL, got %r" % (option, url))
    return url.rstrip("/")


def with_env_fallbacks(spec: dict) -> dict:
    """``spec`` with the documented environment fallbacks added (``env_fallback``)."""
    from ansible.module_utils.basic import env_fallback

    out = {k: dict(v) for k, v in spec.items()}
    for option, var in API_ENV_FALLBACKS.items():
        out[option]["fallback"] = (env_fallback, [var])
    return out


# --------------------------------------------------------------------------- transport
class TransportError(Exception):
    """The request never got an HTTP answer (DNS, refused, reset, timeout)."""

    def __init__(self, msg: str, retryable: bool = True) -> None:
        super().__init__(msg)
        self.retryable = retryable


@dataclass
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: bytes = b""

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        if not self.body.strip():
            return None
        return json.loads(self.body.decode("utf-8"))


Transport = Callable[[str, str, dict, "bytes | None"], HttpResponse]


class OpenUrlTransport:
    """Ansible's ``open_url`` as the client's transport (TLS verification on by default)."""

    def __init__(self, validate_certs: bool = True, ca_path: str | None = None, timeout: float = 30) -> None:
        self.validate_certs = validate_certs
        self.ca_path = ca_path
        self.timeout = timeout

    def __call__(self, method: str, url: str, headers: dict, body: bytes | None) -> HttpResponse:
        try:
            resp = open_url(
                url,
                data=body,
                headers=headers,
                method=method,
                validate_certs=self.validate_certs,
                ca_path=self.ca_path,
                timeout=self.timeout,
                use_proxy=True,
                http_agent="mdeops.defender",
            )
            return HttpResponse(resp.getcode(), _lower(resp.headers), resp.read())
        except HTTPError as exc:
            try:
                data = exc.read() or b""
            except Exception:  # the body of an error may be unreadable
                data = b""
            return HttpResponse(exc.code, _lower(exc.headers or {}), data)
        except URLError as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, ssl.SSLCertVerificationError):
                raise TransportError(
                    "TLS certificate verification failed for %s: %s (set ca_path to the CA that "
                    "signed the server certificate)" % (_host(url), reason),
                    retryable=False,
                ) from exc
            raise TransportError("cannot reach %s: %s" % (_host(url), reason)) from exc
        except ssl.SSLCertVerificationError as exc:
            raise TransportError(
                "TLS certificate verification failed for %s: %s" % (_host(url), exc), retryable=False
            ) from exc
        except OSError as exc:  # refused, reset, timeout (TimeoutError), DNS
            raise TransportError("cannot reach %s: %s" % (_host(url), exc)) from exc


def _lower(headers: Any) -> dict[str, str]:
    try:
        items = headers.items()
    except AttributeError:
        items = []
    return {str(k).lower(): str(v) for k, v in items}


def _host(url: str) -> str:
    return urlsplit(url).netloc


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


# --------------------------------------------------------------------------- helpers
def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date); None if absent/invalid."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=_UTC)
    current = now if now is not None else time.time()
    return max(0.0, when.timestamp() - current)


def odata_quote(value: str) -> str:
    """A string literal for an OData ``$filter`` (single quotes doubled)."""
    return "'%s'" % str(value).replace("'", "''")


def build_url(base: str, path: str, params: dict | None = None) -> str:
    url = base.rstrip("/") + "/" + path.lstrip("/")
    if params:
        query = "&".join(
            "%s=%s" % (quote(str(k), safe="$"), quote(str(v), safe="'(),:/$"))
            for k, v in params.items()
            if v is not None
        )
        if query:
            url += ("&" if "?" in url else "?") + query
    return url


def error_details(resp: HttpResponse) -> tuple[str | None, str]:
    """``(code, message)`` from an error body: the APIs' ``{"error": {"code", "message"}}`` or Entra's
    ``{"error": "...", "error_description": "..."}``; raw text otherwise."""
    try:
        data = resp.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict):
            return err.get("code"), str(err.get("message") or "")
        if isinstance(err, str):
            return err, str(data.get("error_description") or "")
        if "message" in data:
            return data.get("code"), str(data["message"])
    text = resp.text.strip()
    return None, text[:500]


# --------------------------------------------------------------------------- rate limiter
class RateLimiter:
    """Sliding windows per endpoint family (last minute and last hour).

    :meth:`acquire` waits (with the injected sleep) until one more call fits into both
    windows of the family, then records it. Waiting is cheaper than a 429.
    """

    def __init__(
        self, clock: Callable[[], float], sleep: Callable[[float], None], families: dict[str, Family] | None = None
    ) -> None:
        self.clock = clock
        self.sleep = sleep
        self.families = families or FAMILIES
        self._calls: dict[str, deque] = {}
        self.waited = 0.0

    def delay(self, family: str) -> float:
        """Seconds until one more call of ``family`` is allowed (0 = now)."""
        fam = self.families.get(family)
        if fam is None:
            return 0.0
        now = self.clock()
        calls = self._calls.setdefault(family, deque())
        while calls and calls[0] <= now - 3600:
            calls.popleft()
        wait = 0.0
        if fam.per_minute:
            recent = [t for t in calls if t > now - 60]
            if len(recent) >= fam.per_minute:
                wait = max(wait, recent[-fam.per_minute] + 60 - now)
        if fam.per_hour and len(calls) >= fam.per_hour:
            wait = max(wait, calls[-fam.per_hour] + 3600 - now)
        return max(0.0, wait)

    def acquire(self, family: str) -> float:
        total = 0.0
        wait = self.delay(family)
        while wait > 0:
            self.sleep(wait)
            total += wait
            wait = self.delay(family)
        self._calls.setdefault(family, deque()).append(self.clock())
        self.waited += total
        return total


# --------------------------------------------------------------------------- the client
@dataclass
class Stats:
    calls: int = 0
    retries: int = 0
    tokens: int = 0
    by_family: dict[str, int] = field(default_factory=dict)
    retry_log: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "calls": self.calls,
            "retries": self.retries,
            "tokens": self.tokens,
            "by_family": dict(sorted(self.by_family.items())),
        }


class ApiClient:
    """The Defender API / Graph client of one module run."""

    def __init__(
        self,
        settings: ApiSettings,
        *,
        transport: Transport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        log: Callable[[str], None] | None = None,
        msal_module: Any = None,
        max_retry_after: float = MAX_RETRY_AFTER,
    ) -> None:
        self.settings = settings
        self.endpoints = settings.endpoints
        self.transport = transport or OpenUrlTransport(settings.validate_certs, settings.ca_path, settings.timeout)
        self.clock = clock
        self.sleep = sleep
        self.log = log or (lambda msg: None)
        self.max_retries = max(0, int(settings.max_retries))
        self.max_retry_after = max_retry_after
        self.limiter = RateLimiter(clock, sleep)
        self.stats = Stats()
        self._msal = msal_module if msal_module is not None else msal
        self._app: Any = None

    # ------------------------------------------------------------------ retry decision point
    def decide_retry(self, attempt: int, status: int, headers: dict[str, str]) -> tuple[float, str] | None:
        """THE retry decision: ``(seconds to wait, why)`` for another attempt, or None to stop.

        ``attempt`` counts from 0 (the first try); ``status`` is -1 for a connection error.
        """
        if status not in RETRY_STATUSES or attempt >= self.max_retries:
            return None
        asked = parse_retry_after(headers.get("retry-after"))
        if asked is not None:
            wait = min(max(asked, 1.0), self.max_retry_after)
            why = "Retry-After %s s" % _fmt(asked) + (" (clamped to %s s)" % _fmt(wait) if wait != asked else "")
            return wait, why
        wait = min(BACKOFF_BASE * (2**attempt), BACKOFF_CAP)
        return wait, "backoff %s s" % _fmt(wait)

    def send(
        self,
        method: str,
        url: str,
        *,
        family: str,
        headers: dict | None = None,
        body: bytes | None = None,
        sign: Callable[[dict], None] | None = None,
    ) -> HttpResponse:
        """Send one request with rate limiting and retries; returns the last response.

        Raises :class:`MdeError` when the request could not be completed: connection errors or
        retryable statuses that outlasted ``max_retries`` (``api_throttled`` for 429, ``api_error``
        otherwise), or a TLS verification failure (``api_error`` at once).
        """
        attempt = 0
        while True:
            self.limiter.acquire(family)
            hdrs = dict(headers or {})
            if sign is not None:
                sign(hdrs)
            self.stats.calls += 1
            self.stats.by_family[family] = self.stats.by_family.get(family, 0) + 1
            try:
                resp = self.transport(method, url, hdrs, body)
                status, resp_headers, problem = resp.status, resp.headers, None
            except TransportError as exc:
                if not exc.retryable:
                    raise MdeError(
                        "api_error", "%s %s: %s" % (method, _path(url), exc), http_status=-1, url=_redact_url(url)
                    ) from exc
                resp, status, resp_headers, problem = None, -1, {}, str(exc)
            decision = self.decide_retry(attempt, status, resp_headers)
            if decision is None:
                break
            wait, why = decision
            attempt += 1
            self.stats.retries += 1
            line = "mdeops.defender: %s %s (%s) answered %s; retry %d/%d in %s s (%s)" % (
                method,
                _path(url),
                FAMILIES[family].label if family in FAMILIES else family,
                problem or status,
                attempt,
                self.max_retries,
                _fmt(wait),
                why,
            )
            self.log(line)
            if len(self.stats.retry_log) < 20:
                self.stats.retry_log.append(line)
            self.sleep(wait)
        if status in RETRY_STATUSES:
            self._raise_exhausted(
                method, url, family, status, resp, problem, attempt, parse_retry_after(resp_headers.get("retry-after"))
            )
        if resp is None:  # pragma: no cover - a connection error is always retryable or raised above
            raise MdeError("api_error", "%s %s: no answer" % (method, _path(url)))
        return resp

    def _raise_exhausted(
        self,
        method: str,
        url: str,
        family: str,
        status: int,
        resp: HttpResponse | None,
        problem: str | None,
        attempt: int,
        asked: float | None,
    ) -> None:
        tries = attempt + 1
        where = "%s %s" % (method, _path(url))
        if status == 429:
            code, message = error_details(resp) if resp is not None else (None, "")
            fam = FAMILIES.get(family)
            limits = ""
            if fam and fam.per_minute:
                limits = " (documented limit: %d calls per minute%s)" % (
                    fam.per_minute,
                    ", %d per hour" % fam.per_hour if fam.per_hour else "",
                )
            longer = ""
            if asked is not None and asked > self.max_retry_after:
                longer = "; the server asked to wait %s s, longer than the %s s this client waits" % (
                    _fmt(asked),
                    _fmt(self.max_retry_after),
                )
            raise MdeError(
                "api_throttled",
                "%s was throttled (429 Too Many Requests) %d time(s)%s%s. %s"
                % (where, tries, limits, longer, message or ""),
                http_status=429,
                error_code=code,
                attempts=tries,
                url=_redact_url(url),
            )
        if status == -1:
            raise MdeError(
                "api_error",
                "%s failed after %d attempt(s): %s" % (where, tries, problem),
                http_status=-1,
                attempts=tries,
                url=_redact_url(url),
            )
        code, message = error_details(resp) if resp is not None else (None, "")
        raise MdeError(
            "api_error",
            "%s answered %d %s after %d attempt(s)%s"
            % (where, status, code or "", tries, ": " + message if message else ""),
            http_status=status,
            error_code=code,
            attempts=tries,
            url=_redact_url(url),
        )

    # ------------------------------------------------------------------ tokens
    def _scope(self, resource: str) -> str:
        return self.endpoints.graph_scope if resource == "graph" else self.endpoints.api_scope

    def _credential(self) -> Any:
        s = self.settings
        if s.client_secret:
            return s.client_secret
        pem = s.client_certificate_key
        if s.client_certificate_path:
            try:
                with open(s.client_certificate_path, encoding="utf-8") as fh:
                    pem = fh.read()
            except OSError as exc:
                raise MdeError(
                    "invalid_argument", "client_certificate_path: cannot read %s: %s" % (s.client_certificate_path, exc)
                ) from exc
        if not pem:
            raise MdeError("invalid_argument", "set client_secret, client_certificate_path or client_certificate_key")
        key = _pem_block(pem, r"(?:RSA |EC |ENCRYPTED )?PRIVATE KEY")
        if not key:
            raise MdeError("invalid_argument", "the client certificate PEM has no private key block")
        cred: dict[str, Any] = {"private_key": key}
        if s.client_certificate_passphrase:
            cred["passphrase"] = s.client_certificate_passphrase
        cert = _pem_block(pem, "CERTIFICATE")
        if s.client_certificate_thumbprint:
            cred["thumbprint"] = s.client_certificate_thumbprint.replace(":", "").replace(" ", "").upper()
        elif cert:
            cred["public_certificate"] = cert
        else:
            raise MdeError(
                "invalid_argument",
                "client_certificate_thumbprint is required when the PEM holds only the "
                "private key (or add the certificate to the PEM file)",
            )
        return cred

    def _application(self) -> Any:
        if self._app is not None:
            return self._app
        if self._msal is None:
            raise MdeError(
                "invalid_argument",
                "the Python library msal is required on the controller (pip install msal): %s" % MSAL_IMPORT_ERROR,
            )
        authority = "%s/%s" % (self.endpoints.authority_host, self.settings.tenant_id)
        try:
            self._app = self._msal.ConfidentialClientApplication(
                self.settings.client_id,
                client_credential=self._credential(),
                authority=authority,
                http_client=_MsalHttpClient(self),
                instance_discovery=False,
                timeout=self.settings.timeout,
            )
        except MdeError:
            raise
        except ValueError as exc:
            text = str(exc)
            if "OIDC" in text or "authority" in text.lower() or "tenant" in text.lower():
                raise MdeError(
                    "api_unauthorized",
                    "signing in at %s failed: the tenant %r is unknown to this cloud "
                    "(cloud=%s). %s" % (authority, self.settings.tenant_id, self.settings.cloud, _first_line(text)),
                ) from exc
            raise MdeError("invalid_argument", "the client credential is unusable: %s" % _first_line(text)) from exc
        return self._app

    def token(self, resource: str) -> str:
        """An access token for ``api`` or ``graph`` (msal's cache: one sign-in per resource and run)."""
        app = self._application()
        scope = self._scope(resource)
        result = app.acquire_token_for_client(scopes=[scope])
        if not isinstance(result, dict) or "access_token" not in result:
            result = result if isinstance(result, dict) else {}
            raise MdeError(
                "api_unauthorized",
                "signing in as client %s to tenant %s for %s failed: %s: %s"
                % (
                    self.settings.client_id,
                    self.settings.tenant_id,
                    scope,
                    result.get("error", "unknown_error"),
                    _first_line(str(result.get("error_description", ""))),
                ),
                error_code=result.get("error"),
            )
        return result["access_token"]

    # ------------------------------------------------------------------ API calls
    def base(self, resource: str) -> str:
        return self.endpoints.graph_base_url if resource == "graph" else self.endpoints.api_base_url

    def request(
        self,
        method: str,
        path: str,
        *,
        family: str,
        permission: str,
        what: str,
        params: dict | None = None,
        json_body: Any = None,
        expected: tuple[int, ...] = (200,),
        allow_404: bool = False,
        url: str | None = None,
    ) -> Any:
        """One API call; returns the parsed JSON body (None for an empty body or an allowed 404)."""
        resource = FAMILIES[family].resource
        target = url or build_url(self.base(resource), path, params)
        headers = {"Accept": "application/json"}
        body = None
        if json_body is not None:
            body = json.dumps(json_body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        token = self.token(resource)

        def sign(hdrs: dict) -> None:
            hdrs["Authorization"] = "Bearer " + token

        resp = self.send(method, target, family=family, headers=headers, body=body, sign=sign)
        if resp.status in expected:
            try:
                return resp.json()
            except ValueError as exc:
                raise MdeError(
                    "api_error",
                    "%s: %s %s answered %d with a body that is not JSON" % (what, method, _path(target), resp.status),
                    http_status=resp.status,
                ) from exc
        if resp.status == 404 and allow_404:
            return None
        self._raise_for(resp, method, target, family, permission, what)
        return None  # pragma: no cover - _raise_for always raises

    def _raise_for(self, resp: HttpResponse, method: str, url: str, family: str, permission: str, what: str) -> None:
        code, message = error_details(resp)
        where = "%s %s" % (method, _path(url))
        extra = {"http_status": resp.status, "error_code": code, "url": _redact_url(url)}
        server = " Server said: %s%s" % (code + ": " if code else "", message) if (code or message) else ""
        api = (
            "Microsoft Graph"
            if FAMILIES[family].resource == "graph"
            else "WindowsDefenderATP (Defender for Endpoint API)"
        )
        if resp.status == 401:
            raise MdeError(
                "api_unauthorized",
                "%s: %s answered 401 Unauthorized: the access token was refused. Check "
                "tenant_id, client_id and the credential, and that cloud/api_base_url match the tenant's "
                "cloud.%s" % (what, where, server),
                **extra,
            )
        if resp.status == 403:
            raise MdeError(
                "api_forbidden",
                "%s: %s answered 403 Forbidden: the app registration needs the "
                "application permission %s of %s, with admin consent.%s" % (what, where, permission, api, server),
                **extra,
            )
        if resp.status == 404:
            raise MdeError("api_not_found", "%s: %s answered 404 Not Found.%s" % (what, where, server), **extra)
        raise MdeError("api_error", "%s: %s answered %d.%s" % (what, where, resp.status, server), **extra)

    def iter_collection(
        self,
        path: str,
        *,
        family: str,
        permission: str,
        what: str,
        params: dict | None = None,
        allow_404_empty: bool = False,
    ) -> Iterator[dict]:
        """Every item of an OData collection, page after page through ``@odata.nextLink``."""
        base = self.base(FAMILIES[family].resource)
        url: str | None = build_url(base, path, params)
        first = True
        pages = 0
        while url:
            data = self.request(
                "GET",
                path,
                url=url,
                family=family,
                permission=permission,
                what=what,
                allow_404=allow_404_empty and first,
            )
            first = False
            pages += 1
            if data is None:
                return
            yield from data.get("value") or []
            next_link = data.get("@odata.nextLink")
            if next_link and _host(next_link) != _host(base):
                raise MdeError(
                    "api_error",
                    "%s: @odata.nextLink points to another host (%s); not following it with "
                    "the access token" % (what, _host(next_link)),
                )
            if pages > 10000:
                raise MdeError("api_error", "%s: more than 10000 pages; giving up" % what)
            url = next_link

    def get_all(
        self,
        path: str,
        *,
        family: str,
        permission: str,
        what: str,
        params: dict | None = None,
        allow_404_empty: bool = False,
    ) -> list[dict]:
        return list(
            self.iter_collection(
                path, family=family, permission=permission, what=what, params=params, allow_404_empty=allow_404_empty
            )
        )

    def summary(self) -> dict:
        out = self.stats.as_dict()
        out["rate_limit_wait"] = round(self.limiter.waited, 3)
        return out


class _MsalResponse:
    """The response shape msal expects (``status_code``, ``text``, ``headers``)."""

    def __init__(self, resp: HttpResponse) -> None:
        self.status_code = resp.status
        self.text = resp.text
        self.headers = resp.headers

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise MdeError(
                "api_unauthorized", "the sign-in endpoint answered %d: %s" % (self.status_code, _first_line(self.text))
            )


class _MsalHttpClient:
    """msal's http_client: its discovery and token requests go through :meth:`ApiClient.send`."""

    def __init__(self, client: ApiClient) -> None:
        self._client = client

    def post(
        self, url: str, params: dict | None = None, data: Any = None, headers: dict | None = None, **kwargs: Any
    ) -> _MsalResponse:
        del kwargs
        if params:
            url += ("&" if "?" in url else "?") + urlencode(params)
        if isinstance(data, dict):
            body = urlencode(data).encode("utf-8")
        elif isinstance(data, str):
            body = data.encode("utf-8")
        else:
            body = data
        hdrs = dict(headers or {})
        hdrs.setdefault("Content-Type", "application/x-www-form-urlencoded")
        self._client.stats.tokens += 1
        return _MsalResponse(self._client.send("POST", url, family="login", headers=hdrs, body=body))

    def get(self, url: str, params: dict | None = None, headers: dict | None = None, **kwargs: Any) -> _MsalResponse:
        del kwargs
        if params:
            url += ("&" if "?" in url else "?") + urlencode(params)
        return _MsalResponse(self._client.send("GET", url, family="login", headers=dict(headers or {})))

    def close(self) -> None:
        pass


def _pem_block(pem: str, label_re: str) -> str | None:
    match = re.search(r"-----BEGIN (%s)-----.+?-----END \1-----" % label_re, pem, re.S)
    return match.group(0) + "\n" if match else None


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def _fmt(seconds: float) -> str:
    return ("%d" % seconds) if float(seconds).is_integer() else ("%.1f" % seconds)


def _redact_url(url: str) -> str:
    """URLs carry no secrets here, but never more than the path and query."""
    parts = urlsplit(url)
    return "%s://%s%s" % (parts.scheme, parts.netloc, _path(url))


# --------------------------------------------------------------------------- module glue
def client_from_module(module: Any, **kwargs: Any) -> ApiClient:
    """The client of a module run (``module.log`` receives one line per retry)."""
    return ApiClient(ApiSettings.from_params(module.params), log=module.log, **kwargs)


def fail_module(module: Any, error: MdeError, **result: Any) -> None:
    """The only place an API module turns a typed error into ``fail_json``."""
    data = dict(result)
    data.update(error.to_result())
    data.pop("failed", None)
    msg = data.pop("msg")
    module.fail_json(msg=msg, **data)
