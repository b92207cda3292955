"""Pre-flight checks of the roles' inputs (module_utils/_preflight.py)."""

from __future__ import annotations

import pytest

from ansible_collections.mdeops.defender.plugins.module_utils import _preflight as pf


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, [1, 50, 100, "30%", "100%"]),
        ([1, "10%", "100%"], [1, "10%", "100%"]),
        ("1, 10%, 100%", [1, "10%", "100%"]),
        ("2", [2]),
        (["50 %"], ["50%"]),
        ([3], [3]),
        (5, [5]),
        (["12%"], ["12%"]),
        (["12.0%"], ["12%"]),
    ],
)
def test_valid_waves(value, expected):
    assert pf.parse_waves(value) == expected


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ([0], "1 or more"),
        (["0%"], "above 0%"),
        ([-1], "1 or more"),
        (["150%"], "at most 100%"),
        ("a,b", "not a host count"),
        ("", "empty"),
        ([], "empty list"),
        ([True], "boolean"),
        ([1.5], "whole number"),
        # Ansible's serial takes whole percentages only: "12.5%" would stop the waves' play with a traceback
        (["12.5%"], "a percentage must be a whole number"),
        ({"a": 1}, "must be a list"),
    ],
)
def test_invalid_waves_name_the_wave_and_the_rule(value, fragment):
    with pytest.raises(pf.PreflightError) as err:
        pf.parse_waves(value)
    assert fragment in str(err.value)
    assert "mde_waves" in str(err.value)


@pytest.mark.parametrize(("value", "expected"), [(None, 10), (0, 0), ("25", 25), (100, 100), ("40%", 40)])
def test_valid_thresholds(value, expected):
    assert pf.parse_percentage(value) == expected


@pytest.mark.parametrize("value", [-5, 101, "x", 12.5, True])
def test_invalid_thresholds(value):
    with pytest.raises(pf.PreflightError, match="mde_max_fail_percentage"):
        pf.parse_percentage(value)


def test_typo_in_a_role_variable_is_found_with_the_fix():
    problems = pf.unknown_variables(
        "mde_verify",
        ["mde_verify_expected_org_id", "mde_verify_support_policy"],
        ["mde_verify_expected_orgid", "mde_verify_support_policy", "mde_rollout_whatever", "my_var"],
    )
    assert problems == [
        "mde_verify_expected_orgid is set but mde_verify has no such variable. Did you mean mde_verify_expected_org_id?"
    ]


def test_typo_in_a_playbook_variable_is_found():
    problems = pf.unknown_variables("mde_rollout", [], ["mde_wave", "mde_something_of_mine", "__mde_rollout_x"])
    assert len(problems) == 1 and "mde_wave" in problems[0] and "mde_waves" in problems[0]


def test_a_dict_given_as_a_string_is_refused():
    options = {"mde_rollout_api_options": {"type": "dict"}, "mde_rollout_x": {"type": "str"}}
    problems = pf.strict_types(options, {"mde_rollout_api_options": '{"timeout": 5}', "mde_rollout_x": "a"})
    assert len(problems) == 1 and "mde_rollout_api_options is a string" in problems[0]


def test_a_dict_given_as_a_string_is_not_quoted_in_the_message():
    """The text may hold a secret (client_secret in the API options): the message says what is wrong without it."""
    options = {"mde_rollout_api_options": {"type": "dict"}}
    text = '{"client_secret": "s3cr3t-Value"}'
    problems = pf.strict_types(options, {"mde_rollout_api_options": text})
    assert len(problems) == 1 and "s3cr3t" not in problems[0] and "client_secret" not in problems[0]
    assert "not a dictionary" in problems[0] and "-e @vars.yml" in problems[0]


def test_paths_are_searched_in_order_and_reported(tmp_path):
    playbook_dir = tmp_path / "play"
    cwd = tmp_path / "cwd"
    playbook_dir.mkdir()
    cwd.mkdir()
    (cwd / "pkg.zip").write_bytes(b"x")
    found, searched = pf.resolve_path("pkg.zip", [str(playbook_dir), str(cwd)])
    assert found == str(cwd / "pkg.zip") and searched == [str(playbook_dir / "pkg.zip"), str(cwd / "pkg.zip")]
    (playbook_dir / "pkg.zip").write_bytes(b"y")
    assert pf.resolve_path("pkg.zip", [str(playbook_dir), str(cwd)])[0] == str(playbook_dir / "pkg.zip")
    missing, searched = pf.resolve_path("nope.zip", [str(playbook_dir), str(cwd)])
    assert missing is None
    message = pf.not_found("mde_rollout_onboarding_package", "nope.zip", searched)
    assert str(playbook_dir / "nope.zip") in message and str(cwd / "nope.zip") in message


def test_installer_must_be_an_msi(tmp_path):
    good = tmp_path / "md4ws.msi"
    good.write_bytes(pf.MSI_SIGNATURE + b"\0" * 10)
    bad = tmp_path / "bad.msi"
    bad.write_bytes(b"MZ not an msi")
    assert pf.check_installer_file("mde_rollout_installer", str(good)) is None
    assert "not a Windows Installer package" in pf.check_installer_file("mde_rollout_installer", str(bad))
    assert "not a file" in pf.check_installer_file("mde_rollout_installer", str(tmp_path))


def _assessment(host, domain="corp.example.com", steps=("onboard", "verify_mode"), reason=None, guid=None):
    computer = {"machine_guid": guid} if guid else {}
    return {
        "hostname": host,
        "domain": {"joined": bool(domain), "name": domain},
        "computer": computer,
        "plan": {"steps": list(steps), "reason": reason},
    }


def test_a_package_some_hosts_need_is_a_run_level_problem():
    assessments = {"a": _assessment("A"), "b": _assessment("B", steps=())}
    problems = pf.fleet_problems("mde_rollout", assessments, {})
    assert len(problems) == 1 and "1 host(s) need onboarding (a)" in problems[0]
    assert pf.fleet_problems("mde_rollout", assessments, {"mde_rollout_onboarding_remote_package": True}) == []


def test_an_installer_some_hosts_need_is_a_run_level_problem():
    assessments = {"srv16": _assessment("SRV16", steps=(), reason="unified_agent_required")}
    problems = pf.fleet_problems("mde_rollout", assessments, {"mde_rollout_onboarding_package": True})
    assert len(problems) == 1 and "md4ws.msi (srv16)" in problems[0] and "--limit '!srv16'" in problems[0]
    assert pf.fleet_problems("mde_rollout", assessments, {"mde_rollout_installer": True}) == []


def test_two_inventory_names_of_one_machine_refuse_all_but_the_first():
    assessments = {
        "ws1.corp.example.com": _assessment("WS1"),
        "ws1": _assessment("ws1"),
        "10.0.0.5": _assessment("WS1"),
        "ws2": _assessment("WS2"),
    }
    refused = pf.duplicate_hosts(assessments)
    assert sorted(refused) == ["ws1", "ws1.corp.example.com"]
    assert refused["ws1"]["reason"] == "duplicate_host" and "10.0.0.5" in refused["ws1"]["detail"]


def test_machine_guid_wins_over_names():
    same = {"a": _assessment("A", guid="{ABC}"), "b": _assessment("B", guid="abc")}
    assert list(pf.duplicate_hosts(same)) == ["b"]
    workgroup = {"a": _assessment("PC", domain=None), "b": _assessment("PC", domain=None, guid="x")}
    assert pf.duplicate_hosts(workgroup) == {}


def test_the_waves_get_the_hosts_with_work_that_the_run_did_not_refuse():
    def planned(host, wave):
        return dict(_assessment(host), plan={"steps": ["onboard"], "reason": None, "wave": wave})

    assessments = {
        "c": planned("C", True),
        "a": planned("A", True),
        "done": planned("D", False),
        "a2": planned("A", True),
    }
    refused = pf.duplicate_hosts(assessments)
    assert list(refused) == ["a2"]
    assert pf.pending_hosts(assessments, refused) == ["a", "c"], "sorted; done and refused hosts are left out"


def _serial_batches(count: int, serial: list) -> list[int]:
    """The batch sizes Ansible's own PlaybookExecutor cuts for a play with ``serial``."""
    from types import SimpleNamespace

    from ansible.executor.playbook_executor import PlaybookExecutor

    hosts = ["h%03d" % i for i in range(count)]
    executor = PlaybookExecutor.__new__(PlaybookExecutor)
    executor._inventory = SimpleNamespace(get_hosts=lambda pattern, order=None: list(hosts))
    batches = executor._get_serialized_batches(SimpleNamespace(hosts="all", order="inventory", serial=list(serial)))
    return [len(batch) for batch in batches]


@pytest.mark.parametrize("count", [1, 2, 3, 7, 10, 50, 199, 500])
@pytest.mark.parametrize(
    "waves", [None, [1, "10%", "100%"], ["100%"], [2], [1, 2, "100%"], ["33%"], [5, "50%"], ["1%", "2%"]]
)
def test_the_waves_are_cut_as_ansibles_serial_cuts_them(count, waves):
    serial = pf.parse_waves(waves)
    assert pf.wave_sizes(count, serial) == _serial_batches(count, serial)


@pytest.mark.parametrize(
    ("count", "sizes"),
    [
        (1, [1]),
        (50, [1, 49]),
        (151, [1, 50, 100]),
        (200, [1, 50, 100, 49]),
        (500, [1, 50, 100, 150, 199]),
        (10000, [1, 50, 100, 3000, 6849]),
    ],
)
def test_the_default_waves_are_a_canary_then_microsofts_rings(count, sizes):
    """docs/sources.md §3.8: evaluation (50), pilot (100), then the rest in larger increments."""
    assert pf.wave_sizes(count, pf.parse_waves(None)) == sizes == _serial_batches(count, pf.DEFAULT_WAVES)


def _ranked(steps, passive_value=None, problems=()):
    return {
        "plan": {"steps": list(steps), "passive_value": passive_value, "wave": True},
        "diagnosis": {"problems": [{"reason": r} for r in problems]},
    }


def test_the_longest_path_ranks_first():
    assert pf.wave_rank(_ranked(["registry", "onboard", "verify_mode"], "present", ["unified_agent_required"])) == 0
    assert pf.wave_rank(_ranked(["registry", "reboot", "verify_mode"], "present")) == 1
    assert pf.wave_rank(_ranked(["passive_off", "reboot", "verify_mode"], "absent")) == 1
    assert pf.wave_rank(_ranked(["registry", "onboard", "verify_mode"], "present")) == 2
    assert pf.wave_rank(_ranked(["group_policy", "onboard", "verify_mode"])) == 2
    assert pf.wave_rank(_ranked(["onboard", "verify_mode"])) == 3
    # the installer's problem without onboarding to do (a refused host never reaches a wave) ranks as the rest
    assert pf.wave_rank(_ranked(["verify_mode"], problems=["unified_agent_required"])) == 3
    assert pf.wave_rank({}) == 3


def test_the_waves_keep_their_hosts_and_run_the_longest_paths_first():
    assessments = {
        "a-ws": _ranked(["onboard", "verify_mode"]),
        "b-ws": _ranked(["onboard", "verify_mode"]),
        "c-rb": _ranked(["registry", "reboot", "verify_mode"], "present"),
        "d-srv": _ranked(["registry", "onboard", "verify_mode"], "present"),
        "e-dl": _ranked(["registry", "onboard", "verify_mode"], "present", ["unified_agent_required"]),
        "f-ws": _ranked(["onboard", "verify_mode"]),
        "g-dl": _ranked(["registry", "onboard", "verify_mode"], "present", ["unified_agent_required"]),
    }
    hosts = sorted(assessments, reverse=True)
    # waves 1, 2, then the rest: a-ws | b-ws c-rb | d-srv e-dl f-ws g-dl
    assert pf.wave_order(hosts, [1, 2, "100%"], assessments) == [
        "a-ws",
        "c-rb",
        "b-ws",
        "e-dl",
        "g-dl",
        "d-srv",
        "f-ws",
    ]
    # the canary is the first name even when a longer path waits in a later wave
    assert pf.wave_order(hosts, [1, "100%"], assessments)[0] == "a-ws"
    # one wave: every host by its path, then by name
    assert pf.wave_order(hosts, ["100%"], assessments) == ["e-dl", "g-dl", "c-rb", "d-srv", "a-ws", "b-ws", "f-ws"]
    assert pf.wave_order([], [1, "100%"], assessments) == []
