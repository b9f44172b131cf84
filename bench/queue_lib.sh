# Shared by bench/queue.sh (files) and bench/queue_pg.sh (PostgreSQL beside
# files): sourced, with $root, $orch and $work set.

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

independent() { # drop every dependency and event: every task open and claimable
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

claims() { # processes, label, repo, queue URL or "": `orch next --claim` until nothing is left
    local n=$1 label=$2 repo=$3 url=$4 w start end total unique
    rm -f "$work"/claimed-*
    start=$(date +%s.%N)
    for w in $(seq "$n"); do
        (while ORCH_QUEUE_URL=$url "$orch" -C "$repo" next --claim --worker "w$w" 2>/dev/null | head -1 >>"$work/claimed-$w"; do :; done) &
    done
    wait
    end=$(date +%s.%N)
    total=$(cat "$work"/claimed-* | grep -c . || true)
    unique=$(cat "$work"/claimed-* | grep . | sort -u | wc -l)
    python3 -c "
import sys
s, e, t, u = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
print(f'{sys.argv[5]:<11} {t} claims in {e - s:.2f} s = {t / (e - s):.0f} claims/s; double claims {t - u}')
" "$start" "$end" "$total" "$unique" "$label"
    rm -f "$work"/claimed-*
}

worker_repo() { # a repository of 400 independent one-gate tasks (agent `true`)
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

workers() { # processes, label, repo, queue URL or "": `orch worker`s until nothing is left
    local n=$1 label=$2 repo=$3 url=$4 w start end
    rm -f "$work"/worker-*.jsonl
    start=$(date +%s.%N)
    for w in $(seq "$n"); do
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
