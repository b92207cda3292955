"""Get-MpComputerStatus from the Defender model (``rules.py`` decides the running mode).

Sources: the Get-MpComputerStatus reference page (Defender module) and the MSFT_MpComputerStatus
class page; docs/sources.md §2.1/§2.2 for what each field means. The cmdlet exists
only where Defender Antivirus is installed (the Defender PowerShell module ships with it).
MODEL (UNCONFIRMED): with the WinDefend service not running the call fails with HRESULT
0x800106ba, the error Defender's tools report when the service is unavailable.
"""

from __future__ import annotations

from typing import Any

from .. import rules
from .commands import CmdletCall, cmdlet
from .dotnet import DateTime
from .errors import ErrorRecord, NetException
from .win_cim import CimInstance

FIELDS = (
    "AMEngineVersion", "AMProductVersion", "AMRunningMode", "AMServiceEnabled", "AMServiceVersion",
    "AntispywareEnabled", "AntispywareSignatureAge", "AntispywareSignatureLastUpdated", "AntispywareSignatureVersion",
    "AntivirusEnabled", "AntivirusSignatureAge", "AntivirusSignatureLastUpdated", "AntivirusSignatureVersion",
    "BehaviorMonitorEnabled", "ComputerState", "DefenderSignaturesOutOfDate", "IoavProtectionEnabled",
    "IsTamperProtected", "NISEnabled", "OnAccessProtectionEnabled", "RealTimeProtectionEnabled",
)  # fmt: skip


def defender_installed(host: Any) -> bool:
    return rules.derive_running_mode(host.state) is not None


def status(host: Any) -> dict[str, Any]:
    state = host.state
    defender = state.get("defender", {})
    mode = rules.derive_running_mode(state)
    rtp = rules.real_time_protection_enabled(state, mode)
    running = mode != rules.NOT_RUNNING
    age = int(defender.get("signature_age_days", 0))
    updated = DateTime.from_unix(host.now() - age * 86400 - 3600)
    return {
        "AMEngineVersion": defender.get("engine_version"),
        "AMProductVersion": defender.get("platform_version"),
        "AMRunningMode": mode,
        "AMServiceEnabled": running,
        "AMServiceVersion": defender.get("platform_version"),
        "AntispywareEnabled": running,
        "AntispywareSignatureAge": age,
        "AntispywareSignatureLastUpdated": updated,
        "AntispywareSignatureVersion": defender.get("signature_version"),
        "AntivirusEnabled": running,
        "AntivirusSignatureAge": age,
        "AntivirusSignatureLastUpdated": updated,
        "AntivirusSignatureVersion": defender.get("signature_version"),
        "BehaviorMonitorEnabled": rtp,
        "ComputerState": 0,
        "DefenderSignaturesOutOfDate": age > 7,
        "IoavProtectionEnabled": rtp,
        "IsTamperProtected": bool(defender.get("tamper_protection")),
        "NISEnabled": rtp,
        "OnAccessProtectionEnabled": rtp,
        "RealTimeProtectionEnabled": rtp,
    }


@cmdlet("Get-MpComputerStatus", [], available=defender_installed, module="Defender", class_name="Get-MpComputerStatus")
def get_mp_computer_status(call: CmdletCall) -> None:
    if not call.host.service_running("WinDefend"):
        exc = NetException(
            "Microsoft.Management.Infrastructure.CimException", "Operation failed with the following error: 0x800106ba"
        )
        call.error(ErrorRecord(exc, "HRESULT 0x800106ba,Get-MpComputerStatus", "NotSpecified"))
        return
    call.write(CimInstance("MSFT_MpComputerStatus", "root/Microsoft/Windows/Defender", status(call.host), FIELDS))
