#!/usr/bin/env bash
# The report's HTML page in real headless Chromium (Debian's package): it loads from file:// with
# no console error, its script renders every instance row and sorts the instance table by version
# (descending, asked for with #sort=instances:version:desc), and a screenshot is kept in
# tests/artifacts/ (git-ignored) as the test's artefact.
# usage: browser.sh PAGE EXPECTED_INSTANCE_ROWS
set -euo pipefail
page=$(realpath "$1") rows=$2
chromium=$(command -v chromium || true)
if [ -z "$chromium" ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "SKIPPED the browser test: no chromium and no apt-get to install it" >&2
    exit 0
  fi
  echo "chromium is not installed: make browser (part of make test) installs it" >&2
  exit 1
fi
profile=$(mktemp -d) out=$(mktemp -d)
trap 'rm -rf "$profile" "$out"' EXIT
artifacts=tests/artifacts
mkdir -p "$artifacts"
flags=(--headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update
  --disable-sync --no-first-run --user-data-dir="$profile" --enable-logging=stderr --v=0)
url="file://$page#sort=instances:version:desc"
timeout 120 "$chromium" "${flags[@]}" --dump-dom "$url" >"$out/dom.html" 2>"$out/console.log"
if grep -E 'Uncaught|:ERROR:CONSOLE|CONSOLE\(.*\).*(Error|Refused)' "$out/console.log"; then
  echo "the page logged errors in Chromium's console" >&2
  exit 1
fi
python3 - "$out/dom.html" "$rows" <<'PY'
import re, sys
dom = open(sys.argv[1]).read()
expected = int(sys.argv[2])
assert 'data-rendered="true"' in dom, "the page's script did not finish rendering"
table = re.search(r'<table id="instances"[^>]*data-sorted="version:desc"[^>]*>(.*?)</table>', dom, re.S)
assert table, "the instance table was not sorted by version on load"
body = re.search(r"<tbody>(.*?)</tbody>", table.group(1), re.S).group(1)
rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
assert len(rows) == expected, f"{len(rows)} instance rows rendered, expected {expected}"
versions = [re.findall(r"<td>(.*?)</td>", r)[4] for r in rows]
key = lambda v: [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", v)]
assert versions == sorted(versions, key=key, reverse=True), f"not sorted by version: {versions}"
assert dom.count('class="bar"') >= 1, "no version bar chart"
print(f"chromium rendered {len(rows)} instance rows sorted by version, no console error")
PY
timeout 120 "$chromium" "${flags[@]}" --screenshot="$artifacts/compliance-report.png" --window-size=1280,900 \
  "file://$page" 2>"$out/shot.log" >/dev/null
[ -s "$artifacts/compliance-report.png" ] || { echo "no screenshot taken" >&2; cat "$out/shot.log" >&2; exit 1; }
echo "screenshot: $artifacts/compliance-report.png"
