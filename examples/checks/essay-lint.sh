#!/bin/sh
# A quality check for an essay's Markdown (orchestration/commands.json names
# it `essay-lint`): every .md file under the essay has one `# ` title, closes
# its code fences, and carries no placeholder text. Prints one line per
# problem and exits 1 when there is any.
#
#   sh examples/checks/essay-lint.sh essays/the-word-robot
set -eu

dir=${1:?usage: essay-lint.sh ESSAY_DIR}
[ -d "$dir" ] || { echo "$dir: not a folder" >&2; exit 2; }
problems=0
for f in $(find "$dir" -name '*.md' -type f | sort); do
    [ "$(basename "$f")" = QUESTIONS.md ] && continue
    titles=$(grep -c '^# ' "$f" || true)
    [ "$titles" -eq 1 ] || { echo "$f: $titles '# ' titles (want 1)"; problems=$((problems + 1)); }
    fences=$(grep -c '^```' "$f" || true)
    [ $((fences % 2)) -eq 0 ] || { echo "$f: a code fence is not closed"; problems=$((problems + 1)); }
    if grep -n -i -E 'lorem ipsum|TK TK|\bTBD\b' "$f"; then
        echo "$f: placeholder text"
        problems=$((problems + 1))
    fi
done
if [ "$problems" -gt 0 ]; then
    echo "essay-lint: $problems problem(s) in $dir"
    exit 1
fi
echo "essay-lint: $dir is clean"
