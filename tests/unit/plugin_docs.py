"""Module documentation as ansible-doc sees it (doc fragments merged), for the spec-vs-docs tests."""

from __future__ import annotations

import os

from ansible.plugins.loader import fragment_loader
from ansible.utils.plugin_docs import get_docstring

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULES = os.path.join(ROOT, "plugins", "modules")


def documentation(name: str) -> dict:
    """The DOCUMENTATION of ``plugins/modules/<name>.py`` with its doc fragments merged."""
    doc = get_docstring(os.path.join(MODULES, name + ".py"), fragment_loader, collection_name="mdeops.defender")[0]
    assert doc, "%s.py has no DOCUMENTATION" % name
    return doc


def normalize(spec: dict, no_log: bool = True) -> dict:
    """An argument spec or documented options reduced to what both must agree on.

    Module documentation cannot say ``no_log``: pass ``no_log=False`` to leave it out.
    """
    out = {}
    for opt, s in spec.items():
        entry = {
            "type": s.get("type", "str"),
            "default": s.get("default"),
            "choices": list(s["choices"]) if s.get("choices") is not None else None,
            "required": bool(s.get("required", False)),
            "elements": s.get("elements"),
            "aliases": sorted(s.get("aliases") or []),
        }
        if no_log:
            entry["no_log"] = bool(s.get("no_log", False))
        sub = s.get("options") or s.get("suboptions")
        entry["suboptions"] = normalize(sub, no_log) if sub else None
        out[opt] = entry
    return out
