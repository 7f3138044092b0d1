#!/usr/bin/env bash
# Times one seed iteration (784-10-10, full batch, m = 41 000) in the seed's numpy code, in PyTorch when it is
# installed, and in MnistNet, on the same bundled MNIST data, one after the other on this machine, and prints
# each and the ratios. With --gemm, also times numpy's float32 matmul at 256/512/1024.
#
#   bash benchmarks/compare/run.sh [iterations] [--torch] [--gemm] [--rounds N]
#
# --rounds N measures numpy, PyTorch and MnistNet N times in turn (each round one after the other, as one round is
# without the flag) and ends with each round's ratio and their median: on a shared host whose load changes from
# minute to minute, a ratio taken from measurements seconds apart, repeated, says more than one round.
#
# Installs Debian's python3-numpy and libopenblas0-pthread when missing (without OpenBLAS, Debian's numpy silently
# falls back to the slow reference BLAS); --torch also installs python3-torch. Needs root for apt-get.
set -euo pipefail
cd "$(dirname "$0")/../.."
iterations=50
want_torch=0
want_gemm=0
rounds=1
usage() { echo "usage: run.sh [iterations] [--torch] [--gemm] [--rounds N]" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --torch) want_torch=1 ;;
    --gemm) want_gemm=1 ;;
    --rounds)
      [ $# -ge 2 ] || usage
      case "$2" in ''|*[!0-9]*|0) usage ;; esac
      rounds=$2
      shift ;;
    ''|*[!0-9]*) usage ;;
    *) iterations=$1 ;;
  esac
  shift
done

packages=()
/usr/bin/python3 -c "import numpy" 2>/dev/null || packages+=(python3-numpy)
dpkg -s libopenblas0-pthread >/dev/null 2>&1 || packages+=(libopenblas0-pthread)
if [ "$want_torch" = 1 ] && ! /usr/bin/python3 -c "import torch" 2>/dev/null; then packages+=(python3-torch); fi
if [ ${#packages[@]} -gt 0 ]; then
  echo "installing ${packages[*]}..." >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
fi

source benchmarks/compare/host.sh
host_line
# Some hosts here pin OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE for old OpenBLAS builds; they slow a current one
# (on an AVX-512 host they force AVX2 kernels). Unset them for the comparison and say so.
echo "OpenBLAS: native kernels (OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset), 2 threads"
py() { env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=2 /usr/bin/python3 "$@"; }

dotnet build -c Release samples/MnistNet.Train -v quiet -nologo >/dev/null
ms_of() { echo "$1" | sed -E 's/^[a-z-]+: ([0-9.]+) ms.*/\1/'; }
round_lines=()
for round in $(seq 1 "$rounds"); do
  [ "$rounds" -gt 1 ] && echo "--- round $round of $rounds"
  numpy_line=$(py benchmarks/compare/seed_numpy.py --data data/mnist --columns 41000 --iterations "$iterations")
  echo "$numpy_line"
  default_line=""
  if [ -n "${OPENBLAS_CORETYPE:-}${OPENBLAS_L2_SIZE:-}" ]; then
    # The same numpy as this machine's environment configures it (PERF.md's figures were taken this way).
    default_line=$(OPENBLAS_NUM_THREADS=2 /usr/bin/python3 benchmarks/compare/seed_numpy.py --data data/mnist --columns 41000 --iterations "$iterations" | sed 's/^numpy:/numpy-default:/')
    echo "$default_line (OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset})"
  fi
  torch_line=""
  if /usr/bin/python3 -c "import torch" 2>/dev/null; then
    torch_line=$(cd benchmarks/compare && py seed_torch.py --data ../../data/mnist --columns 41000 --iterations "$iterations" --threads 2)
    echo "$torch_line"
  fi

  # 60 000 training images minus 19 000 held out leaves the seed's 41 000 training columns.
  ours_output=$(dotnet run -c Release --no-build --project samples/MnistNet.Train -- --dev 19000 --iterations "$iterations")
  ours_line=$(echo "$ours_output" | grep '^result:')
  timing_line=$(echo "$ours_output" | grep '^timing:' || true)
  echo "mnistnet: $ours_line"
  [ -n "$timing_line" ] && echo "mnistnet: $timing_line"

  # numpy and PyTorch time their iterations after 3 warm-up iterations; MnistNet's like-for-like figure is the
  # iterations after its first (which also builds the sparse copy and compiles the kernels). Both are printed.
  ours_all=$(echo "$ours_line" | sed -E 's/.*, ([0-9.]+) ms\/iteration/\1/')
  ours_ms=$ours_all
  if [ -n "$timing_line" ]; then
    ours_ms=$(echo "$timing_line" | sed -E 's/.*then ([0-9.]+) ms\/iteration/\1/')
  fi
  awk -v a="$(ms_of "$numpy_line")" -v b="$ours_ms" 'BEGIN { printf "ratio: MnistNet is %.1fx faster than numpy per iteration (%s ms vs %s ms, both after warm-up)\n", a / b, b, a }'
  awk -v a="$(ms_of "$numpy_line")" -v b="$ours_all" 'BEGIN { printf "ratio: MnistNet is %.1fx faster than numpy counting its first iteration too (%s ms vs %s ms)\n", a / b, b, a }'
  if [ -n "$default_line" ]; then
    awk -v a="$(ms_of "$default_line")" -v b="$ours_ms" 'BEGIN { printf "ratio: MnistNet is %.1fx faster than numpy with the machine-default OpenBLAS (%s ms vs %s ms)\n", a / b, b, a }'
  fi
  if [ -n "$torch_line" ]; then
    awk -v a="$(ms_of "$torch_line")" -v b="$ours_ms" 'BEGIN { printf "ratio: MnistNet is %.1fx faster than PyTorch per iteration (%s ms vs %s ms, both after warm-up)\n", a / b, b, a }'
  fi
  round_lines+=("$(ms_of "$numpy_line") $ours_ms $( [ -n "$torch_line" ] && ms_of "$torch_line" || echo -)")
done

if [ "$rounds" -gt 1 ]; then
  # Each round's numpy / MnistNet ratio, then the medians (of the times and of the ratios) over the rounds.
  printf '%s\n' "${round_lines[@]}" | awk -v n="$rounds" '
    function median(v, k,   i, j, t) {
      for (i = 2; i <= k; i++) { t = v[i]; for (j = i - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
      return k % 2 ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2
    }
    { np[NR] = $1; us[NR] = $2; r[NR] = $1 / $2; printf "round %d: numpy %s ms, MnistNet %s ms, %.1fx\n", NR, $1, $2, $1 / $2
      if ($3 != "-") { pt[NR] = $3; rt[NR] = $3 / $2; torch = 1 } }
    END {
      printf "median over %d rounds: numpy %.2f ms, MnistNet %.2f ms; ratio MnistNet vs numpy %.1fx (median of the rounds'"'"' ratios)\n", n, median(np, n), median(us, n), median(r, n)
      if (torch) printf "median over %d rounds: PyTorch %.2f ms; ratio MnistNet vs PyTorch %.1fx\n", n, median(pt, n), median(rt, n)
    }'
fi

if [ "$want_gemm" = 1 ]; then
  py benchmarks/compare/gemm_numpy.py
  echo "numpy with this machine's OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}:"
  OPENBLAS_NUM_THREADS=2 /usr/bin/python3 benchmarks/compare/gemm_numpy.py
fi
