# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sign-in of the API client: OAuth 2.0 client credentials through msal. PRIVATE to this collection.

:class:`SignIn` builds msal's ``ConfidentialClientApplication`` from the module options (client
secret, or a certificate: PEM private key + SHA-1 thumbprint or the certificate itself) and
hands out access tokens; msal's in-memory cache gives one sign-in per resource and run
(docs/sources.md §7.1). msal's own HTTP goes through the client's ``send`` (:class:`MsalHttpClient`),
so the sign-in endpoint gets the same TLS settings, retries and counters as the APIs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from ._api_settings import ApiSettings, Cloud
from ._api_transport import HttpResponse
from ._errors import MdeError

try:
    import msal

    HAS_MSAL = True
    MSAL_IMPORT_ERROR = None
except ImportError as _exc:  # pragma: no cover - depends on the controller
    msal = None
    HAS_MSAL = False
    MSAL_IMPORT_ERROR = _exc

__all__ = ["HAS_MSAL", "MSAL_IMPORT_ERROR", "MsalHttpClient", "SignIn", "first_line"]

#: ``send(method, url, family=..., headers=..., body=...) -> HttpResponse`` of the client.
Send = Callable[..., HttpResponse]


def first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def _pem_block(pem: str, label_re: str) -> str | None:
    match = re.search(r"-----BEGIN (%s)-----.+?-----END \1-----" % label_re, pem, re.S)
    return match.group(0) + "\n" if match else None


class SignIn:
    """Access tokens for the ``api`` and ``graph`` resources of one run."""

    def __init__(
        self,
        settings: ApiSettings,
        endpoints: Cloud,
        send: Send,
        *,
        on_token_request: Callable[[], None] | None = None,
        msal_module: Any = None,
    ) -> None:
        self.settings = settings
        self.endpoints = endpoints
        self.http = MsalHttpClient(send, on_token_request)
        self._msal = msal_module if msal_module is not None else msal
        self._app: Any = None

    def scope(self, resource: str) -> str:
        return self.endpoints.graph_scope if resource == "graph" else self.endpoints.api_scope

    def credential(self) -> Any:
        """The client credential msal takes: the secret, or a dict describing the certificate."""
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

    def application(self) -> Any:
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
                client_credential=self.credential(),
                authority=authority,
                http_client=self.http,
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
                    "(cloud=%s). %s" % (authority, self.settings.tenant_id, self.settings.cloud, first_line(text)),
                ) from exc
            raise MdeError("invalid_argument", "the client credential is unusable: %s" % first_line(text)) from exc
        return self._app

    def token(self, resource: str) -> str:
        """An access token for ``api`` or ``graph`` (msal's cache: one sign-in per resource and run)."""
        app = self.application()
        scope = self.scope(resource)
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
                    first_line(str(result.get("error_description", ""))),
                ),
                error_code=result.get("error"),
            )
        return str(result["access_token"])


class MsalResponse:
    """The response shape msal expects (``status_code``, ``text``, ``headers``)."""

    def __init__(self, resp: HttpResponse) -> None:
        self.status_code = resp.status
        self.text = resp.text
        self.headers = resp.headers

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise MdeError(
                "api_unauthorized", "the sign-in endpoint answered %d: %s" % (self.status_code, first_line(self.text))
            )


class MsalHttpClient:
    """msal's ``http_client``: its discovery and token requests go through the client's ``send``."""

    def __init__(self, send: Send, on_token_request: Callable[[], None] | None = None) -> None:
        self._send = send
        self._on_token_request = on_token_request

    def post(
        self, url: str, params: dict | None = None, data: Any = None, headers: dict | None = None, **kwargs: Any
    ) -> MsalResponse:
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
        if self._on_token_request is not None:
            self._on_token_request()
        return MsalResponse(self._send("POST", url, family="login", headers=hdrs, body=body))

    def get(self, url: str, params: dict | None = None, headers: dict | None = None, **kwargs: Any) -> MsalResponse:
        del kwargs
        if params:
            url += ("&" if "?" in url else "?") + urlencode(params)
        return MsalResponse(self._send("GET", url, family="login", headers=dict(headers or {})))

    def close(self) -> None:
        pass
