#!/usr/bin/env bash
# Proves "reference it from NuGet": packs every src/ project into tests/LocalFeed with a fresh version, checks
# that each package carries what NuGet users and tools expect (README, licence, icon, XML docs, tags, repository and
# commit, symbols) and that packing again from clean gives the same packages, then restores and runs this consumer from those packages only (an empty package cache, so nothing
# built earlier can leak in). The consumer sends a message to an embedded host and reads it back (also with the
# mailboxes and the queue in a throw-away PostgreSQL cluster this script starts); tests/AotHost publishes
# a small host with Native AOT and drives it with curl; a third project, a backend author's tests, runs the contract
# suites from the Contracts package.
set -euo pipefail
cd "$(dirname "$0")/../.."
version="0.1.0-ci.$(date +%Y%m%d%H%M%S)"
rm -f tests/LocalFeed/*.nupkg tests/LocalFeed/*.snupkg

# Packs every src/ project into $1, each built from clean: as a release would be (ContinuousIntegrationBuild maps
# the source paths, so where the tree lies does not show in the binaries).
pack_all() {
  rm -rf src/*/bin/Release src/*/obj/Release
  for project in src/*/*.csproj; do
    dotnet pack "$project" -c Release -p:Version="$version" -p:ContinuousIntegrationBuild=true -o "$1" --nologo -v quiet
  done
}
pack_all tests/LocalFeed

for package in tests/LocalFeed/*.nupkg; do
  # Listed into a variable first: `unzip | grep -q` can fail with SIGPIPE under pipefail.
  listing=$(unzip -l "$package")
  for file in README.md icon.png LICENSE; do
    grep -qE " $file\$" <<<"$listing" || { echo "$package has no $file" >&2; exit 1; }
  done
  grep -qE 'lib/net10.0/.*\.xml' <<<"$listing" || { echo "$package has no XML docs" >&2; exit 1; }
  nuspec=$(unzip -p "$package" '*.nuspec')
  for element in '<license type="expression">MIT</license>' '<icon>icon.png</icon>' '<readme>README.md</readme>' '<tags>'; do
    grep -qF "$element" <<<"$nuspec" || { echo "$package: the nuspec has no $element" >&2; exit 1; }
  done
  # The commit it was built from, which SourceLink read from git (RepositoryType alone is a fixed setting).
  grep -qE '<repository type="git"[^>]* commit="[0-9a-f]{40}"' <<<"$nuspec" || { echo "$package: the nuspec names no commit" >&2; exit 1; }
  [[ -f ${package%.nupkg}.snupkg ]] || { echo "$package has no symbols package beside it" >&2; exit 1; }
done

# Reproducible: everything packed again from clean must be the same, file for file. NuGet names one metadata file
# (the .psmdcp core properties, and the relationship file pointing to it) at random in some versions, so those two are
# left out.
again=$(mktemp -d)
trap 'rm -rf "$again"' EXIT
pack_all "$again"
[[ $(cd tests/LocalFeed && ls ./*.nupkg ./*.snupkg) == "$(cd "$again" && ls ./*.nupkg ./*.snupkg)" ]] ||
  { echo "the second pack made other packages than the first" >&2; exit 1; }
for package in tests/LocalFeed/*.nupkg tests/LocalFeed/*.snupkg; do
  name=$(basename "$package")
  [[ -f $again/$name ]] || { echo "the second pack made no $name" >&2; exit 1; }
  rm -rf "$again/first" "$again/second"
  unzip -q "$package" -d "$again/first"
  unzip -q "$again/$name" -d "$again/second"
  rm -rf "$again"/first/package "$again"/second/package "$again"/first/_rels "$again"/second/_rels
  diff -r "$again/first" "$again/second" >/dev/null || { echo "$name differs between two packs of the same source:" >&2; diff -rq "$again/first" "$again/second" >&2; exit 1; }
done
echo "packages: metadata present; two packs from clean are identical ($(ls tests/LocalFeed/*.nupkg | wc -l) packages)"

cache=$(mktemp -d)
pgdir=$(mktemp -d)
# shellcheck source=../postgres-cluster.sh
source tests/postgres-cluster.sh
cleanup() {
  postgres_cluster_stop
  rm -rf "$cache" "$again" "$pgdir" "${log:-}"
}
trap cleanup EXIT

# A throw-away PostgreSQL cluster for the consumer's PostgreSQL part (stopped by its PID at the end).
postgres_cluster_start "$pgdir"
consumer_database=$(postgres_cluster_database consumer)
MAIL_PROTOCOLS_CONSUMER_POSTGRES=$consumer_database \
  dotnet run --project tests/PackageConsumer/PackageConsumer.csproj -c Release -p:MailProtocolsVersion="$version" -p:RestorePackagesPath="$cache" --nologo
# A small host published with Native AOT from the same packages, driven with curl.
bash tests/AotHost/run.sh "$version" "$cache"
# A backend author's test project: the contract suites from the Mail.Protocols.Testing.Contracts package, run on
# backends from the packages. Every test must pass and none may be skipped.
log=$(mktemp)
dotnet test tests/ContractsConsumer/ContractsConsumer.csproj -c Release -p:MailProtocolsVersion="$version" -p:RestorePackagesPath="$cache" --nologo \
  | tee "$log"
grep -qE 'Passed!.*Skipped: +0,' "$log" || { echo "the contract suites did not all pass from the packages" >&2; exit 1; }
