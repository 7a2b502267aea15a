#!/usr/bin/env bash
# JOSE interoperability: Veil's JWK, JWS, JWT and JWE (through the
# $BUILD/tests/interop/jose_peer program) against an independent
# implementation from npm, pinned in tests/interop/package-lock.json (jose).
# tests/interop/jose_interop.mjs holds the checks; this script installs the
# packages when they are missing or older than the lock file, runs it, and
# counts its "ok" and "FAIL" lines (tests/cli/lib/node.bash). Node.js 20+
# and npm are required: without them the test fails rather than skips, since
# CI has both. Each check is printed with its result.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/cli/lib/expect.bash
. tests/cli/lib/node.bash

run_peer_interop jose "the JOSE interop tests"
