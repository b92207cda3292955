"""Each action plugin's argument spec (module_utils/_specs.py) matches its stub's DOCUMENTATION
(doc fragments merged, as ansible-doc shows it).

One source of truth for validation, one for documentation, and this test keeps them equal:
option names, type, default, choices, required, elements, aliases, no_log, suboptions. The
documented options beginning with ``_`` are set by the action plugins for the PowerShell side:
a task cannot set them (the spec here rejects them).
"""

from __future__ import annotations

import os

import pytest

from ansible_collections.mdeops.defender.plugins.module_utils._specs import SPECS
from tests.unit.plugin_docs import MODULES, ROOT, documentation, normalize

STUBBED = sorted(n for n in SPECS if os.path.exists(os.path.join(MODULES, n + ".py")))


def test_every_action_plugin_module_has_a_spec():
    for fname in os.listdir(os.path.join(ROOT, "plugins", "action")):
        if fname.endswith(".py") and not fname.startswith("_"):
            assert fname[:-3] in SPECS, "plugins/action/%s has no spec in _specs.py" % fname


@pytest.mark.parametrize("name", STUBBED)
def test_spec_matches_documentation(name):
    doc = documentation(name)
    # Options beginning with _ are the PowerShell side's internal ones (tests/unit/test_ps_specs_match_docs.py).
    documented = normalize({k: v for k, v in (doc.get("options") or {}).items() if not k.startswith("_")})
    validated = normalize(SPECS[name]["argument_spec"])
    assert sorted(documented) == sorted(validated), "option names differ"
    for opt in validated:
        assert documented[opt] == validated[opt], "option %r differs between spec and docs" % opt
