#!/usr/bin/env bash
# Downloads the mnist IDX files into data/mnist/ (or $MNIST_DEST) and verifies their md5 sums
# against scripts/checksums/mnist.md5 (or $MNIST_CHECKSUMS). The base address comes from
# $MNIST_BASE_URL, default https://ossci-datasets.s3.amazonaws.com/mnist.
# Then: cargo run -p sweep -- experiments/mnist*.toml
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/download.sh"
fetch_verified \
    "${MNIST_BASE_URL:-https://ossci-datasets.s3.amazonaws.com/mnist}" \
    "${MNIST_DEST:-data/mnist}" \
    "${MNIST_CHECKSUMS:-$here/checksums/mnist.md5}" \
    train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz \
    t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz
