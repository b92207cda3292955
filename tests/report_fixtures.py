"""Fleet reports with every outcome, built through the collection's own code (host_record, build_report).

Shared by the report's unit tests and the real-browser test: a rollout (every outcome a real run can
end with, an unprotected host, a refused one, a very long host name, a third-party antivirus name
that a spreadsheet would read as a formula), a check-mode rollout, an audit, and an interrupted run.
"""

from __future__ import annotations

from ansible_collections.mdeops.defender.plugins.module_utils import _report

ORG = "3b2f6c1e-7d4a-4e8b-9c1f-2a6d8e0b4c71"
OTHER = "c0ffee00-1234-4abc-8def-0123456789ab"
# A fully qualified inventory name far longer than any table column.
LONG_NAME = "srv-fileshare-" + "replica-" * 8 + "01.emea.branch-offices.corp.example.com"
FORMULA_AV = '=HYPERLINK("http://x.example","Endpoint AV")'

TAMPER_REMEDIATION = _report.remediation_of("tamper_protection_blocks_passive")
TAMPER_MSG = (
    "ForceDefenderPassiveMode is now 1, but this server was onboarded before and tamper protection keeps it active."
)
INACTIVE_MSG = (
    "The third-party antivirus (Contoso AV) has no real-time protection on. This host has NO real-time antivirus "
    "protection."
)


def problem(reason: str, msg: str) -> dict:
    return {
        "reason": reason,
        "family": _report.family_of(reason),
        "severity": "error",
        "msg": msg,
        "remediation": _report.remediation_of(reason),
    }


def mde(
    mode: str = "passive",
    compliant: bool = True,
    protected: bool = True,
    onboarded: bool = True,
    org: str | None = ORG,
    expected: str | None = ORG,
    av: tuple[str, ...] = ("CrowdStrike Falcon",),
    av_active: bool = True,
    os_caption: str = "Microsoft Windows 11 Enterprise",
    kind: str = "workstation",
    problems: tuple[dict, ...] = (),
) -> dict:
    """The fact ``mde`` as win_mde_info leaves it (the parts the report reads)."""
    return {
        "os": {"caption": os_caption, "kind": kind},
        "onboarding": {"onboarded": onboarded, "org_id": org if onboarded else None, "expected_org_id": expected},
        "antivirus": {"third_party_names": list(av), "third_party_active": av_active},
        "diagnosis": {"mode": mode, "compliant": compliant, "protected": protected, "problems": list(problems)},
    }


def gate_msg(reason: str, step: str, msg: str) -> str:
    """A failure message as the roles' gates (fleet_progress) word it."""
    return "[%s] (%s) step %s: %s Remediation: %s" % (
        reason,
        _report.family_of(reason),
        step,
        msg,
        _report.remediation_of(reason),
    )


SERVER = {"os_caption": "Microsoft Windows Server 2022 Datacenter", "kind": "server"}


def rollout_records(check_mode: bool = False) -> list[dict]:
    """One host per outcome a rollout can end with (listed in no particular order)."""
    rec = _report.host_record
    done = {"assess": "ok", "onboard": "changed", "verify_mode": "ok"}
    records = [
        rec("ws-compliant-01", mde=mde(), progress={"steps": {"assess": "ok"}}),
        rec("ws-converged-01", mde=mde(), progress={"steps": done, "wave": 2}, check_mode=check_mode),
        rec(
            "ws-unprotected-01",
            mde=mde(
                compliant=False,
                protected=False,
                av=("Contoso AV",),
                av_active=False,
                problems=(problem("third_party_av_inactive", INACTIVE_MSG),),
            ),
            progress={"steps": {"assess": "ok"}, "wave": 2},
        ),
        rec(
            "srv-failed-01",
            mde=mde(
                mode="active",
                compliant=False,
                problems=(
                    problem("tamper_protection_blocks_passive", TAMPER_MSG),
                    problem("server_passive_not_forced", "Windows Server does not go passive by itself."),
                ),
                av=("SentinelOne",),
                **SERVER,
            ),
            progress={"steps": {"assess": "ok", "registry": "changed"}, "current_step": "registry", "wave": 1},
            failure={
                "reason": "tamper_protection_blocks_passive",
                "msg": gate_msg("tamper_protection_blocks_passive", "registry", TAMPER_MSG),
                "remediation": TAMPER_REMEDIATION,
                "family": "tamper_protection",
                "step": "registry",
            },
        ),
        rec(
            "ws-refused-noav",
            mde=mde(
                mode="active",
                compliant=False,
                onboarded=False,
                av=(),
                av_active=False,
                problems=(
                    problem("not_onboarded", "The device is not onboarded to Defender for Endpoint."),
                    problem("no_third_party_av", "No third-party antivirus was found in Security Center."),
                ),
            ),
            failure={
                "reason": "no_third_party_av",
                "msg": gate_msg(
                    "no_third_party_av", "assess", "No third-party antivirus was found in Security Center."
                ),
                "step": "assess",
            },
        ),
        rec(
            LONG_NAME,
            mde=mde(
                org=OTHER,
                compliant=False,
                av=(FORMULA_AV,),
                problems=(problem("wrong_org", "The device is onboarded to org %s, not to %s." % (OTHER, ORG)),),
                **SERVER,
            ),
            failure={"reason": "wrong_org", "msg": "The device is onboarded to another org.", "step": "assess"},
        ),
        rec("srv-down-01", unreachable="basic: HTTPSConnectionPool(host='srv-down-01', port=5986): timed out"),
        rec(
            "ws-reboot-01",
            mde=mde(mode="active", compliant=False),
            progress={"steps": {"assess": "ok", "onboard": "changed"}, "pending_reboot": True, "wave": 3},
        ),
        rec("ws-notrun-01"),
    ]
    if check_mode:
        records.append(
            rec(
                "ws-wouldchange-01",
                mde=mde(mode="active", compliant=False, onboarded=False),
                progress={"steps": {"assess": "ok", "onboard": "changed"}, "wave": 2},
                check_mode=True,
            )
        )
    return records


def audit_records() -> list[dict]:
    rec = _report.host_record
    return [
        rec("ws-compliant-01", mde=mde(), goal="audit"),
        rec(
            "ws-audited-01",
            mde=mde(
                mode="active", compliant=False, onboarded=False, problems=(problem("not_onboarded", "Not onboarded."),)
            ),
            goal="audit",
        ),
        rec(
            "ws-unprotected-01",
            mde=mde(
                compliant=False,
                protected=False,
                av_active=False,
                problems=(problem("third_party_av_inactive", INACTIVE_MSG),),
            ),
            goal="audit",
        ),
        rec("srv-down-01", unreachable="connection refused", goal="audit"),
        rec(LONG_NAME, mde=mde(**SERVER), goal="audit"),
    ]


#: the order the report must list the hosts in: what needs attention first, then by name
ROLLOUT_ORDER = [
    "ws-unprotected-01",
    "srv-failed-01",
    LONG_NAME,
    "ws-refused-noav",
    "srv-down-01",
    "ws-reboot-01",
    "ws-notrun-01",
    "ws-converged-01",
    "ws-compliant-01",
]
AUDIT_ORDER = ["ws-unprotected-01", "srv-down-01", "ws-audited-01", LONG_NAME, "ws-compliant-01"]


def rollout_report(status: str = "complete") -> dict:
    return _report.build_report(
        rollout_records(),
        {
            "playbook": "rollout.yml",
            "started": "2026-01-05T08:00:00+00:00",
            "goal": "passive",
            "limit": "site_a:!mde_canary",
            "status": status,
        },
    )


def check_report() -> dict:
    return _report.build_report(
        rollout_records(check_mode=True), {"playbook": "rollout.yml", "goal": "passive", "check_mode": True}
    )


def audit_report(expected: bool = True) -> dict:
    records = audit_records()
    if not expected:
        for r in records:
            r["expected_org_id"] = None
    return _report.build_report(records, {"playbook": "verify.yml", "goal": "audit"})
