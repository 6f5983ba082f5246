#!/usr/bin/env bash
# Submits an experiment to Slurm as an array job of SHARDS tasks (sweep.sbatch, one shard each)
# plus a merge job (merge.sbatch) that starts only once every task has succeeded.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: scripts/slurm/submit.sh SHARDS [CONFIG [OUT]] [-- SBATCH_OPTION...]

Runs the grid of CONFIG as a Slurm array of SHARDS tasks, task I writing OUT/shard-I, then merges
them into OUT/merged. Submit from the repository root: the jobs run in the folder you submit from,
and relative paths are taken from there.

  SHARDS          number of array tasks (1 or more)
  CONFIG          experiment file; default $SWEEP_CONFIG, else experiments/noise.toml
  OUT             results root; default $SWEEP_OUT, else results/slurm/<config file stem>
  SBATCH_OPTION   passed to both sbatch calls, e.g. --partition=cpu --account=proj
                  --cpus-per-task=8 --time=12:00:00 (these override the #SBATCH defaults)

Environment: SWEEP_BIN (default target/release/sweep), SWEEP_FRESH=1 (discard the shards'
earlier records instead of resuming them), SWEEP_ARRAY_LIMIT=K (at most K tasks at once).
Job logs go to OUT/logs/. Prints array_job=ID and merge_job=ID on standard output.
Exit status: 0 submitted; 1 sbatch failed; 2 wrong arguments.
EOF
}

die_usage() { echo "submit.sh: $*" >&2; usage >&2; exit 2; }
die() { echo "submit.sh: $*" >&2; exit 2; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

positional=()
sbatch_opts=()
while (($# > 0)); do
    case $1 in
        -h | --help) usage; exit 0 ;;
        --) shift; sbatch_opts=("$@"); break ;;
        -*) die_usage "unknown option $1 (sbatch options go after --)" ;;
        *) positional+=("$1"); shift ;;
    esac
done
((${#positional[@]} >= 1 && ${#positional[@]} <= 3)) || die_usage "expected SHARDS [CONFIG [OUT]]"

shards=${positional[0]}
[[ $shards =~ ^[1-9][0-9]*$ ]] || die_usage "SHARDS must be a positive whole number, not '$shards'"
config=${positional[1]:-${SWEEP_CONFIG:-experiments/noise.toml}}
config_name=$(basename "$config")
out=${positional[2]:-${SWEEP_OUT:-results/slurm/${config_name%.toml}}}
bin=${SWEEP_BIN:-target/release/sweep}

command -v sbatch >/dev/null || die "sbatch not found: run this on a Slurm login node (module load slurm?)"
[[ -f $config ]] || die "no experiment file $config (run from the repository root?)"
[[ -x $bin ]] || die "no executable $bin: build it with 'cargo build --release -p sweep' or set SWEEP_BIN"
# sbatch --export splits its list at commas, so such a value would arrive truncated.
for value in "$config" "$out" "$bin"; do
    [[ $value != *,* ]] || die "'$value' contains a comma, which sbatch --export cannot carry"
done

# A broken experiment file should fail here, in seconds, not in N queued tasks hours from now.
if ! listing=$("$bin" list "$config"); then
    die "$bin list $config failed: fix the experiment file first"
fi
runs=$(grep -c '^[0-9]' <<<"$listing" || true)
if ((runs > 0 && shards > runs)); then
    echo "submit.sh: warning: $shards shards for $runs runs: $((shards - runs)) tasks will have nothing to do" >&2
fi

# A shard folder holds the records of one slice of one split (I of N); resuming it under another N
# would mix slices. The shard count of the first submission is kept beside the shards and a
# resubmission must use the same, unless SWEEP_FRESH=1 discards the earlier records anyway.
marker=$out/.shards
if [[ -f $marker && ${SWEEP_FRESH:-0} != 1 ]]; then
    previous=$(<"$marker")
    [[ $previous == "$shards" ]] ||
        die "$out was split into $previous shards by an earlier submission; use $previous shards, another OUT, SWEEP_FRESH=1, or delete $out"
fi
mkdir -p "$out/logs"

# Both jobs get the same variables explicitly (not just through the default --export=ALL) so that
# a site-wide SBATCH_EXPORT=NONE cannot drop them.
export_list=ALL,SWEEP_CONFIG=$config,SWEEP_OUT=$out,SWEEP_BIN=$bin,SWEEP_SHARDS=$shards,SWEEP_FRESH=${SWEEP_FRESH:-0}

array=1-$shards
if [[ -n ${SWEEP_ARRAY_LIMIT:-} ]]; then
    [[ $SWEEP_ARRAY_LIMIT =~ ^[1-9][0-9]*$ ]] || die "SWEEP_ARRAY_LIMIT must be a positive whole number"
    array+=%$SWEEP_ARRAY_LIMIT
fi

# --parsable prints "ID" or "ID;CLUSTER".
array_job=$(sbatch --parsable --array="$array" --export="$export_list" \
    --output="$out/logs/%x_%A_%a.out" "${sbatch_opts[@]}" "$here/sweep.sbatch") || {
    echo "submit.sh: sbatch of the array job failed" >&2
    exit 1
}
array_job=${array_job%%;*}
echo "$shards" >"$marker"

# afterok: the merge starts only when every array task exited 0. kill-on-invalid-dep: if one of
# them fails the merge job is cancelled instead of waiting in the queue forever.
merge_job=$(sbatch --parsable --dependency="afterok:$array_job" --kill-on-invalid-dep=yes \
    --export="$export_list" --output="$out/logs/%x_%j.out" "${sbatch_opts[@]}" \
    "$here/merge.sbatch") || {
    echo "submit.sh: array job $array_job was submitted, but sbatch of the merge job failed;" >&2
    echo "  submit it by hand: sbatch --dependency=afterok:$array_job --export=$export_list $here/merge.sbatch" >&2
    exit 1
}
merge_job=${merge_job%%;*}

cat >&2 <<EOF
submit.sh: array job $array_job: $shards shards of $config -> $out/shard-1 .. $out/shard-$shards
submit.sh: merge job $merge_job: after all of them succeed -> $out/merged
submit.sh: logs in $out/logs/; watch with: squeue -j $array_job,$merge_job
EOF
echo "array_job=$array_job"
echo "merge_job=$merge_job"
