"""Twin of win_mde_info.ps1 (read-only)."""

from __future__ import annotations

from . import check_args, common, twin


@twin(
    "mdeops.defender.win_mde_info",
    sample_args={"mp_status_fields": ["AMRunningMode"], "service_patterns": ["*"], "product_patterns": ["*"]},
)
def win_mde_info(host, args, ctx):
    opts = check_args(
        "mdeops.defender.win_mde_info",
        args,
        {
            "mp_status_fields": ...,
            "service_patterns": [],
            "product_patterns": [],
        },
    )
    return {
        "changed": False,
        **read_host(host, opts["mp_status_fields"], opts["service_patterns"], opts["product_patterns"]),
    }


def read_host(host, fields, service_patterns, product_patterns) -> dict:
    """What Get-MdeHostState (_MdeDefender.psm1) returns: win_mde_info's read, also used after onboarding."""
    status, error = common.mp_status(host, fields)
    return {
        "os": common.os_info(host),
        "computer": common.computer_info(host),
        "mp_status": status,
        "mp_status_error": error,
        "services": {name: common.service_info(host, name) for name in ("WinDefend", "Sense", "WscSvc")},
        "registry": common.policy_values(host),
        "security_center": (
            common.security_center(host)
            if host.is_workstation
            else {"available": False, "error": "Security Center does not exist on Windows Server", "products": []}
        ),
        "av_services": common.av_services(host, service_patterns),
        "installed_products": common.installed_products(host, product_patterns),
        "reboot_pending": common.pending_reboot(host),
        "unified_agent": common.unified_agent(host),
    }
