#!/usr/bin/env bash
# Benchmarks the harness (target/release/sweep) against a plain-PyTorch reference of the same
# work, side by side, with the peak RSS of every process. Usage, from anywhere:
#
#     bash scripts/bench/run.sh
#
# Builds the release binaries, creates (or reuses) the virtual environment scripts/bench/.venv
# with torch and numpy, runs every workload (see scripts/bench/README.md), prints one table and
# writes it to target/bench/results.md (the logs of every process go to target/bench/logs/).
# Takes a few minutes on a 2-core machine (about 2 once built and installed), well under 15.
set -euo pipefail

cd "$(dirname "$0")/../.."
bench=scripts/bench
venv=$bench/.venv
py=$venv/bin/python
sweep=target/release/sweep
sgemm=target/release/examples/sgemm
results=target/bench
work=$(mktemp -d "${TMPDIR:-/tmp}/labelnoise-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

[ -x /usr/bin/time ] \
    || die "/usr/bin/time (GNU time) is needed for the peak RSS: apt-get install time"

# ------------------------------------------------------------------------------------------ build
say "building the harness (release): sweep and the trainer's sgemm example"
cargo build --release -p sweep
cargo build --release -p trainer --example sgemm

# ------------------------------------------------------------------------------------ python venv
# Never the system Python: everything goes into $venv. A lock inside it keeps two runs of this
# script from installing at the same time (the second waits, then reuses the first's install).
mkdir -p "$venv"
if command -v flock > /dev/null; then
    exec 9> "$venv/.bench-install.lock"
    flock 9
fi
if [ -x "$py" ] && "$py" -c 'import torch, numpy, tomllib' 2> /dev/null; then
    say "reusing $venv ($("$py" -c 'import torch; print("torch", torch.__version__)'))"
else
    say "installing torch and numpy into $venv: this pulls about 3.5 GB of wheels once;" \
        "later runs reuse it"
    [ -x "$py" ] || python3 -m venv "$venv"
    "$py" -c 'import tomllib' 2> /dev/null \
        || die "$venv needs Python 3.11 or newer (tomllib); remove it and rerun with a newer python3"
    "$py" -m pip install --upgrade pip
    "$py" -m pip install torch numpy
fi
if command -v flock > /dev/null; then
    exec 9>&-
fi

# --------------------------------------------------------------------------------------- helpers
# The thread settings of the single-threaded measurements.
harness_1t=(env RAYON_NUM_THREADS=1)
torch_1t=(env OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1)
# A user's default: no thread variable set.
user_env=(env -u RAYON_NUM_THREADS -u OMP_NUM_THREADS -u MKL_NUM_THREADS)

# timed NAME CMD…: runs CMD as its own process under GNU time; output in $work/NAME.log.
timed() {
    local name=$1
    shift
    if ! /usr/bin/time -v -o "$work/$name.time" "$@" > "$work/$name.log" 2>&1; then
        tail -n 30 "$work/$name.log" >&2
        die "$name failed (command: $*)"
    fi
}
# Peak RSS in MiB, and the process wall time in seconds, of a timed NAME.
rss() { awk '/Maximum resident set size/ { printf "%.0f", $NF / 1024 }' "$work/$1.time"; }
wall() {
    awk '/Elapsed \(wall clock\)/ {
        n = split($NF, part, ":"); s = 0
        for (i = 1; i <= n; i++) s = s * 60 + part[i]
        printf "%.2f", s }' "$work/$1.time"
}
# The sum of a field over the records of the run(s) in a results folder: "seconds" (one run's
# train() call: model, training steps and per-epoch evaluation) or "training_seconds" (the
# training steps alone).
record_field() {
    "$py" - "$1" "$2" <<'PY'
import glob, json, sys
folder, field = sys.argv[1], sys.argv[2]
records = [json.load(open(p)) for p in glob.glob(folder + "/records/*.json")]
if not records or any(field not in r for r in records):
    sys.exit(f"error: no record with a \"{field}\" field in {folder}")
print(f"{sum(r[field] for r in records):.3f}")
PY
}
record_seconds() { record_field "$1" seconds; }
# A field of the torch reference's JSON result.
json_field() {
    "$py" -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}
torch_split() { "$py" -c 'import json, sys; print(*json.load(open(sys.argv[1]))["split"])' "$1"; }
# "TRAIN VALIDATION TEST" sample counts that `sweep check` reports for a config.
harness_split() {
    "$sweep" check "$1" \
        | sed -n 's/.*data: \([0-9]*\) training, \([0-9]*\) validation, \([0-9]*\) test.*/\1 \2 \3/p'
}
calc() { awk "BEGIN { printf \"$1\", ($2) }"; }
max() { calc '%s' "$1 > $2 ? $1 : $2"; }
min() { calc '%s' "$1 < $2 ? $1 : $2"; }
rows=()
# row WORKLOAD HARNESS_S TORCH_S HARNESS_RSS TORCH_RSS HARNESS_WALL TORCH_WALL
row() {
    rows+=("| $1 | $2 | $3 | $(calc '%.2f×' "$3 / $2") | $4 MiB | $5 MiB | $6 | $7 |")
}
notes=()
note() { notes+=("$*"); say "$*"; }

# ------------------------------------------------------------------------------------------ data
if [ -f data/mnist/train-images-idx3-ubyte ] || [ -f data/mnist/train-images-idx3-ubyte.gz ]; then
    mnist=data/mnist
    mnist_kind="the real MNIST files in data/mnist"
else
    mnist=$work/mnist-synthetic
    mnist_kind="synthetic MNIST-sized IDX files (60,000 + 10,000 images, 28×28)"
    say "writing $mnist_kind"
    "$py" "$bench/make_idx.py" "$mnist" --train 60000 --test 10000 >&2
fi

# mlp_config EPOCHS N_SAMPLES TEST_FRACTION VALIDATION_FRACTION: the MLP-784 workload on blobs.
mlp_config() {
    cat <<TOML
name = "bench-mlp784"
seed = 1
seeds = 1
[data]
source = "blobs"
n_classes = 10
n_features = 784
n_samples = $2
separation = 0.3
test_fraction = $3
validation_fraction = $4
[noise]
model = "symmetric"
rates = [0.2]
[targets]
epsilons = [0.1]
[model]
kind = "mlp"
hidden = [256]
[training]
epochs = $1
batch_size = 128
optimizer = "sgd"
learning_rate = 0.05
momentum = 0.9
weight_decay = 5e-4
TOML
}
# 30,000 samples, 3,000 per class: 1,000 test and 200 validation each → 18,000 / 2,000 / 10,000.
mlp_config 5 30000 0.3333333333 0.0666666667 > "$work/mlp784.toml"
mlp_config 3 30000 0.3333333333 0.0666666667 > "$work/mlp784-e3.toml"
mlp_config 12 30000 0.3333333333 0.0666666667 > "$work/mlp784-e12.toml"

# CNN: 4,000 training samples (stratified subset) of the IDX training images, 1/30 of them
# (about 2,000) held out for validation, the 10,000 test images.
cat > "$work/cnn28.toml" <<TOML
name = "bench-cnn28"
seed = 1
seeds = 1
[data]
source = "idx"
path = "$mnist"
n_classes = 10
validation_fraction = 0.0333333333
train_subset = 4000
[noise]
model = "symmetric"
rates = [0.2]
[targets]
epsilons = [0.1]
[model]
kind = "cnn"
channels = [16, 32]
[training]
epochs = 2
batch_size = 64
optimizer = "sgd"
learning_rate = 0.05
momentum = 0.9
weight_decay = 5e-4
TOML

# experiments/mnist.toml with the data folder above and a reduced grid: 2 runs of 2 epochs.
sed -e "s|^path = .*|path = \"$mnist\"|" \
    -e 's|^seeds = .*|seeds = 1|' \
    -e 's|^rates = .*|rates = [0.2]|' \
    -e 's|^epsilons = .*|epsilons = [0.0, 0.1]|' \
    -e 's|^epochs = .*|epochs = 2|' \
    experiments/mnist.toml > "$work/mnist-jobs2.toml"

for config in mlp784 cnn28 mnist-jobs2; do
    printf '%-16s %s\n' "$config:" "$("$sweep" check "$work/$config.toml")" >&2
done
[ "$(harness_split "$work/mlp784.toml")" = "18000 2000 10000" ] \
    || die "the mlp784 splits are not 18,000 / 2,000 / 10,000"
[ "$(harness_split "$work/cnn28.toml" | cut -d' ' -f1)" = 4000 ] \
    || die "the cnn28 training split is not 4,000 samples"

# compare_splits NAME CONFIG TORCH_JSON: the two sides must train and evaluate the same counts.
compare_splits() {
    local h t
    h=$(harness_split "$2")
    t=$(torch_split "$3")
    [ "$h" = "$t" ] || note "warning: $1: split sizes differ: harness $h, torch $t (train validation test)"
}

# torch_pair NAME CONFIG: the torch reference of CONFIG as two single-threaded processes, each
# taking half of the grid (round robin), started together. Sets pair_wall (both together, s),
# pair_rss (the larger peak, MiB) and pair_loop (the longer timed loop, s).
torch_pair() {
    local name=$1 config=$2 start end pids=() i
    start=$(date +%s.%N)
    for i in 1 2; do
        timed "$name-$i" "${torch_1t[@]}" "$py" "$bench/torch_reference.py" run "$config" \
            --shard "$i/2" --threads 1 --json "$work/$name-$i.json" &
        pids+=("$!")
    done
    for i in "${pids[@]}"; do
        wait "$i" || die "$name: a torch process failed"
    done
    end=$(date +%s.%N)
    pair_wall=$(calc '%.2f' "$end - $start")
    pair_rss=$(max "$(rss "$name-1")" "$(rss "$name-2")")
    pair_loop=$(calc '%.2f' "$(max "$(json_field "$work/$name-1.json" loop_seconds)" \
        "$(json_field "$work/$name-2.json" loop_seconds)")")
}

# ------------------------------------------------------------------------------ torch baseline
say "torch baseline: a process that only imports torch and numpy"
timed torch-baseline "${torch_1t[@]}" "$py" -c 'import numpy, torch, torch.nn.functional'

# ------------------------------------------------------------------------------ a. mlp784
say "mlp784: harness, 1 thread"
timed mlp784-harness "${harness_1t[@]}" "$sweep" "$work/mlp784.toml" --jobs 1 --fresh --out "$work/out-mlp784"
say "mlp784: torch, 1 thread"
timed mlp784-torch "${torch_1t[@]}" "$py" "$bench/torch_reference.py" run "$work/mlp784.toml" \
    --threads 1 --json "$work/mlp784-torch.json"
compare_splits mlp784 "$work/mlp784.toml" "$work/mlp784-torch.json"
mlp_h=$(record_seconds "$work/out-mlp784")
mlp_t=$(json_field "$work/mlp784-torch.json" loop_seconds)
row mlp784 "$mlp_h" "$(calc '%.3f' "$mlp_t")" "$(rss mlp784-harness)" "$(rss mlp784-torch)" \
    "$(wall mlp784-harness)" "$(wall mlp784-torch)"

# ------------------------------------------------------------------------------ b. memory
say "mlp784-memory: harness at 3 and 12 epochs"
timed mem-e3 "${harness_1t[@]}" "$sweep" "$work/mlp784-e3.toml" --jobs 1 --fresh --out "$work/out-e3"
timed mem-e12 "${harness_1t[@]}" "$sweep" "$work/mlp784-e12.toml" --jobs 1 --fresh --out "$work/out-e12"
mem3=$(rss mem-e3)
mem12=$(rss mem-e12)
mem_ratio=$(calc '%.3f' "$mem12 / $mem3")
mem_ok=$(calc '%s' "($mem_ratio - 1 <= 0.15 && 1 - $mem_ratio <= 0.15) ? \"yes\" : \"NO\"")

# ------------------------------------------------------------------------------ c. cnn28
say "cnn28: harness, 1 thread"
timed cnn28-harness "${harness_1t[@]}" "$sweep" "$work/cnn28.toml" --jobs 1 --fresh --out "$work/out-cnn28"
say "cnn28: torch, 1 thread"
timed cnn28-torch "${torch_1t[@]}" "$py" "$bench/torch_reference.py" run "$work/cnn28.toml" \
    --threads 1 --json "$work/cnn28-torch.json"
compare_splits cnn28 "$work/cnn28.toml" "$work/cnn28-torch.json"
row cnn28 "$(record_seconds "$work/out-cnn28")" \
    "$(calc '%.3f' "$(json_field "$work/cnn28-torch.json" loop_seconds)")" \
    "$(rss cnn28-harness)" "$(rss cnn28-torch)" "$(wall cnn28-harness)" "$(wall cnn28-torch)"

# ------------------------------------------------------------------------------ d. default
say "default: harness, experiments/noise.toml --jobs 2 (80 runs, 1 thread each)"
timed default-harness "${harness_1t[@]}" "$sweep" experiments/noise.toml --jobs 2 --fresh \
    --out "$work/out-default"
say "default: torch, the same 80 runs as 2 processes × 1 thread"
torch_pair default-torch experiments/noise.toml
compare_splits default experiments/noise.toml "$work/default-torch-1.json"
default_h=$(wall default-harness)
row default "$default_h" "$pair_wall" "$(rss default-harness)" "$pair_rss" "$default_h" "$pair_wall"
default_loop=$pair_loop

# ------------------------------------------------------------------------------ f. mnist-jobs2
say "mnist-jobs2: harness, experiments/mnist.toml reduced to 2 runs × 2 epochs, --jobs 2"
timed mnist-harness "${harness_1t[@]}" "$sweep" "$work/mnist-jobs2.toml" --jobs 2 --fresh \
    --out "$work/out-mnist"
say "mnist-jobs2: torch, the same 2 runs as 2 processes × 1 thread"
torch_pair mnist-torch "$work/mnist-jobs2.toml"
compare_splits mnist-jobs2 "$work/mnist-jobs2.toml" "$work/mnist-torch-1.json"
mnist_h=$(wall mnist-harness)
row mnist-jobs2 "$mnist_h" "$pair_wall" "$(rss mnist-harness)" "$pair_rss" "$mnist_h" "$pair_wall"
mnist_split=$(harness_split "$work/mnist-jobs2.toml")

# ------------------------------------------------------------------------------ e. jobs-scaling
say "jobs-scaling: experiments/noise.toml with --jobs 1, then --jobs 2 (default thread settings)"
timed jobs1 "${user_env[@]}" "$sweep" experiments/noise.toml --jobs 1 --fresh --out "$work/out-jobs1"
timed jobs2 "${user_env[@]}" "$sweep" experiments/noise.toml --jobs 2 --fresh --out "$work/out-jobs2"
jobs1=$(wall jobs1)
jobs2=$(wall jobs2)

# ------------------------------------------------------------------------------ g. SGEMM
say "SGEMM 1024³, 1 thread: gemm crate and torch.mm"
timed sgemm-rust "${harness_1t[@]}" "$sgemm" 1024 30
timed sgemm-torch "${torch_1t[@]}" "$py" "$bench/torch_reference.py" sgemm --n 1024 --reps 30 --threads 1
sgemm_rust=$(awk '/^sgemm_gflops/ { print $2 }' "$work/sgemm-rust.log")
sgemm_torch=$(awk '/^sgemm_gflops/ { print $2 }' "$work/sgemm-torch.log")
sgemm_best=$(max "$sgemm_rust" "$sgemm_torch")
# The MLP-784 training FLOPs: 6 × parameters per training sample (forward 2, backward 4).
params=$((784 * 256 + 256 + 256 * 10 + 10))
train_flops=$(calc '%.0f' "6 * $params * 18000 * 5")
# Training steps alone: each record's "training_seconds" (batches, forward, backward, update;
# the per-epoch evaluation excluded), and the torch loop's own training seconds. Best of 3 runs.
say "mlp784 training steps alone: 3 more runs"
train_h=$(record_field "$work/out-mlp784" training_seconds)
for i in 1 2 3; do
    timed "rate-$i" "${harness_1t[@]}" "$sweep" "$work/mlp784.toml" --jobs 1 --fresh \
        --out "$work/out-rate-$i"
    train_h=$(min "$train_h" "$(record_field "$work/out-rate-$i" training_seconds)")
done
train_t=$(json_field "$work/mlp784-torch.json" training_seconds)
rate_lower=$(calc '%.2f' "$train_flops / $mlp_h / 1e9")
rate_h=$(calc '%.2f' "$train_flops / $train_h / 1e9")
rate_t=$(calc '%.2f' "$train_flops / $train_t / 1e9")
rate_torch=$(calc '%.2f' "$train_flops / $mlp_t / 1e9")

# ------------------------------------------------------------------------------ the table
mkdir -p "$results/logs"
cp "$work"/*.log "$work"/*.time "$work"/*.toml "$results/logs/"
{
    echo "# labelnoise harness vs PyTorch"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'); commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (working tree modified)');" \
        "$(nproc) cores, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo);" \
        "$("$py" -c 'import torch; print("torch", torch.__version__)'); images: $mnist_kind."
    echo
    echo "| workload | harness s | torch s | harness/torch speed | harness peak RSS | torch peak RSS | harness wall s | torch wall s |"
    echo "|---|---|---|---|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
    echo
    echo "- harness/torch speed = torch s / harness s (> 1: the harness is faster)."
    echo "- mlp784, cnn28 (1 thread each): harness s = the run's \"seconds\" in its record (model, training, per-epoch evaluation); torch s = the same loop, timed after imports, data creation and one untimed warm-up step. Wall s = the whole process (harness: data generation, reports and charts too; torch: import torch too)."
    echo "- default = experiments/noise.toml as it is (80 runs: 4 rates × 5 seeds × 4 ε, MLP 64→128→10, 30 epochs, batch 32). mnist-jobs2 = experiments/mnist.toml on $mnist_kind, reduced to 2 runs (rate 0.2 × 1 seed × ε 0 and 0.1) of 2 epochs, otherwise unchanged (MLP 784→256→10, batch 128, train_subset 20,000; splits $mnist_split). For both, the two columns are wall times: the harness is one process with --jobs 2 (RAYON_NUM_THREADS=1), torch is 2 processes × 1 thread started together, each taking half of the runs (wall = both together; peak RSS = the larger of the two). The default's torch timed loops alone: $default_loop s (the longer process)."
    echo "- torch's peak RSS includes its libraries: a process that only imports torch and numpy peaks at $(rss torch-baseline) MiB with this build ($(wall torch-baseline) s wall)."
    echo
    echo "mlp784-memory (harness, 1 thread): peak RSS $mem3 MiB at 3 epochs, $mem12 MiB at 12 epochs; ratio $mem_ratio (within 15%: $mem_ok)"
    echo
    echo "jobs-scaling (experiments/noise.toml, 80 runs, default thread settings): --jobs 1 $jobs1 s, --jobs 2 $jobs2 s wall; speed-up $(calc '%.2f' "$jobs1 / $jobs2")×"
    echo
    echo "SGEMM m = n = k = 1024, 1 thread, best of 30: gemm crate $sgemm_rust GFLOP/s, torch.mm $sgemm_torch GFLOP/s"
    echo
    echo "MLP-784 training rate (6 × $params FLOPs per training sample, 18,000 × 5 epochs = $(calc '%.1f' "$train_flops / 1e9") GFLOP):"
    echo "- harness, training steps alone (best of 4 runs, $train_h s): $rate_h GFLOP/s = $(calc '%.0f' "100 * $rate_h / $sgemm_best")% of the best SGEMM rate ($sgemm_best GFLOP/s)"
    echo "- torch, training steps alone ($(calc '%.3f' "$train_t") s): $rate_t GFLOP/s = $(calc '%.0f' "100 * $rate_t / $sgemm_best")% of the best SGEMM rate"
    echo "- over training and evaluation: harness $rate_lower GFLOP/s ($mlp_h s), torch $rate_torch GFLOP/s ($(calc '%.3f' "$mlp_t") s)"
    echo "- 6 × parameters counts the gradient with respect to the first layer's input, which no trainer computes; the work actually done is about 4 × parameters per sample, so the rates above overstate the arithmetic done by up to 1.5× and a share above 100% can happen."
    for line in "${notes[@]}"; do
        echo
        echo "$line"
    done
} > "$results/results.md"
echo
cat "$results/results.md"
echo
echo "written to $results/results.md (logs in $results/logs/)"
