#!/usr/bin/env bash
# End-to-end test of the Slurm scripts: starts a throwaway one-node Slurm cluster on this machine
# (munged, slurmctld and slurmd started by hand, no systemd), submits experiments/ci.toml through
# submit.sh as a 4-task array plus its merge job, and checks that the merged CSV tables equal
# those of a single-machine run byte for byte.
#
#   bash scripts/slurm/local-test.sh
#
# Environment:
#   SWEEP_BIN=PATH          test this binary instead of building target/release/sweep
#   SLURM_TEST_OPTIONAL=1   where Slurm is missing and cannot be installed, print "skipped: ..."
#                           and exit 0 instead of failing
#   SLURM_TEST_SHARDS=N     array size (default 4)
#   SLURM_TEST_TIMEOUT=S    limit of each wait for the cluster or the jobs (default 120 s)
#   SLURM_TEST_KEEP=1       keep the temporary folder (config, logs, results) for inspection
#
# Needs: Slurm (slurmctld, slurmd, slurm-client) and munge; as root with apt-get they are
# installed when missing (Debian/Ubuntu packages). Everything else lives in a temporary folder:
# its own munge key and socket, its own slurm.conf (pointed at with SLURM_CONF) on free ports, so
# it neither uses nor disturbs a munged or Slurm that may already run here. On exit, whatever the
# outcome, it cancels its jobs and stops exactly the daemons it started.
# Exit status: 0 passed (or skipped, see above); 1 failed.
set -euo pipefail

started=$SECONDS
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
here=$root/scripts/slurm
config=experiments/ci.toml
# Required tables; every other top-level CSV of the single-machine run is compared as well.
required_tables=(summary.csv paired.csv runs.csv)

# Read our own settings before the SLURM_* cleanup below removes them from the environment.
optional=${SLURM_TEST_OPTIONAL:-0}
shards=${SLURM_TEST_SHARDS:-4}
wait_s=${SLURM_TEST_TIMEOUT:-120}
keep=${SLURM_TEST_KEEP:-0}
[[ $shards =~ ^[1-9][0-9]*$ ]] || { echo "local-test: SLURM_TEST_SHARDS must be a positive whole number" >&2; exit 1; }
[[ $wait_s =~ ^[1-9][0-9]*$ ]] || { echo "local-test: SLURM_TEST_TIMEOUT must be a positive whole number" >&2; exit 1; }

# Run inside a real Slurm job (or with site defaults set), inherited SLURM_*/SBATCH_* variables
# would leak into our sbatch calls and aim them at the wrong cluster, partition or account.
while IFS= read -r var; do unset "$var"; done < <(compgen -e | grep -E '^(SLURM|SBATCH|SALLOC|SQUEUE|SINFO)_' || true)
# The daemons live in sbin, which a non-root PATH often lacks.
export PATH=$PATH:/usr/sbin:/sbin

say() { echo "local-test: $*"; }
fail() { echo "local-test: FAIL: $*" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sweep-slurm-test.XXXXXX")
# munged insists that every folder above its socket be searchable by all (clients of any user
# must reach it); mktemp's 0700 would make it refuse to start.
chmod 711 "$tmp"
mkdir -p "$tmp/munge" "$tmp/run" "$tmp/slurm/state" "$tmp/slurm/spool" "$tmp/slurm/log"
chmod 700 "$tmp/munge"
chmod 755 "$tmp/run"
logdir=$tmp/slurm/log

munged_pid='' slurmctld_pid='' slurmd_pid='' jobs_submitted=() conf=''

# Stops a daemon we started: SIGTERM, up to 15 s for it to exit, then SIGKILL.
stop_daemon() {
    local name=$1 pid=$2
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 30); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "local-test: $name ($pid) ignored SIGTERM; killing it" >&2
        kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
    return 0
}

# Processes of our cluster's jobs that outlived it (slurmstepd and what it ran): they, and only
# they, carry our slurm.conf in their environment.
job_leftovers() {
    local p
    [[ -n $conf ]] || return 0
    for p in /proc/[0-9]*; do
        p=${p#/proc/}
        [[ $p != "$$" ]] || continue
        grep -qzxF "SLURM_CONF=$conf" "/proc/$p/environ" 2>/dev/null && echo "$p"
    done
    return 0
}

print_logs() {
    local f
    for f in "$logdir"/* "$tmp/cluster/logs"/* "$tmp/single.log"; do
        [[ -f $f ]] || continue
        echo "----- ${f#"$tmp"/} (last 60 lines) -----" >&2
        tail -n 60 "$f" >&2
    done
}

cleanup() {
    local status=$?
    set +e
    # Cancel our jobs first: slurmstepd and the job's processes outlive a stopped slurmd.
    if ((${#jobs_submitted[@]} > 0)) && [[ -n $slurmctld_pid ]] && kill -0 "$slurmctld_pid" 2>/dev/null; then
        timeout 15 scancel "${jobs_submitted[@]}" 2>/dev/null
        local ids
        ids=$(IFS=,; echo "${jobs_submitted[*]}")
        for _ in $(seq 30); do
            [[ -z $(timeout 10 squeue -h -j "$ids" 2>/dev/null) ]] && break
            sleep 0.5
        done
    fi
    stop_daemon slurmd "$slurmd_pid"
    stop_daemon slurmctld "$slurmctld_pid"
    local left
    left=$(job_leftovers)
    if [[ -n $left ]]; then
        echo "local-test: stopping leftover job processes: ${left//$'\n'/ }" >&2
        # shellcheck disable=SC2086 # a list of pids
        kill -TERM $left 2>/dev/null
        sleep 2
        left=$(job_leftovers)
        # shellcheck disable=SC2086
        [[ -z $left ]] || kill -KILL $left 2>/dev/null
    fi
    stop_daemon munged "$munged_pid"
    if ((status != 0)); then
        print_logs
    fi
    if [[ $keep == 1 ]]; then
        echo "local-test: kept $tmp" >&2
    else
        rm -rf "$tmp"
    fi
    exit "$status"
}
trap cleanup EXIT
# Ctrl-C and kill end the script through exit, so that the EXIT trap runs once, after the command
# in progress, with the conventional status (130, 143).
trap 'exit 130' INT
trap 'exit 143' TERM

# Polls a command until it succeeds; gives up after $wait_s seconds. While waiting, checks that
# the daemon named by $2 (a pid) is still alive, so a crash fails at once with its log.
wait_for() {
    local what=$1 pid=$2
    shift 2
    local deadline=$((SECONDS + wait_s))
    until "$@" >/dev/null 2>&1; do
        if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
            fail "$what: the daemon exited (see its log below)"
        fi
        if ((SECONDS >= deadline)); then
            # Once the cluster is configured, its view of the node tells why (down, drained...).
            [[ -n ${SLURM_CONF:-} ]] && { sinfo -N -o '%N %t %E' >&2 || true; }
            fail "$what: gave up after ${wait_s} s"
        fi
        sleep 0.5
    done
}

# --- 1. Slurm and munge, installed if need be ---------------------------------------------------

unavailable() {
    if [[ $optional == 1 ]]; then
        echo "skipped: Slurm cannot be installed here ($1)"
        exit 0
    fi
    fail "Slurm cannot be installed here ($1); set SLURM_TEST_OPTIONAL=1 to skip instead of failing"
}

tools=(sbatch squeue sinfo scontrol scancel slurmctld slurmd munged munge unmunge)
missing_tools() {
    local t list=''
    for t in "${tools[@]}"; do command -v "$t" >/dev/null || list+=" $t"; done
    echo "${list# }"
}
missing=$(missing_tools)
if [[ -n $missing ]]; then
    say "missing: $missing"
    ((EUID == 0)) || unavailable "missing $missing; installing them needs root"
    command -v apt-get >/dev/null || unavailable "missing $missing; no apt-get to install them"
    # slurm-wlm is only a metapackage over these three; recommends would add mail and docs.
    packages=(slurmctld slurmd slurm-client munge)
    say "installing ${packages[*]} with apt-get (log: $tmp/apt.log)"
    install_started=$SECONDS
    export DEBIAN_FRONTEND=noninteractive
    # Lock::Timeout: wait for another apt/dpkg (e.g. unattended-upgrades) instead of failing.
    apt-get -q -o DPkg::Lock::Timeout=120 update >"$tmp/apt.log" 2>&1 ||
        unavailable "apt-get update failed: $(tail -n 2 "$tmp/apt.log" | tr '\n' ' ')"
    apt-get -q -y -o DPkg::Lock::Timeout=120 install --no-install-recommends "${packages[@]}" >>"$tmp/apt.log" 2>&1 ||
        unavailable "apt-get install failed: $(tail -n 2 "$tmp/apt.log" | tr '\n' ' ')"
    missing=$(missing_tools)
    [[ -z $missing ]] || unavailable "still missing after apt-get install: $missing"
    say "installed in $((SECONDS - install_started)) s"
fi

# --- 2. The sweep binary and the single-machine reference ---------------------------------------

if [[ -n ${SWEEP_BIN:-} ]]; then
    [[ -x $SWEEP_BIN && -f $SWEEP_BIN ]] || fail "SWEEP_BIN=$SWEEP_BIN is not an executable file"
    # Absolute, since everything below runs from the repository root.
    bin=$(cd "$(dirname "$SWEEP_BIN")" && pwd)/$(basename "$SWEEP_BIN")
else
    say "building sweep (cargo build --release -p sweep)"
    (cd "$root" && cargo build --release -p sweep) || fail "cargo build failed"
    target=${CARGO_TARGET_DIR:-target}
    [[ $target == /* ]] || target=$root/$target
    bin=$target/release/sweep
fi
"$bin" merge --help >/dev/null 2>&1 || fail "$bin has no 'merge' subcommand"

cd "$root"
say "single-machine reference: $bin $config --fresh --out $tmp/single"
"$bin" "$config" --fresh --out "$tmp/single" >"$tmp/single.log" 2>&1 ||
    fail "the single-machine run failed (exit $?)"
for t in "${required_tables[@]}"; do
    [[ -f $tmp/single/$t ]] || fail "the single-machine run wrote no $t"
done

# --- 3. A one-node cluster ----------------------------------------------------------------------

say "starting munged"
key=$tmp/munge/munge.key
if command -v mungekey >/dev/null; then
    mungekey --create --keyfile="$key"
else
    # munge < 0.5.14 has no mungekey; its key is any 1 KiB of random bytes.
    dd if=/dev/urandom of="$key" bs=1024 count=1 status=none
fi
chmod 400 "$key"
socket=$tmp/run/munge.socket
# Every path is in $tmp, so that nothing of the system's munge (/etc/munge, /run/munge) is used or
# touched. In the foreground munged logs to stderr; --log-file only keeps it off /var/log.
# setsid: each daemon in a session of its own, so that a Ctrl-C (SIGINT to the whole foreground
# process group) reaches only this script, whose cleanup then cancels the jobs before it stops
# the daemons. Without it slurmctld dies at once and the running jobs are orphaned.
setsid munged --foreground --socket="$socket" --key-file="$key" --log-file="$tmp/munge/munged.log" \
    --pid-file="$tmp/run/munged.pid" --seed-file="$tmp/munge/munged.seed" \
    >"$logdir/munged.log" 2>&1 &
munged_pid=$!
munge_roundtrip() { munge --socket="$socket" --no-input | unmunge --socket="$socket"; }
wait_for "munged did not answer" "$munged_pid" munge_roundtrip

# Two free ports: a fixed pair could collide with a real Slurm here or with a test left over
# from a killed run.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
ctld_port=''
for _ in $(seq 50); do
    p=$((20000 + RANDOM % 30000))
    if port_free "$p" && port_free $((p + 1)); then ctld_port=$p; break; fi
done
[[ -n $ctld_port ]] || fail "found no two free TCP ports"

# slurmctld and slurmd recognise their node by the short host name (`hostname -s`, which some
# minimal images lack; uname -n is the same name).
node=$(uname -n)
node=${node%%.*}
# `slurmd -C` prints this machine's node line (CPUs, sockets, cores, threads, RealMemory) in
# slurm.conf syntax; the name is replaced by ours and the UpTime line dropped.
hw=$(slurmd -C 2>/dev/null | head -n 1 | sed -E 's/^NodeName=[^ ]+ *//' || true)
[[ $hw == *CPUs=* ]] || hw="CPUs=$(nproc)"
user=$(id -un)
conf=$tmp/slurm/slurm.conf
cat >"$conf" <<EOF
# Throwaway one-node cluster of scripts/slurm/local-test.sh.
ClusterName=sweeptest
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$((ctld_port + 1))
SlurmUser=$user
SlurmdUser=$user
# No log files: the daemons run in the foreground (-D) and log to stderr, which goes to
# $logdir/slurmctld.log and $logdir/slurmd.log.
# Our own munged, not the system's (whose key other hosts may share).
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket
StateSaveLocation=$tmp/slurm/state
SlurmdSpoolDir=$tmp/slurm/spool
SlurmctldPidFile=$tmp/run/slurmctld.pid
SlurmdPidFile=$tmp/run/slurmd.pid
# No cgroups (often unavailable in containers): plain process tracking, no CPU binding.
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
MailProg=/bin/true
# A node that was down comes back by itself once slurmd registers.
ReturnToService=2
# The configured node is taken as is, so a slightly different memory count never drains it.
SlurmdParameters=config_overrides
# Finished jobs stay visible to scontrol long enough to read their exit codes.
MinJobAge=600
NodeName=$node NodeAddr=127.0.0.1 $hw State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
# The daemons read it through -f, the client commands and the jobs through SLURM_CONF.
export SLURM_CONF=$conf

say "starting slurmctld and slurmd (ports $ctld_port, $((ctld_port + 1)))"
setsid slurmctld -D -f "$conf" >"$logdir/slurmctld.log" 2>&1 &
slurmctld_pid=$!
wait_for "slurmctld did not answer scontrol ping" "$slurmctld_pid" scontrol ping
setsid slurmd -D -N "$node" -f "$conf" >"$logdir/slurmd.log" 2>&1 &
slurmd_pid=$!
node_idle() { [[ $(sinfo -h -N -n "$node" -o %t) == idle ]]; }
wait_for "node $node did not become idle" "$slurmd_pid" node_idle
say "cluster up: $(sinfo -h -o '%P %a %D %t %N')"

# A trivial job first, so that a cluster that cannot run jobs at all is told apart from a
# problem of the sweep scripts.
hello=$(sbatch --parsable --output="$logdir/hello-%j.out" --wrap 'hostname') || fail "sbatch of a trivial job failed"
jobs_submitted+=("$hello")

# Waits until none of the jobs (comma-separated ids) is pending or running any more. An squeue
# that fails says nothing about the jobs, so it counts as "not yet", and a daemon that died
# ends the wait at once.
wait_jobs() {
    local ids=$1 what=$2 listed
    local deadline=$((SECONDS + wait_s))
    while true; do
        kill -0 "$slurmctld_pid" 2>/dev/null || fail "$what: slurmctld exited (see its log below)"
        kill -0 "$slurmd_pid" 2>/dev/null || fail "$what: slurmd exited (see its log below)"
        if listed=$(squeue -h -j "$ids" -o %i 2>/dev/null) && [[ -z $listed ]]; then
            return 0
        fi
        if ((SECONDS >= deadline)); then
            squeue -j "$ids" -o '%.12i %.10T %.20r' >&2 || true
            fail "$what: not finished after ${wait_s} s"
        fi
        sleep 0.5
    done
}
wait_jobs "$hello" "the trivial job $hello"
state=$(scontrol -o show job "$hello" | grep -o 'JobState=[A-Z_]*' || true)
[[ $state == JobState=COMPLETED ]] || fail "the trivial job $hello ended with $state"

# --- 4. The array and merge jobs ---------------------------------------------------------------

say "submitting $shards shards of $config with submit.sh"
# One CPU per task: the #SBATCH default (4) may exceed this machine, and tasks then share it.
submitted=$(SWEEP_BIN=$bin "$here/submit.sh" "$shards" "$config" "$tmp/cluster" -- \
    --cpus-per-task=1 --time=00:10:00) || fail "submit.sh failed"
array_job=$(sed -n 's/^array_job=//p' <<<"$submitted")
merge_job=$(sed -n 's/^merge_job=//p' <<<"$submitted")
[[ -n $array_job && -n $merge_job ]] || fail "submit.sh printed no job ids: $submitted"
jobs_submitted+=("$array_job" "$merge_job")

wait_jobs "$array_job,$merge_job" "the array and merge jobs"

# Every array task and the merge job must have COMPLETED with exit code 0:0. scontrol -o prints
# one line per array task.
field() { grep -oE "(^| )$1=[^ ]+" <<<"$2" | sed 's/.*=//' || true; }
bad=0 seen=0
while IFS= read -r line; do
    task=$(field ArrayTaskId "$line")
    state=$(field JobState "$line")
    code=$(field ExitCode "$line")
    if [[ -n $task ]]; then name="shard $task (job ${array_job}_$task)"; else name="merge (job $merge_job)"; fi
    say "  $name: $state, exit code $code"
    [[ $state == COMPLETED && $code == 0:0 ]] || bad=1
    seen=$((seen + 1))
done < <(
    # In task order (scontrol lists them as it likes), then the merge job.
    scontrol -o show job "$array_job" | sed -E 's/^(.* ArrayTaskId=([0-9]+) .*)$/\2\t\1/' | sort -n | cut -f2-
    scontrol -o show job "$merge_job"
)
((seen == shards + 1)) || fail "scontrol showed $seen of the $((shards + 1)) jobs"
((bad == 0)) || fail "a job did not complete (its log is below)"

# --- 5. Byte-for-byte comparison ---------------------------------------------------------------

merged=$tmp/cluster/merged
tables=("${required_tables[@]}")
for ref in "$tmp/single"/*.csv; do
    t=$(basename "$ref")
    [[ " ${tables[*]} " == *" $t "* ]] || tables+=("$t")
done
compared=0 differ=()
for t in "${tables[@]}"; do
    if [[ ! -f $merged/$t ]]; then
        differ+=("$t (missing)")
    elif cmp -s "$tmp/single/$t" "$merged/$t"; then
        compared=$((compared + 1))
    else
        differ+=("$t")
        diff -u "$tmp/single/$t" "$merged/$t" | head -n 20 >&2 || true
    fi
done
if [[ -f $merged/report.md ]] && ! cmp -s "$tmp/single/report.md" "$merged/report.md"; then
    say "note: report.md differs from the single-machine one (not part of the check)"
fi

elapsed=$((SECONDS - started))
if ((${#differ[@]} > 0)); then
    fail "merged results of $shards Slurm array tasks differ from the single-machine run: ${differ[*]}"
fi
say "PASS: merged results of $shards Slurm array tasks equal the single-machine run ($compared CSV tables compared byte for byte; $elapsed s)"
