#!/usr/bin/env bash
# The backlog's figures (called by `bench/run.sh queue`, or run alone):
#
#   orch next             over 10,000 tasks with dependencies (target: median < 50 ms)
#   orch next --explain   the same, every candidate and exclusion explained
#   orch task list        over 10,000 tasks (target: median < 100 ms)
#   claims                4 processes claiming 1,000 tasks with `orch next --claim`
#                         at once: claims per second, and double claims (must be 0)
#   workers               4 `orch worker`s over 400 one-gate tasks: tasks per second
#
# The claim and worker parts are bench/queue_lib.sh's, shared with queue_pg.sh.
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

. "$root/bench/queue_lib.sh"

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
independent "$repo"
echo "== 4 processes, \`orch next --claim\` over 1,000 tasks"
claims 4 "files:" "$repo" ""
echo "claim files: $(find "$repo/.git/orch/queue/claims" -name '*.json' ! -name '*.released.json' | wc -l)"

echo "== 4 \`orch worker\` processes, 400 one-gate tasks (agent \`true\`)"
worker_repo "$work/queue-workers"
workers 4 "files:" "$work/queue-workers" ""
