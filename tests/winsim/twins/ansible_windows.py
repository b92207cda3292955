"""Twins of the ansible.windows modules the tests and the demo use."""

from __future__ import annotations

from . import ModuleFail, check_args, twin


@twin("ansible.windows.win_ping")
def win_ping(host, args, ctx):
    opts = check_args("ansible.windows.win_ping", args, {"data": "pong"})
    if opts["data"] == "crash":
        raise ModuleFail("boom")
    return {"changed": False, "ping": opts["data"]}


_PRODUCT_TYPES = {1: "workstation", 2: "domain_controller", 3: "server"}
_DOMAIN_ROLES = {
    (1, False): "Stand-alone workstation",
    (1, True): "Member workstation",
    (3, False): "Stand-alone server",
    (3, True): "Member server",
    (2, False): "Primary domain controller",
    (2, True): "Primary domain controller",
}


@twin("ansible.windows.setup")
def setup(host, args, ctx):
    """A small but truthful subset of ``ansible.windows.setup`` facts (enough for gather_facts)."""
    import datetime

    from ..host import filetime_to_unix

    # Like setup.ps1: options the gather_facts action adds are tolerated, not rejected.
    subset = args.get("gather_subset") or ["all"]
    if isinstance(subset, str):
        subset = [s.strip() for s in subset.split(",")]
    os_info = host.os
    product_type = int(os_info["product_type"])
    domain = host.state.get("domain") or {}
    joined = bool(domain.get("joined"))
    hostname = str(host.state.get("hostname") or host.name).upper()
    dns_domain = str(domain.get("name") or "") if joined else ""
    fqdn = "%s.%s" % (hostname.lower(), dns_domain) if dns_domain else hostname.lower()
    boot = filetime_to_unix(host.last_boot_filetime)
    now = host.now()
    version = str(os_info["version"])
    user = str((host.state.get("credentials") or {}).get("username", "ansible"))
    local_now = datetime.datetime.fromtimestamp(now)
    facts = {
        "gather_subset": list(subset),
        "module_setup": True,
        "ansible_architecture": "64-bit",
        "ansible_distribution": os_info["caption"],
        "ansible_distribution_version": version,
        "ansible_distribution_major_version": version.split(".", maxsplit=1)[0],
        "ansible_kernel": version,
        "ansible_os_family": "Windows",
        "ansible_os_name": os_info["caption"],
        "ansible_os_product_type": _PRODUCT_TYPES.get(product_type, "unknown"),
        "ansible_os_installation_type": "Client" if product_type == 1 else "Server",
        "ansible_system": "Win32NT",
        "ansible_hostname": hostname,
        "ansible_netbios_name": hostname,
        "ansible_nodename": fqdn,
        "ansible_fqdn": fqdn,
        "ansible_domain": dns_domain,
        "ansible_windows_domain": dns_domain if joined else "WORKGROUP",
        "ansible_windows_domain_member": joined,
        "ansible_windows_domain_role": _DOMAIN_ROLES.get((product_type, joined), "Unknown"),
        "ansible_powershell_version": 5,
        "ansible_lastboot": datetime.datetime.fromtimestamp(boot, datetime.UTC).strftime("%Y-%m-%d %H:%M:%SZ"),
        "ansible_uptime_seconds": max(0, round(now - boot)),
        "ansible_reboot_pending": bool(
            host.reg_key_exists(
                r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending"
            )
        ),
        "ansible_user_id": user,
        "ansible_user_dir": "C:\\Users\\%s" % user,
        "ansible_env": {
            "COMPUTERNAME": hostname,
            "TEMP": host.temp_dir(),
            "USERNAME": user,
            "SystemRoot": "C:\\Windows",
            "ProgramFiles": "C:\\Program Files",
        },
        "ansible_ip_addresses": ["127.0.0.1"],
        "ansible_date_time": {
            "date": local_now.strftime("%Y-%m-%d"),
            "time": local_now.strftime("%H:%M:%S"),
            "epoch": "%d" % now,
            "iso8601": datetime.datetime.fromtimestamp(now, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "year": local_now.strftime("%Y"),
            "month": local_now.strftime("%m"),
            "day": local_now.strftime("%d"),
            "hour": local_now.strftime("%H"),
            "minute": local_now.strftime("%M"),
            "second": local_now.strftime("%S"),
        },
        "ansible_virtualization_role": "guest",
        "ansible_virtualization_type": "winsim",
    }
    return {"changed": False, "ansible_facts": facts}


@twin("ansible.windows.win_stat")
def win_stat(host, args, ctx):
    """``win_stat`` over the host model's files (what ``ansible.builtin.fetch`` asks first)."""
    import hashlib
    import ntpath

    opts = {k: v for k, v in args.items() if not k.startswith("_ansible_")}
    for alias in ("dest", "name"):
        if alias in opts and "path" not in opts:
            opts["path"] = opts.pop(alias)
    opts = check_args(
        "ansible.windows.win_stat",
        opts,
        {
            "path": ...,
            "get_checksum": True,
            "get_size": True,
            "checksum_algorithm": "sha1",
            "follow": False,
        },
    )
    path = host.expand_env(str(opts["path"]))
    if not host.path_exists(path):
        return {"changed": False, "stat": {"exists": False}}
    name = ntpath.basename(path.rstrip("\\"))
    stat = {
        "exists": True,
        "path": path,
        "filename": name,
        "isdir": host.is_dir(path),
        "islnk": False,
        "isreg": not host.is_dir(path),
        "isshared": False,
        "hlnk_targets": [],
        "nlink": 1,
        "owner": "BUILTIN\\Administrators",
        "attributes": "Directory" if host.is_dir(path) else "Archive",
    }
    data = host.read_file(path)
    if data is not None:
        stat["extension"] = ntpath.splitext(name)[1]
        if opts["get_size"]:
            stat["size"] = len(data)
        if opts["get_checksum"]:
            algorithm = str(opts["checksum_algorithm"])
            if algorithm not in ("md5", "sha1", "sha256", "sha384", "sha512"):
                raise ModuleFail(
                    "value of checksum_algorithm must be one of: md5, sha1, sha256, sha384, sha512, got: %s" % algorithm
                )
            stat["checksum"] = hashlib.new(algorithm, data).hexdigest()
    elif opts["get_size"]:
        stat["size"] = 0
    return {"changed": False, "stat": stat}
