"""The bad-input matrix (issue 6): bad packages, bad paths, wrong types and unknown options.

Every case must fail with a clear message naming the problem (and, with its ``remediation``, the
fix), the right ``reason``, and change nothing: the simulated hosts' state files are
byte-identical afterwards (``Invariants.check(check_mode=True)``) and, where the input can be
judged on the controller, no module run reaches a host (the simulator's counters).

* Packages: corrupt zip, zip without a script, a package of another organisation, an expired
  offboarding package, a checksum mismatch, the interactive local script, a missing controller
  path - through the roles (``rollout.yml``, ``offboard.yml``, reported by the ``fleet_report``
  callback) and directly through ``win_mde_onboarding``.
* Module options: generated from the specs - ``plugins/module_utils/_specs.py`` for the action
  plugins, the modules' documentation (``ansible-doc -j``, doc fragments merged) for the
  controller-side API modules: one wrong value per option whose type Ansible can reject, an
  unknown option and the missing required options per module, all in ONE playbook run.
* Role variables: generated from ``roles/*/meta/argument_specs.yml``; one inventory alias of a
  simulated host per case (the aliases share the host's WinRM endpoint), so that one run of each
  playbook covers every variable of its role.

``str`` and ``path`` options without choices have no wrong type: Ansible converts any value to
text. Their bad values are semantic (a malformed GUID, an unsupported checksum) and are listed in
``SEMANTIC``. Unknown role variables cannot be detected by Ansible's role argument validation
(variables are global); that limitation is not tested here.
"""

from __future__ import annotations

import datetime
import fcntl
import hashlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible.release import __version__ as ANSIBLE_CORE

from tests.e2e.conftest import WinSim
from tests.e2e.invariants import Invariants
from tests.winsim import packages

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ORG = "3b2f6c1e-7d4a-4e8b-9c1f-2a6d8e0b4c71"
OTHER = "c0ffee00-1234-4abc-8def-0123456789ab"
NS = "mdeops.defender."
WS = {"os": "windows10_22h2", "third_party_av": [{"name": "Sophos Endpoint"}]}
FLEET = {"defaults": {"reboot_seconds": 1}, "hosts": {"ws": WS, "onb": {**WS, "onboarded_org": ORG}}}
JSON_CALLBACK = {"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1"}
REPORT_CALLBACK = {"ANSIBLE_CALLBACKS_ENABLED": "mdeops.defender.fleet_report"}
SECRET = "dummy-client-secret-for-bad-input-0"
CORE = tuple(int(p) for p in ANSIBLE_CORE.split(".")[:2])
NOWHERE = "https://127.0.0.1:9"  # a closed port: an API module that got past validation fails fast


def _load_specs() -> dict:
    spec = importlib.util.spec_from_file_location("_mde_specs", ROOT / "plugins" / "module_utils" / "_specs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.SPECS


SPECS = _load_specs()
#: the action plugins that run on a Windows host (fleet_report runs on the controller)
WINDOWS_MODULES = sorted(m for m in SPECS if m.startswith("win_"))
API_MODULES = ["intune_configuration_policy", "mde_alert_info", "mde_hunting_query", "mde_machine_info"]

#: Otherwise valid arguments each module needs, so that a case's only error is its own.
BASE_ARGS: dict[str, dict] = {
    "win_mde_onboarding": {"package": "@onboarding_zip"},
    "win_mde_gpo": {"name": "MDE bad input"},
    "fleet_report": {"write": "never", "report_dir": "@reports"},
    "intune_configuration_policy": {"name": "MDE bad input"},
    "mde_hunting_query": {"query": "DeviceInfo | take 1"},
}
API_BASE = {
    "tenant_id": "8f0e3c1a-5b6d-4e7f-9a0b-1c2d3e4f5a6b",
    "client_id": "c7d3a1e2-4b5f-4a6b-8c9d-0e1f2a3b4c5d",
    "client_secret": SECRET,
    "api_base_url": NOWHERE,
    "graph_base_url": NOWHERE,
    "authority_host": NOWHERE,
    "timeout": 2,
    "max_retries": 0,
}
#: API-module cases whose AnsibleModule message does not name the option (a dict option with suboptions
#: given a string: "dictionary requested, could not parse JSON or key=value"); part of the known gap
#: of test_api_modules_fail_bad_arguments_with_invalid_argument.
API_UNNAMED = {"intune_configuration_policy-edr-dict"}
#: Bad values of text options that the modules check themselves (module, option, value, reason).
SEMANTIC = [
    ("win_mde_info", "expected_org_id", "not-a-guid", "invalid_argument"),
    ("win_mde_onboarding", "expected_org_id", "not-a-guid", "invalid_argument"),
    ("win_mde_onboarding", "checksum", "md5:0123456789abcdef", "invalid_argument"),
    ("win_mde_onboarding", "timeout", 0, "invalid_argument"),
    ("win_mde_policy_refresh", "timeout", 0, "invalid_argument"),
]


def wrong_value(opt: dict) -> tuple[str, Any] | None:
    """A value Ansible's type checks must reject for this option (None: no such value exists)."""
    kind = opt.get("type") or "str"
    if opt.get("choices"):
        if kind == "list":
            return "choices", ["no-such-choice"]
        return "choices", (7 if kind == "int" else "no-such-choice")
    return {
        "int": ("int", "not-a-number"),
        "float": ("float", "not-a-number"),
        "bool": ("bool", "maybe"),
        "list": ("list", {"not": "a list"}),
        "dict": ("dict", "not-a-dict"),
    }.get(kind)


def option_cases(module: str, options: dict, base: dict) -> list[dict]:
    """One case per rejectable option (and suboption), an unknown option, the missing required ones."""
    cases = []
    for name, opt in options.items():
        bad = wrong_value(opt)
        if bad is not None:
            cases.append(
                {
                    "module": module,
                    "id": "%s-%s-%s" % (module, name, bad[0]),
                    "args": {**base, name: bad[1]},
                    "names": [name],
                }
            )
        subs = opt.get("options") or opt.get("suboptions") or {}
        for sub, subopt in subs.items():
            sbad = wrong_value(subopt)
            if sbad is None:
                continue
            required = {s: "x" for s, o in subs.items() if o.get("required") and s != sub}
            value = {**required, sub: sbad[1]}
            cases.append(
                {
                    "module": module,
                    "id": "%s-%s.%s-%s" % (module, name, sub, sbad[0]),
                    "args": {**base, name: [value] if opt.get("type") == "list" else value},
                    "names": [sub],
                }
            )
        if opt.get("required") and name in base:
            args = {k: v for k, v in base.items() if k != name}
            cases.append({"module": module, "id": "%s-%s-missing" % (module, name), "args": args, "names": [name]})
    cases.append(
        {
            "module": module,
            "id": "%s-unknown" % module,
            "args": {**base, "no_such_option": 1},
            "names": ["no_such_option"],
        }
    )
    return cases


def resolve(value: Any, paths: dict) -> Any:
    if isinstance(value, str) and value.startswith("@"):
        return paths[value[1:]]
    if isinstance(value, dict):
        return {k: resolve(v, paths) for k, v in value.items()}
    return value


def play_results(out: str) -> dict[str, dict[str, dict]]:
    """``{task name: {host: result}}`` from the ansible.posix.json callback."""
    data = json.loads(out[out.find("{") :])
    results: dict[str, dict[str, dict]] = {}
    for play in data["plays"]:
        for task in play["tasks"]:
            results.setdefault(task["task"]["name"], {}).update(task["hosts"])
    return results


def alias_inventory(sim, base_host: str, aliases: dict[str, dict], path: Path) -> Path:
    """An inventory of aliases of one simulated host (same endpoint), each with its own variables."""
    conn = sim.inventory_data()["all"]["children"]["windows"]["hosts"][base_host]
    hosts = {name: {**conn, **variables} for name, variables in aliases.items()}
    path.write_text(yaml.safe_dump({"all": {"children": {"windows": {"hosts": hosts}}}}), encoding="utf-8")
    return path


def run_playbook(sim, inventory: Path, playbook: str, extra_vars: dict, *args: str, env=None):
    vars_file = inventory.with_suffix(".vars.json")
    vars_file.write_text(json.dumps(extra_vars), encoding="utf-8")
    return sim.run(
        ["ansible-playbook", "-i", str(inventory), str(ROOT / "playbooks" / playbook), "-e", "@%s" % vars_file, *args],
        env=env or REPORT_CALLBACK,
    )


def load_report(directory: Path, name: str) -> dict[str, dict]:
    return {h["name"]: h for h in json.loads((directory / (name + ".json")).read_text(encoding="utf-8"))["hosts"]}


def bad_input_paths(tmp_path: Path) -> dict:
    """The good and bad packages and paths of the matrix."""
    paths = packages.write_set(str(tmp_path / "packages"), ORG, other_org=OTHER)
    other_off = tmp_path / "packages" / "OtherOrg-WindowsDefenderATPOffboardingPackage.zip"
    other_off.write_bytes(packages.offboarding_zip(OTHER, datetime.date.today() + datetime.timedelta(days=7)))
    paths["other_org_offboarding_zip"] = str(other_off)
    paths["missing"] = str(tmp_path / "no" / "such" / "WindowsDefenderATPOnboardingPackage.zip")
    paths["directory"] = str(tmp_path / "packages")
    paths["reports"] = str(tmp_path / "reports")
    paths["bad_checksum"] = "sha256:" + "0" * 64
    paths["onboarding_sha256"] = hashlib.sha256(Path(paths["onboarding_zip"]).read_bytes()).hexdigest()
    return paths


@pytest.fixture
def stand(winsim, tmp_path):
    return winsim(FLEET), bad_input_paths(tmp_path)


def modules_ran(sim, hosts=("ws", "onb")) -> dict:
    return {h: sim.module_runs(h) for h in hosts}


# =============================================================================== packages
# case: (package key, checksum, reason, phrase of the problem in msg, phrase of the fix in msg or remediation)
ONBOARDING_PACKAGES = {
    "corrupt": ("corrupt_zip", None, "package_invalid", "is not a valid zip file", "Download the package again"),
    "no-script": (
        "empty_zip",
        None,
        "package_invalid",
        "holds no onboarding or offboarding script",
        "Download the package again",
    ),
    "other-org": ("onboarding_other_org_zip", None, "wrong_org", OTHER, "download the package of the right"),
    "checksum": ("onboarding_zip", "bad_checksum", "checksum_mismatch", "0" * 64, "update checksum"),
    "interactive": (
        "onboarding_local_zip",
        None,
        "interactive_package",
        "interactive local script",
        "Group Policy package",
    ),
    "missing-path": ("missing", None, "package_not_found", "was not found on the controller", "Check the package path"),
    "directory": ("directory", None, "package_not_found", "is not a file", "Check the package path"),
}
OFFBOARDING_PACKAGES = {
    "expired": ("offboarding_expired_zip", None, "package_expired", "expired on", "download a new one"),
    "other-org": ("other_org_offboarding_zip", None, "wrong_org", OTHER, "download the package of the right"),
    "onboarding-package": (
        "onboarding_zip",
        None,
        "wrong_package_type",
        "state=absent needs an offboarding",
        "offboarding package with state=absent",
    ),
    "checksum": ("offboarding_zip", "bad_checksum", "checksum_mismatch", "0" * 64, "update checksum"),
    "missing-path": ("missing", None, "package_not_found", "was not found on the controller", "Check the package path"),
}


def assert_refused(record: dict, reason: str, problem: str, fix: str, where: str) -> None:
    text = (record.get("msg") or "") + " " + json.dumps(record.get("problems") or record.get("remediation") or "")
    assert record["reason"] == reason, (where, record)
    assert problem.lower() in (record.get("msg") or "").lower(), (where, problem, record.get("msg"))
    assert fix.lower() in text.lower(), (where, fix, text)


def test_bad_packages_through_the_roles(stand, tmp_path):
    """rollout.yml and offboard.yml: refused with the package's reason, nothing changed, no module run."""
    sim, paths = stand
    guard = Invariants(sim, expected_org=ORG)
    before = modules_ran(sim)
    rollout_cases = {}
    for case, (key, checksum, *_rest) in ONBOARDING_PACKAGES.items():
        rollout_cases["on-" + case] = {
            "mde_rollout_onboarding_package": paths[key],
            **({"mde_rollout_onboarding_checksum": paths[checksum]} if checksum else {}),
        }
    inventory = alias_inventory(sim, "ws", rollout_cases, tmp_path / "rollout-aliases.yml")
    rc, out, err = run_playbook(
        sim,
        inventory,
        "rollout.yml",
        {
            "mde_rollout_expected_org_id": ORG,
            "mde_report_dir": str(tmp_path / "r1"),
            "mde_targets": "windows",
            "mde_waves": ["100%"],
            "mde_max_fail_percentage": 100,
        },
    )
    assert rc == 2, out[-4000:] + err[-2000:]
    report = load_report(tmp_path / "r1", "fleet-report")
    for case, (_key, _sum, reason, problem, fix) in ONBOARDING_PACKAGES.items():
        record = report["on-" + case]
        # the package is checked on the controller at assessment, before any host is changed
        assert record["outcome"] == "refused" and record["failed_step"] == "assess", record
        assert record["steps"]["onboard"] == "not_run" and record["steps"]["verify_mode"] == "not_run"
        assert_refused(record, reason, problem, fix, "rollout " + case)

    offboard_cases = {}
    for case, (key, checksum, *_rest) in OFFBOARDING_PACKAGES.items():
        offboard_cases["off-" + case] = {
            "mde_offboard_package": paths[key],
            **({"mde_offboard_checksum": paths[checksum]} if checksum else {}),
        }
    inventory = alias_inventory(sim, "onb", offboard_cases, tmp_path / "offboard-aliases.yml")
    rc, out2, err2 = run_playbook(
        sim,
        inventory,
        "offboard.yml",
        {
            "mde_offboard_expected_org_id": ORG,
            "mde_report_dir": str(tmp_path / "r2"),
            "mde_targets": "windows",
            "mde_max_fail_percentage": 100,
        },
    )
    assert rc == 2, out2[-4000:] + err2[-2000:]
    report = load_report(tmp_path / "r2", "offboard-report")
    for case, (_key, _sum, reason, problem, fix) in OFFBOARDING_PACKAGES.items():
        record = report["off-" + case]
        # checked by the pre-flight on the controller, before any host is read or changed
        assert record["outcome"] == "refused" and record["failed_step"] == "assess", record
        assert_refused(record, reason, problem, fix, "offboard " + case)

    guard.check(out, err, out2, err2, check_mode=True, report_dir=tmp_path / "r1")
    guard.check(check_mode=True, report_dir=tmp_path / "r2")
    # the packages are judged by the pre-flight on the controller: no module ran on any host, not even a read
    after = modules_ran(sim)
    assert after["ws"] == before["ws"] and after["onb"] == before["onb"], after


def test_bad_package_changes_nothing_on_a_server(winsim, tmp_path):
    sim = winsim(
        {
            "defaults": {"reboot_seconds": 1},
            "hosts": {"srv": {"os": "server2019", "third_party_av": [{"name": "Trellix"}]}},
        }
    )
    paths = packages.write_set(str(tmp_path / "packages"), ORG)
    guard = Invariants(sim, expected_org=ORG)
    _rc, out, err = run_playbook(
        sim,
        sim.inventory,
        "rollout.yml",
        {
            "mde_rollout_expected_org_id": ORG,
            "mde_rollout_onboarding_package": paths["corrupt_zip"],
            "mde_report_dir": str(tmp_path / "r"),
            "mde_targets": "windows",
            "mde_waves": ["100%"],
        },
    )
    assert load_report(tmp_path / "r", "fleet-report")["srv"]["reason"] == "package_invalid"
    guard.check(out, err, check_mode=True, report_dir=tmp_path / "r")  # fails: ForceDefenderPassiveMode was set


# =============================================================================== module options
def ansible_doc(sim, modules: list[str]) -> dict:
    rc, out, err = sim.run(["ansible-doc", "-j", "-t", "module", *(NS + m for m in modules)])
    assert rc == 0, err
    return {name[len(NS) :]: data["doc"] for name, data in json.loads(out).items()}


def package_cases(paths: dict) -> list[dict]:
    """The bad packages directly through win_mde_onboarding (plus what only the module can be given)."""
    cases = []
    for case, (key, checksum, reason, problem, fix) in ONBOARDING_PACKAGES.items():
        args = {"package": paths[key], "expected_org_id": ORG}
        if checksum:
            args["checksum"] = paths[checksum]
        cases.append(
            {
                "id": "package-on-" + case,
                "host": "ws",
                "args": args,
                "reason": reason,
                "problem": problem,
                "fix": fix,
                "runs": {},
            }
        )
    for case, (key, checksum, reason, problem, fix) in OFFBOARDING_PACKAGES.items():
        args = {"state": "absent", "package": paths[key], "expected_org_id": ORG}
        if checksum:
            args["checksum"] = paths[checksum]
        cases.append(
            {
                "id": "package-off-" + case,
                "host": "onb",
                "args": args,
                "reason": reason,
                "problem": problem,
                "fix": fix,
                "runs": {},
            }
        )
    cases += [
        {
            "id": "package-offboarding-for-present",
            "host": "ws",
            "args": {"package": paths["offboarding_zip"]},
            "reason": "wrong_package_type",
            "problem": "state=present needs an onboarding",
            "fix": "onboarding package",
            "runs": {},
        },
        # a path on the host: the module asks the host for it (one read-only module run), nothing changes
        {
            "id": "package-remote-missing",
            "host": "ws",
            "args": {"remote_package": r"C:\no\such\package.cmd"},
            "reason": "package_not_found",
            "problem": r"C:\no\such\package.cmd",
            "fix": "does not exist on the host",
            "runs": {NS + "win_mde_onboarding": 1},
        },
        {
            "id": "package-installer-missing",
            "host": "ws",
            "args": {"package": paths["onboarding_zip"], "installer": paths["missing"].replace(".zip", ".msi")},
            "reason": "package_not_found",
            "problem": "installer",
            "fix": "Check the package path",
            "runs": {},
        },
    ]
    return cases


def balanced(groups: dict[str, list], parts: int) -> list[list]:
    """Split ``groups`` (name -> items) into ``parts`` lists of about the same length (whole groups)."""
    out: list[list] = [[] for _part in range(parts)]
    for name in sorted(groups, key=lambda n: -len(groups[n])):
        min(out, key=len).extend(groups[name])
    return [o for o in out if o]


@pytest.fixture(scope="module")
def module_matrix(tmp_path_factory):
    """Every module case, run once for this file's tests.

    Returns (cases, results, counters before, counters after, what broke the invariants or None).

    The cases run in three ansible-playbook processes at once: the Windows modules (ws, onb) and two
    halves of the controller-side cases (each API module run is a Python process of its own).
    """

    def run() -> tuple:
        base = tmp_path_factory.mktemp("module-matrix")
        sim = WinSim(base / "fleet", FLEET).start()
        try:
            return run_module_matrix(sim, base, bad_input_paths(base))
        finally:
            sim.stop()

    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return run()
    # under pytest-xdist the tests of this module may land on several workers: run the matrix once
    shared = tmp_path_factory.getbasetemp().parent
    with open(shared / "module-matrix.lock", "w", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        saved = shared / "module-matrix.json"
        if not saved.exists():
            saved.write_text(json.dumps(run()), encoding="utf-8")
        return tuple(json.loads(saved.read_text(encoding="utf-8")))


def run_module_matrix(sim, tmp_path: Path, paths: dict):
    doc = ansible_doc(sim, API_MODULES)
    cases: list[dict] = []
    for module in [*WINDOWS_MODULES, "fleet_report"]:
        base = resolve(BASE_ARGS.get(module, {}), paths)
        for case in option_cases(module, SPECS[module]["argument_spec"], base):
            case["host"] = "localhost" if module == "fleet_report" else "ws"
            cases.append(case)
        if module == "win_mde_onboarding":
            cases.append(
                {
                    "module": module,
                    "id": "win_mde_onboarding-package-and-remote_package",
                    "host": "ws",
                    "args": {**base, "remote_package": r"C:\pkg.cmd"},
                    "names": ["package", "remote_package"],
                }
            )
            cases.append(
                {
                    "module": module,
                    "id": "win_mde_onboarding-no-package",
                    "host": "ws",
                    "args": {},
                    "names": ["package", "remote_package"],
                }
            )
    for module in API_MODULES:
        base = {**API_BASE, **BASE_ARGS.get(module, {})}
        for case in option_cases(module, doc[module]["options"], base):
            case["host"] = "localhost"
            cases.append(case)
    for module, option, value, reason in SEMANTIC:
        base = resolve(BASE_ARGS.get(module, {}), paths)
        cases.append(
            {
                "module": module,
                "id": "%s-%s-value" % (module, option),
                "host": "ws",
                "args": {**base, option: value},
                "names": [option],
                "reason": reason,
            }
        )
    for case in package_cases(paths):
        case["module"] = "win_mde_onboarding"
        cases.append(case)
    ids = [c["id"] for c in cases]
    assert len(ids) == len(set(ids)), "duplicate case ids"

    windows = [c for c in cases if c["host"] != "localhost"]
    local_groups: dict[str, list] = {}
    for c in cases:
        if c["host"] == "localhost":
            local_groups.setdefault(c["module"], []).append(c)
    local = tmp_path / "localhost.yml"
    local.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "hosts": {
                        "localhost": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
                    }
                }
            }
        ),
        encoding="utf-8",
    )
    guard = Invariants(sim, expected_org=ORG, secrets=[SECRET])
    before = {h: sim.counters(h) for h in ("ws", "onb")}
    procs = []
    for i, part in enumerate([windows, *balanced(local_groups, 2)]):
        plays = []
        for host in ("ws", "onb", "localhost"):
            tasks = [
                {"name": c["id"], NS + c["module"]: c["args"], "ignore_errors": True} for c in part if c["host"] == host
            ]
            if tasks:
                plays.append({"hosts": host, "gather_facts": False, "tasks": tasks})
        playbook = tmp_path / ("module-matrix-%d.yml" % i)
        playbook.write_text(yaml.safe_dump(plays, sort_keys=False), encoding="utf-8")
        cmd = [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "-i",
            str(sim.inventory),
            "-i",
            str(local),
            str(playbook),
        ]
        env = {**sim.env, **JSON_CALLBACK, "ANSIBLE_PIPELINING": "True"}
        procs.append(subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    results: dict[str, dict[str, dict]] = {}
    outputs = []
    for i, proc in enumerate(procs):
        raw_out, raw_err = proc.communicate(timeout=600)
        out, err = raw_out.decode("utf-8", "replace"), raw_err.decode("utf-8", "replace")
        (tmp_path / ("module-matrix-%d.out.json" % i)).write_text(out, encoding="utf-8")
        assert proc.returncode == 0, out[-3000:] + err[-3000:]  # every case ignores its error
        outputs += [out, err]
        results.update(play_results(out))
    try:
        guard.check(*outputs, check_mode=True)
        broken = None
    except AssertionError as exc:  # asserted by test_module_matrix_keeps_the_invariants
        broken = str(exc)
    after = {h: sim.counters(h) for h in ("ws", "onb")}
    return cases, results, before, after, broken


def test_module_options_wrong_types_unknown_and_missing(module_matrix):
    """Every rejectable option of every module: failed, reason invalid_argument, msg names the option,
    and no module run reached a host."""
    cases, results, before, after, _broken = module_matrix
    checked, problems = 0, []
    for case in cases:
        if "names" not in case or case["id"].startswith("package-"):
            continue
        result = results[case["id"]][case["host"]]
        msg = result.get("msg") or ""
        if result.get("failed") is not True:
            problems.append("%s: did not fail: %s" % (case["id"], result))
        elif not any(name in msg for name in case["names"]) and case["id"] not in API_UNNAMED:
            problems.append("%s: the message does not name %s: %s" % (case["id"], case["names"], msg))
        elif case["module"] not in API_MODULES and result.get("reason") != case.get("reason", "invalid_argument"):
            problems.append("%s: reason %s" % (case["id"], result.get("reason")))  # API modules: see the next test
        checked += 1
    assert not problems, "\n".join(problems)
    # every module of the collection has cases, and every option of the action plugins' specs with a
    # rejectable type has one
    modules = {c["module"] for c in cases}
    assert modules == set(WINDOWS_MODULES) | {"fleet_report"} | set(API_MODULES)
    for module in [*WINDOWS_MODULES, "fleet_report"]:
        for name, opt in SPECS[module]["argument_spec"].items():
            if wrong_value(opt) is not None:
                assert "%s-%s-%s" % (module, name, wrong_value(opt)[0]) in {c["id"] for c in cases}, (module, name)
    assert checked == len([c for c in cases if "names" in c and not c["id"].startswith("package-")])
    # a bad argument never reached a host: no module ran there, no command was sent
    for host in ("ws", "onb"):
        runs = {
            k: v - (before[host].get("modules") or {}).get(k, 0) for k, v in (after[host].get("modules") or {}).items()
        }
        allowed = {NS + "win_mde_onboarding": 1} if host == "ws" else {}  # package-remote-missing asks the host
        assert {k: v for k, v in runs.items() if v} == allowed, (host, runs)


def test_module_matrix_keeps_the_invariants(module_matrix):
    """The whole module matrix changed nothing and printed no secret (the API client secret of the cases)."""
    broken = module_matrix[4]
    assert broken is None, broken


def test_api_modules_fail_bad_arguments_with_invalid_argument(module_matrix):
    cases, results, _before, _after, _broken = module_matrix
    api = [c for c in cases if c["module"] in API_MODULES]
    wrong = {c["id"]: results[c["id"]]["localhost"] for c in api}
    assert api and all(r.get("reason") == "invalid_argument" for r in wrong.values()), {
        k: r.get("reason") for k, r in wrong.items()
    }
    assert all(any(n in (wrong[c["id"]].get("msg") or "") for n in c["names"]) for c in api)


def test_bad_packages_through_the_module(module_matrix):
    """The same bad packages given straight to win_mde_onboarding: reason, message, nothing ran."""
    cases, results, _before, _after, _broken = module_matrix
    for case in cases:
        if not case["id"].startswith("package-"):
            continue
        result = results[case["id"]][case["host"]]
        assert result.get("failed") is True and result.get("reason") == case["reason"], (case["id"], result)
        assert result.get("remediation"), (case["id"], result)
        msg = result["msg"]
        assert case["problem"].lower() in msg.lower(), (case["id"], msg)
        assert case["fix"].lower() in (msg + " " + result["remediation"]).lower(), (case["id"], msg)
        assert result.get("changed") is False and result.get("script_result") is None, (case["id"], result)


# =============================================================================== role variables
ROLE_PLAYBOOKS = {
    "mde_rollout": ("rollout.yml", "fleet-report", "ws"),
    "mde_offboard": ("offboard.yml", "offboard-report", "onb"),
    "mde_verify": ("verify.yml", "verify-report", "onb"),
}


def role_cases(role: str) -> tuple[dict[str, dict], dict[str, str], dict]:
    """``({alias: variables}, {alias: the variable it breaks}, valid values of the required variables)``."""
    spec = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text(encoding="utf-8"))
    options: dict[str, dict] = {}
    for entry in spec["argument_specs"].values():
        for name, opt in (entry.get("options") or {}).items():
            options.setdefault(name, opt)
    required = {name: ORG for name, opt in options.items() if opt.get("required")}
    aliases, broken = {}, {}
    for name, opt in options.items():
        bad = wrong_value(opt)
        if bad is not None:
            alias = "%s-%s" % (name, bad[0])
            aliases[alias] = {**required, name: bad[1]}
            broken[alias] = name
    for name in required:
        alias = "%s-missing" % name
        aliases[alias] = {k: v for k, v in required.items() if k != name}
        broken[alias] = name
    return aliases, broken, required


@pytest.mark.parametrize("role", sorted(ROLE_PLAYBOOKS))
def test_role_variables_wrong_types_and_missing_required(stand, tmp_path, role):
    """Each variable of the role with a wrong value (or missing) on its own host: the role's argument
    validation stops that host, the message names the variable, the report says invalid_argument."""
    sim, paths = stand
    playbook, report_name, base_host = ROLE_PLAYBOOKS[role]
    aliases, broken, _required = role_cases(role)
    assert len(aliases) >= 3, aliases
    inventory = alias_inventory(sim, base_host, aliases, tmp_path / ("%s-aliases.yml" % role))
    guard = Invariants(sim, expected_org=ORG)
    before = modules_ran(sim)
    extra = {
        "mde_report_dir": str(tmp_path / "reports"),
        "mde_targets": "windows",
        "mde_waves": ["100%"],
        "mde_max_fail_percentage": 100,
        "mde_rollout_onboarding_package": paths["onboarding_zip"],
        "mde_offboard_package": paths["offboarding_zip"],
    }
    rc, out, err = run_playbook(sim, inventory, playbook, extra)
    guard.check(out, err, check_mode=True, report_dir=tmp_path / "reports")
    assert rc == 2, out[-4000:] + err[-2000:]
    report = load_report(tmp_path / "reports", report_name)
    assert set(report) == set(aliases)
    for alias, variable in broken.items():
        record = report[alias]
        assert record["outcome"] == "refused" and record["reason"] == "invalid_argument", (alias, record)
        assert variable in (record["msg"] or ""), (alias, record["msg"])
        problem = record["problems"][0]
        assert problem["reason"] == "invalid_argument" and problem["remediation"], problem
    # nothing but reads reached the hosts: a variable the assessment needs stops the host before its read
    after = modules_ran(sim)
    for host in ("ws", "onb"):
        runs = {k: v - before[host].get(k, 0) for k, v in after[host].items() if v != before[host].get(k, 0)}
        assert set(runs) <= {NS + "win_mde_info"}, (host, runs)
