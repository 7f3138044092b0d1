#!/usr/bin/env bash
# Times one seed iteration (784-10-10, full batch, m = 41 000) in the seed's numpy code and in MnistNet,
# on the same bundled MNIST data, one after the other on this machine, and prints both and the ratio.
#
#   bash benchmarks/compare/run.sh [iterations]
#
# Installs Debian's python3-numpy and libopenblas0-pthread when missing (without OpenBLAS, Debian's numpy
# silently falls back to the slow reference BLAS). Needs root for apt-get.
set -euo pipefail
cd "$(dirname "$0")/../.."
iterations=${1:-50}

if ! /usr/bin/python3 -c "import numpy" 2>/dev/null || ! dpkg -s libopenblas0-pthread >/dev/null 2>&1; then
  echo "installing python3-numpy and libopenblas0-pthread..." >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-numpy libopenblas0-pthread >/dev/null
fi

# Some hosts here pin OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE for old OpenBLAS builds; they slow a current one.
numpy_line=$(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=2 \
  /usr/bin/python3 benchmarks/compare/seed_numpy.py --data data/mnist --columns 41000 --iterations "$iterations")
echo "$numpy_line"

# 60 000 training images minus 19 000 held out leaves the seed's 41 000 training columns.
dotnet build -c Release samples/MnistNet.Train -v quiet -nologo >/dev/null
ours_line=$(dotnet run -c Release --no-build --project samples/MnistNet.Train -- --dev 19000 --iterations "$iterations" | grep '^result:')
echo "mnistnet: $ours_line"

numpy_ms=$(echo "$numpy_line" | sed -E 's/^numpy: ([0-9.]+) ms.*/\1/')
ours_ms=$(echo "$ours_line" | sed -E 's/.*, ([0-9.]+) ms\/iteration/\1/')
awk -v a="$numpy_ms" -v b="$ours_ms" 'BEGIN { printf "ratio: MnistNet is %.1fx faster than numpy per iteration (%s ms vs %s ms)\n", a / b, b, a }'
