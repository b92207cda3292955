"""The raw result keys of each PowerShell module are declared once (module_utils/_ps_results.py).

Checked against the ``.ps1`` source (keys initialised on ``$module.Result``) and against the
simulator's twin of the module (keys it returns), so the action plugin, the PowerShell and the
simulator cannot drift apart.
"""

from __future__ import annotations

import os
import re

import pytest

from ansible_collections.mdeops.defender.plugins.module_utils._ps_results import PS_RESULT_KEYS
from tests.winsim.fleet import new_state
from tests.winsim.host import SimHost
from tests.winsim.twins import SAMPLE_ARGS, TWINS, dispatch, load_all

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULES = os.path.join(ROOT, "plugins", "modules")
IMPLIED = {"changed", "failed", "msg", "warnings", "deprecations", "diff", "exception"}


def ps1_keys(name: str) -> set:
    with open(os.path.join(MODULES, name + ".ps1"), encoding="utf-8") as fh:
        text = fh.read()
    return set(re.findall(r"\$module\.Result\.(\w+)\s*=", text)) - IMPLIED


def test_every_ps1_module_is_declared():
    for fname in os.listdir(MODULES):
        if fname.endswith(".ps1"):
            assert fname[:-4] in PS_RESULT_KEYS, "declare the result keys of %s in _ps_results.py" % fname


@pytest.mark.parametrize("name", sorted(PS_RESULT_KEYS))
def test_ps1_sets_exactly_the_declared_keys(name):
    path = os.path.join(MODULES, name + ".ps1")
    if not os.path.exists(path):
        pytest.skip("%s.ps1 not written yet" % name)
    assert ps1_keys(name) == set(PS_RESULT_KEYS[name])


@pytest.mark.parametrize("name", sorted(PS_RESULT_KEYS))
def test_twin_returns_exactly_the_declared_keys(name):
    if not os.path.exists(os.path.join(MODULES, name + ".ps1")):
        pytest.skip("%s.ps1 not written yet" % name)
    load_all()
    fqcn = "mdeops.defender." + name
    assert fqcn in TWINS, "the simulator has no twin of %s" % fqcn
    assert fqcn in SAMPLE_ARGS, "register the twin with sample_args= so its result shape can be checked"
    host = SimHost(
        "h", new_state("h", {"os": "windows11_23h2", "third_party_av": [{"name": "CrowdStrike Falcon"}]}), None
    )
    args = dict(SAMPLE_ARGS[fqcn], _ansible_check_mode=True)
    rc, result, _ctx = dispatch(host, fqcn, args)
    assert rc == 0, result
    assert set(result) - IMPLIED == set(PS_RESULT_KEYS[name])
