#!/usr/bin/env bash
# orch's performance figures, measured on this machine.
#
#   bench/run.sh            everything
#   bench/run.sh startup    `orch --version`
#   bench/run.sh list       `orch run list` over 100, 1,000 and 10,000 runs
#   bench/run.sh hash       `orch gate finish` hashing 1 GiB in 1,000 files,
#                           against `openssl dgst -sha256` over the same files
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

case "${1:-all}" in
    startup) startup ;;
    list) list ;;
    hash) hash ;;
    all) startup; list; hash ;;
    *) echo "usage: bench/run.sh [startup|list|hash|all]" >&2; exit 2 ;;
esac
