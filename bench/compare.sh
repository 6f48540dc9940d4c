#!/bin/sh
# SPDX-License-Identifier: MIT
# compare.sh: axon-bench for two builds, a git revision (base) and the work tree (new), run
# interleaved ROUNDS times in one sitting; prints each row's median ns/op for both and new/base.
# Usage: bench/compare.sh [REV] [axon-bench arguments...]     (REV default HEAD; ROUNDS=3;
#        default arguments: all --scale 0.2 --workers 1, then the same with --workers 2)
# A ratio below 1 means the work tree is faster. Runs are noisy on small machines: read ratios
# from one sitting, and repeat the sitting before believing a difference under 10 %.
set -eu

rev=${1:-HEAD}
[ $# -gt 0 ] && shift
rounds=${ROUNDS:-3}
top=$(git rev-parse --show-toplevel)
base_dir=${TMPDIR:-/tmp}/axon-compare-$(git -C "$top" rev-parse --short "$rev")
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# The base build: a worktree of REV, built once and kept for the next comparison with it.
if [ ! -x "$base_dir/build/bench/axon-bench" ]; then
    rm -rf "$base_dir"
    git -C "$top" worktree prune
    git -C "$top" worktree add --detach "$base_dir" "$rev" >/dev/null
    cmake -S "$base_dir" -B "$base_dir/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$base_dir/build" -j"$(nproc)" --target axon-bench >/dev/null
fi
make -C "$top" all >/dev/null

if [ $# -gt 0 ]; then
    set -- "$*"
else
    set -- "all --scale 0.2 --workers 1" "all --scale 0.2 --workers 2"
fi
i=0
while [ "$i" -lt "$rounds" ]; do
    for args in "$@"; do
        # shellcheck disable=SC2086 # args is a list of words
        "$base_dir/build/bench/axon-bench" $args 2>/dev/null | grep '^{' |
            sed 's/^/base /' >>"$out/runs"
        # shellcheck disable=SC2086
        "$top/build/release/bench/axon-bench" $args 2>/dev/null | grep '^{' |
            sed 's/^/new /' >>"$out/runs"
    done
    i=$((i + 1))
done

awk -v rev="$rev" '
function field(line, key,    pat, i, s) {
    pat = "\"" key "\":"
    i = index(line, pat)
    if (i == 0) return ""
    s = substr(line, i + length(pat))
    if (substr(s, 1, 1) == "\"") { s = substr(s, 2); return substr(s, 1, index(s, "\"") - 1) }
    match(s, /^[^,}]*/)
    return substr(s, 1, RLENGTH)
}
function median(list,    n, a, i, j, t) {
    n = split(list, a, " ")
    for (i = 2; i <= n; i++)  # insertion sort: a handful of values
        for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) {
            t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
        }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{
    key = field($0, "bench") " w" field($0, "workers")
    if (!(key in seen)) { seen[key] = 1; order[++rows] = key }
    ns[$1, key] = ns[$1, key] " " field($0, "ns_per_op")
}
END {
    printf "%-22s %12s %12s %9s   (medians of ns/op; base = %s)\n",
        "bench", "base", "new", "new/base", rev
    for (r = 1; r <= rows; r++) {
        k = order[r]
        if (ns["base", k] == "" || ns["new", k] == "") {
            printf "%-22s %12s\n", k, "(one side only)"
            continue
        }
        b = median(ns["base", k]); n = median(ns["new", k])
        printf "%-22s %12.1f %12.1f %9.2f\n", k, b, n, (b > 0 ? n / b : 0)
    }
}' "$out/runs"
