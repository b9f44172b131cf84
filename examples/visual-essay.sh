#!/bin/sh
# The README's main job, in one command: a full visual-essay run (G1 → G2
# → G3) with the bundled stand-in agent.
#
#   sh examples/visual-essay.sh [SLUG]        # default slug: the-word-robot
#
# The workflow is a recipe: G1 and G2 run fully automatically because the
# skills they run are vetted; G3 is `human_approval`, so its agent starts
# only once a person has signed an approval of exactly what it will be
# given (its prompt packet, which lists G2's outputs by hash). Here the
# person is the example's reviewer, with a key the example makes:
#
#   1. examples/trust-example.sh trusts that key and vets the skills;
#   2. orch runs G1 and G2, and stops at G3, awaiting approval (exit 4);
#   3. the example's reviewer approves G3's start (`orch approve`);
#   4. `orch run resume` runs G3; the run ends PASSED.
#
# In a team, step 3 is a person at their own terminal, with their own key.
# ORCH names the orch binary. By default, in orch's own repository it is
# target/release/orch (under $CARGO_TARGET_DIR when set), built first;
# anywhere else (as after `orch init --example visual-essay`) it is the orch
# on PATH.
set -eu

cd "$(dirname "$0")/.."
slug=${1:-the-word-robot}
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
out=$(mktemp)
trap 'rm -f "$out"' EXIT

code=0
"$ORCH" run visual-essay --slug "$slug" --agent-cmd "$agent" --yes --json >"$out" || code=$?
run=$(sed -n 's/^  "run_id": "\(.*\)",$/\1/p' "$out")
gate=$(sed -n 's/^  "gate": "\(.*\)",$/\1/p' "$out")
if [ "$code" -ne 4 ] || [ -z "$run" ]; then
    cat "$out"
    echo "error: the run did not stop for G3's approval (exit $code)" >&2
    exit "$code"
fi

echo "" >&2
echo "── $gate waits for a person. The example's reviewer reads the packet and approves its start:" >&2
GIT_AUTHOR_NAME="Example Reviewer" GIT_AUTHOR_EMAIL=example-reviewer@orch.invalid \
    "$ORCH" approve --run "$run" --gate "$gate" --key "$key" \
    --comment "the research holds up; write the spec from it"
echo "" >&2
"$ORCH" run resume --run "$run" --yes    # with the agent the run was started with
echo "" >&2
echo "The example trusts its reviewer through $ORCH_TRUSTED_REV; check the run as CI would with:" >&2
echo "  ORCH_TRUSTED_REV=$ORCH_TRUSTED_REV orch verify --run $run" >&2
