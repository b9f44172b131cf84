#!/bin/sh
# A quality check for research/SOURCES.md: every source (a `###` heading
# that is not a group heading such as "Primary sources") has a URL line
# under it. A warning, not a block, in the shipped G2: a missing link is
# worth a look, not a failed gate.
#
#   sh examples/checks/sources-linked.sh essays/the-word-robot/research/SOURCES.md
set -eu

file=${1:?usage: sources-linked.sh SOURCES.md}
[ -f "$file" ] || { echo "$file: not found"; exit 1; }
awk '
    function done_source() {
        if (name != "" && !linked) { print FILENAME ": no URL under \"" name "\""; bad++ }
    }
    /^### / {
        done_source()
        name = substr($0, 5); linked = 0
        if (tolower(name) ~ /^(primary|secondary|tertiary|notes|references|bibliography|sources|overview)/) name = ""
        next
    }
    /https?:\/\// { linked = 1 }
    END {
        done_source()
        if (bad) { print bad " source(s) without a URL"; exit 1 }
        print "every source has a URL"
    }
' "$file"
