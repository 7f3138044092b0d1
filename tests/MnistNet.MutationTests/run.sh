#!/usr/bin/env bash
# Mutation testing with dotnet-stryker 5.1.0 (xunit v3 through Microsoft.Testing.Platform: -t mtp), one area at a time.
#   bash tests/MnistNet.MutationTests/run.sh <area|all> [extra stryker options]
# Areas: Data Serialization Activations Training Kernels Networks. Each compiles only that area's tests into this
# project (MutationArea, see the .csproj) and mutates only that area's sources. Reports (HTML, JSON, text) go to
# tests/MnistNet.MutationTests/reports/<area>/ (ignored by git). Not run by CI: an area takes 10 to 60 minutes.
set -euo pipefail
cd "$(dirname "$0")"
target=${1:?usage: run.sh <area|all> [stryker options]}
shift

# One run at a time: every area builds into this project's bin/ and obj/.
exec 9>.run.lock
flock -n 9 || { echo "another mutation run is using tests/MnistNet.MutationTests; wait for it" >&2; exit 1; }

[ -x .tools/dotnet-stryker ] || dotnet tool install dotnet-stryker --version 5.1.0 --tool-path .tools

mutate_for() {
  case "$1" in
    Data)          echo "**/Data/*.cs" ;;
    Serialization) echo "**/Serialization/*.cs" ;;
    Activations)   echo "**/Activations/*.cs" ;;
    Training)      echo "**/Training/*.cs" ;;
    Kernels)       echo "**/LinearAlgebra/*.cs" ;;
    Networks)      echo "**/Networks/*.cs **/Layers/*.cs" ;;
    *) echo "unknown area '$1' (Data Serialization Activations Training Kernels Networks)" >&2; return 1 ;;
  esac
}

areas=$target
[ "$target" = all ] && areas="Data Serialization Activations Training Kernels Networks"
for area in $areas; do
  globs=$(mutate_for "$area")
  args=()
  for g in $globs; do args+=(-m "$g"); done
  # Per-test coverage through MTP breaks on tests that hammer mutated code while coverage is recorded (every pass of a
  # mutated line is logged): the first test that times out leaves every later test "Dubious" and every mutant timing
  # out. Whole-run coverage (STRYKER_COVERAGE_CONFIG=stryker-coverage-all.json) runs every test for every mutant. These
  # areas capture coverage one test per test host (perTestInIsolation: only the slow test is Dubious), then each mutant
  # runs only the tests that reach it.
  case "$area" in
    Serialization|Training|Kernels|Networks) args+=(-f "${STRYKER_COVERAGE_CONFIG:-stryker-coverage-isolated.json}") ;;
  esac
  echo "== $area: mutating $globs"
  rm -rf bin obj "reports/$area"
  MutationArea=$area .tools/dotnet-stryker -t mtp --configuration Release -p MnistNet.csproj "${args[@]}" \
    -r Dots -r Json -r Html -r ClearText -c 1 -O "reports/$area" --skip-version-check "$@" | tee "reports-$area.log"
  grep -E "The final mutation score is" "reports-$area.log" || true
done
