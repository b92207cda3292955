"""Action plugin of win_mde_detection_test with ``_execute_module`` answered by the real PowerShell (``PsHost``)."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.mdeops.defender.plugins.action.win_mde_detection_test import ActionModule, parse_ran_at
from tests.unit.conftest import PsHost, run_action

MODULE = "mdeops.defender.win_mde_detection_test"
ORG = "0a1b2c3d-1111-2222-3333-444455556666"
DOCUMENTED = (
    "powershell.exe -NoExit -ExecutionPolicy Bypass -WindowStyle Hidden $ErrorActionPreference = 'silentlycontinue';"
    "(New-Object System.Net.WebClient).DownloadFile('http://127.0.0.1/1.exe', 'C:\\\\test-MDATP-test\\\\invoice.exe');"
    "Start-Process 'C:\\\\test-MDATP-test\\\\invoice.exe'"
)


def run(fake: PsHost, args: dict | None = None, check_mode: bool = False) -> dict:
    return run_action(ActionModule, fake, MODULE, args, check_mode=check_mode)


ONBOARDED = {"os": "windows11_23h2", "third_party_av": [{"name": "CrowdStrike Falcon"}], "onboarded_org": ORG}


def test_check_mode_runs_nothing():
    fake = PsHost(ONBOARDED)
    before = copy.deepcopy(fake.host.state)
    result = run(fake, check_mode=True)
    assert fake.host.state == before
    assert result["changed"] is True and result["ran"] is False and result["ran_at"] is None
    assert result["command_line"] == DOCUMENTED
    assert result["onboarded"] is True and "warnings" not in result


def test_runs_the_documented_command_once_and_cleans_up():
    fake = PsHost(ONBOARDED)
    result = run(fake)
    assert [c[0] for c in fake.calls] == [MODULE]
    assert fake.calls[0][1] == {"directory": "C:\\test-MDATP-test", "stop_after": 10}
    assert result["ran"] and result["ran_at"].endswith("Z") and result["ran_at_epoch"] > 0
    assert result["directory_created"] and result["directory_removed"] and result["process_stopped"]
    assert not fake.host.path_exists("C:\\test-MDATP-test")
    tests = fake.host.state["mde"]["detection_tests"]
    assert len(tests) == 1 and tests[0]["command"] == DOCUMENTED and tests[0]["onboarded"] is True
    kept = run(fake, {"stop_after": 0})
    assert not kept["process_stopped"] and fake.host.path_exists("C:\\test-MDATP-test")


def test_warns_when_the_host_is_not_onboarded():
    result = run(PsHost({"os": "windows10_22h2"}))
    assert result["ran"] and result["onboarded"] is False
    assert "does not look onboarded" in result["warnings"][0]


@pytest.mark.parametrize(
    "args", [{"directory": "relative\\dir"}, {"directory": "C:\\it's"}, {"stop_after": -1}, {"nope": 1}]
)
def test_bad_arguments(args):
    fake = PsHost(ONBOARDED)
    result = run(fake, args)
    assert result["failed"] and result["reason"] == "invalid_argument" and fake.calls == []


def test_parse_ran_at():
    assert parse_ran_at("2026-03-01T10:15:02.1234567Z") == ("2026-03-01T10:15:02.1234567Z", 1772360102.123456)
    assert parse_ran_at("2026-03-01T11:15:02.5+01:00")[0] == "2026-03-01T10:15:02.5000000Z"
    assert parse_ran_at(None) == (None, None)


@pytest.mark.parametrize("quote", ["\u2018", "\u2019", "\u201a", "\u201b"])
def test_typographic_single_quotes_in_the_directory_are_escaped(quote):
    """PowerShell ends a single-quoted string at ' and at U+2018, U+2019, U+201A, U+201B: each is doubled."""
    directory = "C:\\test%sMDATP" % quote
    fake = PsHost(ONBOARDED)
    result = run(fake, {"directory": directory})
    assert result.get("failed") is not True, result
    assert "'C:\\\\test%s%sMDATP\\\\invoice.exe'" % (quote, quote) in result["command_line"], result["command_line"]
    # every single-quoted string of the command still ends where it should: the quotes pair up
    body = result["command_line"].split("Hidden ", 1)[1]
    for q in ("'", "\u2018", "\u2019", "\u201a", "\u201b"):
        body = body.replace(q + q, "")
    assert sum(body.count(q) for q in ("'", "\u2018", "\u2019", "\u201a", "\u201b")) % 2 == 0, body
