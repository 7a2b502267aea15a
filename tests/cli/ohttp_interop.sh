#!/usr/bin/env bash
# Oblivious HTTP interoperability: Veil's OHTTP and BHTTP (through the
# $BUILD/tests/interop/ohttp_peer program) against independent
# implementations from npm, pinned in tests/interop/package-lock.json
# (@hpke/core, @hpke/dhkem-x25519, @hpke/chacha20poly1305, bhttp-js).
# tests/interop/ohttp_interop.mjs holds the checks; this script installs the
# packages when they are missing or older than the lock file, runs it, and
# counts its "ok" and "FAIL" lines (tests/cli/lib/node.bash). Node.js 20+
# and npm are required: without them the test fails rather than skips, since
# CI has both. Each check is printed with its result.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/cli/lib/expect.bash
. tests/cli/lib/node.bash

run_peer_interop ohttp "the OHTTP interop tests"
