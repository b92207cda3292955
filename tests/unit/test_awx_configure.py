"""playbooks/awx_configure.yml: syntax, ansible-lint production profile, and what it sends to the controller.

There is no AWX here. Three levels of checking instead:

1. ``ansible-playbook --syntax-check`` and ``ansible-lint --profile production`` with the real
   awx.awx 24.6.1 (ansible-lint also validates every module's arguments against awx.awx's
   argument specs);
2. a run against a stub awx.awx whose modules only record the arguments they receive: the
   surveys, credential type, job templates and workflow are checked as the controller would get
   them - survey specs against AWX's own validation rules, every survey variable against the
   variables the playbook's role and the playbook really use, Jinja meant for AWX kept literal;
3. the report name template is rendered the way a job renders it.

What is not tested: a live controller (object creation, RBAC, the job runs themselves).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import jinja2
import jinja2.sandbox
import pytest
import yaml

from tests.tools import ee_context

REPO_ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = REPO_ROOT / "playbooks" / "awx_configure.yml"
BIN = Path(sys.executable).parent
# Variables the collection's playbooks read themselves (not role options).
PLAYBOOK_VARS = {"mde_targets", "mde_waves", "mde_max_fail_percentage", "mde_report_dir", "mde_report_name"}
STUBBED = (
    "organization",
    "inventory",
    "execution_environment",
    "project",
    "credential_type",
    "credential",
    "job_template",
    "workflow_job_template",
)
ORG_ID = "3b2f6c1e-7d4a-4e8b-9c1f-2a6d8e0b4c71"
BASE_VARS = {
    "mde_awx_scm_url": "https://git.example.org/mdeops/defender.git",
    "mde_awx_inventory": "Windows fleet",
    "mde_awx_machine_credential": "Windows WinRM",
    "mde_awx_api_credential": "MDE API",
    "mde_awx_expected_org_id": ORG_ID,
    "mde_awx_job_slice_count": 4,
    "mde_awx_execution_environment_image": "registry.example.org/mdeops-defender-ee:0.1.0",
    "mde_awx_report_dir": "/var/lib/mde-reports",
    "controller_host": "https://awx.example.org",
}
SECRET = "not-a-real-secret-0123456789"


# --------------------------------------------------------------------------- helpers
def _farm(base: Path) -> Path:
    """``base/ansible_collections/mdeops/defender`` -> the repository root."""
    link = base / "ansible_collections" / "mdeops" / "defender"
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.exists():
        link.symlink_to(REPO_ROOT)
    return base


def _env(collections_path: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "ANSIBLE_COLLECTIONS_PATH": collections_path,
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        }
    )
    for key in [k for k in env if k.startswith("CONTROLLER_")]:
        del env[key]
    return env


def _role_options() -> dict[str, set[str]]:
    """Every option of every entry point of each role's meta/argument_specs.yml."""
    out = {}
    for spec_file in sorted((REPO_ROOT / "roles").glob("*/meta/argument_specs.yml")):
        spec = yaml.safe_load(spec_file.read_text(encoding="utf-8"))["argument_specs"]
        out[spec_file.parents[1].name] = {name for entry in spec.values() for name in (entry.get("options") or {})}
    return out


def _playbook_variables(playbook: str) -> set[str]:
    """Variables a job of ``playbook`` can set: its roles' options and the playbook-level variables it uses."""
    text = (REPO_ROOT / playbook).read_text(encoding="utf-8")
    roles = set(re.findall(r"mdeops\.defender\.(mde_[a-z_]+)", text)) & set(_role_options())
    assert roles, f"{playbook} uses none of the collection's roles"
    used = {name for name in PLAYBOOK_VARS if re.search(rf"\b{name}\b", text)}
    return set().union(*(_role_options()[r] for r in roles)) | used


# AWX's survey rules (awx/api/views: JobTemplateSurveySpec._validate_spec_data and
# awx/main/models/mixins.py: SurveyJobTemplateMixin._survey_element_validation), condensed.
SURVEY_TYPES = {
    "text": str,
    "textarea": str,
    "password": str,
    "integer": int,
    "float": (int, float),
    "multiplechoice": str,
    "multiselect": list,
}


def _answer_errors(question: dict, value) -> list[str]:
    kind = question["type"]
    var = question["variable"]
    if kind in ("text", "textarea", "password"):
        if not isinstance(value, str):
            return [f"{var}: {value!r} is not a string"]
        if question.get("min") not in ("", None) and len(value) < int(question["min"]):
            return [f"{var}: {value!r} shorter than {question['min']}"]
        if question.get("max") not in ("", None) and len(value) > int(question["max"]):
            return [f"{var}: {value!r} longer than {question['max']}"]
    elif kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            return [f"{var}: {value!r} is not an integer"]
        if question.get("min") not in ("", None) and value < int(question["min"]):
            return [f"{var}: {value} < {question['min']}"]
        if question.get("max") not in ("", None) and value > int(question["max"]):
            return [f"{var}: {value} > {question['max']}"]
    elif kind == "multiplechoice":
        choices = question["choices"]
        if isinstance(choices, str):
            choices = [c for c in choices.splitlines() if c.strip()]
        if value not in choices:
            return [f"{var}: {value!r} not in {choices}"]
    return []


def _check_survey(survey: dict, allowed: set[str], where: str) -> dict[str, dict]:
    assert isinstance(survey.get("name"), str) and isinstance(survey.get("description"), str), where
    assert isinstance(survey.get("spec"), list) and survey["spec"], f"{where}: empty survey"
    questions = {}
    for question in survey["spec"]:
        for key, kind in (("type", str), ("question_name", str), ("variable", str), ("required", bool)):
            assert isinstance(question.get(key), kind), f"{where}: {question.get('variable')}: {key} must be {kind}"
        var = question["variable"]
        assert var not in questions, f"{where}: {var} asked twice"
        assert var in allowed, f"{where}: survey variable {var} is not a variable of the playbook or its role"
        assert question["type"] in SURVEY_TYPES, f"{where}: {var}: unknown type {question['type']}"
        for bound in ("min", "max"):
            assert question.get(bound) is None or (
                isinstance(question[bound], int) and not isinstance(question[bound], bool)
            ), f"{where}: {var}: {bound} not int"
        if question["type"] in ("multiplechoice", "multiselect"):
            assert question.get("choices"), f"{where}: {var}: choices missing"
        if "default" in question and question["default"] != "":
            assert isinstance(question["default"], SURVEY_TYPES[question["type"]]), (
                f"{where}: {var}: default {question['default']!r} is not a {question['type']}"
            )
            assert not _answer_errors(question, question["default"]), f"{where}: default of {var} fails its own rules"
        questions[var] = question
    return questions


# --------------------------------------------------------------------------- real awx.awx: syntax and lint
@pytest.fixture(scope="module")
def real_collections_path(tmp_path_factory) -> str:
    farm = _farm(tmp_path_factory.mktemp("farm"))
    awx_root = ee_context.awx_collections_path(ee_context.DEFAULT_BUILD_DIR)
    return f"{farm}{os.pathsep}{awx_root}"


def test_syntax_check(real_collections_path):
    proc = subprocess.run(
        [str(BIN / "ansible-playbook"), "--syntax-check", str(PLAYBOOK)],
        cwd=REPO_ROOT,
        env=_env(real_collections_path),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.slow
def test_ansible_lint_production_profile(real_collections_path):
    lint = BIN / "ansible-lint"
    if not lint.is_file():
        pytest.skip("ansible-lint is not installed in this venv (requirements/test-tools.txt; not in the compat venv)")
    proc = subprocess.run(
        [str(lint), "--nocolor", "--profile", "production", "--offline", str(PLAYBOOK.relative_to(REPO_ROOT))],
        cwd=REPO_ROOT,
        env=_env(real_collections_path),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Profile 'production' was required, and it passed" in proc.stdout + proc.stderr


# --------------------------------------------------------------------------- stub awx.awx: what the controller gets
STUB_MODULE = textwrap.dedent(
    """\
    #!/usr/bin/python
    # WANT_JSON
    # Test stub of awx.awx.{name}: records its arguments, changes nothing.
    import json
    import os
    import sys

    with open(sys.argv[1]) as fh:
        args = json.load(fh)
    out = {out!r}
    path = os.path.join(out, "%03d-{name}.json" % len(os.listdir(out)))
    with open(path, "w") as fh:
        json.dump({{k: v for k, v in args.items() if not k.startswith("_ansible")}}, fh)
    print(json.dumps({{"changed": True}}))
    """
)


def _stub_collection(base: Path, out: Path) -> Path:
    root = base / "ansible_collections" / "awx" / "awx"
    (root / "plugins" / "modules").mkdir(parents=True)
    (root / "meta").mkdir()
    (root / "meta" / "runtime.yml").write_text(
        yaml.safe_dump({"requires_ansible": ">=2.15.0", "action_groups": {"controller": list(STUBBED)}}),
        encoding="utf-8",
    )
    for name in STUBBED:
        (root / "plugins" / "modules" / f"{name}.py").write_text(STUB_MODULE.format(name=name, out=str(out)))
    return base


def _run_stubbed(tmp_path: Path, extra_vars: dict) -> tuple[subprocess.CompletedProcess, list[tuple[str, dict]]]:
    out = tmp_path / "calls"
    out.mkdir()
    stub = _stub_collection(tmp_path / "stub", out)
    farm = _farm(tmp_path / "farm")
    vars_file = tmp_path / "vars.json"
    vars_file.write_text(json.dumps(extra_vars), encoding="utf-8")
    proc = subprocess.run(
        [str(BIN / "ansible-playbook"), str(PLAYBOOK), "-e", f"@{vars_file}"],
        cwd=tmp_path,
        env=_env(f"{farm}{os.pathsep}{stub}"),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    calls = []
    for path in sorted(out.iterdir()):
        calls.append((path.stem.split("-", 1)[1], json.loads(path.read_text(encoding="utf-8"))))
    return proc, calls


@pytest.fixture(scope="module")
def configured(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("awx-configure")
    proc, calls = _run_stubbed(tmp, BASE_VARS)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return calls


def _by_name(calls, module: str) -> dict[str, dict]:
    return {args["name"]: args for name, args in calls if name == module}


def test_objects_in_order_and_referenced_not_created(configured):
    assert [name for name, _args in configured] == [
        "organization",
        "inventory",
        "execution_environment",
        "project",
        "credential_type",
        "job_template",
        "job_template",
        "job_template",
        "workflow_job_template",
    ], "the Defender API credential must only be managed when its inputs are given"
    org = configured[0][1]
    assert org == {"name": "Default", "state": "exists", "controller_host": "https://awx.example.org"}
    assert configured[1][1]["state"] == "exists"
    project = configured[3][1]
    assert project["scm_url"] == BASE_VARS["mde_awx_scm_url"]
    assert project["scm_type"] == "git"
    assert project["default_environment"] == configured[2][1]["name"]
    for _name, args in configured:
        assert args["controller_host"] == "https://awx.example.org", "module_defaults must reach every awx.awx module"
        assert "controller_password" not in args and "controller_oauthtoken" not in args


def test_credential_type_injects_the_role_variables(configured):
    ((_name, ctype),) = [c for c in configured if c[0] == "credential_type"]
    assert ctype["name"] == "Microsoft Defender for Endpoint API"
    assert ctype["kind"] == "cloud"
    fields = {f["id"]: f for f in ctype["inputs"]["fields"]}
    assert set(fields) == {"tenant_id", "client_id", "client_secret", "cloud"}
    assert fields["client_secret"]["secret"] is True
    assert not fields["tenant_id"].get("secret") and not fields["client_id"].get("secret")
    cloud_spec = yaml.safe_load((REPO_ROOT / "roles/mde_rollout/meta/argument_specs.yml").read_text(encoding="utf-8"))
    cloud_option = cloud_spec["argument_specs"]["main"]["options"]["mde_rollout_api_cloud"]
    assert sorted(fields["cloud"]["choices"]) == sorted(cloud_option["choices"])
    assert fields["cloud"]["default"] == cloud_option["default"]
    assert set(ctype["inputs"]["required"]) == {"tenant_id", "client_id", "client_secret"}

    extra_vars = ctype["injectors"]["extra_vars"]
    rollout_options = _role_options()["mde_rollout"]
    assert set(extra_vars) == {
        "mde_rollout_api_tenant_id",
        "mde_rollout_api_client_id",
        "mde_rollout_api_client_secret",
        "mde_rollout_api_cloud",
    }
    assert set(extra_vars) <= rollout_options
    assert set(ctype["injectors"]["env"]) == {"MDE_TENANT_ID", "MDE_CLIENT_ID", "MDE_CLIENT_SECRET"}
    # Kept literal for AWX (not rendered by the configuring playbook) ...
    assert extra_vars["mde_rollout_api_client_secret"] == "{{ client_secret }}"
    # ... and renders the way AWX validates and injects: a sandbox, StrictUndefined, the input ids.
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined)
    given = {"tenant_id": "t", "client_id": "c", "client_secret": "s"}
    rendered = {k: env.from_string(v).render(given) for k, v in {**extra_vars, **ctype["injectors"]["env"]}.items()}
    assert rendered["mde_rollout_api_cloud"] == "public", "an unset cloud must inject the role's default"
    assert rendered["mde_rollout_api_client_secret"] == rendered["MDE_CLIENT_SECRET"] == "s"
    assert env.from_string(extra_vars["mde_rollout_api_cloud"]).render({**given, "cloud": "usgov_dod"}) == "usgov_dod"


PLAYBOOK_OF = {
    "MDE rollout": "playbooks/rollout.yml",
    "MDE verify": "playbooks/verify.yml",
    "MDE offboard": "playbooks/offboard.yml",
}


def test_job_templates(configured):
    templates = _by_name(configured, "job_template")
    assert set(templates) == set(PLAYBOOK_OF)
    for name, jt in templates.items():
        assert jt["playbook"] == PLAYBOOK_OF[name] and (REPO_ROOT / jt["playbook"]).is_file()
        assert jt["inventory"] == "Windows fleet" and jt["project"] == "mdeops.defender"
        assert jt["execution_environment"] == "mdeops.defender EE"
        assert jt["ask_limit_on_launch"] is True
        assert jt["job_slice_count"] == 4 and jt["ask_job_slice_count_on_launch"] is True
        assert jt["ask_variables_on_launch"] is False, "only survey answers, never free-form extra vars"
        assert jt["survey_enabled"] is True
        allowed = _playbook_variables(jt["playbook"])
        questions = _check_survey(jt["survey_spec"], allowed, name)
        assert set(jt["extra_vars"]) <= allowed
        assert jt["extra_vars"]["mde_report_dir"] == "/var/lib/mde-reports"
        assert "{{" in jt["extra_vars"]["mde_report_name"], "the report name must be rendered in the job"
        assert "Windows WinRM" in jt["credentials"]
        if name == "MDE rollout":
            assert jt["credentials"] == ["Windows WinRM", "MDE API"]
            assert set(questions) >= {
                "mde_rollout_expected_org_id",
                "mde_waves",
                "mde_max_fail_percentage",
                "mde_rollout_allow_reboot",
                "mde_rollout_onboarding_package",
                "mde_rollout_onboarding_remote_package",
            }
            org = questions["mde_rollout_expected_org_id"]
            assert (org["min"], org["max"], org["required"], org["default"]) == (36, 38, True, ORG_ID)
            assert questions["mde_rollout_allow_reboot"]["default"] == "false"
            assert questions["mde_waves"]["default"] == "1,50,100,30%,100%"
        if name == "MDE offboard":
            assert {"mde_offboard_expected_org_id", "mde_offboard_allow_reboot", "mde_waves"} <= set(questions)
        fail = questions.get("mde_max_fail_percentage")
        if fail:
            assert (fail["type"], fail["min"], fail["max"], fail["default"]) == ("integer", 0, 100, 10)


def test_workflow_canary_approval_waves_verify(configured):
    templates = _by_name(configured, "job_template")
    ((_name, wf),) = [c for c in configured if c[0] == "workflow_job_template"]
    assert wf["name"] == "MDE passive-mode rollout"
    assert wf["ask_limit_on_launch"] is False, "a workflow limit would override the canary's"
    nodes = {n["identifier"]: n for n in wf["workflow_nodes"]}
    assert list(nodes) == ["canary", "approve", "waves", "verify"]
    assert nodes["canary"]["related"]["success_nodes"] == [{"identifier": "approve"}]
    assert nodes["approve"]["related"]["success_nodes"] == [{"identifier": "waves"}]
    assert nodes["waves"]["related"]["success_nodes"] == [{"identifier": "verify"}]
    for node in nodes.values():
        related = node.get("related") or {}
        assert not related.get("failure_nodes") and not related.get("always_nodes"), "a failure must stop the workflow"
    # only the approval node leads to the waves: nothing reaches the fleet without a person's approval
    leading_to_waves = [
        n for n in nodes.values() for r in (n.get("related") or {}).values() if {"identifier": "waves"} in r
    ]
    assert [n["identifier"] for n in leading_to_waves] == ["approve"]

    approve = nodes["approve"]["unified_job_template"]
    assert approve["type"] == "workflow_approval" and approve["timeout"] == 86400
    assert approve["name"] == "MDE passive-mode rollout - approve the rest of the fleet"
    assert "mde_canary" in approve["description"] and "50,100,30%,100%" in approve["description"]
    assert "organization" not in approve and not nodes["approve"].get("extra_data")
    assert "notification_templates_approvals" not in wf, "none given: not managed"

    canary, waves, verify = nodes["canary"], nodes["waves"], nodes["verify"]
    assert canary["unified_job_template"]["name"] == waves["unified_job_template"]["name"] == "MDE rollout"
    assert verify["unified_job_template"]["name"] == "MDE verify"
    assert canary["limit"] == "mde_canary" and canary["job_slice_count"] == 1
    assert canary["extra_data"] == {"mde_waves": "1"}
    assert waves["limit"] == "all:!mde_canary" and waves["job_slice_count"] == 4
    assert waves["extra_data"] == {"mde_waves": "50,100,30%,100%"}
    # Node variables are prompts: AWX only accepts those in the job template's survey, with valid answers.
    for node in nodes.values():
        if node["unified_job_template"]["type"] == "workflow_approval":
            continue
        jt = templates[node["unified_job_template"]["name"]]
        survey = {q["variable"]: q for q in jt["survey_spec"]["spec"]}
        for var, value in (node.get("extra_data") or {}).items():
            assert var in survey, f"{node['identifier']}: {var} is not in {jt['name']}'s survey"
            assert not _answer_errors(survey[var], value)

    allowed = _playbook_variables("playbooks/rollout.yml") | _playbook_variables("playbooks/verify.yml")
    questions = _check_survey(wf["survey_spec"], allowed, "workflow")
    # Workflow variables override every node's: the per-node waves must not be asked here.
    assert "mde_waves" not in questions
    assert {"mde_rollout_expected_org_id", "mde_verify_expected_org_id", "mde_rollout_allow_reboot"} <= set(questions)


@pytest.mark.parametrize(
    ("awx_vars", "expected"),
    [
        ({"awx_job_id": 42}, "mde-rollout-job42"),
        ({"awx_job_id": 43, "awx_workflow_job_id": 7}, "mde-rollout-wf7-job43"),
        ({}, "mde-rollout-jobmanual"),
    ],
)
def test_report_name_renders_per_job(configured, tmp_path, awx_vars, expected):
    templates = _by_name(configured, "job_template")
    vars_file = tmp_path / "vars.json"
    vars_file.write_text(json.dumps({**templates["MDE rollout"]["extra_vars"], **awx_vars}), encoding="utf-8")
    proc = subprocess.run(
        [
            str(BIN / "ansible"),
            "localhost",
            "-m",
            "ansible.builtin.debug",
            "-a",
            "var=mde_report_name",
            "-e",
            f"@{vars_file}",
        ],
        cwd=tmp_path,
        env=_env(str(tmp_path)),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f'"mde_report_name": "{expected}"' in proc.stdout


def test_workflow_can_audit_after_failed_waves(tmp_path):
    proc, calls = _run_stubbed(tmp_path, {**BASE_VARS, "mde_awx_verify_after_failed_waves": True})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ((_name, wf),) = [c for c in calls if c[0] == "workflow_job_template"]
    nodes = {n["identifier"]: n for n in wf["workflow_nodes"]}
    assert nodes["canary"]["related"] == {"success_nodes": [{"identifier": "approve"}]}, "a failed canary always stops"
    assert nodes["approve"]["related"] == {"success_nodes": [{"identifier": "waves"}]}
    assert nodes["waves"]["related"] == {"always_nodes": [{"identifier": "verify"}]}


def test_approval_timeout_and_notifications(tmp_path):
    proc, calls = _run_stubbed(
        tmp_path,
        {**BASE_VARS, "mde_awx_approval_timeout": 0, "mde_awx_approval_notification_templates": ["Ops mail"]},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ((_name, wf),) = [c for c in calls if c[0] == "workflow_job_template"]
    approve = next(n for n in wf["workflow_nodes"] if n["identifier"] == "approve")
    assert approve["unified_job_template"]["timeout"] == 0, "0: the approval waits for ever"
    assert wf["notification_templates_approvals"] == ["Ops mail"]


def test_bad_approval_timeout_is_refused(tmp_path):
    proc, calls = _run_stubbed(tmp_path, {**BASE_VARS, "mde_awx_approval_timeout": "1 day"})
    assert proc.returncode != 0 and calls == []
    assert "mde_awx_approval_timeout" in proc.stdout + proc.stderr


def test_api_credential_from_vault_inputs_is_not_logged(tmp_path):
    inputs = {"tenant_id": "t-1", "client_id": "c-1", "client_secret": SECRET, "cloud": "public"}
    proc, calls = _run_stubbed(tmp_path, {**BASE_VARS, "mde_awx_api_credential_inputs": inputs})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    creds = [args for name, args in calls if name == "credential"]
    assert creds == [
        {
            "name": "MDE API",
            "organization": "Default",
            "credential_type": "Microsoft Defender for Endpoint API",
            "inputs": inputs,
            "update_secrets": True,
            "controller_host": "https://awx.example.org",
        }
    ]
    assert SECRET not in proc.stdout + proc.stderr


def test_missing_configuration_is_refused(tmp_path):
    proc, calls = _run_stubbed(tmp_path, {"mde_awx_inventory": "Windows fleet"})
    assert proc.returncode != 0
    assert calls == [], "nothing may be sent to the controller before the configuration is checked"
    assert "Set mde_awx_scm_url" in proc.stdout + proc.stderr


# --------------------------------------------------------------------------- survey answers vs. the playbooks
WAVES_PLAY = """\
- name: Waves as the playbook computes them
  hosts: fleet
  gather_facts: false
  serial: {serial}
  tasks:
    - name: Batch
      ansible.builtin.debug:
        msg: "batch={{{{ ansible_play_batch | length }}}}"
      run_once: true
"""


@pytest.mark.parametrize("playbook", ["playbooks/rollout.yml", "playbooks/offboard.yml"])
def test_playbook_accepts_survey_waves(tmp_path, playbook):
    plays = yaml.safe_load((REPO_ROOT / playbook).read_text(encoding="utf-8"))
    ((serial,),) = [[p["serial"]] for p in plays if "serial" in p]
    (tmp_path / "inventory.ini").write_text(
        "[fleet]\n" + "".join(f"h{i} ansible_connection=local\n" for i in range(10)), encoding="utf-8"
    )
    (tmp_path / "play.yml").write_text(WAVES_PLAY.format(serial=json.dumps(serial)), encoding="utf-8")
    proc = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", "inventory.ini", "play.yml", "-e", '{"mde_waves": "1,30%,100%"}'],
        cwd=tmp_path,
        env=_env(str(_farm(tmp_path / "farm"))),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.findall(r"batch=(\d+)", proc.stdout) == ["1", "3", "6"]
