# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report as one self-contained HTML page. PRIVATE to this collection.

No external assets: CSS, the charts (inline SVG) and the sort/filter script are in the page.
The table is rendered on the server side, so the page is readable without JavaScript.
"""

from __future__ import annotations

import html
import json

_COLORS = {
    "compliant": "#2e7d32",
    "converged": "#43a047",
    "would_change": "#1e88e5",
    "pending_reboot": "#fb8c00",
    "refused": "#8e24aa",
    "failed": "#c62828",
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

_CSS = """
body{font-family:Segoe UI,Helvetica,Arial,sans-serif;margin:0;color:#1f2933;background:#f5f7fa}
header{background:#102a43;color:#fff;padding:16px 24px}header h1{margin:0;font-size:20px}
header p{margin:4px 0 0;color:#bcccdc;font-size:13px}main{padding:16px 24px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin-bottom:16px}
.card{background:#fff;border-radius:6px;padding:10px 16px;min-width:110px;box-shadow:0 1px 2px rgba(0,0,0,.1)}
.card b{display:block;font-size:24px}.card span{font-size:12px;color:#52606d}
.card.bad b{color:#c62828}.card.good b{color:#2e7d32}
.charts{display:flex;flex-wrap:wrap;gap:16px;margin-bottom:16px}
.chart{background:#fff;border-radius:6px;padding:12px;box-shadow:0 1px 2px rgba(0,0,0,.1)}
.chart h2{font-size:14px;margin:0 0 8px}
table{border-collapse:collapse;width:100%;background:#fff;font-size:13px}
th,td{padding:6px 8px;border-bottom:1px solid #e4e7eb;text-align:left;vertical-align:top}
th{background:#243b53;color:#fff;cursor:pointer;position:sticky;top:0;user-select:none}
th.sorted-asc:after{content:" \\25B2"}th.sorted-desc:after{content:" \\25BC"}
.pill{display:inline-block;border-radius:10px;padding:1px 8px;color:#fff;font-size:12px}
.problems{margin:0;padding-left:16px}.problems li{margin-bottom:2px}.muted{color:#7b8794}
.filters{display:flex;gap:8px;margin:8px 0}.filters input,.filters select{padding:4px 8px;font-size:13px}
.steps{white-space:nowrap}.st{display:inline-block;width:15px;height:15px;margin-right:2px;border-radius:3px;
color:#fff;font:10px/15px Consolas,monospace;text-align:center}
.org{font-family:Consolas,monospace;font-size:12px}
"""

_JS = """
(function(){
  var table=document.getElementById('hosts'),body=table.tBodies[0];
  var q=document.getElementById('q'),oc=document.getElementById('outcome');
  function apply(){var t=q.value.toLowerCase(),o=oc.value,n=0;
    Array.prototype.forEach.call(body.rows,function(r){
      var ok=(!t||r.textContent.toLowerCase().indexOf(t)>=0)&&(!o||r.getAttribute('data-outcome')===o);
      r.style.display=ok?'':'none';if(ok)n++;});
    document.getElementById('shown').textContent=n;}
  q.addEventListener('input',apply);oc.addEventListener('change',apply);
  Array.prototype.forEach.call(table.tHead.rows[0].cells,function(th,i){
    th.addEventListener('click',function(){
      var asc=!th.classList.contains('sorted-asc');
      Array.prototype.forEach.call(table.tHead.rows[0].cells,function(c){c.classList.remove('sorted-asc','sorted-desc');});
      th.classList.add(asc?'sorted-asc':'sorted-desc');
      var rows=Array.prototype.slice.call(body.rows);
      rows.sort(function(a,b){var x=a.cells[i].getAttribute('data-v')||a.cells[i].textContent,
        y=b.cells[i].getAttribute('data-v')||b.cells[i].textContent,nx=parseFloat(x),ny=parseFloat(y);
        var c=(!isNaN(nx)&&!isNaN(ny))?nx-ny:x.localeCompare(y);return asc?c:-c;});
      rows.forEach(function(r){body.appendChild(r);});});});
  apply();
})();
"""


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _bar_chart(title: str, counts: dict, width: int = 420) -> str:
    items = [(k, v) for k, v in counts.items() if v]
    if not items:
        return '<div class="chart"><h2>%s</h2><p class="muted">none</p></div>' % _e(title)
    top = max(count for _label, count in items)
    row_h = 22
    label_w = 230
    height = row_h * len(items) + 4
    parts = [
        '<svg role="img" aria-label="%s" width="%d" height="%d" xmlns="http://www.w3.org/2000/svg">'
        % (_e(title), width, height)
    ]
    for i, (label, value) in enumerate(items):
        y = i * row_h + 2
        bar_width = max(2, int((width - label_w - 40) * value / top))
        color = _COLORS.get(label, "#486581")
        parts.append('<text x="0" y="%d" font-size="12" fill="#334e68">%s</text>' % (y + 14, _e(label)))
        parts.append(
            '<rect x="%d" y="%d" width="%d" height="16" rx="3" fill="%s"><title>%s: %d</title></rect>'
            % (label_w, y + 2, bar_width, color, _e(label), value)
        )
        parts.append(
            '<text x="%d" y="%d" font-size="12" fill="#102a43">%d</text>' % (label_w + bar_width + 4, y + 14, value)
        )
    parts.append("</svg>")
    return '<div class="chart"><h2>%s</h2>%s</div>' % (_e(title), "".join(parts))


def _wave_chart(report: dict, width: int = 420) -> str:
    waves = report.get("waves") or []
    if not waves:
        return '<div class="chart"><h2>Progress by wave</h2><p class="muted">no waves in this run</p></div>'
    row_h = 24
    label_w = 70
    height = row_h * len(waves) + 4
    most = max(sum(w["by_outcome"].values()) for w in waves) or 1
    parts = [
        '<svg role="img" aria-label="progress by wave" width="%d" height="%d" xmlns="http://www.w3.org/2000/svg">'
        % (width, height)
    ]
    for i, wave in enumerate(waves):
        y = i * row_h + 2
        parts.append('<text x="0" y="%d" font-size="12" fill="#334e68">wave %s</text>' % (y + 15, _e(wave["wave"])))
        x = label_w
        for outcome, n in wave["by_outcome"].items():
            if not n:
                continue
            w = max(2, int((width - label_w - 10) * n / most))
            parts.append(
                '<rect x="%d" y="%d" width="%d" height="18" fill="%s"><title>%s: %d</title></rect>'
                % (x, y + 2, w, _COLORS.get(outcome, "#486581"), _e(outcome), n)
            )
            x += w
    parts.append("</svg>")
    legend = " ".join(
        '<span class="pill" style="background:%s">%s</span>' % (_COLORS[o], _e(o))
        for o in (
            "compliant",
            "converged",
            "would_change",
            "pending_reboot",
            "refused",
            "failed",
            "unreachable",
            "not_run",
        )
    )
    return '<div class="chart"><h2>Progress by wave</h2>%s<p>%s</p></div>' % ("".join(parts), legend)


_STEP_STYLE = {
    "ok": ("o", "#2e7d32"),
    "changed": ("c", "#1565c0"),
    "skipped": ("s", "#9aa5b1"),
    "failed": ("f", "#c62828"),
    "unreachable": ("u", "#6d4c41"),
    "not_run": ("-", "#d9e2ec"),
}


def _steps_cell(steps: dict) -> str:
    """One small square per step, in the guide's order; the title says the step and its outcome."""
    return "".join(
        '<span class="st" style="background:%s" title="%s: %s">%s</span>'
        % (_STEP_STYLE.get(v, ("?", "#486581"))[1], _e(k), _e(v), _STEP_STYLE.get(v, ("?", ""))[0])
        for k, v in steps.items()
    )


def _host_row(r: dict) -> str:
    steps = " ".join("%s:%s" % (k, v) for k, v in r["steps"].items())
    problems = "".join(
        '<li><b>%s</b> (%s) %s<br><span class="muted">%s</span></li>'
        % (_e(p["reason"]), _e(p.get("family")), _e(p.get("msg")), _e(p.get("remediation")))
        for p in r["problems"]
    )
    cells = [
        ("name", _e(r["name"]), r["name"]),
        ("wave", _e(r["wave"]), r["wave"] if r["wave"] is not None else 9999),
        (
            "outcome",
            '<span class="pill" style="background:%s">%s</span>'
            % (_COLORS.get(r["outcome"], "#486581"), _e(r["outcome"])),
            r["outcome"],
        ),
        ("mode", _e(r["mode"]), r["mode"]),
        ("compliant", "yes" if r["compliant"] else "no", int(bool(r["compliant"]))),
        (
            "protected",
            {True: "yes", False: "NO", None: "?"}[r["protected"]],
            {True: 1, False: 0, None: -1}[r["protected"]],
        ),
        ("onboarded", "yes" if r["onboarded"] else "no", int(bool(r["onboarded"]))),
        (
            "org",
            '<span class="org" title="%s">%s</span>' % (_e(r["org_id"]), _e((r["org_id"] or "")[:8])),
            r["org_id"],
        ),
        ("os", _e(r["os"]), r["os"]),
        ("av", _e(", ".join(r["third_party_av"])), ", ".join(r["third_party_av"])),
        ("reboots", _e(r["reboots"]), r["reboots"]),
        (
            "steps",
            '<span class="steps">%s</span>' % _steps_cell(r["steps"]),
            steps,
        ),
        (
            "problems",
            '<ul class="problems">%s</ul>' % problems if problems else '<span class="muted">none</span>',
            ";".join(p["reason"] for p in r["problems"]),
        ),
    ]
    return '<tr data-outcome="%s">%s</tr>' % (
        _e(r["outcome"]),
        "".join('<td data-v="%s">%s</td>' % (_e(v), c) for _name, c, v in cells),
    )


def to_html(report: dict) -> str:
    t = report["totals"]
    run = report.get("run") or {}
    cards = [
        ("hosts", t["hosts"], ""),
        ("compliant", t["compliant"], "good"),
        ("protected", t["protected"], "good"),
        ("unprotected", t["unprotected"], "bad" if t["unprotected"] else ""),
        ("onboarded", t["onboarded"], ""),
        ("changed", t["changed"], ""),
        ("reboots", t["reboots"], ""),
        ("failed", t["by_outcome"].get("failed", 0), "bad" if t["by_outcome"].get("failed") else ""),
        ("unreachable", t["by_outcome"].get("unreachable", 0), "bad" if t["by_outcome"].get("unreachable") else ""),
    ]
    options = "".join('<option value="%s">%s (%d)</option>' % (o, o, n) for o, n in t["by_outcome"].items() if n)
    subtitle = " · ".join(
        _e(x)
        for x in (
            run.get("playbook"),
            "check mode" if run.get("check_mode") else None,
            "STOPPED: %s" % run.get("abort_reason") if run.get("aborted") else None,
            "finished %s" % run.get("finished") if run.get("finished") else None,
        )
        if x
    )
    return "".join(
        [
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            "<title>Defender passive-mode fleet report</title><style>%s</style></head><body>" % _CSS,
            "<header><h1>Defender for Endpoint passive-mode fleet report</h1><p>%s</p></header><main>" % subtitle,
            '<div class="cards">%s</div>'
            % "".join(
                '<div class="card %s"><b>%s</b><span>%s</span></div>' % (cls, _e(v), _e(k)) for k, v, cls in cards
            ),
            '<div class="charts">%s%s%s%s</div>'
            % (
                _bar_chart("Hosts by outcome", {k: v for k, v in t["by_outcome"].items() if v}),
                _bar_chart("Hosts by Defender mode", t["by_mode"]),
                _bar_chart("Problems by reason", t["by_problem"]),
                _wave_chart(report),
            ),
            '<div class="filters">'
            '<input id="q" type="search" placeholder="filter hosts, reasons, OS…" aria-label="filter">',
            '<select id="outcome" aria-label="outcome"><option value="">all outcomes</option>%s</select>' % options,
            '<span class="muted"><span id="shown">%d</span> of %d hosts shown</span></div>' % (t["hosts"], t["hosts"]),
            '<table id="hosts"><thead><tr>%s</tr></thead><tbody>%s</tbody></table>'
            % (
                "".join(
                    "<th>%s</th>" % h
                    for h in (
                        "host",
                        "wave",
                        "outcome",
                        "mode",
                        "compliant",
                        "protected",
                        "onboarded",
                        "org id",
                        "OS",
                        "third-party AV",
                        "reboots",
                        '<span title="assess, 1 onboard, 2 third-party AV, 3 verify mode, 4 registry, 5 Group Policy,'
                        ' 6 Intune, 7 confirm EDR; o ok, c changed, s skipped, f failed, u unreachable, - not run">'
                        "steps (?)</span>",
                        "problems",
                    )
                ),
                "".join(_host_row(r) for r in report["hosts"]),
            ),
            '<script type="application/json" id="report-data">%s</script>'
            % json.dumps(report["totals"]).replace("</", "<\\/"),
            "<script>%s</script></main></body></html>\n" % _JS,
        ]
    )
