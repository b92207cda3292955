"""Render the "Variables" section of each role's README from meta/argument_specs.yml.

    python tests/tools/role_readme.py          # rewrite the sections
    python tests/tools/role_readme.py --check  # exit 1 when a README is out of date

The section lives between the markers ``<!-- BEGIN VARIABLES -->`` and ``<!-- END VARIABLES -->``,
so the argument spec stays the one source of truth (a unit test runs ``--check``).
"""

from __future__ import annotations

import argparse
import os
import re
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BEGIN = "<!-- BEGIN VARIABLES -->"
END = "<!-- END VARIABLES -->"


def _text(value: object) -> str:
    if isinstance(value, list):
        value = " ".join(str(v) for v in value)
    text = str(value or "").strip()
    # Ansible markup to Markdown: C(x) V(x) O(x) RV(x) -> `x`; M(x) -> x; I(x) -> *x*
    text = re.sub(r"\b(?:C|V|O|RV)\(([^)]*)\)", r"`\1`", text)
    text = re.sub(r"\bM\(([^)]*)\)", r"`\1`", text)
    text = re.sub(r"\bI\(([^)]*)\)", r"*\1*", text)
    return text.replace("|", "\\|").replace("\n", " ")


def render(spec: dict) -> str:
    lines = [BEGIN, "", "| variable | type | default | description |", "|---|---|---|---|"]
    for name, opt in spec["argument_specs"]["main"]["options"].items():
        kind = opt.get("type", "str")
        if kind == "list":
            kind = "list of %s" % opt.get("elements", "str")
        if opt.get("required"):
            default = "**required**"
        else:
            default = "`%s`" % (
                yaml.safe_dump(opt.get("default"), default_flow_style=True).strip().removesuffix("...").strip()
            )
        desc = _text(opt.get("description"))
        if opt.get("choices"):
            desc += " Choices: %s." % ", ".join("`%s`" % c for c in opt["choices"])
        lines.append("| `%s` | %s | %s | %s |" % (name, kind, default, desc))
    lines += ["", END]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    stale = []
    roles_dir = os.path.join(ROOT, "roles")
    for role in sorted(os.listdir(roles_dir)):
        spec_path = os.path.join(roles_dir, role, "meta", "argument_specs.yml")
        readme_path = os.path.join(roles_dir, role, "README.md")
        if not os.path.exists(spec_path) or not os.path.exists(readme_path):
            continue
        with open(spec_path, encoding="utf-8") as fh:
            spec = yaml.safe_load(fh)
        with open(readme_path, encoding="utf-8") as fh:
            readme = fh.read()
        if BEGIN not in readme or END not in readme:
            stale.append("%s: README has no %s ... %s section" % (role, BEGIN, END))
            continue
        new = readme[: readme.index(BEGIN)] + render(spec) + readme[readme.index(END) + len(END) :]
        if new != readme:
            stale.append(role)
            if not args.check:
                with open(readme_path, "w", encoding="utf-8") as fh:
                    fh.write(new)
    if args.check and stale:
        print("out of date (run python tests/tools/role_readme.py): " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
