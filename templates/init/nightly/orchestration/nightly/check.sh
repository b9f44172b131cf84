#!/bin/sh
# One check of the `nightly` example: runs the command for CHECK (format,
# tests or lint), writes its result to $ORCH_ARTIFACT_PATH/CHECK.txt, which
# the gate's contract reads, and exits with the command's status, so a
# failing command fails its gate. orch runs it from the repository root.
#
# Edit the commands for your project in `command_for` below. The defaults
# follow what the repository has (Cargo.toml, package.json, pyproject.toml,
# a Makefile); a check with no command is recorded as skipped, which the
# gate reports as a warning.
set -u

check=${1:?usage: check.sh format|tests|lint}
dir=${ORCH_ARTIFACT_PATH:?orch sets ORCH_ARTIFACT_PATH}
out="$dir/$check.txt"
mkdir -p "$dir"

command_for() {
    case "$1" in
    format)
        if [ -f Cargo.toml ]; then echo "cargo fmt --all -- --check"
        elif [ -f package.json ]; then echo "npx --no-install prettier --check ."
        elif [ -f pyproject.toml ]; then echo "ruff format --check ."
        else echo "git diff --check"
        fi ;;
    tests)
        if [ -f Cargo.toml ]; then echo "cargo test"
        elif [ -f package.json ]; then echo "npm test"
        elif [ -f pyproject.toml ]; then echo "python3 -m pytest"
        elif [ -f Makefile ]; then echo "make test"
        fi ;;
    lint)
        if [ -f Cargo.toml ]; then echo "cargo clippy --all-targets -- -D warnings"
        elif [ -f package.json ]; then echo "npm run lint --if-present"
        elif [ -f pyproject.toml ]; then echo "ruff check ."
        fi ;;
    *)
        echo "check.sh knows format, tests and lint, not $1" >&2
        exit 2 ;;
    esac
}

cmd=$(command_for "$check")
if [ -z "$cmd" ]; then
    printf -- '---\ncheck: %s\nresult: skipped\n---\nNo %s command for this repository: edit orchestration/nightly/check.sh.\n' \
        "$check" "$check" >"$out"
    echo "$check: skipped (no command for this repository)"
    echo "{\"status\": \"complete\", \"reason\": \"$check skipped\"}"
    exit 0
fi

log=$(mktemp)
sh -c "$cmd" >"$log" 2>&1
status=$?
result=passed
[ "$status" -eq 0 ] || result=failed
{
    printf -- '---\ncheck: %s\ncommand: %s\nresult: %s\nexit_code: %s\n---\n' "$check" "$cmd" "$result" "$status"
    tail -n 200 "$log"
} >"$out"
rm -f "$log"
echo "$check: $result ($cmd, exit $status)"
echo "{\"status\": \"complete\", \"reason\": \"$check $result\"}"
exit "$status"
