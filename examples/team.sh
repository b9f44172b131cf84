#!/bin/sh
# The README's team example, end to end: a backlog of twelve visual essays
# with priorities, due dates and dependencies; two workers taking the next
# ready task until none is left; a lead approving what waits for a person
# (each essay's G3 needs a signed approval before its agent starts), and
# the workers going on, until every task is DONE.
#
#   sh examples/team.sh
#
# The bundled scripted agent stands in for an LLM; the example's reviewer
# key (examples/trust-example.sh) stands in for the lead. The tasks and runs
# it makes are left in the working tree, ready to read (`orch task list`,
# `orch stats`) or to throw away (`git clean -fd orchestration essays`).
#
# ORCH names the orch binary, as in examples/visual-essay.sh.
set -eu

cd "$(dirname "$0")/.."
if [ -z "${ORCH:-}" ]; then
    if grep -qsx 'name = "orch"' Cargo.toml; then
        cargo build --release --quiet
        ORCH="${CARGO_TARGET_DIR:-target}/release/orch"
    else
        ORCH=orch
    fi
fi
export ORCH

ORCH_TRUSTED_REV=$(sh examples/trust-example.sh)
export ORCH_TRUSTED_REV
agent=examples/agents/scripted-essay.sh
key="$(git rev-parse --absolute-git-dir)/orch-example/reviewer"

new() { "$ORCH" task add --workflow visual-essay "$@"; }
ROBOT=$(new --title "The word robot" --slug the-word-robot --priority high --due today)
ALGO=$(new --title "Where 'algorithm' comes from" --slug algorithm --priority critical --due +2d)
BUG=$(new --title "Why a bug is a bug" --slug bug --depends-on "$ROBOT")
COMPUTER=$(new --title "When computers were people" --slug computer --priority high --due +7d)
SPAM=$(new --title "Spam, the meat and the mail" --slug spam --priority low)
COOKIE=$(new --title "Cookies, the web kind" --slug cookie --depends-on "$SPAM")
PIXEL=$(new --title "Pixel: picture element" --slug pixel --due tomorrow)
WIKI=$(new --title "Wiki means quick" --slug wiki --priority low --due +3d)
EMOJI=$(new --title "Emoji is not emotion" --slug emoji --depends-on "$PIXEL")
BOOT=$(new --title "Booting, by the bootstraps" --slug boot --priority high \
    --depends-on "$COMPUTER" --depends-on "$BUG")
GLITCH=$(new --title "Glitch, from Yiddish" --slug glitch --priority low --depends-on "$BUG")
INDEX=$(new --title "An index of the series" --slug index --priority critical \
    --depends-on "$ALGO" --depends-on "$BOOT" --depends-on "$COOKIE" \
    --depends-on "$EMOJI" --depends-on "$WIKI" --depends-on "$GLITCH")

"$ORCH" task list
"$ORCH" next --explain

round=1
while :; do
    echo "" >&2
    echo "── round $round: two workers take the next ready task until none is left" >&2
    "$ORCH" worker --id w1 --agent-cmd "$agent" --exit-when-empty &
    w1=$!
    code=0
    "$ORCH" worker --id w2 --agent-cmd "$agent" --exit-when-empty || code=$?
    wait "$w1" || code=$?
    [ "$code" -eq 0 ] || exit "$code"

    # What waits for a person: the lead reads each packet and approves.
    pending=$("$ORCH" approvals --pending --json | sed -n \
        -e 's/^    "run_id": "\(.*\)",$/\1/p' -e 's/^    "gate": "\(.*\)",$/\1/p')
    [ -n "$pending" ] || break
    echo "" >&2
    echo "── the lead approves what waits (orch approvals --pending):" >&2
    set -- $pending
    while [ $# -ge 2 ]; do
        GIT_AUTHOR_NAME="Example Reviewer" GIT_AUTHOR_EMAIL=example-reviewer@orch.invalid \
            "$ORCH" approve --run "$1" --gate "$2" --key "$key" --comment "read it; go on"
        shift 2
    done
    round=$((round + 1))
done

echo "" >&2
"$ORCH" task list
"$ORCH" task show "$INDEX"
"$ORCH" stats --by worker
