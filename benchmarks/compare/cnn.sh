#!/usr/bin/env bash
# Issue 12's speed comparison: time to 99.0 % MNIST test accuracy with --preset cnn's architecture, optimiser, batch and
# threads and initialisation, both without augmentation and at a constant learning rate (Adam 2e-3, batch 128, 2 threads,
# weights and biases uniform in ±1/√fan-in: PyTorch's default, MnistNet's --init fan-in; all 60 000 training images,
# MnistNet's --dev 0). PyTorch (Debian's
# python3-torch) stops at the first epoch at or above 99.0 %; MnistNet's sample is run for 1, 2, … epochs (each a fresh
# seeded run: the constant rate makes run k's first k epochs those of any longer run) until its test accuracy reaches
# 99.0 %, and that run's training time counts. Prints the ratio.
#
#   bash benchmarks/compare/cnn.sh
#
# Installs python3-numpy and python3-torch when missing (needs root for apt-get).
set -euo pipefail
cd "$(dirname "$0")/../.."

packages=()
/usr/bin/python3 -c "import numpy" 2>/dev/null || packages+=(python3-numpy)
/usr/bin/python3 -c "import torch" 2>/dev/null || packages+=(python3-torch)
if [ ${#packages[@]} -gt 0 ]; then
  echo "installing ${packages[*]}..." >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
fi

torch_line=$(cd benchmarks/compare && /usr/bin/python3 train_torch.py --arch cnn --target 0.99 --max-epochs 10 --data ../../data/mnist --threads 2 | tee /dev/stderr | grep '^pytorch-train:')
dotnet build -c Release samples/MnistNet.Train -v quiet -nologo >/dev/null
arch=conv32k5,pool,conv64k5,pool,dense256,dropout0.5
for epochs in 1 2 3 4 5 6 7 8 9 10; do
  ours_line=$(dotnet run -c Release --no-build --project samples/MnistNet.Train -- --arch "$arch" --epochs "$epochs" \
    --schedule constant --lr 0.002 --init fan-in --dev 0 --threads 2 | grep '^result:')
  echo "mnistnet, $epochs epoch(s): $ours_line" >&2
  test_accuracy=$(echo "$ours_line" | sed -E 's/.* test ([0-9.]+) .*/\1/')
  awk -v a="$test_accuracy" 'BEGIN { exit !(a >= 0.99) }' && break
done
echo "$torch_line"
echo "mnistnet: $ours_line"
torch_s=$(echo "$torch_line" | sed -E 's/^pytorch-train: ([0-9.]+) s.*/\1/')
ours_s=$(echo "$ours_line" | sed -E 's/.*, ([0-9.]+) s training/\1/')
awk -v a="$torch_s" -v b="$ours_s" 'BEGIN { printf "ratio: MnistNet reaches 99.0 %% in %.2fx the training time PyTorch takes (%s s vs %s s)\n", b / a, b, a }'
