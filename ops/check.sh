#!/usr/bin/env bash
# Validate Switchboard's operations assets.
#
#   ops/check.sh                                   static checks (rules, config, rule unit tests,
#                                                  dashboard, metric names)
#   ops/check.sh http://127.0.0.1:9090/metrics     the same, plus a running gateway's /metrics
#
# Needs promtool (Debian/Ubuntu: `apt-get install -y prometheus`; elsewhere the tarball from
# https://prometheus.io/download/), python3 with PyYAML, and curl for the live check. Installs
# nothing: a missing tool is an error (exit 2), never a skipped check.
# Exit status: 0 all checks passed, 1 a check failed, 2 a tool is missing or bad usage.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/.." || exit 2

ALERTS=ops/prometheus/alerts.yml
ALERT_TESTS=ops/prometheus/alerts_test.yml
PROM_CONFIG=ops/prometheus/prometheus.yml
DASHBOARD=ops/grafana/switchboard.json
METRICS=ops/metrics.txt

if [ $# -gt 1 ] || [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
url="${1:-}"

need() {
    if ! command -v "$1" >/dev/null 2>&1; then
        echo "error: $1 not found on PATH. $2" >&2
        exit 2
    fi
}
need promtool "Install it first: 'apt-get install -y prometheus' on Debian/Ubuntu provides promtool, or take it from the release tarball at https://prometheus.io/download/."
need python3 "python3 is needed for the dashboard and metric-name checks."
if ! python3 -c 'import yaml' >/dev/null 2>&1; then
    echo "error: the PyYAML module is not importable by $(command -v python3). Install it for that python: 'python3 -m pip install pyyaml' (Debian's system python: apt-get install -y python3-yaml)." >&2
    exit 2
fi
if [ -n "$url" ]; then
    need curl "curl is needed to fetch $url."
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

failures=0
step() { printf '\n== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*"; failures=$((failures + 1)); }
run() {
    # run [--as LABEL] CMD...: runs CMD, shows its output indented, records a failure as LABEL
    # (default: the command line).
    local label="" out rc
    if [ "$1" = "--as" ]; then label="$2"; shift 2; fi
    out="$("$@" 2>&1)"
    rc=$?
    [ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/  /'
    if [ $rc -ne 0 ]; then fail "${label:-$*}"; fi
    return $rc
}

echo "promtool: $(promtool --version 2>&1 | head -n1)"

step "promtool check rules $ALERTS"
run promtool check rules "$ALERTS"

step "promtool check config $PROM_CONFIG"
run promtool check config "$PROM_CONFIG"

step "promtool test rules $ALERT_TESTS"
run promtool test rules "$ALERT_TESTS"

step "every alert has rule tests: one where it fires, one where it does not"
run --as "alert rule test coverage" python3 - "$ALERTS" "$ALERT_TESTS" <<'PY'
import sys
import yaml
rules_path, tests_path = sys.argv[1], sys.argv[2]
alerts = [r["alert"] for g in yaml.safe_load(open(rules_path, encoding="utf-8"))["groups"]
          for r in g["rules"] if "alert" in r]
fires, quiet = set(), set()
errors = []
for test in yaml.safe_load(open(tests_path, encoding="utf-8")).get("tests", []):
    for case in test.get("alert_rule_test", []):
        name = case["alertname"]
        if name not in alerts:
            # promtool passes a test of an alert that does not exist when it expects nothing.
            errors.append("test %r names alert %s, which is not in %s" % (test.get("name"), name, rules_path))
        (fires if case.get("exp_alerts") else quiet).add(name)
for name in alerts:
    if name not in fires:
        errors.append("%s: no rule test where it fires" % name)
    if name not in quiet:
        errors.append("%s: no rule test where it does not fire (exp_alerts: [])" % name)
for e in errors:
    print(e)
print("%d alerts, %d with a firing test, %d with a quiet test" % (len(alerts), len(fires & set(alerts)), len(quiet & set(alerts))))
sys.exit(1 if errors or not alerts else 0)
PY

step "alert rule conventions (for, severity, annotations, README runbook entry)"
run --as "alert rule conventions" python3 - "$ALERTS" ops/README.md <<'PY'
import re, sys
import yaml
rules_path, readme_path = sys.argv[1], sys.argv[2]
readme = open(readme_path, encoding="utf-8").read()
headings = set(re.findall(r"^#{2,6} (Switchboard\w+)\s*$", readme, re.M))
errors, n = [], 0
for group in yaml.safe_load(open(rules_path, encoding="utf-8"))["groups"]:
    for r in group["rules"]:
        if "alert" not in r:
            continue
        n += 1
        name = r["alert"]
        if "for" not in r:
            errors.append("%s: no for:" % name)
        if r.get("labels", {}).get("severity") not in ("critical", "warning", "info"):
            errors.append("%s: severity must be critical, warning or info" % name)
        ann = r.get("annotations", {})
        for key in ("summary", "description", "runbook"):
            if not str(ann.get(key, "")).strip():
                errors.append("%s: no %s annotation" % (name, key))
        if "#" + name.lower() not in ann.get("runbook", ""):
            errors.append("%s: runbook annotation should link ops/README.md#%s" % (name, name.lower()))
        if name not in headings:
            errors.append("%s: no runbook heading in %s" % (name, readme_path))
for e in errors:
    print(e)
print("%d alerts checked" % n)
sys.exit(1 if errors else 0)
PY

step "python3 -m json.tool $DASHBOARD"
if run python3 -m json.tool "$DASHBOARD" /dev/null; then
    echo "  valid JSON"

    step "dashboard structure and PromQL syntax"
    # Structure: unique panel ids, every query on the ${DS_PROMETHEUS} data source, the template
    # variables exist, panels do not overlap. Then every query, with Grafana variables replaced by
    # plain values, goes into a throwaway recording-rules file for `promtool check rules`.
    if run --as "dashboard structure" python3 - "$DASHBOARD" "$tmp/dashboard_rules.yml" <<'PY'
import json, re, sys

path, rules_out = sys.argv[1], sys.argv[2]
d = json.load(open(path, encoding="utf-8"))
errors = []
DS_UID = "${DS_PROMETHEUS}"

def flat(panels):
    for p in panels:
        yield p
        yield from flat(p.get("panels", []))

panels = list(flat(d.get("panels", [])))
ids = [p.get("id") for p in panels]
dups = sorted({i for i in ids if ids.count(i) > 1}, key=str)
if dups:
    errors.append("duplicate panel ids: %s" % dups)
if d.get("schemaVersion", 0) < 36:
    errors.append("schemaVersion %s is older than 36" % d.get("schemaVersion"))

variables = {v["name"]: v for v in d.get("templating", {}).get("list", [])}
for name in ("DS_PROMETHEUS", "tenant", "queue"):
    if name not in variables:
        errors.append("template variable %r missing" % name)
if variables.get("DS_PROMETHEUS", {}).get("type") != "datasource":
    errors.append("DS_PROMETHEUS must be a datasource variable")
for name in ("tenant", "queue"):
    if name not in variables:
        continue
    q = variables[name].get("query", "")
    q = q.get("query", "") if isinstance(q, dict) else q
    if not q.startswith("label_values("):
        errors.append("variable %s should come from label_values(...), got %r" % (name, q))

exprs = []
cells = {}
for p in panels:
    title = p.get("title", "?")
    if p.get("type") == "row":
        continue
    if p.get("datasource", {}).get("uid") != DS_UID:
        errors.append("panel %r: datasource uid is not %s" % (title, DS_UID))
    g = p.get("gridPos", {})
    for x in range(g.get("x", 0), g.get("x", 0) + g.get("w", 0)):
        for y in range(g.get("y", 0), g.get("y", 0) + g.get("h", 0)):
            if (x, y) in cells:
                errors.append("panels %r and %r overlap" % (cells[(x, y)], title))
                break
            cells[(x, y)] = title
        else:
            continue
        break
    targets = p.get("targets", [])
    if not targets:
        errors.append("panel %r has no queries" % title)
    for t in targets:
        if t.get("datasource", {}).get("uid") != DS_UID:
            errors.append("panel %r query %s: datasource uid is not %s" % (title, t.get("refId"), DS_UID))
        if not t.get("expr", "").strip():
            errors.append("panel %r query %s: empty expr" % (title, t.get("refId")))
        else:
            exprs.append(("%s / %s" % (title, t.get("refId")), t["expr"]))
for a in d.get("annotations", {}).get("list", []):
    if a.get("expr"):
        exprs.append(("annotation %s" % a.get("name"), a["expr"]))

def substitute(expr):
    e = re.sub(r"\$\{?(__rate_interval|__interval|__range)\}?", "5m", expr)
    # Template variables ($tenant, ${queue}); `$1` in label_replace is left alone.
    return re.sub(r"\$\{?([A-Za-z_]\w*)\}?", ".*", e)

with open(rules_out, "w", encoding="utf-8") as f:
    f.write("groups:\n  - name: dashboard-queries\n    rules:\n")
    for i, (where, e) in enumerate(exprs):
        f.write("      # %s\n      - record: dashboard:query_%d\n        expr: %s\n"
                % (where.replace("\n", " "), i, json.dumps(substitute(e), ensure_ascii=False)))

for e in errors:
    print(e)
print("%d panels, %d queries extracted" % (len(panels), len(exprs)))
sys.exit(1 if errors else 0)
PY
    then
        if out="$(promtool check rules "$tmp/dashboard_rules.yml" 2>&1)"; then
            echo "  every dashboard query parses (promtool check rules on the extracted queries)"
        else
            printf '%s\n' "$out" | sed 's/^/  /'
            # Map the failing rule names back to panels (the comment above each rule names it).
            for rule in $(printf '%s\n' "$out" | grep -o 'dashboard:query_[0-9]*' | sort -u); do
                panel="$(grep -B1 "record: $rule\$" "$tmp/dashboard_rules.yml" | sed -n 's/^ *# //p')"
                echo "  $rule is panel query: $panel"
            done
            fail "dashboard queries do not parse"
        fi
    fi
fi

step "metric names used in alerts, rule tests and dashboard are in $METRICS"
if [ ! -s "$METRICS" ]; then
    fail "$METRICS is missing or empty"
else
    known="$tmp/known"
    grep -v '^[[:space:]]*\(#\|$\)' "$METRICS" | sed 's/[[:space:]]*$//' | sort -u > "$known"
    bad_lines="$(grep -v -n -x 'switchboard_[a-z_]*' "$known" || true)"
    [ -n "$bad_lines" ] && fail "malformed names in $METRICS: $bad_lines"
    used="$tmp/used"
    for f in "$ALERTS" "$ALERT_TESTS" "$DASHBOARD"; do
        grep -o 'switchboard_[a-z_]\+' "$f" | sed -E 's/_(bucket|sum|count)$//' | sed "s|^|$f |"
    done | sort -u > "$used"
    unknown="$(awk 'NR==FNR { k[$1]=1; next } !($2 in k) { print "  " $1 ": " $2 }' "$known" "$used")"
    if [ -n "$unknown" ]; then
        printf '%s\n' "$unknown"
        fail "names above are not in $METRICS"
    else
        echo "  $(cut -d' ' -f2 "$used" | sort -u | wc -l) distinct names referenced, all listed"
    fi
    unused="$(cut -d' ' -f2 "$used" | sort -u | comm -23 "$known" -)"
    [ -n "$unused" ] && printf '  note: listed but not referenced anywhere: %s\n' "$(echo $unused)"
fi

if [ -n "$url" ]; then
    step "live: curl $url"
    if curl -fsS --max-time 10 -o "$tmp/live.txt" "$url"; then
        echo "  fetched $(wc -l < "$tmp/live.txt") lines"

        step "live: promtool check metrics"
        run promtool check metrics < "$tmp/live.txt" && echo "  no lint problems"

        step "live: every name in $METRICS is exported"
        # Families from `# TYPE` lines (an OpenMetrics counter family `x` is exported as `x_total`),
        # and sample names with histogram/summary suffixes removed.
        { awk '$1 == "#" && $2 == "TYPE" { n = $3; if ($4 == "counter" && n !~ /_total$/) n = n "_total"; print n }' "$tmp/live.txt"
          grep -v '^#' "$tmp/live.txt" | sed -E 's/[{ ].*//; s/_(bucket|sum|count)$//'
        } | grep '^switchboard_' | sort -u > "$tmp/live_names"
        missing=0
        while read -r name; do
            if ! grep -qx "$name" "$tmp/live_names"; then
                echo "  missing: $name"
                missing=$((missing + 1))
            fi
        done < "$known"
        if [ $missing -gt 0 ]; then
            fail "$missing metric(s) from $METRICS not exported by $url (label sets must be initialised at startup so they appear before the first event)"
        else
            echo "  all required names present"
        fi
        extra="$(comm -13 "$known" "$tmp/live_names")"
        [ -n "$extra" ] && printf '  note: exported but not in %s (document them): %s\n' "$METRICS" "$(echo $extra)"
    else
        fail "could not fetch $url"
    fi
fi

echo
if [ $failures -eq 0 ]; then
    echo "ops/check.sh: all checks passed"
    exit 0
fi
echo "ops/check.sh: $failures check(s) failed"
exit 1
