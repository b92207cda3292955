"""Each controller-side API module's argument_spec matches its DOCUMENTATION (doc fragment merged).

Like tests/unit/test_specs_match_docs.py does for the action plugins: names, type, default,
choices, required, elements, aliases and suboptions (module docs cannot say no_log, so a
separate test checks that every secret is no_log in the spec).
"""

from __future__ import annotations

import ast
import importlib
import os

import pytest
import yaml

from ansible_collections.mdeops.defender.plugins.doc_fragments.api import ModuleDocFragment
from ansible_collections.mdeops.defender.plugins.module_utils._api_settings import API_ARGUMENT_SPEC
from tests.unit.plugin_docs import MODULES as MODULES_DIR
from tests.unit.plugin_docs import documentation, normalize

MODULES = ["mde_machine_info", "mde_hunting_query", "mde_alert_info", "intune_configuration_policy"]
SECRET_WORDS = ("secret", "key", "passphrase", "blob", "password", "token")


def documented_options(name: str) -> dict:
    options = documentation(name).get("options") or {}
    assert set(API_ARGUMENT_SPEC) <= set(options), "%s does not extend the mdeops.defender.api fragment" % name
    return options


def test_fragment_documents_the_shared_spec():
    fragment = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    assert normalize(fragment, no_log=False) == normalize(API_ARGUMENT_SPEC, no_log=False)


@pytest.mark.parametrize("name", MODULES)
def test_spec_matches_documentation(name):
    module = importlib.import_module("ansible_collections.mdeops.defender.plugins.modules." + name)
    documented = normalize(documented_options(name), no_log=False)
    validated = normalize(module.argument_spec(), no_log=False)
    assert sorted(documented) == sorted(validated), "option names differ"
    for opt in validated:
        assert documented[opt] == validated[opt], "option %r differs between spec and docs" % opt


@pytest.mark.parametrize("name", MODULES)
def test_every_secret_is_no_log(name):
    module = importlib.import_module("ansible_collections.mdeops.defender.plugins.modules." + name)

    def walk(spec: dict, prefix: str = ""):
        for opt, s in spec.items():
            yield prefix + opt, s
            if s.get("options"):
                yield from walk(s["options"], prefix + opt + ".")

    for opt, s in walk(module.argument_spec()):
        leaf = opt.rsplit(".", 1)[-1]
        if any(w in leaf for w in SECRET_WORDS) and leaf not in ("client_certificate_thumbprint", "update_secrets"):
            assert s.get("no_log") is True, "%s.%s must be no_log" % (name, opt)


@pytest.mark.parametrize("name", MODULES)
def test_docs_have_attributes_examples_and_return(name):
    doc = documentation(name)
    assert {"check_mode", "diff_mode", "platform"} <= set(doc["attributes"])
    with open(os.path.join(MODULES_DIR, name + ".py"), encoding="utf-8") as fh:
        tree = ast.parse(fh.read())
    values = {
        n.targets[0].id: n.value.value
        for n in tree.body
        if isinstance(n, ast.Assign)
        and isinstance(getattr(n, "value", None), ast.Constant)
        and getattr(n.targets[0], "id", None) in ("EXAMPLES", "RETURN")
    }
    assert yaml.safe_load(values["EXAMPLES"])
    ret = yaml.safe_load(values["RETURN"])
    assert "reason" in ret and "api_calls" in ret
