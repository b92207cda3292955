# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument specs of the collection's modules: the one source of truth. PRIVATE.

Each action plugin validates its arguments with the spec named after it; a unit test
compares every spec with the ``DOCUMENTATION`` of the module's stub (names, types,
defaults, choices, required, elements, aliases, no_log, suboptions).
"""

from __future__ import annotations

PROGRESS_STEPS = (
    "assess",
    "onboard",
    "third_party_av",
    "verify_mode",
    "registry",
    "group_policy",
    "intune",
    "confirm_edr",
    "reboot",
)
SUPPORT_POLICY = dict(type="str", choices=["microsoft", "guide"], default="microsoft")

SPECS: dict = {
    "win_mde_info": dict(
        argument_spec=dict(
            expected_org_id=dict(type="str"),
            support_policy=SUPPORT_POLICY,
            av_name_patterns=dict(type="list", elements="str", default=[]),
            rollout=dict(
                type="dict",
                options=dict(
                    require_third_party_av=dict(type="bool", default=False),
                    passive_method=dict(type="str", choices=["registry", "group_policy", "none"], default="registry"),
                    force_passive_on_clients=dict(type="bool", default=False),
                    installer_available=dict(type="bool", default=False),
                    confirm_edr=dict(type="bool", default=False),
                ),
            ),
            offboard=dict(type="dict", options=dict(allow_reboot=dict(type="bool", default=False))),
            wait_for=dict(
                type="str",
                choices=["none", "passive", "active_by_design", "onboarded", "offboarded", "protected"],
                default="none",
            ),
            wait_timeout=dict(type="int", default=300),
            wait_interval=dict(type="int", default=10),
            host_read=dict(type="dict"),
        ),
        mutually_exclusive=[["rollout", "offboard"]],
    ),
    "win_antivirus_info": dict(
        argument_spec=dict(
            av_name_patterns=dict(type="list", elements="str", default=[]),
            include_microsoft=dict(type="bool", default=True),
        ),
    ),
    "fleet_report": dict(
        argument_spec=dict(
            hosts=dict(type="list", elements="str"),
            report_dir=dict(type="path", default="./reports"),
            basename=dict(type="str", default="fleet-report"),
            goal=dict(type="str", choices=["passive", "offboarded", "audit"], default="passive"),
            playbook=dict(type="str"),
            write=dict(type="str", choices=["auto", "always", "never"], default="auto"),
        ),
    ),
    "fleet_progress": dict(
        argument_spec=dict(
            result=dict(type="raw"),
            results=dict(type="list", elements="raw", default=[]),
            wave_results=dict(type="list", elements="raw", default=[]),
            step=dict(type="str", choices=list(PROGRESS_STEPS)),
            fleet=dict(type="raw"),
            failed_action=dict(type="str"),
            gate=dict(type="bool", default=True),
            outcome=dict(type="str", choices=["ok", "changed", "skipped", "failed", "not_run"]),
            reboots=dict(type="int", default=0),
            set=dict(type="dict"),
            wave=dict(type="list", elements="str"),
            max_fail_percentage=dict(type="int", default=0),
            stop=dict(type="bool", default=False),
        ),
        mutually_exclusive=[["wave", "result"], ["wave", "results"], ["wave", "wave_results"], ["wave", "stop"]],
    ),
    "preflight": dict(
        argument_spec=dict(
            role=dict(type="str", required=True, choices=["mde_rollout", "mde_verify", "mde_offboard"]),
            stage=dict(type="str", choices=["inputs", "fleet"], default="inputs"),
            assessment=dict(type="str"),
        ),
    ),
    # --- BEGIN win_mde_onboarding (owned by the win_mde_onboarding work; edit only this block)
    "win_mde_onboarding": dict(
        argument_spec=dict(
            state=dict(type="str", choices=["present", "absent"], default="present"),
            package=dict(type="path"),
            remote_package=dict(type="str"),
            checksum=dict(type="str"),
            expected_org_id=dict(type="str"),
            force=dict(type="bool", default=False),
            timeout=dict(type="int", default=300),
            installer=dict(type="path"),
            remote_installer=dict(type="str"),
            installer_force_passive=dict(type="bool", default=True),
            av_name_patterns=dict(type="list", elements="str", default=[]),
            support_policy=SUPPORT_POLICY,
            wait=dict(type="bool", default=True),
            assessment=dict(type="dict"),
        ),
        mutually_exclusive=[["package", "remote_package"], ["installer", "remote_installer"]],
        required_one_of=[["package", "remote_package"]],
    ),
    # --- END win_mde_onboarding
    "win_mde_onboard_reboot": dict(
        argument_spec=dict(
            onboard=dict(type="bool", default=True),
            onboarding=dict(type="dict", default={}),
            reboot=dict(type="bool", default=False),
            allow_reboot=dict(type="bool", default=True),
            reboot_options=dict(type="dict", default={}),
        ),
    ),
    # --- BEGIN win_mde_passive_mode (edit only this block)
    "win_mde_passive_mode": dict(
        argument_spec=dict(
            state=dict(type="str", choices=["present", "absent"], default="present"),
            guide_value=dict(type="bool", default=False),
            require_third_party_av=dict(type="bool", default=True),
            av_name_patterns=dict(type="list", elements="str", default=[]),
            assessment=dict(type="dict"),
        ),
    ),
    # --- END win_mde_passive_mode
    # --- BEGIN win_mde_gpo / win_mde_policy_refresh / win_mde_detection_test (edit only this block)
    "win_mde_detection_test": dict(
        argument_spec=dict(
            directory=dict(type="str", default="C:\\test-MDATP-test"),
            stop_after=dict(type="int", default=10),
        ),
    ),
    "win_mde_gpo": dict(
        argument_spec=dict(
            name=dict(type="str", required=True),
            comment=dict(type="str"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            target_ous=dict(type="list", elements="str", default=[]),
            link_enabled=dict(type="bool", default=True),
            enforced=dict(type="bool", default=False),
            purge_links=dict(type="bool", default=False),
            passive_mode_value=dict(type="int", choices=[0, 1], default=1),
            ensure_defender_not_turned_off=dict(type="bool", default=True),
            guide_turn_off_defender=dict(type="bool", default=False),
            guide_value=dict(type="bool", default=False),
            security_group=dict(type="str"),
            members=dict(type="list", elements="str"),
            member_state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
    ),
    "win_mde_policy_refresh": dict(
        argument_spec=dict(
            expected_value=dict(type="int", choices=[0, 1], default=1),
            expected_gpo=dict(type="str"),
            timeout=dict(type="int", default=120),
            gpo=dict(type="dict"),
            wait_timeout=dict(type="int", default=0),
            wait_interval=dict(type="int", default=15),
        ),
    ),
    # --- END win_mde_gpo / win_mde_policy_refresh / win_mde_detection_test
}


def spec_for(name: str) -> dict:
    """The spec of a module (short name, e.g. ``win_mde_info``)."""
    return SPECS[name]
