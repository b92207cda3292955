# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mdeops.defender contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Jinja2 template of the fleet report's HTML page. PRIVATE to this collection.

Rendered by :func:`._report_html.to_html` with autoescaping on. Layout, top to bottom: the run
(kind, playbook, limit, organisation checked, versions), banners (incomplete run, stopped run,
no organisation checked), count tiles (unprotected first), charts, and one table row per host,
hosts needing attention first. Elements carry ``data-*`` attributes and ids that the browser
test reads; keep them when changing the layout.
"""

from __future__ import annotations

TEMPLATE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Defender for Endpoint {{ kind }} report{% if run.playbook %} - {{ run.playbook }}{% endif %}</title>
<style>
body{font-family:"Segoe UI",Helvetica,Arial,sans-serif;margin:0;color:#1f2933;background:#f5f7fa}
header{background:#102a43;color:#fff;padding:14px 24px}
header h1{margin:0;font-size:20px}
header dl{display:flex;flex-wrap:wrap;gap:4px 20px;margin:6px 0 0;font-size:13px;color:#bcccdc}
header dt{display:inline;color:#829ab1}header dd{display:inline;margin:0 0 0 4px;color:#f0f4f8}
main{padding:16px 24px}
.banner{border-radius:6px;padding:10px 14px;margin-bottom:12px;font-weight:600}
.banner.incomplete{background:#b71c1c;color:#fff}
.banner.stopped{background:#ffe0b2;color:#7f3b00}
.banner.noorg{background:#fff3c4;color:#5c4400}
.tiles{display:flex;flex-wrap:wrap;gap:12px;margin-bottom:16px}
.tile{background:#fff;border-radius:6px;padding:10px 16px;min-width:110px;box-shadow:0 1px 2px rgba(0,0,0,.12)}
.tile b{display:block;font-size:26px;line-height:32px}.tile span{font-size:12px;color:#52606d}
.tile.alarm{background:#b71c1c}.tile.alarm b,.tile.alarm span{color:#fff}
.tile.bad b{color:#c62828}.tile.warn b{color:#b45309}.tile.good b{color:#2e7d32}
.charts{display:flex;flex-wrap:wrap;gap:16px;margin-bottom:16px}
.chart{background:#fff;border-radius:6px;padding:12px;box-shadow:0 1px 2px rgba(0,0,0,.12)}
.chart h2{font-size:14px;margin:0 0 8px}
.pill{display:inline-block;border-radius:10px;padding:1px 8px;color:#fff;font-size:12px;white-space:nowrap}
.filters{display:flex;gap:8px;margin:8px 0;align-items:center}
.filters input,.filters select{padding:4px 8px;font-size:13px}
.table-wrap{overflow-x:auto;background:#fff;box-shadow:0 1px 2px rgba(0,0,0,.12)}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{padding:6px 8px;border-bottom:1px solid #e4e7eb;text-align:left;vertical-align:top}
th{background:#243b53;color:#fff;cursor:pointer;user-select:none;white-space:nowrap}
th.sorted-asc:after{content:" \25B2"}th.sorted-desc:after{content:" \25BC"}
td.host{white-space:nowrap;font-weight:600}
td.nowrap{white-space:nowrap}
td.problems{min-width:26em;max-width:44em}
tr[data-outcome="unprotected"] td.host{color:#b71c1c}
.problem{margin-bottom:6px}.problem:last-child{margin-bottom:0}
.problem .code{font-family:Consolas,"DejaVu Sans Mono",monospace;font-weight:600}
.problem .family{color:#52606d;font-size:12px}
.problem .sev{font-size:11px;color:#7b8794;text-transform:uppercase}
.problem .fix{color:#334e68}.problem .fix b{color:#102a43}
.muted{color:#7b8794}
.steps{white-space:nowrap}
.st{display:inline-block;width:15px;height:15px;margin-right:2px;border-radius:3px;color:#fff;
font:10px/15px Consolas,monospace;text-align:center}
.org{font-family:Consolas,"DejaVu Sans Mono",monospace;font-size:12px}
</style>
</head>
<body data-goal="{{ run.goal }}" data-status="{{ run.status }}">
<header>
<h1>Defender for Endpoint passive mode - {{ kind }} report</h1>
<dl id="run">
{% if run.playbook %}<div><dt>playbook</dt><dd>{{ run.playbook }}</dd></div>{% endif %}
<div><dt>status</dt><dd>{{ run.status }}{% if run.check_mode %}, check mode{% endif %}</dd></div>
{% if run.started %}<div><dt>started</dt><dd>{{ run.started }}</dd></div>{% endif %}
<div><dt>{{ "finished" if run.finished else "updated" }}</dt><dd>{{ run.finished or run.updated }}</dd></div>
<div><dt>limit</dt><dd>{{ run.limit if run.limit else "none" }}</dd></div>
<div><dt>organisation checked</dt>
<dd class="org">{{ run.expected_org_ids | join(", ") if run.expected_org_ids else "none" }}</dd></div>
<div><dt>versions</dt>
<dd>mdeops.defender {{ run.collection_version or "?" }}, ansible-core {{ run.ansible_core_version or "?" }}</dd></div>
</dl>
</header>
<main>
{% if run.status != "complete" %}
<div class="banner incomplete" id="banner-incomplete">INCOMPLETE: this run has not finished - it was interrupted, or is
still running. Hosts not reached yet show as not run; do not read this report as the fleet's current state.</div>
{% endif %}
{% if run.aborted %}
<div class="banner stopped" id="banner-stopped">STOPPED: {{ run.abort_reason or "the run stopped early" }}</div>
{% endif %}
{% if no_org_checked %}
<div class="banner noorg" id="banner-noorg">No expected organisation id was checked: a host onboarded to any
organisation counts as onboarded. Set the expected organisation id to audit the right tenant.</div>
{% endif %}
<div class="tiles" id="tiles">
{% for tile in tiles %}
<div class="tile {{ tile.tone }}" data-tile="{{ tile.key }}"><b>{{ tile.count }}</b><span>{{ tile.label }}</span></div>
{% endfor %}
</div>
<div class="charts">
{% for title, chart in [("Hosts by outcome", outcome_chart), ("Hosts by Defender mode", mode_chart),
                        ("Problems by reason", problem_chart)] %}
<div class="chart"><h2>{{ title }}</h2>
{% if chart.rows %}
<svg role="img" aria-label="{{ title }}" width="{{ chart.width }}" height="{{ chart.height }}"
 xmlns="http://www.w3.org/2000/svg">
{% for row in chart.rows %}
<text x="0" y="{{ row.y + 14 }}" font-size="12" fill="#334e68">{{ labels.get(row.label, row.label) }}</text>
<rect x="{{ chart.label_w }}" y="{{ row.y + 2 }}" width="{{ row.width }}" height="16" rx="3" fill="{{ row.color }}">
<title>{{ row.label }}: {{ row.value }}</title></rect>
<text x="{{ chart.label_w + row.width + 4 }}" y="{{ row.y + 14 }}" font-size="12" fill="#102a43">{{ row.value }}</text>
{% endfor %}
</svg>
{% else %}<p class="muted">none</p>{% endif %}
</div>
{% endfor %}
{% if not audit %}
<div class="chart" id="waves-panel"><h2>Progress by wave</h2>
{% if wave_chart.rows %}
<svg role="img" aria-label="progress by wave" width="{{ wave_chart.width }}" height="{{ wave_chart.height }}"
 xmlns="http://www.w3.org/2000/svg">
{% for row in wave_chart.rows %}
<text x="0" y="{{ row.y + 15 }}" font-size="12" fill="#334e68">wave {{ row.wave }}</text>
{% for seg in row.segments %}
<rect x="{{ seg.x }}" y="{{ row.y + 2 }}" width="{{ seg.width }}" height="18" fill="{{ seg.color }}">
<title>{{ seg.outcome }}: {{ seg.count }}</title></rect>
{% endfor %}
{% endfor %}
</svg>
<p>{% for outcome, color in legend %}
<span class="pill" style="background:{{ color }}">{{ labels[outcome] }}</span>
{% endfor %}</p>
{% else %}<p class="muted">no waves in this run</p>{% endif %}
</div>
{% endif %}
</div>
<div class="filters">
<input id="q" type="search" placeholder="filter hosts, reasons, OS..." aria-label="filter">
<select id="outcome" aria-label="outcome"><option value="">all outcomes</option>
{% for outcome, n in outcomes_present if n %}<option value="{{ outcome }}">{{ labels[outcome] }} ({{ n }})</option>
{% endfor %}
</select>
<span class="muted"><span id="shown">{{ hosts | length }}</span> of {{ hosts | length }} hosts shown</span>
</div>
<div class="table-wrap">
<table id="hosts">
<thead><tr>
<th data-col="host">host</th>
<th data-col="outcome">outcome</th>
<th data-col="problems">problem and fix</th>
{% if not audit %}<th data-col="wave">wave</th>{% endif %}
<th data-col="mode">mode</th>
<th data-col="protected">protected</th>
<th data-col="onboarded">onboarded</th>
<th data-col="org">org id</th>
<th data-col="os">OS</th>
<th data-col="av">third-party AV</th>
{% if not audit %}
<th data-col="reboots">reboots</th>
<th data-col="steps"><span title="{{ steps_legend }};
 o ok, c changed, s skipped, f failed, u unreachable, - not run">steps (?)</span></th>
{% endif %}
</tr></thead>
<tbody>
{% for h in hosts %}
<tr data-outcome="{{ h.outcome }}" data-host="{{ h.name }}">
<td class="host" data-v="{{ h.name }}"><span class="hostname">{{ h.name }}</span></td>
<td class="nowrap" data-v="{{ rank.get(h.outcome, 99) }}">
<span class="pill" style="background:{{ colors.get(h.outcome, default_color) }}">
{{- labels.get(h.outcome, h.outcome) -}}
</span></td>
<td class="problems" data-v="{{ h.problems | map(attribute='reason') | join(';') }}">
{% for p in h.problems %}
<div class="problem" data-reason="{{ p.reason }}"><span class="code">{{ p.reason }}</span>
{% if p.family %}<span class="family">({{ p.family }})</span>{% endif %}
{% if p.severity and p.severity != "error" %}<span class="sev">{{ p.severity }}</span>{% endif %}
{% if p.msg %}<div class="what">{{ p.msg }}</div>{% endif %}
{% if p.remediation and p.remediation != p.msg %}
<div class="fix"><b>Fix:</b> {{ p.remediation }}</div>
{% endif %}
</div>
{% else %}
{% if h.msg %}<div class="what">{{ h.msg }}</div>{% else %}<span class="muted">none</span>{% endif %}
{% endfor %}
</td>
{% if not audit %}
<td data-v="{{ h.wave if h.wave is not none else 9999 }}">{{ h.wave if h.wave is not none else "" }}</td>
{% endif %}
<td class="nowrap">{{ h.mode or "" }}</td>
<td>{{ h.protected | yes_no }}</td>
<td>{{ h.onboarded | yes_no }}</td>
<td data-v="{{ h.org_id or '' }}"><span class="org" title="{{ h.org_id or '' }}">{{ (h.org_id or "")[:8] }}</span></td>
<td>{{ h.os or "" }}</td>
<td>{{ h.third_party_av | join(", ") }}</td>
{% if not audit %}
<td>{{ h.reboots }}</td>
<td data-v="{% for s in steps %}{{ h.steps[s] }} {% endfor %}"><span class="steps">
{%- for s in steps %}{% set st = step_style.get(h.steps[s], ("?", default_color)) -%}
<span class="st" style="background:{{ st[1] }}" title="{{ step_titles[s] }}: {{ h.steps[s] }}">{{ st[0] }}</span>
{%- endfor %}</span></td>
{% endif %}
</tr>
{% endfor %}
</tbody>
</table>
</div>
<script type="application/json" id="report-totals">{{ totals | tojson }}</script>
<script>
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
      Array.prototype.forEach.call(table.tHead.rows[0].cells,function(c){
        c.classList.remove('sorted-asc','sorted-desc');});
      th.classList.add(asc?'sorted-asc':'sorted-desc');
      var rows=Array.prototype.slice.call(body.rows);
      rows.sort(function(a,b){
        var x=a.cells[i].getAttribute('data-v'),y=b.cells[i].getAttribute('data-v');
        if(x===null)x=a.cells[i].textContent;if(y===null)y=b.cells[i].textContent;
        var nx=parseFloat(x),ny=parseFloat(y);
        var c=(!isNaN(nx)&&!isNaN(ny))?nx-ny:x.localeCompare(y);return asc?c:-c;});
      rows.forEach(function(r){body.appendChild(r);});});});
  apply();
})();
</script>
</main>
</body>
</html>
"""
