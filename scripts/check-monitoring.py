#!/usr/bin/env python3
"""scripts/check-monitoring.py — static checks of alerts/ and dashboards/ (no servers needed).

- every alert: severity critical|warning, summary, description, and a runbook_url whose
  anchor is a `## <AlertName>` section of docs/runbooks.md (and every section is used);
- every alert name has a promtool test in alerts/*.test.yml that expects it to fire and one
  that expects it not to;
- every dashboard: __inputs DS_PROMETHEUS, a datasource variable, no fixed datasource uid,
  a unique stable uid, links to the other dashboards; every panel a title, a unit, a
  description and gridPos; every query target an expr and a legendFormat;
- every metric name in a rule or a panel query is one docs/metrics.md lists;
- dashboards/*.json are what scripts/gen-dashboards.py writes.
Exit status 1 with one line per problem.
"""
import json
import re
import subprocess
import sys

import yaml

from pgstack_scripts import ROOT, SCRIPTS
# The one base of every runbook_url: the Debian package's copy of docs/runbooks.md. Exact, so
# that scripts/package.sh (--runbook-base-url) and the README's sed can replace every one.
RUNBOOK_PREFIX = "file:///usr/share/pgstack-exporter/runbooks.md#"
PROMQL_WORDS = {
    "sum", "max", "min", "avg", "count", "topk", "by", "without", "on", "group_left", "group_right", "and", "or",
    "unless", "rate", "increase", "delta", "max_over_time", "label_replace", "offset", "bool", "time", "vector",
    "label_values", "ignoring", "clamp_min",
}
problems = []


def metric_names(expr):
    """Identifiers used as metric names: not functions, keywords, label names or strings."""
    expr = re.sub(r'"[^"]*"', '""', expr)
    expr = re.sub(r"\{[^}]*\}", "{}", expr)                      # label matchers
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    expr = re.sub(r"\[[^\]]*\]", " ", expr)                       # range selectors
    names = set(re.findall(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()", expr))
    return {n for n in names if n not in PROMQL_WORDS and not re.fullmatch(r"\d.*|e\d*", n)}


documented = set(re.findall(r"^\| `([a-z_:][a-z0-9_:]*)` \|", (ROOT / "docs/metrics.md").read_text(), re.M))
sections = {h.lower() for h in re.findall(r"^## (\w+)\s*$", (ROOT / "docs/runbooks.md").read_text(), re.M)}

# ---------------------------------------------------------------------------- rules
alerts = set()
for path in sorted((ROOT / "alerts").glob("*.rules.yml")):
    for group in yaml.safe_load(path.read_text())["groups"]:
        for rule in group["rules"]:
            name = rule.get("alert") or rule.get("record")
            where = f"{path.name}: {name}"
            for m in metric_names(rule["expr"]) - documented:
                problems.append(f"{where}: metric {m} is not in docs/metrics.md")
            if "alert" not in rule:
                continue
            alerts.add(name)
            if rule.get("labels", {}).get("severity") not in ("critical", "warning"):
                problems.append(f"{where}: severity must be critical or warning")
            ann = rule.get("annotations", {})
            for key in ("summary", "description", "runbook_url"):
                if not ann.get(key):
                    problems.append(f"{where}: annotation {key} missing")
            url = ann.get("runbook_url", "")
            if not url.startswith(RUNBOOK_PREFIX) or url[len(RUNBOOK_PREFIX):] != name.lower():
                problems.append(f"{where}: runbook_url must be {RUNBOOK_PREFIX}{name.lower()}")
            if name.lower() not in sections:
                problems.append(f"{where}: docs/runbooks.md has no section '## {name}'")
for unused in sections - {a.lower() for a in alerts}:
    problems.append(f"docs/runbooks.md: section {unused} belongs to no alert")

fires, quiet = set(), set()
for path in sorted((ROOT / "alerts").glob("*.test.yml")):
    for test in yaml.safe_load(path.read_text())["tests"]:
        for t in test.get("alert_rule_test", []):
            (fires if t.get("exp_alerts") else quiet).add(t["alertname"])
for name in sorted(alerts):
    if name not in fires:
        problems.append(f"tests: no promtool test expects {name} to fire")
    if name not in quiet:
        problems.append(f"tests: no promtool test expects {name} not to fire")

# ---------------------------------------------------------------------------- dashboards
uids = {}
for path in sorted((ROOT / "dashboards").glob("*.json")):
    d = json.loads(path.read_text())
    where = path.name
    if d.get("uid") in uids:
        problems.append(f"{where}: uid {d.get('uid')} also used by {uids[d['uid']]}")
    uids[d.get("uid")] = where
    if not d.get("uid") or d.get("id") is not None:
        problems.append(f"{where}: needs a fixed uid and id null")
    if [i.get("name") for i in d.get("__inputs", [])] != ["DS_PROMETHEUS"]:
        problems.append(f"{where}: __inputs must be the one datasource input DS_PROMETHEUS")
    variables = {v["name"]: v for v in d.get("templating", {}).get("list", [])}
    if variables.get("datasource", {}).get("type") != "datasource":
        problems.append(f"{where}: no datasource template variable")
    for v in ("job", "instance"):
        if v not in variables:
            problems.append(f"{where}: no {v} variable")
    if not any(link.get("tags") == ["pgstack"] for link in d.get("links", [])):
        problems.append(f"{where}: no links to the other pgstack dashboards")
    for p in d.get("panels", []):
        if p.get("type") == "row":
            continue
        title = p.get("title") or "(untitled)"
        if p.get("datasource") != {"type": "prometheus", "uid": "${datasource}"}:
            problems.append(f"{where}: panel {title}: datasource must be ${{datasource}}")
        if not p.get("title") or not p.get("description") or "gridPos" not in p:
            problems.append(f"{where}: panel {title}: needs title, description and gridPos")
        if not p.get("fieldConfig", {}).get("defaults", {}).get("unit"):
            problems.append(f"{where}: panel {title}: no unit")
        for t in p.get("targets", []):
            if not t.get("expr") or "legendFormat" not in t:
                problems.append(f"{where}: panel {title}: a target lacks expr or legendFormat")
            if t.get("datasource") != p.get("datasource"):
                problems.append(f"{where}: panel {title}: target datasource differs from the panel's")
            for m in metric_names(t.get("expr", "")) - documented:
                problems.append(f"{where}: panel {title}: metric {m} is not in docs/metrics.md")
    for v in variables.values():
        if v.get("type") == "query":
            selector = re.sub(r"^label_values\((.*),\s*\w+\)$", r"\1", v.get("definition", ""))
            for m in metric_names(selector) - documented:
                problems.append(f"{where}: variable {v['name']}: metric {m} is not in docs/metrics.md")

if subprocess.run([str(SCRIPTS / "gen-dashboards.py"), "--check"]).returncode != 0:
    problems.append("dashboards/*.json differ from what scripts/gen-dashboards.py writes")

for p in problems:
    print(f"check-monitoring: {p}", file=sys.stderr)
print(f"check-monitoring: {len(alerts)} alerts, {len(uids)} dashboards, {len(problems)} problem(s)", file=sys.stderr)
sys.exit(1 if problems else 0)
