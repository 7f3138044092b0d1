#!/usr/bin/env bash
# Issue 5's speed comparison: time to 98.0 % MNIST test accuracy. Runs PyTorch (Debian's python3-torch:
# 784-256-10, Adam 1e-3, batch 128, 2 threads, stopping at the first epoch at or above 98.0 %) and then MnistNet's
# sample with --preset fast (one seeded run), one after the other on this machine, and prints the ratio.
#
#   bash benchmarks/compare/train.sh
#
# Installs python3-numpy, libopenblas0-pthread and python3-torch when missing (needs root for apt-get).
set -euo pipefail
cd "$(dirname "$0")/../.."

packages=()
/usr/bin/python3 -c "import numpy" 2>/dev/null || packages+=(python3-numpy)
dpkg -s libopenblas0-pthread >/dev/null 2>&1 || packages+=(libopenblas0-pthread)
/usr/bin/python3 -c "import torch" 2>/dev/null || packages+=(python3-torch)
if [ ${#packages[@]} -gt 0 ]; then
  echo "installing ${packages[*]}..." >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
fi

source benchmarks/compare/host.sh
host_line
torch_line=$(cd benchmarks/compare && env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 train_torch.py --data ../../data/mnist --threads 2 | tee /dev/stderr | grep '^pytorch-train:')
dotnet build -c Release samples/MnistNet.Train -v quiet -nologo >/dev/null
ours_line=$(dotnet run -c Release --no-build --project samples/MnistNet.Train -- --preset fast | grep '^result:')
echo "$torch_line"
echo "mnistnet: $ours_line"
torch_s=$(echo "$torch_line" | sed -E 's/^pytorch-train: ([0-9.]+) s.*/\1/')
ours_s=$(echo "$ours_line" | sed -E 's/.*, ([0-9.]+) s training/\1/')
awk -v a="$torch_s" -v b="$ours_s" 'BEGIN { printf "ratio: MnistNet reaches its accuracy in %.1fx less training time than PyTorch takes to 98.0%% (%s s vs %s s)\n", a / b, b, a }'
