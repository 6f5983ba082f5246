#!/usr/bin/env bash
# Downloads the fashion-mnist IDX files into data/fashion-mnist/ (or $FASHION_MNIST_DEST) and verifies their md5 sums
# against scripts/checksums/fashion-mnist.md5 (or $FASHION_MNIST_CHECKSUMS). The base address comes from
# $FASHION_MNIST_BASE_URL, default http://fashion-mnist.s3-website.eu-central-1.amazonaws.com.
# Then: cargo run -p sweep -- experiments/fashion-mnist*.toml
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/download.sh"
fetch_verified \
    "${FASHION_MNIST_BASE_URL:-http://fashion-mnist.s3-website.eu-central-1.amazonaws.com}" \
    "${FASHION_MNIST_DEST:-data/fashion-mnist}" \
    "${FASHION_MNIST_CHECKSUMS:-$here/checksums/fashion-mnist.md5}" \
    train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz \
    t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz
