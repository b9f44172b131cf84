#!/bin/sh
# The example's trust setup: a reviewer key made here, the key trusted, and
# the shipped skills vetted with it. It stands in for what a team does once:
# people's keys in orchestration/allowed_signers on the protected default
# branch, and someone who read a skill signing `orch skill vet`.
#
#   sh examples/trust-example.sh      # prints the trusted revision to use
#
# What it does, and what it leaves alone:
#   - makes an ed25519 key (no passphrase) in .git/orch-example/reviewer, once;
#     it is not in the working tree, so it is never committed;
#   - makes the local ref refs/orch/example-trust: a commit on top of HEAD
#     whose orchestration/allowed_signers adds that key for
#     example-reviewer@orch.invalid. Your branch, index and working tree are
#     not changed. orch reads allowed_signers from a trusted revision (never
#     the working tree), and this ref is the one the example trusts:
#     ORCH_TRUSTED_REV=refs/orch/example-trust;
#   - vets the skills the visual-essay workflow runs (their vettings land in
#     orchestration/skills/vettings/, ready to commit); an already vetted
#     skill is left as it is.
#
# ORCH names the orch binary. By default, in orch's own repository it is
# target/release/orch (under $CARGO_TARGET_DIR when set), built if missing;
# anywhere else it is the orch on PATH.
set -eu

cd "$(dirname "$0")/.."
if [ -z "${ORCH:-}" ]; then
    if grep -qsx 'name = "orch"' Cargo.toml; then
        ORCH="${CARGO_TARGET_DIR:-target}/release/orch"
        [ -x "$ORCH" ] || cargo build --release --quiet >&2
    else
        ORCH=orch
    fi
fi
command -v ssh-keygen >/dev/null 2>&1 || {
    echo "error: ssh-keygen is needed to sign (it comes with OpenSSH: apt-get install openssh-client)" >&2
    exit 2
}

ref=refs/orch/example-trust
principal=example-reviewer@orch.invalid
git_dir=$(git rev-parse --absolute-git-dir)
key="$git_dir/orch-example/reviewer"
if [ ! -f "$key" ]; then
    mkdir -p "$git_dir/orch-example"
    ssh-keygen -q -t ed25519 -N '' -C "orch example reviewer" -f "$key" </dev/null
fi
public=$(cut -d' ' -f1,2 "$key.pub")

# allowed_signers as HEAD has it, plus the example's key.
signers=$(mktemp)
index=$(mktemp -u)
trap 'rm -f "$signers" "$index"' EXIT
if git rev-parse --verify --quiet HEAD >/dev/null; then
    parent=HEAD
    git show HEAD:orchestration/allowed_signers >"$signers" 2>/dev/null || true
    GIT_INDEX_FILE=$index git read-tree HEAD
else
    parent=
    GIT_INDEX_FILE=$index git read-tree --empty
fi
grep -v "^$principal " "$signers" >"$signers.new" || true
echo "$principal namespaces=\"orch-approval,orch-skill-vetting\" $public orch example reviewer" >>"$signers.new"
blob=$(git hash-object -w "$signers.new")
rm -f "$signers.new"
GIT_INDEX_FILE=$index git update-index --add --cacheinfo "100644,$blob,orchestration/allowed_signers"
tree=$(GIT_INDEX_FILE=$index git write-tree)
commit=$(
    GIT_AUTHOR_NAME="orch example" GIT_AUTHOR_EMAIL=$principal \
    GIT_COMMITTER_NAME="orch example" GIT_COMMITTER_EMAIL=$principal \
    git commit-tree "$tree" ${parent:+-p "$parent"} -m "orch example: trust the example reviewer's key"
)
git update-ref "$ref" "$commit"

export ORCH_TRUSTED_REV=$ref
for skill in essay-intake essay-research essay-spec; do
    GIT_AUTHOR_NAME="Example Reviewer" GIT_AUTHOR_EMAIL=$principal \
        "$ORCH" skill vet "$skill" --key "$key" \
        --comment "read by the example's reviewer: instructions only, no tools, no network" >&2
done
echo "$ref"
