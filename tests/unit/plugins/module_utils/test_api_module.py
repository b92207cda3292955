"""MdeApiModule: argument failures carry reason invalid_argument, name the option, hide no_log values."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.mdeops.defender.plugins.module_utils._api_module import HIDDEN, MdeApiModule

SPEC = {
    "name": {"type": "str", "required": True},
    "client_secret": {"type": "str", "no_log": True},
    "edr": {
        "type": "dict",
        "options": {"configuration_type": {"type": "str"}, "blob": {"type": "str", "no_log": True}},
    },
    "count": {"type": "int"},
}
SECRET = "dummy-secret-xyz-123"


@pytest.fixture(autouse=True)
def _profile(monkeypatch):
    # AnsiballZ sets the serialisation profile on ansible-core 2.19+; a unit test sets it itself.
    if hasattr(basic, "_ANSIBLE_PROFILE"):
        monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy")


def run(args: dict, capsys) -> dict:
    basic._ANSIBLE_ARGS = to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    with pytest.raises(SystemExit):
        MdeApiModule(argument_spec=SPEC)
    out = capsys.readouterr().out
    assert SECRET not in out
    return json.loads(out)


def test_wrong_type_fails_with_reason_and_names_the_option(capsys):
    res = run({"name": "x", "client_secret": SECRET, "edr": "nope"}, capsys)
    assert res["failed"] and res["reason"] == "invalid_argument" and "edr" in res["msg"]
    if "invocation" in res:  # ansible-core 2.19 returns it (with the secret hidden), 2.21 does not
        assert res["invocation"]["module_args"]["client_secret"] == HIDDEN


def test_unknown_and_missing_options(capsys):
    res = run({"name": "x", "client_secret": SECRET, "bogus": 1}, capsys)
    assert res["reason"] == "invalid_argument" and "bogus" in res["msg"]
    res = run({"client_secret": SECRET}, capsys)
    assert res["reason"] == "invalid_argument" and "name" in res["msg"]


def test_secret_in_suboptions_is_hidden(capsys):
    res = run({"name": "x", "edr": {"configuration_type": "onboard", "blob": SECRET}, "count": "many"}, capsys)
    assert res["reason"] == "invalid_argument" and "count" in res["msg"]


def test_valid_arguments_build_the_module():
    basic._ANSIBLE_ARGS = to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": {"name": "x", "count": "3"}}))
    module = MdeApiModule(argument_spec=SPEC)
    assert module.params["count"] == 3 and module._mde_validating is False  # pylint: disable=protected-access


def _api_module(capsys, work) -> dict:
    """run_api_module with the shared API options and ``work(client)``; returns the module's JSON result."""
    from ansible_collections.mdeops.defender.plugins.module_utils import _api_module
    from ansible_collections.mdeops.defender.plugins.module_utils._api_settings import API_ARGUMENT_SPEC

    args = {"tenant_id": "t", "client_id": "c", "client_secret": SECRET}
    basic._ANSIBLE_ARGS = to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    module = _api_module.api_module(dict(API_ARGUMENT_SPEC))
    with pytest.raises(SystemExit):
        _api_module.run_api_module(module, {"changed": False, "machines": {}}, work)
    out = capsys.readouterr().out
    assert SECRET not in out
    return json.loads(out)


def test_a_crash_is_reported_as_a_crash_not_as_a_device_state(capsys):
    def work(client):
        answer = [{"id": "ws01"}]  # e.g. the API answered a list where an object is expected
        return {"machines": answer.get("value")}

    res = _api_module(capsys, work)
    assert res["failed"] is True and res["reason"] == "api_error"
    assert "crashed" in res["msg"] and "AttributeError" in res["msg"] and "'list' object" in res["msg"]
    assert res["machines"] == {}


def test_a_typed_error_keeps_its_reason(capsys):
    from ansible_collections.mdeops.defender.plugins.module_utils._errors import MdeError

    def work(client):
        raise MdeError("api_forbidden", "needs Machine.Read.All", http_status=403)

    res = _api_module(capsys, work)
    assert res["reason"] == "api_forbidden" and res["http_status"] == 403 and "exception" not in res
