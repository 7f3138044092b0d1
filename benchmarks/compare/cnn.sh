#!/usr/bin/env bash
# Issue 12's speed comparison: time to 99.0 % MNIST test accuracy with --preset cnn's architecture, optimiser, batch,
# threads and initialisation on both sides, without augmentation (Adam 2e-3, batch 128, 2 threads, weights and biases
# uniform in ±1/√fan-in: PyTorch's default, MnistNet's --init fan-in; all 60 000 training images, MnistNet's --dev 0),
# with the same learning-rate schedule on both sides:
#
#   bash benchmarks/compare/cnn.sh            # cosine (default)
#   bash benchmarks/compare/cnn.sh constant
#
# constant: the rate stays at 2e-3. PyTorch (Debian's python3-torch) stops at the first epoch at or above 99.0 %;
#   MnistNet's sample is run for 1, 2, … epochs (each a fresh seeded run: the constant rate makes run k's first k epochs
#   those of any longer run) until its test accuracy reaches 99.0 %, and that run's training time counts.
# cosine: the rate falls from 2e-3 towards 0 along a cosine over the whole run, step by step (MnistNet's
#   --schedule cosine; train_torch.py --schedule cosine implements the same factor). A run's rates depend on its
#   length, so both sides are run afresh for 1, 2, … epochs until a run ends at or above 99.0 %; each side's time is
#   that run's training time (the shorter runs that fell short are not counted, on either side).
# Prints both lines and the ratio.
#
# Installs python3-numpy and python3-torch when missing (needs root for apt-get).
set -euo pipefail
cd "$(dirname "$0")/../.."
schedule=${1:-cosine}
case "$schedule" in constant|cosine) ;; *) echo "usage: cnn.sh [cosine|constant]" >&2; exit 2 ;; esac

packages=()
/usr/bin/python3 -c "import numpy" 2>/dev/null || packages+=(python3-numpy)
/usr/bin/python3 -c "import torch" 2>/dev/null || packages+=(python3-torch)
if [ ${#packages[@]} -gt 0 ]; then
  echo "installing ${packages[*]}..." >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
fi

source benchmarks/compare/host.sh
host_line

reached() { awk -v a="$1" 'BEGIN { exit !(a >= 0.99) }'; }

if [ "$schedule" = constant ]; then
  torch_line=$(cd benchmarks/compare && /usr/bin/python3 train_torch.py --arch cnn --target 0.99 --max-epochs 10 --data ../../data/mnist --threads 2 | tee /dev/stderr | grep '^pytorch-train:')
else
  for epochs in 1 2 3 4 5 6 7 8 9 10; do
    torch_line=$(cd benchmarks/compare && /usr/bin/python3 train_torch.py --arch cnn --schedule cosine --epochs "$epochs" --data ../../data/mnist --threads 2 | tee /dev/stderr | grep '^pytorch-train:')
    reached "$(echo "$torch_line" | sed -E 's/.* to ([0-9.]+) test accuracy.*/\1/')" && break
  done
fi

dotnet build -c Release samples/MnistNet.Train -v quiet -nologo >/dev/null
arch=conv32k5,pool,conv64k5,pool,dense256,dropout0.5
for epochs in 1 2 3 4 5 6 7 8 9 10; do
  ours_line=$(dotnet run -c Release --no-build --project samples/MnistNet.Train -- --arch "$arch" --epochs "$epochs" \
    --schedule "$schedule" --lr 0.002 --init fan-in --dev 0 --threads 2 | grep '^result:')
  echo "mnistnet, $epochs epoch(s), $schedule: $ours_line" >&2
  reached "$(echo "$ours_line" | sed -E 's/.* test ([0-9.]+) .*/\1/')" && break
done
echo "$torch_line"
echo "mnistnet ($schedule): $ours_line"
torch_s=$(echo "$torch_line" | sed -E 's/^pytorch-train: ([0-9.]+) s.*/\1/')
ours_s=$(echo "$ours_line" | sed -E 's/.*, ([0-9.]+) s training/\1/')
awk -v a="$torch_s" -v b="$ours_s" -v s="$schedule" 'BEGIN { printf "ratio (%s schedule on both sides): MnistNet reaches 99.0 %% in %.2fx the training time PyTorch takes (%s s vs %s s; %.2fx less)\n", s, b / a, b, a, a / b }'
