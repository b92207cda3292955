# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report as one self-contained HTML page. PRIVATE to this collection; controller only.

The page is rendered from a Jinja2 template (:mod:`._report_template`) with autoescaping on: every
value of the report is escaped by Jinja, none is pasted into the HTML by hand. This module only
prepares what the page shows - tiles, chart geometry, columns - from the report; the template
lays it out. No external assets: CSS, the charts (inline SVG) and the sort/filter script are in
the page, and the table is rendered on the server side, so the page reads without JavaScript.

The template is a Python string rather than a file next to this module so that it loads the same
way wherever the collection's Python loads from (a checkout, an installed collection, an
execution environment). This is plugin_utils, not module_utils: it needs Jinja2, which the
controller has and a managed host does not.
"""

from __future__ import annotations

import jinja2

from ansible_collections.mdeops.defender.plugins.module_utils._report import ATTENTION, STEPS, YES_NO
from ansible_collections.mdeops.defender.plugins.plugin_utils._report_template import TEMPLATE

COLORS = {
    "unprotected": "#b71c1c",
    "compliant": "#2e7d32",
    "converged": "#43a047",
    "active_by_design": "#00838f",
    "would_change": "#1e88e5",
    "pending_reboot": "#ef6c00",
    "refused": "#8e24aa",
    "failed": "#d84315",
    "unreachable": "#6d4c41",
    "not_run": "#9e9e9e",
    "audited": "#f9a825",
    "passive": "#2e7d32",
    "edr_block": "#388e3c",
    "active": "#1565c0",
    "disabled": "#c62828",
    "sxs_passive": "#f9a825",
    "not_installed": "#6d4c41",
    "unknown": "#9e9e9e",
}
DEFAULT_COLOR = "#486581"

LABELS = {
    "unprotected": "unprotected",
    "failed": "failed",
    "refused": "refused",
    "unreachable": "unreachable",
    "audited": "not compliant",
    "pending_reboot": "pending reboot",
    "would_change": "would change",
    "not_run": "not run",
    "active_by_design": "active by design",
    "converged": "converged",
    "compliant": "compliant",
}

# Tiles shown even at 0: the operator must see that there is nothing to fix.
ALWAYS_SHOWN = ("unprotected", "failed", "refused", "unreachable", "compliant")

STEP_STYLE = {
    "ok": ("o", "#2e7d32"),
    "changed": ("c", "#1565c0"),
    "skipped": ("s", "#9aa5b1"),
    "failed": ("f", "#c62828"),
    "unreachable": ("u", "#6d4c41"),
    "not_run": ("-", "#d9e2ec"),
}
STEP_TITLES = {
    "assess": "assess",
    "onboard": "1 onboard",
    "third_party_av": "2 third-party AV",
    "verify_mode": "3 verify mode",
    "registry": "4 registry",
    "group_policy": "5 Group Policy",
    "intune": "6 Intune",
    "confirm_edr": "7 confirm EDR",
}
RUN_KIND = {"passive": "rollout", "offboarded": "offboarding", "audit": "audit (read-only)"}


def tiles(report: dict) -> list[dict]:
    """The count tiles, what needs attention first. ``tone``: alarm, bad, warn, good or plain."""
    t = report["totals"]
    by = t["by_outcome"]
    audit = report["run"].get("goal") == "audit"
    out = []
    for outcome in ATTENTION:
        n = by.get(outcome, 0)
        if outcome not in ALWAYS_SHOWN and not n:
            continue
        if outcome == "unprotected":
            tone = "alarm" if n else "good"
        elif outcome in ("failed", "refused", "unreachable", "audited"):
            tone = "bad" if n else "good"
        elif outcome in ("pending_reboot", "would_change", "not_run"):
            tone = "warn"
        else:
            tone = "good"
        out.append({"key": outcome, "label": LABELS[outcome], "count": n, "tone": tone, "rollout_only": False})
    for key, rollout_only in (("hosts", False), ("onboarded", False), ("changed", True), ("reboots", True)):
        out.append({"key": key, "label": key, "count": t[key], "tone": "plain", "rollout_only": rollout_only})
    return [tile for tile in out if not (audit and tile["rollout_only"])]


def bars(counts: dict, width: int = 420, label_w: int = 150, row_h: int = 22) -> dict:
    """Geometry of a horizontal bar chart: one bar per non-zero count."""
    items = [(str(k), int(v)) for k, v in counts.items() if v]
    top = max((v for _k, v in items), default=0) or 1
    span = width - label_w - 40
    rows = [
        {
            "label": label,
            "value": value,
            "y": i * row_h + 2,
            "width": max(2, int(span * value / top)),
            "color": COLORS.get(label, DEFAULT_COLOR),
        }
        for i, (label, value) in enumerate(items)
    ]
    return {"rows": rows, "width": width, "height": row_h * len(rows) + 4, "label_w": label_w}


def wave_bars(report: dict, width: int = 420, label_w: int = 70, row_h: int = 24) -> dict:
    """Geometry of the stacked bars of progress by wave."""
    waves = report.get("waves") or []
    most = max((sum(w["by_outcome"].values()) for w in waves), default=0) or 1
    rows = []
    for i, wave in enumerate(waves):
        x = label_w
        segments = []
        for outcome in ATTENTION:
            n = wave["by_outcome"].get(outcome, 0)
            if not n:
                continue
            w = max(2, int((width - label_w - 10) * n / most))
            segments.append({"outcome": outcome, "count": n, "x": x, "width": w, "color": COLORS[outcome]})
            x += w
        rows.append({"wave": wave["wave"], "y": i * row_h + 2, "segments": segments})
    return {"rows": rows, "width": width, "height": row_h * len(rows) + 4}


def _yes_no(value: object) -> str:
    return YES_NO.get(value if isinstance(value, bool) or value is None else bool(value), "unknown")


_ENV = jinja2.Environment(
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
_ENV.filters["yes_no"] = _yes_no
_TEMPLATE = _ENV.from_string(TEMPLATE)


def to_html(report: dict) -> str:
    run = report.get("run") or {}
    goal = run.get("goal") or "passive"
    audit = goal == "audit"
    hosts = report["hosts"]
    read = [h for h in hosts if h.get("mode") is not None]
    return _TEMPLATE.render(
        report=report,
        run=run,
        totals=report["totals"],
        hosts=hosts,
        audit=audit,
        kind=RUN_KIND.get(goal, goal),
        tiles=tiles(report),
        outcome_chart=bars({o: report["totals"]["by_outcome"].get(o, 0) for o in ATTENTION}),
        mode_chart=bars(report["totals"]["by_mode"]),
        problem_chart=bars(report["totals"]["by_problem"], width=500, label_w=230),
        wave_chart=wave_bars(report),
        legend=[(o, COLORS[o]) for o in ATTENTION],
        colors=COLORS,
        default_color=DEFAULT_COLOR,
        labels=LABELS,
        rank={o: i for i, o in enumerate(ATTENTION)},
        steps=STEPS,
        step_style=STEP_STYLE,
        step_titles=STEP_TITLES,
        steps_legend=", ".join(STEP_TITLES[s] for s in STEPS),
        no_org_checked=bool(read) and not run.get("expected_org_ids"),
        outcomes_present=[(o, report["totals"]["by_outcome"].get(o, 0)) for o in ATTENTION],
    )
