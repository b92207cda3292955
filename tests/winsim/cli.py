"""Command line of the simulated fleet (run from the repository root).

::

    python -m tests.winsim up --fleet FLEET.yml --inventory OUT.yml --state-dir DIR \\
        [--https] [--reset] [--base-port N] [--bind 127.0.0.1]
    python -m tests.winsim state --state-dir DIR [--host NAME]

``up`` serves one WinRM endpoint per host, writes the Ansible inventory once every host
(except ``down`` ones) listens, prints one line and runs until SIGINT/SIGTERM.
``state`` prints ``{host: {"state": …, "counters": …}}`` from the files.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import resource
import shutil
import signal
import sys
from collections.abc import Sequence
from typing import Any

import yaml

from . import fleet as fleet_mod
from . import twins
from .clock import FleetClock, HostClock
from .host import SimHost, _atomic_write
from .ps import report as ps_report
from .server import Fleet, HostEndpoint, TlsMaterial, make_tls_material

#: Groups derived from the OS product type (ProductType 1 workstation, 2 DC, 3 server).
BUILTIN_GROUPS = ("windows", "workstations", "servers", "domain_controllers")


def load_clock(fleet: dict, state_dir: str, reset: bool) -> FleetClock:
    """The fleet's simulated clock (``clock.py``), continued from the state directory unless ``reset``."""
    clock = FleetClock(float(fleet.get("time_scale", 1.0)))
    if not reset:
        clock.load(state_dir)
    clock.save(state_dir)
    return clock


def load_hosts(fleet: dict, state_dir: str, reset: bool, clock: FleetClock | None = None) -> list[SimHost]:
    """One SimHost per fleet host: the saved state unless ``reset`` (or none saved yet)."""
    clock = clock or FleetClock(float(fleet.get("time_scale", 1.0)))
    hosts = []
    for name in fleet["hosts"]:
        path = os.path.join(state_dir, f"{name}.json")
        if os.path.exists(path) and not reset:
            with open(path, encoding="utf-8") as fh:
                state = json.load(fh)
        else:
            state = fleet_mod.new_state(name, fleet_mod.host_settings(fleet, name), now=clock.wall_now())
        host = SimHost(name, state, state_dir, clock=HostClock(clock))
        counters_path = host.counters_path
        if os.path.exists(counters_path) and not reset:
            with open(counters_path, encoding="utf-8") as fh:
                host.counters = json.load(fh)
        host.save_if_changed()  # a new state is written at once; a loaded one stays byte-identical
        host.save_counters()
        hosts.append(host)
    return hosts


def host_groups(host: SimHost) -> list[str]:
    groups = ["windows"]
    product_type = host.os.get("product_type")
    if product_type == 1:
        groups.append("workstations")
    else:
        groups.append("servers")
    if product_type == 2:
        groups.append("domain_controllers")
    for group in host.state.get("groups") or []:
        if group not in groups:
            groups.append(str(group))
    return groups


def host_vars(endpoint: HostEndpoint, tls: TlsMaterial | None) -> dict[str, Any]:
    """Connection variables. No ansible_shell_type: 2.19 defaults to powershell, 2.21 to cmd."""
    creds = endpoint.host.state.get("credentials") or {}
    out: dict[str, Any] = {
        "ansible_host": endpoint.bind,
        "ansible_port": endpoint.port,
        "ansible_user": creds.get("username", "ansible"),
        "ansible_password": creds.get("password", ""),
        "ansible_connection": "winrm",
        "ansible_winrm_transport": "basic",
        "ansible_winrm_scheme": endpoint.scheme,
    }
    if tls is not None:
        out["ansible_winrm_server_cert_validation"] = "validate"
        out["ansible_winrm_ca_trust_path"] = tls.ca_path
    return out


def build_inventory(endpoints: Sequence[HostEndpoint], tls: TlsMaterial | None) -> dict[str, Any]:
    """An Ansible YAML inventory: host vars under ``windows``, every other group by name."""
    children: dict[str, dict[str, Any]] = {g: {"hosts": {}} for g in BUILTIN_GROUPS}
    for endpoint in endpoints:
        for group in host_groups(endpoint.host):
            entry = host_vars(endpoint, tls) if group == "windows" else None
            children.setdefault(group, {"hosts": {}})["hosts"][endpoint.host.name] = entry
    for group in children.values():
        if not group["hosts"]:
            group.pop("hosts")
    return {"all": {"children": children}}


def _raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


async def serve(args: argparse.Namespace) -> int:
    fleet = fleet_mod.load_fleet(args.fleet)
    os.makedirs(args.state_dir, exist_ok=True)
    if args.reset:
        # The domain (GPOs, links) is state too.
        shutil.rmtree(os.path.join(args.state_dir, "domain"), ignore_errors=True)
    # Boot hooks (Group Policy at boot, processes ending) and timer actions (Sense) register when
    # their modules are imported: load them all before the first reboot or timer can happen.
    twins.load_all()
    importlib.import_module(".domain", __package__)
    importlib.import_module(".native", __package__)
    importlib.import_module(".ps.wrapper", __package__)  # the interpreter, loaded before the first module run
    clock = load_clock(fleet, args.state_dir, args.reset)
    hosts = load_hosts(fleet, args.state_dir, args.reset, clock)
    if fleet.get("domain"):
        # The fleet's domain block (GPOs, groups, replication) seeds a new domain state only.
        from . import domain as domain_mod

        block = fleet["domain"]
        if not os.path.exists(domain_mod.domain_path(args.state_dir, str(block.get("name") or "corp.example.com"))):
            domain_mod.seed(args.state_dir, block)
    _raise_fd_limit(len(hosts) * 4 + 256)
    tls = make_tls_material(args.state_dir) if args.https else None
    ctx = tls.server_context() if tls else None
    endpoints = [
        HostEndpoint(
            h,
            bind=args.bind,
            port=(args.base_port + i) if args.base_port else 0,
            ssl_context=ctx,
            trace_path=args.trace,
        )
        for i, h in enumerate(hosts)
    ]
    fleet_server = Fleet(endpoints)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await fleet_server.start()
        inventory = yaml.safe_dump(build_inventory(endpoints, tls), sort_keys=False, default_flow_style=False)
        _atomic_write(os.path.abspath(args.inventory), inventory)
        print("winsim: %d hosts listening, inventory at %s" % (fleet_server.listening, args.inventory), flush=True)
        await stop.wait()
    finally:
        await fleet_server.stop()
        clock.save(args.state_dir)
        ps_report.write_if_asked()
    return 0


def show_state(args: argparse.Namespace) -> int:
    out: dict[str, Any] = {}
    names = (
        [args.host]
        if args.host
        else sorted(
            f[:-5] for f in os.listdir(args.state_dir) if f.endswith(".json") and not f.endswith(".counters.json")
        )
    )
    for name in names:
        path = os.path.join(args.state_dir, f"{name}.json")
        if not os.path.exists(path):
            print("winsim: no state for host %r in %s" % (name, args.state_dir), file=sys.stderr)
            return 1
        with open(path, encoding="utf-8") as fh:
            state = json.load(fh)
        counters_path = os.path.join(args.state_dir, f"{name}.counters.json")
        counters = {}
        if os.path.exists(counters_path):
            with open(counters_path, encoding="utf-8") as fh:
                counters = json.load(fh)
        out[name] = {"state": state, "counters": counters}
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m tests.winsim", description="Simulated Windows fleet over WinRM")
    sub = top.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="serve the fleet until SIGINT/SIGTERM")
    up.add_argument("--fleet", required=True, help="fleet YAML file")
    up.add_argument("--inventory", required=True, help="where to write the Ansible inventory")
    up.add_argument("--state-dir", required=True, help="directory of <host>.json and <host>.counters.json")
    up.add_argument("--https", action="store_true", help="serve HTTPS with a generated CA (full validation)")
    up.add_argument("--reset", action="store_true", help="start from the fleet file, ignoring saved state")
    up.add_argument("--base-port", type=int, default=0, help="first port (host i gets N+i); default ephemeral")
    up.add_argument("--bind", default="127.0.0.1", help="address to listen on")
    up.add_argument("--trace", default=None, help="append every decoded command (JSON lines) to this file")
    state = sub.add_parser("state", help="print saved host state and counters as JSON")
    state.add_argument("--state-dir", required=True)
    state.add_argument("--host", default=None)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "state":
        return show_state(args)
    try:
        return asyncio.run(serve(args))
    except fleet_mod.FleetError as exc:
        print("winsim: %s" % exc, file=sys.stderr)
        return 2
