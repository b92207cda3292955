"""The fake cloud in-process, for unit tests: real HTTPS on a background thread, host states written directly."""

from __future__ import annotations

import json
import ssl
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from ansible_collections.mdeops.defender.plugins.module_utils._api import ApiClient, ApiSettings, OpenUrlTransport

from .. import fleet as fleet_mod
from ..server import make_tls_material
from .config import parse_config
from .server import CloudState, make_client_certificate, make_server


class InProcessCloud:
    """The fake cloud on a background thread of this process, over real HTTPS (for unit tests)."""

    def __init__(self, base: Path, fleet: dict) -> None:
        self.state_dir = base / "state"
        self.state_dir.mkdir(parents=True)
        for name in fleet["hosts"]:
            state = fleet_mod.new_state(name, fleet_mod.host_settings(fleet, name))
            self.write_state(name, state)
        self.config = parse_config(fleet)
        self.state = CloudState(self.config, str(self.state_dir))
        for tenant in self.config.tenants.values():
            for c in tenant.clients:
                if c.certificate:
                    c.key_path, c.cert_pem, c.thumbprint = make_client_certificate(self.state.cloud_dir, c.client_id)
        tls_dir = self.state_dir / "cloud" / "tls"
        tls_dir.mkdir()
        self.tls = make_tls_material(str(tls_dir))
        self.server = make_server(self.state, "127.0.0.1", 0, self.tls.server_context())
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()
        self.base = self.state.base_url

    def write_state(self, name: str, state: dict) -> None:
        path = self.state_dir / ("%s.json" % name)
        path.write_text(json.dumps(state, sort_keys=True, indent=1), encoding="utf-8")

    def read_state(self, name: str) -> dict:
        return json.loads((self.state_dir / ("%s.json" % name)).read_text(encoding="utf-8"))

    def client(
        self,
        client_id: str = "aaaaaaaa-0000-0000-0000-000000000001",
        secret: str | None = "all-the-rights",
        tenant: str = "11111111-2222-3333-4444-555555555555",
        sleeps: list | None = None,
        **extra,
    ) -> ApiClient:
        settings = ApiSettings(
            tenant_id=tenant,
            client_id=client_id,
            client_secret=secret,
            api_base_url=self.base + "/mde",
            graph_base_url=self.base + "/graph",
            authority_host=self.base,
            ca_path=self.tls.ca_path,
            max_retries=extra.pop("retries", 3),
            **extra,
        )
        return ApiClient(
            settings,
            transport=OpenUrlTransport(True, self.tls.ca_path, 10),
            sleep=(sleeps.append if sleeps is not None else time.sleep),
        )

    def control(self, method: str, path: str, data: dict | None = None) -> dict:
        ctx = ssl.create_default_context(cafile=self.tls.ca_path)
        req = urllib.request.Request(
            self.base + "/_fake" + path,
            method=method,
            data=json.dumps(data).encode() if data is not None else None,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
            return json.loads(resp.read() or b"null")

    def raw(self, method: str, path: str, token: str | None = None, body: bytes | None = None):
        ctx = ssl.create_default_context(cafile=self.tls.ca_path)
        req = urllib.request.Request(
            self.base + path, method=method, data=body, headers={"Authorization": "Bearer " + token} if token else {}
        )
        try:
            with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
                return resp.status, dict(resp.headers), json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), json.loads(exc.read() or b"null")

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
