# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Client of the Defender for Endpoint API and Microsoft Graph. PRIVATE to this collection.

One :class:`ApiClient` per module run puts together, each in its own file:

* the clouds and connection options (``_api_settings.py``),
* the transport, Ansible's ``open_url`` (``_api_transport.py``),
* the rate limiter per endpoint family (``_api_ratelimit.py``),
* THE retry decision, on urllib3's ``Retry`` (``_api_retry.py``),
* the sign-in through msal (``_api_auth.py``),

and adds what every call needs: the bearer token, one log line per retry, the typed errors
(401 -> ``api_unauthorized`` and 403 -> ``api_forbidden`` at once, the 403 message naming the
permission the call needs), answers of an unexpected shape reported as ``api_error`` with what
was received, and OData paging through ``@odata.nextLink``, which is followed only when it is an
``https://`` address on the API host (the bearer token never goes anywhere else), never twice,
and for at most ``max_pages`` pages.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ._api_auth import HAS_MSAL, MSAL_IMPORT_ERROR, SignIn
from ._api_ratelimit import FAMILIES, RateLimiter
from ._api_retry import HAS_URLLIB3, URLLIB3_IMPORT_ERROR, RetryPolicy, exhausted_error
from ._api_settings import ApiSettings
from ._api_transport import (
    HttpResponse,
    OpenUrlTransport,
    Transport,
    TransportError,
    build_url,
    error_details,
    host_of,
    path_of,
    redact_url,
)
from ._errors import MdeError

__all__ = [
    "HAS_MSAL",
    "HAS_URLLIB3",
    "MAX_PAGES",
    "MSAL_IMPORT_ERROR",
    "URLLIB3_IMPORT_ERROR",
    "ApiClient",
    "ApiSettings",
    "OpenUrlTransport",
    "Stats",
    "client_from_module",
    "fail_module",
]

#: Most pages one listing follows (a page holds up to $top items; 10,000 for machines).
MAX_PAGES = 1000
#: How much of an unexpected answer an error message quotes.
_QUOTE = 300


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


def _quote(data: Any) -> str:
    """A short, readable excerpt of what the API answered."""
    try:
        text = json.dumps(data, sort_keys=True, default=str)
    except (TypeError, ValueError):
        text = repr(data)
    return text if len(text) <= _QUOTE else text[:_QUOTE] + "..."


def _kind(data: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(type(data), type(data).__name__)


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
        max_retry_after: float | None = None,
        max_pages: int = MAX_PAGES,
    ) -> None:
        self.settings = settings
        self.endpoints = settings.endpoints
        self.transport = transport or OpenUrlTransport(settings.validate_certs, settings.ca_path, settings.timeout)
        self.clock = clock
        self.sleep = sleep
        self.log = log or (lambda msg: None)
        self.max_retries = max(0, int(settings.max_retries))
        self.max_retry_after = max_retry_after
        self.max_pages = max_pages
        self.limiter = RateLimiter(clock, sleep)
        self.stats = Stats()
        self.auth = SignIn(
            settings, self.endpoints, self.send, on_token_request=self._count_token, msal_module=msal_module
        )

    def _count_token(self) -> None:
        self.stats.tokens += 1

    # ------------------------------------------------------------------ sending, with retries
    def retry_policy(self, idempotent: bool = True) -> RetryPolicy:
        """A fresh retry decision for one request (see ``_api_retry.py``)."""
        if self.max_retry_after is None:
            return RetryPolicy(self.max_retries, idempotent=idempotent)
        return RetryPolicy(self.max_retries, idempotent=idempotent, max_retry_after=self.max_retry_after)

    def send(
        self,
        method: str,
        url: str,
        *,
        family: str,
        headers: dict | None = None,
        body: bytes | None = None,
        sign: Callable[[dict], None] | None = None,
        idempotent: bool = True,
    ) -> HttpResponse:
        """Send one request with rate limiting and retries; returns the final response.

        Raises :class:`MdeError` when the request could not be completed: connection errors or
        retryable statuses that outlasted ``max_retries`` (``api_throttled`` for 429, ``api_error``
        otherwise), or a TLS verification failure (``api_error`` at once). ``idempotent=False``
        (creating something) repeats the request only when the server cannot have processed it.
        """
        policy = self.retry_policy(idempotent)
        label = FAMILIES[family].label if family in FAMILIES else family
        while True:
            self.limiter.acquire(family)
            hdrs = dict(headers or {})
            if sign is not None:
                sign(hdrs)
            self.stats.calls += 1
            self.stats.by_family[family] = self.stats.by_family.get(family, 0) + 1
            resp: HttpResponse | None = None
            problem: str | None = None
            try:
                resp = self.transport(method, url, hdrs, body)
            except TransportError as exc:
                if not exc.retryable:
                    raise MdeError(
                        "api_error", "%s %s: %s" % (method, path_of(url), exc), http_status=-1, url=redact_url(url)
                    ) from exc
                problem = str(exc)
                decision = policy.after_error(method, url, exc)
            else:
                decision = policy.after_response(method, url, resp)
            if decision.exhausted:
                raise exhausted_error(method, url, FAMILIES.get(family), policy, resp, problem)
            if not decision.retry:
                if resp is None:  # pragma: no cover - a connection error either retries or is exhausted
                    raise MdeError("api_error", "%s %s: no answer" % (method, path_of(url)))
                return resp
            self.stats.retries += 1
            line = "mdeops.defender: %s %s (%s) answered %s; retry %d/%d in %s s (%s)" % (
                method,
                path_of(url),
                label,
                problem or (resp.status if resp is not None else "nothing"),
                policy.attempts - 1,
                self.max_retries,
                ("%d" % decision.wait) if float(decision.wait).is_integer() else ("%.1f" % decision.wait),
                decision.why,
            )
            self.log(line)
            if len(self.stats.retry_log) < 20:
                self.stats.retry_log.append(line)
            self.sleep(decision.wait)

    # ------------------------------------------------------------------ tokens
    def token(self, resource: str) -> str:
        """An access token for ``api`` or ``graph`` (one sign-in per resource and run)."""
        return self.auth.token(resource)

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
        idempotent: bool = True,
    ) -> dict | None:
        """One API call; returns the JSON object answered (None for an empty body or an allowed 404).

        Every answer of these APIs is a JSON object (collections are ``{"value": [...]}``): anything
        else is reported as ``api_error`` quoting what was received.
        """
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

        resp = self.send(method, target, family=family, headers=headers, body=body, sign=sign, idempotent=idempotent)
        if resp.status in expected:
            try:
                data = resp.json()
            except ValueError as exc:
                raise MdeError(
                    "api_error",
                    "%s: %s %s answered %d with a body that is not JSON: %s"
                    % (what, method, path_of(target), resp.status, resp.text[:_QUOTE]),
                    http_status=resp.status,
                ) from exc
            if data is not None and not isinstance(data, dict):
                raise MdeError(
                    "api_error",
                    "%s: %s %s answered %d with %s where a JSON object was expected: %s"
                    % (what, method, path_of(target), resp.status, _kind(data), _quote(data)),
                    http_status=resp.status,
                    url=redact_url(target),
                )
            return data
        if resp.status == 404 and allow_404:
            return None
        raise self._error_for(resp, method, target, family, permission, what)

    def _error_for(
        self, resp: HttpResponse, method: str, url: str, family: str, permission: str, what: str
    ) -> MdeError:
        code, message = error_details(resp)
        where = "%s %s" % (method, path_of(url))
        extra = {"http_status": resp.status, "error_code": code, "url": redact_url(url)}
        server = " Server said: %s%s" % (code + ": " if code else "", message) if (code or message) else ""
        api = (
            "Microsoft Graph"
            if FAMILIES[family].resource == "graph"
            else "WindowsDefenderATP (Defender for Endpoint API)"
        )
        if resp.status == 401:
            return MdeError(
                "api_unauthorized",
                "%s: %s answered 401 Unauthorized: the access token was refused. Check "
                "tenant_id, client_id and the credential, and that cloud/api_base_url match the tenant's "
                "cloud.%s" % (what, where, server),
                **extra,
            )
        if resp.status == 403:
            return MdeError(
                "api_forbidden",
                "%s: %s answered 403 Forbidden: the app registration needs the "
                "application permission %s of %s, with admin consent.%s" % (what, where, permission, api, server),
                **extra,
            )
        if resp.status == 404:
            return MdeError("api_not_found", "%s: %s answered 404 Not Found.%s" % (what, where, server), **extra)
        return MdeError("api_error", "%s: %s answered %d.%s" % (what, where, resp.status, server), **extra)

    # ------------------------------------------------------------------ paging
    def next_page(self, next_link: Any, base: str, seen: set[str], what: str) -> str | None:
        """The next page's URL from ``@odata.nextLink``, or None at the end.

        Refuses (``api_error``) a link that is not a string, not ``https://``, on another host than
        the API's (the request carries the bearer token), or one already followed (a loop).
        """
        if next_link is None or next_link == "":
            return None
        if not isinstance(next_link, str):
            raise MdeError(
                "api_error",
                "%s: the answer's @odata.nextLink is %s, not a URL: %s" % (what, _kind(next_link), _quote(next_link)),
            )
        parts = urlsplit(next_link)
        if parts.scheme.lower() != "https" or parts.netloc.lower() != host_of(base).lower():
            raise MdeError(
                "api_error",
                "%s: @odata.nextLink points to another host or scheme (%s://%s, not https://%s); not following it "
                "with the access token" % (what, parts.scheme or "?", parts.netloc or "?", host_of(base)),
                url=redact_url(next_link),
            )
        if next_link in seen:
            raise MdeError(
                "api_error",
                "%s: @odata.nextLink repeats a page already read (%s): the listing would never end"
                % (what, redact_url(next_link)),
                url=redact_url(next_link),
            )
        if len(seen) >= self.max_pages:
            raise MdeError(
                "api_error",
                "%s: more than %d pages; giving up (ask for bigger pages, e.g. page_size, or narrow the filter)"
                % (what, self.max_pages),
            )
        return next_link

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
        """Every item of an OData collection, page after page through ``@odata.nextLink``."""
        base = self.base(FAMILIES[family].resource)
        url: str | None = build_url(base, path, params)
        seen: set[str] = set()
        first = True
        found: list[dict] = []
        while url:
            seen.add(url)
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
            if data is None:
                return found
            items = data.get("value")
            if items is None:
                items = []
            if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
                raise MdeError(
                    "api_error",
                    "%s: GET %s answered a 'value' that is not a list of objects: %s" % (what, path, _quote(items)),
                )
            found.extend(items)
            url = self.next_page(data.get("@odata.nextLink"), base, seen, what)
        return found

    def summary(self) -> dict:
        out = self.stats.as_dict()
        out["rate_limit_wait"] = round(self.limiter.waited, 3)
        return out


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
