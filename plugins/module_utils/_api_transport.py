# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""HTTP transport of the API client: Ansible's ``open_url``, responses, URLs. PRIVATE.

:class:`OpenUrlTransport` sends one request (TLS verification on by default, ``ca_path``,
proxies from the environment) and turns every outcome into an :class:`HttpResponse` or a
:class:`TransportError` that says whether another attempt makes sense and whether the request
may have reached the server. Unit tests replace it with any callable of the same shape.
"""

from __future__ import annotations

import json
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import quote, urlsplit

from ansible.module_utils.urls import open_url

__all__ = [
    "HttpResponse",
    "OpenUrlTransport",
    "Transport",
    "TransportError",
    "build_url",
    "error_details",
    "host_of",
    "odata_quote",
    "path_of",
    "redact_url",
]


class TransportError(Exception):
    """The request never got an HTTP answer (DNS, refused, reset, timeout).

    ``retryable``: another attempt makes sense (False for a TLS verification failure).
    ``sent``: the request may have reached the server (a reset or a timeout after connecting);
    False when the connection was never made (DNS failure, connection refused), so even a
    request that is not idempotent can be sent again.
    """

    def __init__(self, msg: str, retryable: bool = True, sent: bool = True) -> None:
        super().__init__(msg)
        self.retryable = retryable
        self.sent = sent


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


#: ``transport(method, url, headers, body) -> HttpResponse``; raises :class:`TransportError`.
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
                raise _tls_error(url, reason) from exc
            raise TransportError("cannot reach %s: %s" % (host_of(url), reason), sent=_maybe_sent(reason)) from exc
        except ssl.SSLCertVerificationError as exc:
            raise _tls_error(url, exc) from exc
        except OSError as exc:  # refused, reset, timeout (TimeoutError), DNS
            raise TransportError("cannot reach %s: %s" % (host_of(url), exc), sent=_maybe_sent(exc)) from exc


def _tls_error(url: str, exc: BaseException) -> TransportError:
    return TransportError(
        "TLS certificate verification failed for %s: %s (set ca_path to the CA that signed the server "
        "certificate)" % (host_of(url), exc),
        retryable=False,
        sent=False,
    )


def _maybe_sent(reason: object) -> bool:
    """False when the connection was certainly never made (name resolution, connection refused)."""
    return not isinstance(reason, (socket.gaierror, ConnectionRefusedError))


def _lower(headers: Any) -> dict[str, str]:
    try:
        items = headers.items()
    except AttributeError:
        items = []
    return {str(k).lower(): str(v) for k, v in items}


def host_of(url: str) -> str:
    return urlsplit(url).netloc


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


def redact_url(url: str) -> str:
    """URLs carry no secrets here, but never more than the path and query."""
    parts = urlsplit(url)
    return "%s://%s%s" % (parts.scheme, parts.netloc, path_of(url))


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
