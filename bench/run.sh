#!/usr/bin/env bash
# orch's performance figures, measured on this machine.
#
#   bench/run.sh            everything
#   bench/run.sh startup    `orch --version`
#   bench/run.sh list       `orch run list` over 100, 1,000 and 10,000 runs
#   bench/run.sh hash       `orch gate finish` hashing 1 GiB in 1,000 files,
#                           against `openssl dgst -sha256` over the same files
#   bench/run.sh pipeline   `orch run` of 20 gates, an agent that exits at once,
#                           ten checks per gate on small files
#   bench/run.sh verify     `orch verify --all` over 1,000 runs with 10 small
#                           recorded artifacts each (cold and with the stat
#                           cache), and over 1 GiB of recorded artifacts
#   bench/run.sh queue      `orch next` and `orch task list` over 10,000 tasks, and
#                           claims per second with 4 claimers (bench/queue.sh)
#   bench/run.sh pg         the queue on PostgreSQL beside files: `orch next` over
#                           100,000 tasks, claims per second with 8 processes
#                           (bench/queue_pg.sh; needs initdb and pg_ctl)
#
# Needs: cargo, git, python3, hyperfine (apt-get install hyperfine), openssl,
# GNU time (/usr/bin/time). Scratch data goes to $BENCH_DIR (default: a temp dir).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
cargo build --release --quiet
orch=$root/target/release/orch
work=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$work"
echo "scratch: $work"
export NO_COLOR=1

new_repo() {
    rm -rf "$1" && mkdir -p "$1" && git -C "$1" init -q
    git -C "$1" config user.name bench && git -C "$1" config user.email bench@example.com
}

median_ms() { # hyperfine JSON export -> "median … ms (mean, min, max, runs)"
    python3 - "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
ms = lambda v: f"{v * 1000:.2f}"
print(f"{ms(r['median'])} ms (mean {ms(r['mean'])}, min {ms(r['min'])}, max {ms(r['max'])}, runs {len(r['times'])})")
PY
}

startup() {
    echo "== orch --version"
    hyperfine -N --warmup 50 --runs 500 --export-json "$work/startup.json" "$orch --version" >/dev/null
    echo "median $(median_ms "$work/startup.json")"
}

template_run() { # a real record made by orch: 3 gates, 4 attempts, validations, invocations
    local repo=$work/template
    new_repo "$repo"
    for d in orchestration/workflows orchestration/gates/contracts orchestration/prompts skills; do
        mkdir -p "$repo/$d" && cp -r "$root/$d/." "$repo/$d/"
    done
    (
        cd "$repo"
        run=$("$orch" run start --workflow visual-essay --slug template 2>/dev/null)
        "$orch" gate start --run "$run" --gate G1 --agent intake-editor >/dev/null 2>&1
        "$orch" gate finish --run "$run" --gate G1 >/dev/null || true
        mkdir -p essays/template && cp "$root/examples/the-word-robot/INTAKE.md" essays/template/
        cp -r "$root/examples/the-word-robot/research" essays/template/
        cp "$root/examples/the-word-robot/SPEC.md" essays/template/
        for g in G1 G2 G3; do
            "$orch" gate start --run "$run" --gate $g --agent agent-$g >/dev/null 2>&1
            "$orch" invocation record --run "$run" --gate $g --agent agent-$g >/dev/null 2>&1
            "$orch" gate finish --run "$run" --gate $g >/dev/null
        done
        "$orch" run complete --run "$run" >/dev/null
        echo "$repo/orchestration/runs/$run"
    )
}

list() {
    local template
    template=$(template_run)
    echo "== orch run list (record: $(wc -c <"$template/record/RUN.json") bytes, 3 gates, 4 attempts)"
    for n in 100 1000 10000; do
        local repo=$work/list-$n
        new_repo "$repo"
        python3 "$root/bench/clone_runs.py" "$template" "$repo/orchestration/runs" "$n"
        local runs=5
        [ "$n" -le 1000 ] && runs=30
        hyperfine -N --warmup 3 --runs $runs --export-json "$work/list-$n.json" "$orch -C $repo run list" >/dev/null
        echo "$n runs: median $(median_ms "$work/list-$n.json")"
    done
}

hash() {
    local repo=$work/hash
    new_repo "$repo"
    mkdir -p "$repo/orchestration/workflows" "$repo/orchestration/gates/contracts" "$repo/data"
    cat >"$repo/orchestration/workflows/bench.json" <<'JSON'
{"workflow": "bench", "default_artifact_path": "data", "gates": [{"gate": "H1", "name": "Hash everything"}]}
JSON
    cat >"$repo/orchestration/gates/contracts/H1.contract.json" <<'JSON'
{"gate": "H1", "required_outputs": {"all_of": [{"path": "{artifact_path}"}]},
 "validations": [{"type": "min_file_count", "target": "{artifact_path}", "pattern": "*.bin", "thresholds": {"standard": 1000}}]}
JSON
    echo "== generating 1,000 files x 1 MiB"
    python3 - "$repo/data" <<'PY'
import os, sys
d = sys.argv[1]
block = os.urandom(1 << 20)
for i in range(1000):
    with open(os.path.join(d, f"f{i:04d}.bin"), "wb") as f:
        f.write(block[i:] + block[:i])
PY
    cd "$repo"
    export ORCH_NOW=2026-01-01T00:00:00Z ORCH_SEED=bench
    # ORCH_NOW and ORCH_SEED make the run id the same every time: learn it once.
    local run prepare
    run=$("$orch" run start --workflow bench --slug bench 2>/dev/null)
    prepare="rm -rf orchestration/runs && $orch run start --workflow bench --slug bench >/dev/null 2>&1 && $orch gate start --run $run --gate H1 --agent a >/dev/null 2>&1"
    cat data/* >/dev/null # warm the page cache for both contenders
    echo "== orch gate finish (hash 1 GiB, 1,000 files) vs openssl dgst -sha256, one file after another"
    hyperfine --warmup 1 --runs 10 --export-json "$work/hash.json" \
        --prepare "$prepare" "$orch gate finish --run $run --gate H1" \
        --prepare "true" "ls data/*.bin | xargs openssl dgst -sha256 >/dev/null" >/dev/null
    python3 - "$work/hash.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
gib = 1.0
o, s = r[0]["median"], r[1]["median"]
print(f"orch gate finish: median {o*1000:.0f} ms = {gib/o:.2f} GiB/s")
print(f"openssl dgst:     median {s*1000:.0f} ms = {gib/s:.2f} GiB/s")
print(f"speed-up: {s/o:.2f}x")
PY
    eval "$prepare"
    /usr/bin/time -v "$orch" gate finish --run "$run" --gate H1 2>"$work/time.txt" >/dev/null
    echo "peak memory (gate finish): $(grep 'Maximum resident' "$work/time.txt" | awk '{print $6}') KiB"
    unset ORCH_NOW ORCH_SEED
    cd "$root"
}

pipeline() {
    local repo=$work/pipeline
    new_repo "$repo"
    python3 - "$repo" <<'PY'
import json, os, sys
repo = sys.argv[1]
os.makedirs(f"{repo}/orchestration/workflows")
os.makedirs(f"{repo}/orchestration/gates/contracts")
gates = []
for i in range(1, 21):
    g = f"P{i:02d}"
    gates.append({"gate": g, "name": f"Gate {i}", "agent": "noop"})
    d = f"{repo}/out/{g}"
    os.makedirs(d)
    for name in ("REPORT.md", "SOURCES.md"):
        with open(f"{d}/{name}", "w") as f:
            f.write("---\nstatus: PASS\nscore: 9\n---\n## Summary\n## Findings\n" + "".join(f"### Source {k}\n- **URL**: https://example.org/{k}\n" for k in range(10)))
    target = "{artifact_path}/" + g
    contract = {"gate": g, "required_outputs": {"all_of": [{"path": f"{target}/REPORT.md"}], "any_of": [{"path": f"{target}/SOURCES.md"}]},
        "validations": [
            {"type": "file_exists", "target": "all_required"},
            {"type": "file_exists", "target": "any_of"},
            {"type": "dir_exists", "target": target},
            {"type": "min_file_count", "target": target, "pattern": "*.md", "thresholds": {"quick": 1, "standard": 2, "deep": 2}},
            {"type": "min_sources", "target": f"{target}/SOURCES.md", "thresholds": {"quick": 3, "standard": 5, "deep": 8}},
            {"type": "contains_headings", "target": f"{target}/REPORT.md", "required_headings": ["## Summary", "## Findings"]},
            {"type": "contains_text", "target": f"{target}/REPORT.md", "patterns": ["Source 1"]},
            {"type": "not_contains", "target": f"{target}/REPORT.md", "pattern": "[DRAFT]"},
            {"type": "regex_match", "target": f"{target}/REPORT.md", "regex": "(?i)lorem ipsum", "must_not_match": True},
            {"type": "frontmatter_status", "target": f"{target}/REPORT.md", "checks": {"status": "PASS", "score": {"min": 8}}}]}
    with open(f"{repo}/orchestration/gates/contracts/{g}.contract.json", "w") as f:
        json.dump(contract, f, indent=2)
with open(f"{repo}/orchestration/workflows/bench.json", "w") as f:
    json.dump({"workflow": "bench", "default_artifact_path": "out", "gates": gates}, f, indent=2)
PY
    cd "$repo"
    echo "== orch run: 20 gates, agent \`true\`, 10 checks per gate"
    hyperfine -N --warmup 2 --runs 20 --export-json "$work/pipeline.json" \
        "$orch run bench --slug b --agent-cmd true" >/dev/null
    echo "whole run: median $(median_ms "$work/pipeline.json")"
    python3 - orchestration/runs <<'PY'
import json, os, statistics, sys
from datetime import datetime
deltas = []
for run in os.listdir(sys.argv[1]):
    events = json.load(open(os.path.join(sys.argv[1], run, "record", "RUN.json")))["events"]
    starts = [datetime.fromisoformat(e["timestamp"].replace("Z", "+00:00")) for e in events if e["type"] == "GATE_STARTED"]
    starts.append(datetime.fromisoformat(events[-1]["timestamp"].replace("Z", "+00:00")))
    deltas += [(b - a).total_seconds() * 1000 for a, b in zip(starts, starts[1:])]
print(f"per gate (gate start to next gate start, {len(deltas)} gates): median {statistics.median(deltas):.2f} ms, "
      f"p90 {sorted(deltas)[int(len(deltas) * 0.9)]:.2f} ms, max {max(deltas):.2f} ms")
PY
    cd "$root"
}

verify() {
    local repo=$work/verify
    new_repo "$repo"
    mkdir -p "$repo/orchestration/workflows" "$repo/orchestration/gates/contracts" "$repo/out/template"
    cat >"$repo/orchestration/workflows/bench.json" <<'JSON'
{"workflow": "bench", "default_artifact_path": "out/template", "gates": [{"gate": "V1", "name": "Ten outputs"}]}
JSON
    cat >"$repo/orchestration/gates/contracts/V1.contract.json" <<'JSON'
{"gate": "V1", "required_outputs": {"all_of": [{"path": "{artifact_path}"}]},
 "validations": [{"type": "min_file_count", "target": "{artifact_path}", "pattern": "*.md", "thresholds": {"quick": 10, "standard": 10, "deep": 10}},
                 {"type": "contains_text", "target": "{artifact_path}/f0.md", "patterns": ["output"]}]}
JSON
    for i in 0 1 2 3 4 5 6 7 8 9; do printf '# output %s\n%s\n' "$i" "$(head -c 2000 /dev/zero | tr '\0' x)" >"$repo/out/template/f$i.md"; done
    (cd "$repo" && "$orch" run bench --slug template --agent-cmd true >/dev/null 2>&1)
    local template
    template=$(ls -d "$repo"/orchestration/runs/*)
    local runs=$work/verify-runs
    rm -rf "$runs" && mkdir -p "$runs"
    mv "$template" "$runs/"
    python3 "$root/bench/clone_runs.py" "$runs/$(basename "$template")" "$repo/orchestration/runs" 1000 out/template "$repo"
    echo "== orch verify --all: 1,000 runs x 10 recorded artifacts ($(find "$repo/out" -type f | wc -l) files)"
    (cd "$repo" && hyperfine -N --warmup 1 --runs 10 --export-json "$work/verify-cold.json" "$orch verify --all --no-cache --offline" >/dev/null)
    echo "no cache (every file hashed): median $(median_ms "$work/verify-cold.json")"
    (cd "$repo" && "$orch" verify --all --offline >/dev/null && sleep 1 && "$orch" verify --all --offline >/dev/null)
    (cd "$repo" && hyperfine -N --warmup 1 --runs 10 --export-json "$work/verify-warm.json" "$orch verify --all --offline" >/dev/null)
    echo "with the stat cache:          median $(median_ms "$work/verify-warm.json")"
    if [ -d "$work/hash/orchestration/runs" ]; then
        echo "== orch verify over 1 GiB of recorded artifacts (1,000 x 1 MiB; from bench/run.sh hash)"
        (cd "$work/hash" && cat data/* >/dev/null && hyperfine -N --warmup 1 --runs 5 --export-json "$work/verify-gib.json" "$orch verify --all --no-cache" >/dev/null)
        (cd "$work/hash" && "$orch" verify --all >/dev/null; sleep 1; "$orch" verify --all >/dev/null)
        (cd "$work/hash" && hyperfine -N --warmup 1 --runs 10 --export-json "$work/verify-gib-warm.json" "$orch verify --all" >/dev/null)
        python3 - "$work/verify-gib.json" "$work/verify-gib-warm.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
w = json.load(open(sys.argv[2]))["results"][0]
print(f"no cache: median {r['median']*1000:.0f} ms = {1/r['median']:.2f} GiB/s")
print(f"with the stat cache, unchanged tree: median {w['median']*1000:.1f} ms")
PY
    fi
}

case "${1:-all}" in
    startup) startup ;;
    list) list ;;
    hash) hash ;;
    pipeline) pipeline ;;
    verify) verify ;;
    queue) ORCH_BIN=$orch BENCH_DIR=$work "$root/bench/queue.sh" ;;
    pg) ORCH_BIN=$orch BENCH_DIR=$work "$root/bench/queue_pg.sh" ;;
    all) startup; list; hash; pipeline; verify; ORCH_BIN=$orch BENCH_DIR=$work "$root/bench/queue.sh"
        ORCH_BIN=$orch BENCH_DIR=$work "$root/bench/queue_pg.sh" ;;
    *) echo "usage: bench/run.sh [startup|list|hash|pipeline|verify|queue|pg|all]" >&2; exit 2 ;;
esac
