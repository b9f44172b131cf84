#!/bin/sh
# A scripted stand-in for a real agent: it reads the prompt packet orch sends
# on stdin and writes plausible outputs for the visual-essay gates G1-G3, so
# the whole pipeline can be tried without an LLM:
#
#   orch run visual-essay --slug the-word-robot --agent-cmd examples/agents/scripted-essay.sh
#
# (`orch init --example visual-essay` puts it in a repository of your own as
# orchestration/agents/scripted-essay.sh.)
#
# orch sets ORCH_GATE, ORCH_ARTIFACT_PATH, ORCH_SLUG and runs it from the
# repository root. The last line it prints is the completion status line.
set -eu

packet=$(cat)
gate=${ORCH_GATE:?orch sets ORCH_GATE}
dir=${ORCH_ARTIFACT_PATH:?orch sets ORCH_ARTIFACT_PATH}
slug=${ORCH_SLUG:-essay}
title=$(printf '%s' "$slug" | tr '-' ' ')

echo "scripted-essay: $gate for '$title' ($(printf '%s' "$packet" | wc -l | tr -d ' ') lines of packet)"
mkdir -p "$dir/research"

case "$gate" in
G1)
    cat >"$dir/INTAKE.md" <<MD
---
status: APPROVED
editor: Scripted Editor
---
# Intake: $title

## Scope
Where the word in "$title" came from: a 1920 Czech play, Karel Čapek's
*R.U.R.*, his brother Josef's suggestion, and the Czech *robota* (forced
labour). Not covered: automata before 1920, or modern robotics.

## Audience
General readers who know the word but not its story.

## Depth
A researched essay: verified sources, a synthesis and quotes.
MD
    echo "wrote $dir/INTAKE.md"
    ;;
G2)
    cat >"$dir/research/SOURCES.md" <<'MD'
# Sources

### Primary sources

### Karel Čapek, *R.U.R. (Rossum's Universal Robots)* (1920)
- **URL**: https://en.wikipedia.org/wiki/R.U.R.
- Supports: the play, its 1921 Prague premiere, its manufactured workers.

### Josef Čapek, the coinage (Karel's account, 1933)
- **URL**: https://en.wikipedia.org/wiki/Josef_%C4%8Capek
- Supports: Josef suggested "roboti".

### Secondary sources

### Online Etymology Dictionary, "robot"
- **URL**: https://www.etymonline.com/word/robot
- Supports: the Czech root *robota*.

### Encyclopaedia Britannica, "R.U.R."
- **URL**: https://www.britannica.com/topic/R-U-R
- Supports: plot and reception.

### Wikipedia, "Karel Čapek"
- **URL**: https://en.wikipedia.org/wiki/Karel_%C4%8Capek
- Supports: the author's life.

### Wikipedia, "Robot"
- **URL**: https://en.wikipedia.org/wiki/Robot
- Supports: how the word spread.

### Merriam-Webster, "robot"
- **URL**: https://www.merriam-webster.com/dictionary/robot
- Supports: first known use in English.
MD
    cat >"$dir/research/SYNTHESIS.md" <<'MD'
# Synthesis

1. The word enters the world in Karel Čapek's play *R.U.R.* (1920).
2. His brother Josef suggested it, by Karel's own account.
3. Its root, *robota*, is the forced labour a serf owed a lord.
4. English took it from the play's translation in the 1920s.
MD
    cat >"$dir/research/QUOTES.md" <<'MD'
# Quotes

- Karel Čapek credited his brother Josef with the word (see Sources).
MD
    echo "wrote $dir/research/SOURCES.md, SYNTHESIS.md, QUOTES.md"
    ;;
G3)
    cat >"$dir/SPEC.md" <<MD
---
status: APPROVED
layers: 6
---
# Spec: $title

## Layer 1 — Thesis
The word was born meaning forced labour, and never lost it.

## Layer 2 — Narrative arc
Prague 1921, the brothers Čapek, *robota*, the word crosses into English.
- Source: Karel Čapek, *R.U.R.* (1920)

## Layer 3 — Evidence
The coinage rests on Karel's own account.
- Source: Josef Čapek, the coinage (Karel's account, 1933)

## Layer 4 — Visuals
A timeline 1920–1942 and the etymology as a branching diagram.
- Source: Online Etymology Dictionary, "robot"

## Layer 5 — Voice
Curious and exact; Czech words in italics with a gloss.

## Layer 6 — Acceptance
Every date traced to a source.
MD
    echo "wrote $dir/SPEC.md"
    ;;
*)
    echo "scripted-essay knows gates G1-G3, not $gate" >&2
    echo '{"status": "blocked", "reason": "no script for this gate"}'
    exit 0
    ;;
esac
echo "{\"status\": \"complete\", \"reason\": \"$gate outputs written\"}"
