#!/usr/bin/env bash
# Times the MLP (784 → 256 → 10, batch 128, SGD) on a 60,000 × 784 blobs training split: one run
# of 3 epochs, each followed by the usual evaluation of the whole training and test splits.
# Prints the wall time of the run and the time per epoch. Extra arguments go to `sweep`
# (e.g. --jobs 1). Set PROFILE=release to time the release build.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/bench.toml" <<'TOML'
name = "bench-blobs-mlp"
seeds = 1
[data]
source = "blobs"
n_classes = 10
n_features = 784
n_samples = 75000          # 80% train (60,000), 20% test
separation = 0.3
validation_fraction = 0.0
test_fraction = 0.2
[noise]
model = "symmetric"
rates = [0.2]
[targets]
epsilons = [0.1]
[model]
kind = "mlp"
hidden = [256]
[training]
epochs = 3
batch_size = 128
optimizer = "sgd"
learning_rate = 0.05
TOML
profile=()
[ "${PROFILE:-dev}" = release ] && profile=(--release)
if ! cargo run -q "${profile[@]}" -p sweep -- "$work/bench.toml" --out "$work/out" "$@" \
    > "$work/log" 2>&1; then
    cat "$work/log" >&2
    exit 1
fi
seconds=$(sed -n 's/^ *"seconds": \([0-9.]*\).*/\1/p' "$work"/out/records/*.json)
awk -v s="$seconds" 'BEGIN { printf "run: %.2f s, per epoch (train + evaluation): %.2f s\n", s, s / 3 }'
