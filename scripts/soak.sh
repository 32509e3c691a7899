#!/usr/bin/env bash
# Soak run: trains the Fashion-MNIST MLP example for many epochs and reports
# the process's memory after each one, to show that memory use stays flat
# (no growth from plans, frames, datasets or event files across epochs).
#   scripts/soak.sh [--epochs N] [--build-dir DIR]
# Prints one line per epoch (`epoch K rss_kib=R peak_kib=P`) and a summary
# comparing epoch 5 with the last; exits 1 when the resident memory after the
# last epoch exceeds that after epoch 5 by more than 5%.
set -euo pipefail
cd "$(dirname "$0")/.."

epochs=50
build_dir=build
while (($#)); do
  case $1 in
    --epochs) epochs=$2; shift 2 ;;
    --epochs=*) epochs=${1#--epochs=}; shift ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --build-dir=*) build_dir=${1#--build-dir=}; shift ;;
    *) echo "soak.sh: unknown argument '$1' (expected --epochs N, --build-dir DIR)" >&2; exit 2 ;;
  esac
done
if ! [[ $epochs =~ ^[0-9]+$ ]] || ((epochs < 5)); then
  echo "soak.sh: --epochs must be a whole number >= 5, got '$epochs'" >&2
  exit 2
fi
binary=$build_dir/bin/example_fashion_mlp
if [[ ! -x $binary ]]; then
  echo "soak.sh: $binary not found; build first (scripts/test.sh builds it)" >&2
  exit 2
fi

fifo=$(mktemp -u)
mkfifo "$fifo"
trap 'rm -f "$fifo"' EXIT
"$binary" --epochs "$epochs" >"$fifo" 2>/dev/null &
pid=$!

field() { awk -v key="$1:" '$1 == key { print $2 }' "/proc/$pid/status"; }
rss_at_5="" peak_at_5="" rss_last="" peak_last=""
while IFS= read -r line; do
  if [[ $line =~ ^epoch\ ([0-9]+)/ ]]; then
    epoch=${BASH_REMATCH[1]}
    rss=$(field VmRSS) peak=$(field VmHWM)
    echo "epoch $epoch rss_kib=$rss peak_kib=$peak"
    if ((epoch == 5)); then rss_at_5=$rss peak_at_5=$peak; fi
    rss_last=$rss peak_last=$peak
  fi
done <"$fifo"
wait "$pid"

echo "soak: epoch 5 rss_kib=$rss_at_5 peak_kib=$peak_at_5; epoch $epochs rss_kib=$rss_last peak_kib=$peak_last"
if ((rss_last * 100 > rss_at_5 * 105)); then
  echo "soak: resident memory grew by more than 5% between epoch 5 and epoch $epochs" >&2
  exit 1
fi
