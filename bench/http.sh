#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# http.sh: the http_plaintext workload (shared/bench/WORKLOADS.md): examples/http under wrk beside
# nginx and h2o, in one run, by the peers' own script. Prints its JSON lines on stdout.
# Usage: bench/http.sh [PIPELINE]   (env: BUILD=build/release, PEERS=../shared/bench/peers,
# SERVERS="cmd nginx h2o", WORKERS_LIST="1 2", DURATION=5, REPEAT=1, AXON_ARGS="" (more
# arguments for examples/http, e.g. "--spin-us -1"); needs wrk, nginx, h2o)
set -eu
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${BUILD:-$ROOT/build/release}"
PEERS="${PEERS:-$ROOT/../shared/bench/peers}"
EXE="$BUILD/examples/example_http"
[ -x "$EXE" ] || { echo "http.sh: $EXE not built (make)" >&2; exit 2; }
[ -x "$PEERS/http/run.sh" ] || { echo "http.sh: no $PEERS/http/run.sh" >&2; exit 2; }
export PIPELINE="${1:-${PIPELINE:-1}}"
export SERVERS="${SERVERS:-cmd nginx h2o}" SERVER_NAME=axon SERVER_CMD="$EXE @PORT@ @WORKERS@ ${AXON_ARGS:-}"
exec "$PEERS/http/run.sh"
