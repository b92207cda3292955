"""Twin of win_antivirus_info.ps1 (read-only): Security Center, AV services, installed products."""

from __future__ import annotations

from . import check_args, common, twin

FQCN = "mdeops.defender.win_antivirus_info"


@twin(FQCN, sample_args={"mp_status_fields": ["AMRunningMode"], "service_patterns": ["*"], "product_patterns": ["*"]})
def win_antivirus_info(host, args, ctx):
    opts = check_args(FQCN, args, {"mp_status_fields": ..., "service_patterns": [], "product_patterns": []})
    status, error = common.mp_status(host, opts["mp_status_fields"])
    return {
        "changed": False,
        "os": common.os_info(host),
        "services": {name: common.service_info(host, name) for name in ("WinDefend", "WscSvc")},
        "security_center": (
            common.security_center(host)
            if host.is_workstation
            else {"available": False, "error": "Security Center does not exist on Windows Server", "products": []}
        ),
        "av_services": common.av_services(host, opts["service_patterns"]),
        "installed_products": common.installed_products(host, opts["product_patterns"]),
        "mp_status": status,
        "mp_status_error": error,
    }
