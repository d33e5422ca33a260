#!/usr/bin/env bash
# Proves "reference it from NuGet": packs every src/ project into tests/LocalFeed with a fresh version,
# then restores and runs this consumer from those packages only (an empty package cache, so nothing
# built earlier can leak in). The consumer sends a message to an embedded host and reads it back; a second
# project, a backend author's tests, runs the contract suites from the Contracts package.
set -euo pipefail
cd "$(dirname "$0")/../.."
version="0.1.0-ci.$(date +%Y%m%d%H%M%S)"
rm -f tests/LocalFeed/*.nupkg tests/LocalFeed/*.snupkg
for project in src/*/*.csproj; do
  dotnet pack "$project" -c Release -p:Version="$version" -o tests/LocalFeed --nologo -v quiet
done
for package in tests/LocalFeed/*.nupkg; do
  # Listed into a variable first: `unzip | grep -q` can fail with SIGPIPE under pipefail.
  listing=$(unzip -l "$package")
  grep -q 'README.md' <<<"$listing" || { echo "$package has no README" >&2; exit 1; }
  grep -qE 'lib/net10.0/.*\.xml' <<<"$listing" || { echo "$package has no XML docs" >&2; exit 1; }
done
ls tests/LocalFeed/*.snupkg >/dev/null
cache=$(mktemp -d)
trap 'rm -rf "$cache"' EXIT
dotnet run --project tests/PackageConsumer/PackageConsumer.csproj -c Release -p:MailProtocolsVersion="$version" -p:RestorePackagesPath="$cache" --nologo
# A backend author's test project: the contract suites from the Mail.Protocols.Testing.Contracts package, run on
# backends from the packages. Every test must pass and none may be skipped.
log=$(mktemp)
trap 'rm -rf "$cache" "$log"' EXIT
dotnet test tests/ContractsConsumer/ContractsConsumer.csproj -c Release -p:MailProtocolsVersion="$version" -p:RestorePackagesPath="$cache" --nologo \
  | tee "$log"
grep -qE 'Passed!.*Skipped: +0,' "$log" || { echo "the contract suites did not all pass from the packages" >&2; exit 1; }
