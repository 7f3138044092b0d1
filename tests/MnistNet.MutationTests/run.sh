#!/usr/bin/env bash
# Mutation testing with dotnet-stryker 5.1.0 (xunit v3 through Microsoft.Testing.Platform: -t mtp), one area at a time.
#   bash tests/MnistNet.MutationTests/run.sh <area|all> [extra stryker options]
#   bash tests/MnistNet.MutationTests/run.sh <area>:<File.cs>[,<File.cs>…]   (only those files of the area)
# Areas: Data Serialization Activations Training Kernels Networks, and Convolution: the convolution kernels and the
# layers that came with them (Kernels' ConvolutionKernels and WinogradKernels; Networks' Conv2D, MaxPool2D, Dropout, NetworkSpec), measured
# with their own tests. Each compiles only that area's tests into this
# project (MutationArea, see the .csproj) and mutates only that area's sources. Reports (HTML, JSON, text) go to
# tests/MnistNet.MutationTests/reports/<area>/ (ignored by git). Not run by CI: an area takes 10 to 60 minutes.
# Naming files splits an area whose tests are too slow under mutation as a whole (Kernels: every mutated kernel's
# switch is read on each pass of its inner loop); their report goes to reports/<area>-<files>/.
#
# Stryker.NET mutates and compiles every file of the project and only then filters mutants by --mutate, so every
# kernel would carry a mutant switch (a read of a memory-mapped file) in its inner loops even when only the file
# readers are under test, and the training tests would crawl. Mutants it creates under a "disable all" directive are
# never injected. So each area runs in a staged copy of the working tree (the same files, tracked and untracked,
# git-ignored ones left out) in which every source file outside the area gets that directive above its namespace
# line; the area's own files are untouched, so reported line numbers match the repository.
set -euo pipefail
cd "$(dirname "$0")"
here=$(pwd)
repo=$(git rev-parse --show-toplevel)
target=${1:?usage: run.sh <area|all> [stryker options]}
shift

# One run per area at a time (each area builds in its own staged copy, so two areas may run side by side).
exec 9>".run-${target//[^A-Za-z0-9]/_}.lock"
flock -n 9 || { echo "another mutation run of $target is under way; wait for it" >&2; exit 1; }

[ -x .tools/dotnet-stryker ] || dotnet tool install dotnet-stryker --version 5.1.0 --tool-path .tools

mutate_for() {
  case "$1" in
    Data)          echo "**/Data/*.cs" ;;
    Serialization) echo "**/Serialization/*.cs" ;;
    Activations)   echo "**/Activations/*.cs" ;;
    Training)      echo "**/Training/*.cs" ;;
    Kernels)       echo "**/LinearAlgebra/*.cs" ;;
    Networks)      echo "**/Networks/*.cs **/Layers/*.cs" ;;
    Convolution)   echo "**/LinearAlgebra/ConvolutionKernels.cs **/LinearAlgebra/WinogradKernels.cs **/Layers/Conv2D.cs **/Layers/MaxPool2D.cs **/Layers/Dropout.cs **/Networks/NetworkSpec.cs" ;;
    *) echo "unknown area '$1' (Data Serialization Activations Training Kernels Networks Convolution)" >&2; return 1 ;;
  esac
}

# The source folders (under src/MnistNet) of an area.
folders_for() {
  case "$1" in
    Kernels)  echo "LinearAlgebra" ;;
    Networks) echo "Networks Layers" ;;
    Convolution) echo "LinearAlgebra Layers Networks" ;;
    *)        echo "$1" ;;
  esac
}

# Copies the working tree to $1 and marks every source file outside area $2 (or outside its files $3, comma-separated)
# "not to be mutated".
stage() {
  local dir=$1 area=$2 files=$3 folders f rel top skip
  rm -rf "$dir" && mkdir -p "$dir"
  (cd "$repo" && git ls-files -co --exclude-standard -z | tar --null -T - -cf -) | tar -xf - -C "$dir"
  folders=$(folders_for "$area")
  while IFS= read -r -d '' f; do
    rel=${f#"$dir/src/MnistNet/"}
    top=${rel%%/*}
    skip=1
    for g in $folders; do [ "$top" = "$g" ] && skip=0; done
    [ -n "$files" ] && [[ ",$files," != *",$(basename "$f"),"* ]] && skip=1
    if [ $skip = 1 ] && grep -q '^namespace ' "$f"; then
      sed -i '0,/^namespace /s//\/\/ Stryker disable all : outside the area being mutated (see run.sh)\nnamespace /' "$f"
    fi
  done < <(find "$dir/src/MnistNet" -name '*.cs' -print0)
}

areas=$target
[ "$target" = all ] && areas="Data Serialization Activations Training Kernels Networks"
for spec in $areas; do
  area=${spec%%:*}
  files=""
  [ "$area" = Convolution ] && files=ConvolutionKernels.cs,WinogradKernels.cs,Conv2D.cs,MaxPool2D.cs,Dropout.cs,NetworkSpec.cs
  [ "$spec" != "$area" ] && files=${spec#*:}
  globs=$(mutate_for "$area")
  name=$area
  if [ -n "$files" ]; then
    globs=""
    for file in ${files//,/ }; do
      found=""
      for folder in $(folders_for "$area"); do
        [ -f "$repo/src/MnistNet/$folder/$file" ] && found="**/$folder/$file"
      done
      [ -n "$found" ] || { echo "no file $file in area $area" >&2; exit 1; }
      globs="$globs $found"
    done
    name="$area-${files//[^A-Za-z0-9]/_}"
  fi
  args=()
  for g in $globs; do args+=(-m "$g"); done
  # Per-test coverage through MTP breaks on tests that hammer mutated code while coverage is recorded (every pass of a
  # mutated line is logged): the first test that times out leaves every later test "Dubious" and every mutant timing
  # out. Whole-run coverage (STRYKER_COVERAGE_CONFIG=stryker-coverage-all.json) runs every test for every mutant. These
  # areas capture coverage one test per test host (perTestInIsolation: only the slow test is Dubious), then each mutant
  # runs only the tests that reach it.
  case "$area" in
    Serialization|Training|Kernels|Networks|Convolution) args+=(-f "${STRYKER_COVERAGE_CONFIG:-stryker-coverage-isolated.json}") ;;
  esac
  echo "== $name: mutating $globs"
  staged=${TMPDIR:-/tmp}/mnistnet-mutation/$name
  stage "$staged" "$area" "$files"
  rm -rf "reports/$name"
  (cd "$staged/tests/MnistNet.MutationTests" &&
    MutationArea=$area "$here/.tools/dotnet-stryker" -t mtp --configuration Release -p MnistNet.csproj "${args[@]}" \
      -r Dots -r Json -r Html -r ClearText -c 1 -O "$here/reports/$name" --skip-version-check "$@") | tee "reports-$name.log"
  grep -E "The final mutation score is" "reports-$name.log" || true
done
