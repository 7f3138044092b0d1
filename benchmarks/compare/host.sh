#!/usr/bin/env bash
# Sourced by the comparison scripts: host_line prints one line naming the machine a figure came from (every figure
# says which host it was taken on; PERF.md's host types differ up to 2x on the same kernels):
#
#   host: AMD EPYC; AVX-512 without avx512_vp2intersect: PERF.md's host C (Zen 4); 2 CPUs; L2 2 MiB (2 instances); L3 32 MiB (1 instance)
#
# host_line [cpuinfo file] reads /proc/cpuinfo unless given another file (how its branches were checked); the caches
# always come from this machine's lscpu.
host_line() {
  local cpuinfo=${1:-/proc/cpuinfo} model vendor flags kind letter caches l2 l3
  model=$(sed -n 's/^model name[[:space:]]*: //p' "$cpuinfo" | head -n 1)
  vendor=$(sed -n 's/^vendor_id[[:space:]]*: //p' "$cpuinfo" | head -n 1)
  flags=" $(sed -n 's/^flags[[:space:]]*: //p' "$cpuinfo" | head -n 1) "
  if [[ $flags == *" avx512f "* && $flags == *" avx512_vp2intersect "* ]]; then
    kind="AVX-512 with avx512_vp2intersect"; letter="A (Zen 5)"
  elif [[ $flags == *" avx512f "* ]]; then
    kind="AVX-512 without avx512_vp2intersect"; letter="C (Zen 4)"
  elif [[ $flags == *" avx2 "* ]]; then
    kind="AVX2, no AVX-512"; letter="B (Zen 3)"
  else
    kind="no AVX2"; letter=""
  fi
  # PERF.md's host types are all AMD; the letters say nothing about another vendor's CPUs.
  if [ "$vendor" = AuthenticAMD ] && [ -n "$letter" ]; then kind="$kind: PERF.md's host $letter"; fi
  caches=$(lscpu 2>/dev/null || true)
  l2=$(sed -n 's/^L2 cache:[[:space:]]*//p' <<< "$caches")
  l3=$(sed -n 's/^L3 cache:[[:space:]]*//p' <<< "$caches")
  echo "host: ${model:-unknown CPU}; $kind; $(nproc) CPUs; L2 ${l2:-unknown}; L3 ${l3:-unknown}"
}
