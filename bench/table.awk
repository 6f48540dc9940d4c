# SPDX-License-Identifier: MIT
# table.awk: passes axon-bench's JSON lines through unchanged, then prints them as an aligned
# table (workload, workers, n, ns/op, ops/s, mallocs). Plain POSIX awk: runs under mawk.
# Usage: axon-bench all --scale 0.1 | awk -f bench/table.awk

# The value of "key" in a flat JSON object line: a number, or a string without its quotes.
function field(line, key,    pat, i, s, j) {
    pat = "\"" key "\":"
    i = index(line, pat)
    if (i == 0) return ""
    s = substr(line, i + length(pat))
    if (substr(s, 1, 1) == "\"") {
        s = substr(s, 2)
        j = index(s, "\"")
        return substr(s, 1, j - 1)
    }
    if (match(s, /^[^,}]*/)) return substr(s, 1, RLENGTH)
    return ""
}

function num(v, fmt) {
    if (v == "" || v == "null") return "-"
    return sprintf(fmt, v + 0)
}

{ print }

/^[{].*"bench":/ {
    rows++
    bench[rows] = field($0, "bench")
    workers[rows] = field($0, "workers")
    n[rows] = field($0, "n")
    nsop[rows] = field($0, "ns_per_op")
    opss[rows] = field($0, "ops_per_s")
    mallocs[rows] = field($0, "mallocs")
    bpa[rows] = field($0, "bytes_per_actor")
}

END {
    if (rows == 0) exit
    print ""
    printf "%-14s %7s %12s %10s %14s %10s %12s\n", "workload", "workers", "n", "ns/op", "ops/s", "mallocs", "bytes/actor"
    for (i = 1; i <= rows; i++)
        printf "%-14s %7s %12s %10s %14s %10s %12s\n", bench[i], workers[i], num(n[i], "%.0f"),
               num(nsop[i], "%.1f"), num(opss[i], "%.0f"), num(mallocs[i], "%.0f"),
               num(bpa[i], "%.1f")
}
