#!/usr/bin/env bash
# Runs every Go test of the module, as `go test ./...` does, in less time on two cores.
#
# go test links each test binary again on every run: about 4 s of CPU here, 1.3 s of it the
# 106 MB stacks binary. `go test -c` keeps linked binaries in the build cache, so this script
# builds them with -c and runs each in its package's folder, with go test's own defaults. The
# two long runs start first, side by side: stacks (whose worker synthesizes beside it) and
# assets/ops (which waits on moto_server); the short ones follow, one at a time.
#
# Usage: assets/gotest.sh <folder for the binaries> [go build flags ...]
# Prints an ok or FAIL line per package, and a failing package's whole output; exits 1 when a
# package fails, 2 when the tests do not build.
set -uo pipefail

bin=$(mkdir -p "$1" && cd "$1" && pwd)
shift
if ! go test -c -o "$bin/" "$@" ./... >"$bin/build.log" 2>&1; then
  grep -v 'no test files' "$bin/build.log" >&2
  exit 2
fi
module=$(go list -m)
packages=()
while read -r pkg; do
  [ -n "$pkg" ] && packages+=("$pkg")
done < <(go list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' ./...)
if dup=$(printf '%s\n' "${packages[@]##*/}" | sort | uniq -d | grep .); then
  echo "packages share the base name '$dup', so their test binaries would overwrite each other; run go test ./... instead" >&2
  exit 2
fi

# now prints the time in nanoseconds (in whole seconds where date has no %N, as on macOS).
now() {
  local t
  t=$(date +%s%N)
  [[ $t == *N ]] && t=$(($(date +%s) * 1000000000))
  echo "$t"
}

# run <import path>: runs the package's test binary in its folder; leaves its output in
# <name>.log and its result line in <name>.result.
run() {
  local pkg=$1 name=${1##*/} dir=${1#"$module"} start end rc
  dir=./${dir#/}
  start=$(now)
  (cd "$dir" && "$bin/$name.test" -test.paniconexit0 -test.timeout=10m0s) >"$bin/$name.log" 2>&1
  rc=$?
  end=$(now)
  if [ $rc -eq 0 ]; then
    printf 'ok  \t%s\t%d.%03ds\n' "$pkg" $(((end - start) / 1000000000)) $((((end - start) / 1000000) % 1000)) >"$bin/$name.result"
  else
    { cat "$bin/$name.log"; printf 'FAIL\t%s\n' "$pkg"; } >"$bin/$name.result"
  fi
  return $rc
}

long=("$module/stacks" "$module/assets/ops")
pids=()
for pkg in "${long[@]}"; do
  [[ " ${packages[*]} " == *" $pkg "* ]] || continue
  run "$pkg" &
  pids+=($!)
done
for pkg in "${packages[@]}"; do
  [[ " ${long[*]} " == *" $pkg "* ]] || run "$pkg"
done
wait "${pids[@]}" || true

failed=0
for pkg in "${packages[@]}"; do
  cat "$bin/${pkg##*/}.result"
  grep -q '^ok' "$bin/${pkg##*/}.result" || failed=1
done
exit $failed
