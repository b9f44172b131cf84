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

. "$root/bench/queue_lib.sh"

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
repo=$work/claims-files
new_repo "$repo"
python3 "$root/bench/make_tasks.py" "$repo" 1000
independent "$repo"
echo "== 8 processes, \`orch next --claim\` over 1,000 tasks"
claims 8 "files:" "$repo" ""
url=$(newdb claims)
"$orch" -C "$repo" queue import --queue "$url" >/dev/null
claims 8 "PostgreSQL:" "$repo" "$url"

# Workers: 8 `orch worker` processes over 400 one-gate tasks.
echo "== 8 \`orch worker\` processes, 400 one-gate tasks (agent \`true\`)"
worker_repo "$work/workers-files"
workers 8 "files:" "$work/workers-files" ""
worker_repo "$work/workers-pg"
url=$(newdb workers)
"$orch" -C "$work/workers-pg" queue import --queue "$url" >/dev/null
workers 8 "PostgreSQL:" "$work/workers-pg" "$url"
