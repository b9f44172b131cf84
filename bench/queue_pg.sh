#!/usr/bin/env bash
# The queue on PostgreSQL, beside the file queue (called by `bench/run.sh pg`,
# or run alone):
#
#   orch next     over 100,000 tasks in PostgreSQL (target: median < 100 ms),
#                 and over the same tasks in files
#   claims        8 processes at once, PostgreSQL and files side by side:
#                 `orch next --claim` over 1,000 tasks (claims/s, double
#                 claims), and 8 `orch worker`s over 400 one-gate tasks
#                 (claim, run, record: tasks/s)
#
# It starts a throwaway PostgreSQL server (initdb into $BENCH_DIR/pg, a Unix
# socket there, default settings: fsync on) and stops it at the end.
# Needs: PostgreSQL's server binaries (initdb, pg_ctl), cargo, git, python3,
# hyperfine. Scratch data goes to $BENCH_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
[ -n "${ORCH_BIN:-}" ] || cargo build --release --quiet
orch=${ORCH_BIN:-$root/target/release/orch}
work=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$work"
export NO_COLOR=1 ORCH_NOW=2026-03-10T12:00:00Z TZ=UTC
unset ORCH_QUEUE_URL

bin=$(dirname "$(command -v initdb || ls /usr/lib/postgresql/*/bin/initdb | tail -1)")
pg=$work/pg
rm -rf "$pg" && mkdir -p "$pg"
as_pg=()
if [ "$(id -u)" = 0 ]; then # the server will not run as root
    chown postgres "$pg" 2>/dev/null || chown nobody "$pg"
    as_pg=(runuser -u "$(stat -c %U "$pg")" --)
fi
"${as_pg[@]}" "$bin/initdb" -D "$pg/data" -U orch --auth-local=trust --no-sync -E UTF8 >/dev/null
"${as_pg[@]}" "$bin/pg_ctl" -D "$pg/data" -l "$pg/log" -o "-k $pg -c listen_addresses=''" -w start >/dev/null
trap '"${as_pg[@]}" "$bin/pg_ctl" -D "$pg/data" -m fast -w stop >/dev/null' EXIT
socket=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$pg")
newdb() { # a database with orch's schema; its URL
    psql -q -h "$pg" -U orch -d postgres -c "CREATE DATABASE $1" >/dev/null
    local url="postgres://orch@$socket/$1"
    "$orch" queue init --queue "$url" >/dev/null
    echo "$url"
}

median() { # hyperfine JSON export -> "median … ms (mean, min, max, runs)"
    python3 - "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
ms = lambda v: f"{v * 1000:.1f}"
print(f"median {ms(r['median'])} ms (mean {ms(r['mean'])}, min {ms(r['min'])}, max {ms(r['max'])}, runs {len(r['times'])})")
PY
}

new_repo() {
    rm -rf "$1" && mkdir -p "$1" && git -C "$1" init -q
}

independent() { # drop every dependency: every task open and claimable
    rm -rf "$1/orchestration/tasks/events"
    python3 - "$1" <<'PY'
import json, os, sys
root = os.path.join(sys.argv[1], "orchestration", "tasks")
for t in os.listdir(root):
    p = os.path.join(root, t)
    if p.endswith(".json"):
        d = json.load(open(p))
        d.pop("depends_on", None)
        json.dump(d, open(p, "w"), indent=2)
PY
}

# orch next over 100,000 tasks.
repo=$work/pg-100k
new_repo "$repo"
python3 "$root/bench/make_tasks.py" "$repo" 100000
url=$(newdb q100k)
start=$(date +%s.%N)
"$orch" -C "$repo" queue import --queue "$url" >/dev/null
end=$(date +%s.%N)
echo "== 100,000 tasks (40% DONE, half with dependencies, a third with due dates)"
python3 -c "import sys; print(f'orch queue import: {float(sys.argv[2]) - float(sys.argv[1]):.1f} s')" "$start" "$end"
# The import's writes reach the disk before anything is timed.
psql -q -h "$pg" -U orch -d q100k -c CHECKPOINT >/dev/null
hyperfine -N --warmup 3 --runs 30 --export-json "$work/pg-next.json" "$orch -C $repo next --queue $url" >/dev/null
echo "orch next, PostgreSQL: $(median "$work/pg-next.json")"
hyperfine -N --warmup 3 --runs 30 --export-json "$work/file-next.json" "$orch -C $repo next" >/dev/null
echo "orch next, files:      $(median "$work/file-next.json")"

# Claims: 8 processes running `orch next --claim` until nothing is left.
claims() { # label, repo, queue URL or ""
    local label=$1 repo=$2 url=$3 w
    rm -f "$work"/claimed-*
    local start end
    start=$(date +%s.%N)
    for w in 1 2 3 4 5 6 7 8; do
        (while ORCH_QUEUE_URL=$url "$orch" -C "$repo" next --claim --worker "w$w" 2>/dev/null | head -1 >>"$work/claimed-$w"; do :; done) &
    done
    wait
    end=$(date +%s.%N)
    local total unique
    total=$(cat "$work"/claimed-* | grep -c . || true)
    unique=$(cat "$work"/claimed-* | grep . | sort -u | wc -l)
    python3 -c "
import sys
s, e, t, u = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
print(f'{sys.argv[5]:<11} {t} claims in {e - s:.2f} s = {t / (e - s):.0f} claims/s; double claims {t - u}')
" "$start" "$end" "$total" "$unique" "$label"
}
repo=$work/claims-files
new_repo "$repo"
python3 "$root/bench/make_tasks.py" "$repo" 1000
independent "$repo"
echo "== 8 processes, \`orch next --claim\` over 1,000 tasks"
claims "files:" "$repo" ""
url=$(newdb claims)
"$orch" -C "$repo" queue import --queue "$url" >/dev/null
claims "PostgreSQL:" "$repo" "$url"

# Workers: 8 `orch worker` processes over 400 one-gate tasks.
workers() { # label, repo, queue URL or ""
    local label=$1 repo=$2 url=$3 w
    local start end
    start=$(date +%s.%N)
    for w in 1 2 3 4 5 6 7 8; do
        ORCH_QUEUE_URL=$url ORCH_POLL_INTERVAL=0.05 "$orch" -C "$repo" worker --id "w$w" --exit-when-empty --json >"$work/worker-$w.jsonl" 2>/dev/null &
    done
    wait
    end=$(date +%s.%N)
    python3 - "$start" "$end" "$label" "$work"/worker-*.jsonl <<'PY'
import collections, json, sys
start, end, label = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
claims = collections.Counter()
done = 0
for path in sys.argv[4:]:
    for line in open(path):
        e = json.loads(line)
        if e["event"] == "claimed":
            claims[e["task"]] += 1
        if e["event"] == "finished" and e.get("status") == "DONE":
            done += 1
total = sum(claims.values())
print(f"{label:<11} {total} tasks in {end - start:.2f} s = {total / (end - start):.0f} tasks/s "
      f"(claim, run, record); DONE {done}; double claims {total - len(claims)}")
PY
}
worker_repo() {
    new_repo "$1"
    mkdir -p "$1/orchestration/workflows" "$1/orchestration/gates/contracts"
    cat >"$1/orchestration/workflows/noop.json" <<'JSON'
{"workflow": "noop", "default_artifact_path": "out/{slug}", "gates": [{"gate": "N1", "name": "Nothing to check", "executor": {"command": ["true"]}}]}
JSON
    cat >"$1/orchestration/gates/contracts/N1.contract.json" <<'JSON'
{"gate": "N1", "required_outputs": {"all_of": []}, "validations": []}
JSON
    python3 "$root/bench/make_tasks.py" "$1" 400 noop
    independent "$1"
}
echo "== 8 \`orch worker\` processes, 400 one-gate tasks (agent \`true\`)"
worker_repo "$work/workers-files"
workers "files:" "$work/workers-files" ""
worker_repo "$work/workers-pg"
url=$(newdb workers)
"$orch" -C "$work/workers-pg" queue import --queue "$url" >/dev/null
workers "PostgreSQL:" "$work/workers-pg" "$url"
