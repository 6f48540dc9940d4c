#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# remote.sh: the remote benchmarks of issue 12 in one sitting, interleaved ROUNDS times: the NATS
# C client's floors (nats-floor), axon (axon-remote-bench, two node processes) and Erlang
# distribution (two erl nodes on loopback, bench/erlang/remote_bench.erl) when erl is installed.
# Usage: bench/remote.sh [BUILD_DIR] [SCALE] [ROUNDS]; prints WORKLOADS.md lines.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build/release}
scale=${2:-1}
rounds=${3:-3}
workers=${WORKERS:-2}
erl_dir=$(mktemp -d)
trap 'rm -rf "$erl_dir"; pkill -f "remote_bench_pong_$$" 2>/dev/null || true' EXIT
if command -v erlc >/dev/null; then erlc -o "$erl_dir" "$here/erlang/remote_bench.erl"; fi
for ((i = 0; i < rounds; i++)); do
  "$build/bench/nats-floor" --scale "$scale" 2>/dev/null
  "$build/bench/axon-remote-bench" --scale "$scale" --workers "$workers" 2>/dev/null
  if command -v erl >/dev/null; then
    host=$(hostname -s)
    erl -sname "remote_bench_pong_$$" -setcookie axonbench -noshell +S "$workers" -pa "$erl_dir" \
        -eval 'remote_bench:serve()' >/dev/null 2>&1 &
    erl -sname "remote_bench_ping_$$" -setcookie axonbench -noshell +S "$workers" -pa "$erl_dir" \
        -eval "remote_bench:main([\"$scale\", \"remote_bench_pong_$$@$host\"])"
    wait
  fi
done
