#!/usr/bin/env bash
# orch's performance figures, measured on this machine.
#
#   bench/run.sh            everything
#   bench/run.sh startup    `orch --version`
#   bench/run.sh list       `orch run list` over 100 … 100,000 runs (3-gate records)
#   bench/run.sh lookup     `orch gate start` + `gate finish` on one run, and
#                           `run show` by prefix, with 100 … 100,000 runs present
#   bench/run.sh hash       `orch gate finish` hashing 1,000 MiB in 1,000 files,
#                           against `openssl dgst -sha256` over the same files
#   bench/run.sh pipeline   `orch run` of 20 gates, an agent that exits at once,
#                           ten checks per gate on small files
#   bench/run.sh fsync      the same run under strace (fsync/fdatasync counted
#                           per gate attempt), and with every fsync made to take
#                           4 ms (an LD_PRELOAD shim built here with gcc)
#   bench/run.sh verify     `orch verify --all` over 100 … 100,000 runs with 10
#                           small recorded artifacts each: time and peak memory,
#                           without the cache and repeated over an unchanged tree
#   bench/run.sh verify20   `orch verify --all` and `orch run list` over
#                           100 … 100,000 runs of 20 gates each: time, peak memory
#   bench/run.sh node       the Node runner it descends from, side by side
#                           (only with NODE_RUNNER=<clone of it>; skipped otherwise)
#   bench/run.sh queue      `orch next` and `orch task list` over 10,000 tasks, and
#                           claims per second with 4 claimers (bench/queue.sh)
#   bench/run.sh pg         the queue on PostgreSQL beside files: `orch next` over
#                           100,000 tasks, claims per second with 8 processes
#                           (bench/queue_pg.sh; needs initdb and pg_ctl)
#
# Environment:
#   BENCH_DIR     scratch folder (default: a new temp dir); generated runs are
#                 kept there and reused by the next invocation
#   BENCH_SCALES  run counts (default "100 1000 10000 100000"); a scale whose
#                 data would not fit on the disk is skipped, saying so
#   ORCH_BIN      the orch binary to measure (default: a release build of this tree)
#   NODE_RUNNER   a clone of EsyResearch/home.esy.com (or its orchestration/runner)
#
# Needs: cargo, git, python3, hyperfine (apt-get install hyperfine), openssl,
# GNU time (/usr/bin/time), strace and gcc (for `fsync`), node (for `node`).
set -euo pipefail
case "${1:-}" in
    -h | --help)
        sed -n '2,/^set -euo/p' "$0" | sed -n 's/^# \{0,1\}//p'
        exit 0
        ;;
esac
cd "$(dirname "$0")/.."
root=$PWD
if [ -n "${ORCH_BIN:-}" ]; then
    orch=$(realpath "$ORCH_BIN")
else
    cargo build --release --quiet
    orch=$root/target/release/orch
fi
work=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$work"
work=$(realpath "$work")
scales=${BENCH_SCALES:-100 1000 10000 100000}
echo "scratch: $work; orch: $orch ($("$orch" --version))"
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

# peak RSS and wall time of one command: "<MB> MB peak RSS, <s> s"
rss() {
    /usr/bin/time -v "$@" >/dev/null 2>"$work/time.txt" || true
    python3 - "$work/time.txt" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", t).group(1)
secs = sum(float(p) * 60 ** i for i, p in enumerate(reversed(wall.split(":"))))
print(f"{kb / 1024:.1f} MiB peak RSS, {secs:.2f} s")
PY
}

runs_for() { # hyperfine runs: fewer for the big scales
    if [ "$1" -le 1000 ]; then echo 20; elif [ "$1" -le 10000 ]; then echo 10; else echo 3; fi
}

# Whether N copies of a run folder (plus its artifacts) fit on the disk,
# keeping 5 GB free; says why not when they do not.
fits() { # fits N BYTES_PER_RUN WHAT
    local need=$(($1 * $2)) free
    free=$(($(df -Pk "$work" | awk 'NR==2 {print $4}') * 1024))
    if [ $((need + 5000000000)) -gt "$free" ]; then
        echo "$3 at $1 runs: skipped, needs about $((need / 1000000)) MB and $((free / 1000000)) MB are free"
        return 1
    fi
}

run_bytes() { du -sb "$1" | cut -f1; }

# A repo with N clones of TEMPLATE_RUN (made once, reused while BENCH_DIR is
# kept). With SRC and DIR, the workflows, contracts and DIR are copied from
# the repo SRC; with "per-run", every clone gets its own copy of DIR.
clone_repo() { # clone_repo REPO TEMPLATE_RUN N [SRC DIR [per-run]]
    local repo=$1 template=$2 n=$3 mark
    mark="$n $(basename "$template") ${5:-} ${6:-}"
    if [ -f "$repo/.bench-runs" ] && [ "$(cat "$repo/.bench-runs")" = "$mark" ]; then
        return
    fi
    new_repo "$repo"
    if [ $# -ge 5 ]; then
        for d in orchestration/workflows orchestration/gates/contracts "$5"; do
            mkdir -p "$repo/$d" && cp -r "$4/$d/." "$repo/$d/"
        done
    fi
    if [ "${6:-}" = per-run ]; then
        python3 "$root/bench/clone_runs.py" "$template" "$repo/orchestration/runs" "$n" "$5" "$repo"
    else
        python3 "$root/bench/clone_runs.py" "$template" "$repo/orchestration/runs" "$n"
    fi
    echo "$mark" >"$repo/.bench-runs"
}

startup() {
    echo "== orch --version"
    hyperfine -N --warmup 50 --runs 500 --export-json "$work/startup.json" "$orch --version" >/dev/null
    echo "median $(median_ms "$work/startup.json")"
}

template_run() { # a real record made by orch: 3 gates, 4 attempts, validations, invocations
    local repo=$work/template
    if [ -d "$repo/orchestration/runs" ]; then
        ls -d "$repo"/orchestration/runs/*
        return
    fi
    new_repo "$repo"
    for d in orchestration/workflows orchestration/gates/contracts orchestration/prompts skills examples/checks; do
        mkdir -p "$repo/$d" && cp -r "$root/$d/." "$repo/$d/"
    done
    cp "$root/orchestration/commands.json" "$repo/orchestration/"
    (
        cd "$repo"
        run=$("$orch" run start --workflow visual-essay --slug template 2>/dev/null)
        "$orch" gate start --run "$run" --gate G1 --agent intake-editor >/dev/null 2>&1
        "$orch" gate finish --run "$run" --gate G1 >/dev/null 2>&1 || true
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
    for n in $scales; do
        fits "$n" "$(run_bytes "$template")" "run list" || continue
        local repo=$work/list-$n
        clone_repo "$repo" "$template" "$n"
        "$orch" -C "$repo" run list >/dev/null 2>&1 || true # a first listing may build a derived index
        hyperfine -N --warmup 2 --runs "$(runs_for "$n")" --export-json "$work/list-$n.json" "$orch -C $repo run list" >/dev/null
        echo "$n runs: median $(median_ms "$work/list-$n.json")"
    done
}

lookup() {
    local template
    template=$(template_run)
    echo "== one run among many: gate start + gate finish (full id), run show (prefix)"
    for n in $scales; do
        fits "$n" "$(run_bytes "$template")" "lookup" || continue
        local repo=$work/list-$n
        clone_repo "$repo" "$template" "$n"
        for d in orchestration/workflows orchestration/gates/contracts orchestration/prompts skills; do
            mkdir -p "$repo/$d" && cp -r "$root/$d/." "$repo/$d/"
        done
        local run prefix
        run=$(cd "$repo" && "$orch" run start --workflow visual-essay --slug lookup 2>/dev/null)
        prefix=${run:0:24}
        (cd "$repo" && hyperfine -N --warmup 3 --runs 30 --export-json "$work/lookup-$n.json" \
            "sh -c '$orch gate start --run $run --gate G1 --agent a >/dev/null 2>&1; $orch gate finish --run $run --gate G1 >/dev/null 2>&1; true'" >/dev/null)
        (cd "$repo" && hyperfine -N --warmup 3 --runs 30 --export-json "$work/lookup-prefix-$n.json" \
            "$orch run show --run $prefix" >/dev/null)
        echo "$n runs: gate start + finish median $(median_ms "$work/lookup-$n.json")"
        echo "$n runs: run show --run <prefix> median $(median_ms "$work/lookup-prefix-$n.json")"
        rm -rf "$repo/orchestration/runs/$run"
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
    echo "== generating 1,000 files x 1 MiB (1,000 MiB = 1.05 GB)"
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
    echo "== orch gate finish (hash 1,000 MiB in 1,000 files) vs openssl dgst -sha256, one file after another"
    hyperfine --warmup 1 --runs 10 --export-json "$work/hash.json" \
        --prepare "$prepare" "$orch gate finish --run $run --gate H1" \
        --prepare "true" "ls data/*.bin | xargs openssl dgst -sha256 >/dev/null" >/dev/null
    python3 - "$work/hash.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
size = 1000 * 2**20  # bytes hashed
o, s = r[0]["median"], r[1]["median"]
rate = lambda t: f"{size / t / 2**30:.2f} GiB/s = {size / t / 1e9:.2f} GB/s"
print(f"orch gate finish: median {o*1000:.0f} ms = {rate(o)}")
print(f"openssl dgst:     median {s*1000:.0f} ms = {rate(s)}")
print(f"speed-up: {s/o:.2f}x")
PY
    eval "$prepare"
    echo "peak memory (gate finish): $(rss "$orch" gate finish --run "$run" --gate H1)"
    unset ORCH_NOW ORCH_SEED
    cd "$root"
}

pipeline_repo() { # the 20-gate workflow of `pipeline` and `fsync`, in $work/pipeline (or $1)
    local repo=${1:-$work/pipeline}
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
}

pipeline() {
    pipeline_repo
    cd "$work/pipeline"
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

# fsync_shim: a shared library that makes every fsync, fdatasync and syncfs
# take FSYNC_DELAY_MS longer (a busy disk), built with gcc into $work.
fsync_shim() {
    cat >"$work/slow_fsync.c" <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>
static void delay(void) {
    const char *ms = getenv("FSYNC_DELAY_MS");
    long v = ms ? atol(ms) : 4;
    struct timespec t = { v / 1000, (v % 1000) * 1000000L };
    while (nanosleep(&t, &t) != 0) {}
}
#define WRAP(name) \
    int name(int fd) { \
        static int (*real)(int); \
        if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, #name); \
        delay(); \
        return real(fd); \
    }
WRAP(fsync)
WRAP(fdatasync)
WRAP(syncfs)
C
    gcc -O2 -shared -fPIC -o "$work/slow_fsync.so" "$work/slow_fsync.c" -ldl
}

fsync() {
    pipeline_repo
    cd "$work/pipeline"
    echo "== fsync calls of one \`orch run\` (20 gates, one attempt each), strace -c -f"
    strace -f -c -e trace=fsync,fdatasync,syncfs -o "$work/strace.txt" \
        "$orch" run bench --slug b --agent-cmd true >/dev/null 2>&1
    python3 - "$work/strace.txt" <<'PY'
import sys
calls = {}
for line in open(sys.argv[1]):
    p = line.split()
    if p and p[-1] in ("fsync", "fdatasync", "syncfs"):
        calls[p[-1]] = int(p[3])
total = sum(calls.values())
print(f"{total} calls ({', '.join(f'{k} {v}' for k, v in sorted(calls.items())) or 'none'}) = {total / 20:.2f} per gate attempt")
PY
    fsync_shim
    echo "== the same run with 4 ms per fsync (LD_PRELOAD $work/slow_fsync.so)"
    hyperfine -N --warmup 1 --runs 10 --export-json "$work/fsync-slow.json" \
        "env LD_PRELOAD=$work/slow_fsync.so FSYNC_DELAY_MS=4 $orch run bench --slug b --agent-cmd true" >/dev/null
    echo "whole run, 4 ms fsync: median $(median_ms "$work/fsync-slow.json") (the Node runner, which never fsyncs: 0.60 s)"
    cd "$root"
}

verify_template() { # a 1-gate run with 10 recorded outputs, in $work/verify-src
    local repo=$work/verify-src
    if [ -d "$repo/orchestration/runs" ]; then
        ls -d "$repo"/orchestration/runs/*
        return
    fi
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
    ls -d "$repo"/orchestration/runs/*
}

verify() {
    local template
    template=$(verify_template)
    echo "== orch verify --all: runs of 1 gate with 10 recorded artifacts each (own copies)"
    for n in $scales; do
        fits "$n" $(($(run_bytes "$template") + $(run_bytes "$work/verify-src/out/template"))) "verify" || continue
        local repo=$work/verify-$n
        clone_repo "$repo" "$template" "$n" "$work/verify-src" out/template per-run
        local runs
        runs=$(runs_for "$n")
        (cd "$repo" && hyperfine -N --warmup 1 --runs "$runs" --export-json "$work/verify-cold-$n.json" "$orch verify --all --no-cache --offline" >/dev/null)
        echo "$n runs, no cache: median $(median_ms "$work/verify-cold-$n.json"); $(cd "$repo" && rss "$orch" verify --all --no-cache --offline)"
        # Fill the cache, then let a second pass so no file is "racy" (changed in the second the cache was written).
        (cd "$repo" && "$orch" verify --all --offline >/dev/null; sleep 1; "$orch" verify --all --offline >/dev/null) || true
        (cd "$repo" && hyperfine -N --warmup 1 --runs "$runs" --export-json "$work/verify-warm-$n.json" "$orch verify --all --offline" >/dev/null)
        echo "$n runs, repeat over an unchanged tree: median $(median_ms "$work/verify-warm-$n.json"); $(cd "$repo" && rss "$orch" verify --all --offline)"
    done
    if [ -d "$work/hash/orchestration/runs" ]; then
        echo "== orch verify over 1,000 MiB of recorded artifacts (1,000 x 1 MiB; from bench/run.sh hash)"
        (cd "$work/hash" && cat data/* >/dev/null && hyperfine -N --warmup 1 --runs 5 --export-json "$work/verify-gib.json" "$orch verify --all --no-cache" >/dev/null)
        (cd "$work/hash" && "$orch" verify --all >/dev/null; sleep 1; "$orch" verify --all >/dev/null) || true
        (cd "$work/hash" && hyperfine -N --warmup 1 --runs 10 --export-json "$work/verify-gib-warm.json" "$orch verify --all" >/dev/null)
        python3 - "$work/verify-gib.json" "$work/verify-gib-warm.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
w = json.load(open(sys.argv[2]))["results"][0]
size = 1000 * 2**20
print(f"no cache: median {r['median']*1000:.0f} ms = {size / r['median'] / 2**30:.2f} GiB/s")
print(f"with the cache, unchanged tree: median {w['median']*1000:.1f} ms")
PY
    fi
}

verify20() {
    local src=$work/verify20-src template
    if [ ! -d "$src/orchestration/runs" ]; then
        pipeline_repo "$src"
        (cd "$src" && "$orch" run bench --slug template --agent-cmd true >/dev/null 2>&1) || true
    fi
    template=$(ls -d "$src"/orchestration/runs/* | head -1)
    echo "== 20-gate runs (RUN.json $(wc -c <"$template/record/RUN.json") bytes, 20 attempt files; outputs shared)"
    for n in $scales; do
        fits "$n" "$(run_bytes "$template")" "verify20" || continue
        local repo=$work/verify20-$n
        clone_repo "$repo" "$template" "$n" "$src" out
        local runs
        runs=$(runs_for "$n")
        [ "$n" -ge 10000 ] && runs=3
        (cd "$repo" && hyperfine -N --warmup 1 --runs "$runs" --export-json "$work/verify20-$n.json" "$orch verify --all --no-cache --offline" >/dev/null)
        echo "$n runs: verify --all --no-cache median $(median_ms "$work/verify20-$n.json"); $(cd "$repo" && rss "$orch" verify --all --no-cache --offline)"
        (cd "$repo" && "$orch" verify --all --offline >/dev/null; sleep 1; "$orch" verify --all --offline >/dev/null) || true
        echo "$n runs: verify --all repeated: $(cd "$repo" && rss "$orch" verify --all --offline)"
        "$orch" -C "$repo" run list >/dev/null 2>&1 || true
        hyperfine -N --warmup 1 --runs "$runs" --export-json "$work/list20-$n.json" "$orch -C $repo run list" >/dev/null
        echo "$n runs: run list median $(median_ms "$work/list20-$n.json")"
    done
}

node_runner() { # not `node`: that would hide the node program
    if [ -z "${NODE_RUNNER:-}" ]; then
        echo "== node: skipped (set NODE_RUNNER to a clone of EsyResearch/home.esy.com to compare)"
        return
    fi
    local runner=$NODE_RUNNER
    [ -f "$runner/cli.js" ] || runner=$NODE_RUNNER/orchestration/runner
    [ -f "$runner/cli.js" ] || { echo "node: no cli.js in $NODE_RUNNER or its orchestration/runner" >&2; return 1; }
    runner=$(realpath "$runner")
    echo "== the Node runner ($runner, node $(node --version)) vs orch"
    hyperfine -N --warmup 5 --runs 50 --export-json "$work/node-startup.json" "node $runner/cli.js --help" >/dev/null
    hyperfine -N --warmup 5 --runs 200 --export-json "$work/orch-startup.json" "$orch --help" >/dev/null
    echo "start (--help): node $(median_ms "$work/node-startup.json"); orch $(median_ms "$work/orch-startup.json")"
    local template repo=$work/node-list
    template=$(template_run)
    clone_repo "$repo" "$template" 1000
    mkdir -p "$repo/orchestration" && rm -rf "$repo/orchestration/runner" && cp -r "$runner" "$repo/orchestration/runner"
    (cd "$repo" && hyperfine -N --warmup 2 --runs 10 --export-json "$work/node-list.json" "node orchestration/runner/cli.js run list" >/dev/null)
    (cd "$repo" && hyperfine -N --warmup 2 --runs 20 --export-json "$work/orch-list.json" "$orch run list" >/dev/null)
    echo "run list, 1,000 runs: node $(median_ms "$work/node-list.json"); orch $(median_ms "$work/orch-list.json")"
    # 20 gates by hand (run start, then gate start + gate finish per gate), the
    # same workflow and contracts for both, each fsync taking 4 ms for orch.
    pipeline_repo
    cd "$work/pipeline"
    rm -rf orchestration/runner && cp -r "$runner" orchestration/runner
    mkdir -p orchestration/runner/workflows && cp orchestration/workflows/bench.json orchestration/runner/workflows/
    fsync_shim
    cat >"$work/by-hand.sh" <<'SH'
#!/usr/bin/env bash
# by-hand.sh CLI...: run start, then gate start + gate finish for P01..P20
set -e
run=$("$@" run start --workflow bench --slug b --artifact-path out 2>/dev/null | grep -o 'run_[A-Za-z0-9_.-]*' | head -1)
for i in $(seq -w 1 20); do
    "$@" gate start --run "$run" --gate "P$i" --agent noop >/dev/null 2>&1
    "$@" gate finish --run "$run" --gate "P$i" >/dev/null 2>&1 || true
done
SH
    chmod +x "$work/by-hand.sh"
    hyperfine -N --warmup 1 --runs 5 --export-json "$work/node-20.json" "$work/by-hand.sh node orchestration/runner/cli.js" >/dev/null
    hyperfine -N --warmup 1 --runs 5 --export-json "$work/orch-20.json" "env LD_PRELOAD=$work/slow_fsync.so FSYNC_DELAY_MS=4 $work/by-hand.sh $orch" >/dev/null
    echo "20 gates by hand: node $(median_ms "$work/node-20.json"); orch with 4 ms fsync $(median_ms "$work/orch-20.json")"
    cd "$root"
}

case "${1:-all}" in
    startup) startup ;;
    list) list ;;
    lookup) lookup ;;
    hash) hash ;;
    pipeline) pipeline ;;
    fsync) fsync ;;
    verify) verify ;;
    verify20) verify20 ;;
    node) node_runner ;;
    queue) ORCH_BIN=$orch BENCH_DIR=$work "$root/bench/queue.sh" ;;
    pg) ORCH_BIN=$orch BENCH_DIR=$work "$root/bench/queue_pg.sh" ;;
    all) startup; list; lookup; hash; pipeline; fsync; verify; verify20; node_runner; ORCH_BIN=$orch BENCH_DIR=$work "$root/bench/queue.sh"
        ORCH_BIN=$orch BENCH_DIR=$work "$root/bench/queue_pg.sh" ;;
    *) echo "usage: bench/run.sh [startup|list|lookup|hash|pipeline|fsync|verify|verify20|node|queue|pg|all]" >&2; exit 2 ;;
esac
