#!/usr/bin/env bash
# Runs fuzz targets of tests/Mail.Protocols.Fuzz under afl-fuzz (afl++), each for a given time.
#
#   fuzz.sh [--seconds N] [--execs N] [--timeout MS] [--results FILE] [--keep] [target...]
#
#   --seconds N     how long afl-fuzz runs each target at most (default 60)
#   --execs N       stop a target sooner, after about N executions (afl-fuzz's -E; the long runs use 10000000)
#   --timeout MS    afl-fuzz's -t: an input running longer is saved as a hang (default 2000)
#   --results FILE  where the markdown summary goes (default results/fuzz-<UTC time>.md beside this script)
#   --keep          keep the work folder (instrumented copy, afl's findings) and print its path
#   target...       target names as `--list` prints them (default: every target)
#
# It builds Release, copies the build output into a temporary folder and instruments the library assemblies of that
# copy with SharpFuzz's tool (the normal build output is never touched), then runs afl-fuzz once per target with the
# target's seed corpus (Corpus/<target>/). Each crash or hang afl saves is copied into Regressions/<target>/ (named by
# its SHA-1) for the developer to pin: commit it and tests/Mail.Protocols.Fuzz.Tests replays it from then on.
# Prints and writes, per target: executions, corpus count, bitmap coverage, edges, crashes and hangs. Exits 1 if any
# target found a crash or a hang or could not run, 2 on a usage error.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

seconds=60
execs=""
timeout_ms=2000
results=""
keep=0
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --execs) execs=$2; shift 2 ;;
    --timeout) timeout_ms=$2; shift 2 ;;
    --results) results=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
if ! command -v afl-fuzz >/dev/null; then
  echo "afl-fuzz is not installed (Debian package afl++)" >&2
  exit 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/mp-fuzz.XXXXXX")
if [ "$keep" -eq 1 ]; then
  echo "work folder: $work"
else
  trap 'rm -rf "$work"' EXIT
fi

# Build, then instrument a copy: the SharpFuzz tool rewrites assemblies in place.
dotnet build "$here/Mail.Protocols.Fuzz.csproj" -c Release -warnaserror -nologo -v quiet >"$work/build.log" 2>&1 \
  || { cat "$work/build.log" >&2; exit 1; }
cp -r "$here/bin/Release/net10.0" "$work/app"
# The tool's version is the SharpFuzz package's (Directory.Packages.props), so the two always match.
version=$(sed -n 's/.*PackageVersion Include="SharpFuzz" Version="\([^"]*\)".*/\1/p' "$root/Directory.Packages.props")
dotnet tool install SharpFuzz.CommandLine --version "$version" --tool-path "$work/tools" >"$work/tool.log" 2>&1 \
  || { cat "$work/tool.log" >&2; exit 1; }
# Every shipped assembly is instrumented (their branches are what afl measures); the fuzz program, SharpFuzz and
# third-party libraries are not.
for assembly in "$work"/app/Mail.Protocols*.dll; do
  [ "$(basename "$assembly")" = Mail.Protocols.Fuzz.dll ] && continue
  "$work/tools/sharpfuzz" "$assembly" >/dev/null
done

if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(dotnet "$work/app/Mail.Protocols.Fuzz.dll" --list)
fi

export AFL_SKIP_BIN_CHECK=1           # the binary is dotnet; SharpFuzz's code speaks afl's fork-server protocol
export AFL_NO_AFFINITY=1              # the machine is shared: do not bind a core
export AFL_SKIP_CPUFREQ=1
export AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
export AFL_NO_UI=1

if [ -z "$results" ]; then
  mkdir -p "$here/results"
  results="$here/results/fuzz-$(date -u +%Y-%m-%d-%H%M%S).md"
fi
load=$(cut -d' ' -f1-3 /proc/loadavg)
{
  echo "# Fuzz run $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "afl-fuzz $(afl-fuzz -h 2>&1 | grep -o '++[0-9.a-z]*' | head -n1), SharpFuzz $version, $seconds s per target${execs:+ or about $execs executions, whichever comes first}, -t $timeout_ms ms, $(nproc) cores, load average before: $load"
  echo
  echo "| Target | Executions | Execs/s | Corpus | Coverage (bitmap) | Edges | Crashes | Hangs |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
} >"$results"

stat() { sed -n "s/^$1 *: *//p" "$2"; }
failed=0
for target in "${targets[@]}"; do
  corpus="$here/Corpus/$target"
  if [ ! -d "$corpus" ]; then
    echo "$target: no seed corpus in $corpus" >&2
    echo "| $target | no corpus | | | | | | |" >>"$results"
    failed=1
    continue
  fi
  mkdir -p "$work/findings"
  out="$work/findings/$target"
  set +e
  afl-fuzz -V "$seconds" ${execs:+-E "$execs"} -i "$corpus" -o "$out" -t "$timeout_ms" -m none \
    -- dotnet "$work/app/Mail.Protocols.Fuzz.dll" "$target" >"$work/$target.log" 2>&1
  status=$?
  set -e
  stats="$out/default/fuzzer_stats"
  if [ ! -f "$stats" ]; then
    # afl stops before fuzzing when a seed crashes or hangs, or the program does not start.
    echo "$target: afl-fuzz did not run (exit $status):" >&2
    grep -E 'PROGRAM ABORT|ERROR|Location' "$work/$target.log" | sed 's/\x1b\[[0-9;]*m//g' | tail -n 5 >&2 || true
    echo "| $target | did not run (exit $status) | | | | | | |" >>"$results"
    failed=1
    continue
  fi
  # Not "execs": that is --execs, the cap every later target of this run is given.
  done_execs=$(stat execs_done "$stats"); rate=$(stat execs_per_sec "$stats"); corpus_count=$(stat corpus_count "$stats")
  coverage=$(stat bitmap_cvg "$stats"); edges=$(stat edges_found "$stats")
  # The findings are counted from afl's folders: fuzzer_stats is stale when afl stopped early.
  crashes=$(find "$out/default/crashes" -name 'id:*' 2>/dev/null | wc -l)
  hangs=$(find "$out/default/hangs" -name 'id:*' 2>/dev/null | wc -l)
  if [ "$status" -ne 0 ]; then
    echo "$target: afl-fuzz stopped early (exit $status):" >&2
    grep -E 'PROGRAM ABORT|ERROR|Location' "$work/$target.log" | sed 's/\x1b\[[0-9;]*m//g' | tail -n 5 >&2 || true
    rate="stopped (exit $status)"
    failed=1
  fi
  printf '%-28s %12s execs %9s/s  corpus %6s  coverage %7s  edges %6s  crashes %s  hangs %s\n' \
    "$target" "$done_execs" "$rate" "$corpus_count" "$coverage" "$edges" "$crashes" "$hangs"
  echo "| $target | $done_execs | $rate | $corpus_count | $coverage | $edges | $crashes | $hangs |" >>"$results"
  if [ "$crashes" != 0 ] || [ "$hangs" != 0 ]; then
    failed=1
    mkdir -p "$here/Regressions/$target"
    for finding in "$out"/default/crashes/id:* "$out"/default/hangs/id:*; do
      [ -f "$finding" ] || continue
      kind=crash
      case "$finding" in */hangs/*) kind=hang ;; esac
      name="$kind-$(sha1sum "$finding" | cut -c1-16)"
      cp "$finding" "$here/Regressions/$target/$name"
      echo "  $kind saved as Regressions/$target/$name" >&2
    done
  fi
done

echo
echo "summary written to $results"
if [ "$failed" -ne 0 ]; then
  echo "fuzzing found crashes or hangs, or a target could not run; replay one with:" >&2
  echo "  dotnet $here/bin/Release/net10.0/Mail.Protocols.Fuzz.dll <target> --replay $here/Regressions/<target>" >&2
fi
exit "$failed"
