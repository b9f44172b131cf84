#!/bin/sh
# A stand-in agent for the `minimal` example: it reads the prompt packet orch
# sends on stdin and writes the note the NOTE gate asks for, so the workflow
# can be tried without an LLM:
#
#   orch run minimal --slug hello --agent-cmd orchestration/agents/minimal-agent.sh
#
# A real agent does the same job: `--agent-cmd "claude -p --output-format json
# --permission-mode acceptEdits"`. orch runs it from the repository root with
# ORCH_GATE, ORCH_SLUG and ORCH_ARTIFACT_PATH set. The last line it prints is
# its status line.
set -eu

cat >/dev/null # the packet: a real agent reads its instructions here
dir=${ORCH_ARTIFACT_PATH:?orch sets ORCH_ARTIFACT_PATH}
slug=${ORCH_SLUG:-note}
mkdir -p "$dir"
cat >"$dir/NOTE.md" <<MD
# A note on $slug

## Summary
$slug, in brief: this note was written by the stand-in agent so that the
minimal workflow can be tried end to end.

## Sources
- The orch README, "Use orch in your own repository": https://example.org/orch/readme
- The minimal example's contract: https://example.org/orch/minimal
MD
echo "wrote $dir/NOTE.md"
echo '{"status": "complete", "reason": "note written"}'
