#!/usr/bin/env bash
# Runs every test project of the solution. Extra arguments go to `dotnet test` (for example -c Release).
# A test that hangs is reported and killed rather than stalling the run.
set -euo pipefail
cd "$(dirname "$0")/.."
# The Debian packages the interop tests drive, installed when missing (needs root once).
bash tests/install-packages.sh
dotnet test Mail.Protocols.sln --blame-hang-timeout 5m "$@"
