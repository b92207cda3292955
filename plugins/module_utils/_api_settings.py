# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Clouds and connection options of the Defender API / Microsoft Graph modules. PRIVATE.

* Clouds: ``public``, ``usgov_gcc``, ``usgov_gcc_high``, ``usgov_dod`` (docs/sources.md §7.2);
  ``api_base_url`` / ``graph_base_url`` / ``authority_host`` override them (geo hosts such as
  ``https://eu.api.security.microsoft.com``, or a local test double) and must be ``https://``.
* The shared options of every API module (:data:`API_ARGUMENT_SPEC`, documented once in
  ``plugins/doc_fragments/api.py``) and their environment fallbacks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ._errors import MdeError

__all__ = [
    "API_ARGUMENT_SPEC",
    "API_ENV_FALLBACKS",
    "API_MUTUALLY_EXCLUSIVE",
    "API_REQUIRED_ONE_OF",
    "CLOUDS",
    "ApiSettings",
    "Cloud",
    "with_env_fallbacks",
]


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
        values: dict[str, Any] = {k: params.get(k) for k in API_ARGUMENT_SPEC if params.get(k) is not None}
        return cls(**values)

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
