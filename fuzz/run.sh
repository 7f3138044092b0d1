#!/usr/bin/env bash
# Coverage-guided fuzzing of MnistNet's readers with SharpFuzz 2.3.0 and Debian's afl++.
#   bash fuzz/run.sh <harness|all> [seconds per harness, default 600]
# Harnesses: idx idx-gzip csv model checkpoint png json. Findings go to fuzz/findings/<harness>/ (ignored by git);
# copy each crash or hang input to tests/MnistNet.Tests/FuzzFindings/<harness>/ so that FuzzFindingsTests replays it.
# Not run by CI. Needs root for apt-get the first time.
set -euo pipefail
cd "$(dirname "$0")"
target=${1:?usage: run.sh <harness|all> [seconds]}
seconds=${2:-600}

command -v afl-fuzz >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends afl++; }
[ -x .tools/sharpfuzz ] || dotnet tool install SharpFuzz.CommandLine --version 2.3.0 --tool-path .tools

# Instrument a published copy, never the build output.
rm -rf out && dotnet publish MnistNet.Fuzz -c Release -o out --nologo -v q
[ -d corpus ] || dotnet out/MnistNet.Fuzz.dll --make-corpus corpus     # before instrumenting: the instrumented copy runs only under afl
.tools/sharpfuzz out/MnistNet.dll

harnesses=$target
[ "$target" = all ] && harnesses="idx idx-gzip csv model checkpoint png json"
mkdir -p findings
for h in $harnesses; do
  echo "== $h: $seconds s"
  AFL_SKIP_BIN_CHECK=1 AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
    afl-fuzz -V "$seconds" -i "corpus/$h" -o "findings/$h" -t 10000 -m none -- dotnet out/MnistNet.Fuzz.dll "$h" > "findings-$h.log" 2>&1 || true
  stats="findings/$h/default/fuzzer_stats"
  if [ -f "$stats" ]; then
    grep -E "^(execs_done|corpus_count|saved_crashes|saved_hangs|run_time)" "$stats" | tr '\n' ' '; echo
  else
    tail -20 "findings-$h.log"
  fi
done
