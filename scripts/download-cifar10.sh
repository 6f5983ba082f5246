#!/usr/bin/env bash
# Downloads the CIFAR-10 binary version, verifies its md5 sum against
# scripts/checksums/cifar10.md5 (or $CIFAR10_CHECKSUMS) and unpacks data_batch_1..5.bin and
# test_batch.bin into data/cifar10/ (or $CIFAR10_DEST). The base address comes from
# $CIFAR10_BASE_URL, default https://www.cs.toronto.edu/~kriz.
# Then: cargo run -p sweep -- experiments/cifar10-cnn.toml
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/download.sh"
dest=${CIFAR10_DEST:-data/cifar10}
fetch_verified \
    "${CIFAR10_BASE_URL:-https://www.cs.toronto.edu/~kriz}" \
    "$dest" \
    "${CIFAR10_CHECKSUMS:-$here/checksums/cifar10.md5}" \
    cifar-10-binary.tar.gz
# The archive holds cifar-10-batches-bin/<files>; only the six batch files are taken out.
members=()
for batch in data_batch_1 data_batch_2 data_batch_3 data_batch_4 data_batch_5 test_batch; do
    members+=("cifar-10-batches-bin/$batch.bin")
done
tar -xzf "$dest/cifar-10-binary.tar.gz" -C "$dest" --strip-components=1 "${members[@]}"
echo "$dest: CIFAR-10 batches ready"
