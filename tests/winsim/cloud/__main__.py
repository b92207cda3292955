"""``python -m tests.winsim.cloud --state-dir DIR --fleet FLEET.yml --out CONFIG.json [--port N]``."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Sequence

import yaml

from ..host import _atomic_write
from ..server import make_tls_material
from .config import CloudConfigError, parse_config
from .server import CloudState, make_client_certificate, make_server


def build_config_json(state: CloudState, tls_ca: str) -> dict:
    base = state.base_url
    tenants = []
    clients = []
    for tenant in state.config.tenants.values():
        tenants.append({"tenant_id": tenant.tenant_id, "org_id": tenant.org_id, "name": tenant.name})
        for c in tenant.clients:
            clients.append(
                {
                    "tenant_id": tenant.tenant_id,
                    "client_id": c.client_id,
                    "client_secret": c.secret,
                    "client_certificate_path": c.key_path,
                    "client_certificate_thumbprint": c.thumbprint,
                    "permissions": list(c.permissions),
                    "name": c.name,
                }
            )
    main = next(iter(state.config.tenants.values()))
    first = main.clients[0]
    return {
        "api_base_url": base + "/mde",
        "graph_base_url": base + "/graph",
        "authority_host": base,
        "control_url": base + "/_fake",
        "ca_path": tls_ca,
        "tenant_id": main.tenant_id,
        "org_id": main.org_id,
        "client_id": first.client_id,
        "client_secret": first.secret,
        "client_certificate_path": first.key_path,
        "client_certificate_thumbprint": first.thumbprint,
        "tenants": tenants,
        "clients": clients,
        "counters_path": os.path.join(state.cloud_dir, "counters.json"),
        "state_dir": state.state_dir,
        "pid": os.getpid(),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.winsim.cloud", description="Fake Entra sign-in, Defender for Endpoint API and Graph"
    )
    parser.add_argument("--state-dir", required=True, help="the simulated fleet's state dir (DIR/<host>.json)")
    parser.add_argument("--fleet", required=True, help="the fleet file (its tenant: and cloud: blocks)")
    parser.add_argument("--out", required=True, help="where to write CONFIG.json once listening")
    parser.add_argument("--port", type=int, default=0, help="port (default: ephemeral)")
    parser.add_argument("--bind", default="127.0.0.1")
    args = parser.parse_args(argv)
    with open(args.fleet, encoding="utf-8") as fh:
        fleet = yaml.safe_load(fh) or {}
    try:
        config = parse_config(fleet)
    except CloudConfigError as exc:
        print("winsim-cloud: %s" % exc, file=sys.stderr)
        return 2
    os.makedirs(args.state_dir, exist_ok=True)
    state = CloudState(config, args.state_dir)
    for tenant in config.tenants.values():
        for client in tenant.clients:
            if client.certificate:
                client.key_path, client.cert_pem, client.thumbprint = make_client_certificate(
                    state.cloud_dir, client.client_id
                )
    tls_dir = os.path.join(state.cloud_dir, "tls")
    os.makedirs(tls_dir, exist_ok=True)
    tls = make_tls_material(tls_dir)
    server = make_server(state, args.bind, args.port, tls.server_context())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    _atomic_write(os.path.abspath(args.out), json.dumps(build_config_json(state, tls.ca_path), indent=1) + "\n")
    print("winsim-cloud: listening on %s, config at %s" % (state.base_url, args.out), flush=True)
    stop.wait()
    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
