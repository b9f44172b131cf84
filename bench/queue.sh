#!/usr/bin/env bash
# The backlog's figures (called by `bench/run.sh queue`, or run alone):
#
#   orch next             over 10,000 tasks with dependencies (target: median < 50 ms)
#   orch next --explain   the same, every candidate and exclusion explained
#   orch task list        over 10,000 tasks (target: median < 100 ms)
#   claims                4 processes claiming 1,000 tasks with `orch next --claim`
#                         at once: claims per second, and double claims (must be 0)
#
# Needs: cargo, git, python3, hyperfine. Scratch data goes to $BENCH_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
[ -n "${ORCH_BIN:-}" ] || cargo build --release --quiet
orch=${ORCH_BIN:-$root/target/release/orch}
work=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$work"
export NO_COLOR=1 ORCH_NOW=2026-03-10T12:00:00Z TZ=UTC

new_repo() {
    rm -rf "$1" && mkdir -p "$1" && git -C "$1" init -q
}

median() { # hyperfine JSON export -> "median … ms (mean, min, max, runs)"
    python3 - "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
ms = lambda v: f"{v * 1000:.1f}"
print(f"median {ms(r['median'])} ms (mean {ms(r['mean'])}, min {ms(r['min'])}, max {ms(r['max'])}, runs {len(r['times'])})")
PY
}

repo=$work/queue-10k
new_repo "$repo"
python3 "$root/bench/make_tasks.py" "$repo" 10000
counts=$("$orch" -C "$repo" task list --json | python3 -c 'import json,sys,collections; print(dict(collections.Counter(t["status"] for t in json.load(sys.stdin))))')
echo "== 10,000 tasks: $counts"
hyperfine -N --warmup 3 --runs 30 --export-json "$work/next.json" "$orch -C $repo next" >/dev/null
echo "orch next:            $(median "$work/next.json")"
hyperfine -N --warmup 3 --runs 20 --export-json "$work/explain.json" "$orch -C $repo next --explain" >/dev/null
echo "orch next --explain:  $(median "$work/explain.json")"
hyperfine -N --warmup 3 --runs 20 --export-json "$work/list.json" "$orch -C $repo task list" >/dev/null
echo "orch task list:       $(median "$work/list.json")"

repo=$work/queue-claims
new_repo "$repo"
python3 "$root/bench/make_tasks.py" "$repo" 1000
# Every task open and independent: 1,000 claims to make.
rm -rf "$repo/orchestration/tasks/events"
python3 - "$repo" <<'PY'
import json, os, sys
root = os.path.join(sys.argv[1], "orchestration", "tasks")
for t in os.listdir(root):
    p = os.path.join(root, t)
    d = json.load(open(p))
    d.pop("depends_on", None)
    json.dump(d, open(p, "w"), indent=2)
PY
start=$(date +%s.%N)
for w in 1 2 3 4; do
    (while "$orch" -C "$repo" next --claim --worker "w$w" 2>/dev/null | head -1 >>"$work/claimed-$w"; do :; done) &
done
wait
end=$(date +%s.%N)
cat "$work"/claimed-* | grep -c . >"$work/claims.txt" || true
total=$(cat "$work/claims.txt")
unique=$(cat "$work"/claimed-* | grep . | sort -u | wc -l)
fences=$(find "$repo/.git/orch/queue/claims" -name '*.json' ! -name '*.released.json' | wc -l)
python3 - "$start" "$end" "$total" "$unique" "$fences" <<'PY'
import sys
start, end, total, unique, fences = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
print(f"== 4 processes, \`orch next --claim\` over 1,000 tasks")
print(f"claims: {total} in {end - start:.2f} s = {total / (end - start):.0f} claims/s; "
      f"distinct tasks {unique}; claim files {fences}; double claims {total - unique}")
PY
rm -f "$work"/claimed-*

repo=$work/queue-workers
new_repo "$repo"
mkdir -p "$repo/orchestration/workflows" "$repo/orchestration/gates/contracts"
cat >"$repo/orchestration/workflows/noop.json" <<'JSON'
{"workflow": "noop", "default_artifact_path": "out/{slug}", "gates": [{"gate": "N1", "name": "Nothing to check", "executor": {"command": ["true"]}}]}
JSON
cat >"$repo/orchestration/gates/contracts/N1.contract.json" <<'JSON'
{"gate": "N1", "required_outputs": {"all_of": []}, "validations": []}
JSON
python3 "$root/bench/make_tasks.py" "$repo" 400 noop
rm -rf "$repo/orchestration/tasks/events"
python3 - "$repo" <<'PY'
import json, os, sys
root = os.path.join(sys.argv[1], "orchestration", "tasks")
for t in os.listdir(root):
    p = os.path.join(root, t)
    if p.endswith(".json"):
        d = json.load(open(p))
        d.pop("depends_on", None)
        json.dump(d, open(p, "w"), indent=2)
PY
start=$(date +%s.%N)
for w in 1 2 3 4; do
    ORCH_POLL_INTERVAL=0.05 "$orch" -C "$repo" worker --id "w$w" --exit-when-empty --json >"$work/worker-$w.jsonl" 2>/dev/null &
done
wait
end=$(date +%s.%N)
python3 - "$start" "$end" "$work"/worker-*.jsonl <<'PY'
import collections, json, sys
start, end = float(sys.argv[1]), float(sys.argv[2])
claims = collections.Counter()
done = 0
for path in sys.argv[3:]:
    for line in open(path):
        e = json.loads(line)
        if e["event"] == "claimed":
            claims[e["task"]] += 1
        if e["event"] == "finished" and e.get("status") == "DONE":
            done += 1
total = sum(claims.values())
print(f"== 4 \`orch worker\` processes, 400 one-gate tasks (agent \`true\`)")
print(f"claims: {total} in {end - start:.2f} s = {total / (end - start):.0f} claims/s "
      f"(claim, run, record); tasks DONE {done}; double claims {total - len(claims)}")
PY
