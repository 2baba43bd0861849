#!/usr/bin/env bash
# A real single-node SLURM cluster from Debian's packages (slurmctld, slurmd, slurm-client, munge), for tests.
#
#   tests/slurm/cluster.sh up STATE_DIR     write /etc/slurm/slurm.conf, start munged, slurmctld, slurmd; wait for idle
#   tests/slurm/cluster.sh down STATE_DIR   cancel jobs, stop the daemons this script started (by pid), remove the conf
#
# Needs root. STATE_DIR must be new or empty: it holds the daemons' state, logs and pidfiles, so every start is fresh.
# /etc/slurm/slurm.conf and ports 6817/6818 are machine-wide: `up` refuses to run over a slurm.conf it did not write,
# and `down` always runs to the end (use it from a trap or a test finalizer). SCALINGLAB_FAKE_GPUS=N gives the node N
# count-only "gpu" GRES and a partition "gpu", to test that GPU requests are scheduled (no device exists behind them).
# Accounting is off on purpose: see docs/slurm.md ("Status checks").
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
CONF=/etc/slurm/slurm.conf
MARK="# written by scalinglab tests/slurm/cluster.sh"

die() { echo "cluster.sh: $*" >&2; exit 1; }

stop_pidfile() {  # stop_pidfile FILE NAME: TERM the process named in FILE, then KILL it after 10 s
    local file=$1 name=$2 pid
    [[ -s $file ]] || return 0
    pid=$(cat "$file")
    if kill -0 "$pid" 2>/dev/null && grep -q "$name" "/proc/$pid/comm" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$file"
}

up() {
    local state=$1
    [[ $(id -u) == 0 ]] || die "needs root (it writes $CONF and starts slurmctld, slurmd, munged)"
    for bin in slurmctld slurmd munged sbatch; do
        command -v "$bin" >/dev/null || die "$bin not found: apt-get install slurmctld slurmd slurm-client munge"
    done
    if [[ -e $CONF ]] && ! grep -qF "$MARK" "$CONF"; then
        die "$CONF exists and was not written by this script: not touching a real cluster's configuration"
    fi
    if pgrep -x slurmctld >/dev/null || pgrep -x slurmd >/dev/null; then
        die "slurmctld or slurmd is already running on this machine (ports 6817/6818 are machine-wide)"
    fi
    mkdir -p "$state"
    [[ -z $(ls -A "$state") ]] || die "state directory $state is not empty"
    state=$(cd "$state" && pwd)
    mkdir -p "$state/slurmctld" "$state/slurmd" /etc/slurm

    local host cpus mem_mb gres_types="" node_gres="" gpu_partition="" gpus=${SCALINGLAB_FAKE_GPUS:-0}
    host=$(hostname -s)
    # Four job slots per core: a job queued behind others makes its snakemake back off (the SLURM plugin adds 10 s
    # to its status-check interval while none of its jobs finishes), so the tiny jobs of the workflows that
    # tests/test_slurm.py starts side by side share the cores at once instead of queueing.
    cpus=$(( $(nproc) * 4 ))
    # Half the machine's memory: enough for the tests' jobs, and other users of the machine keep the rest.
    mem_mb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 2048 ))
    if (( gpus > 0 )); then
        gres_types="GresTypes=gpu"
        node_gres="Gres=gpu:$gpus"
        gpu_partition="PartitionName=gpu Nodes=ALL MaxTime=INFINITE State=UP"
        printf '%s\nNodeName=%s Name=gpu Count=%s\n' "$MARK" "$host" "$gpus" > /etc/slurm/gres.conf
    fi
    { echo "$MARK"; sed -e "s|@HOST@|$host|g" -e "s|@CPUS@|$cpus|g" -e "s|@MEM_MB@|$mem_mb|g" \
        -e "s|@STATE@|$state|g" -e "s|@GRES_TYPES@|$gres_types|" -e "s|@NODE_GRES@|$node_gres|" \
        -e "s|@GPU_PARTITION@|$gpu_partition|" "$HERE/slurm.conf.in"; } > "$CONF"

    # munge: the key is created when the package is installed; reuse a munged that is already running.
    if ! pgrep -x munged >/dev/null; then
        mkdir -p /run/munge /var/log/munge /var/lib/munge
        chown munge:munge /run/munge /var/log/munge /var/lib/munge
        [[ -s /etc/munge/munge.key ]] || die "/etc/munge/munge.key is missing (reinstall the munge package)"
        runuser -u munge -- munged
        # Remember this munged's pid so that `down` stops exactly the daemon it started.
        for _ in $(seq 50); do [[ -s /run/munge/munged.pid ]] && break; sleep 0.1; done
        cp /run/munge/munged.pid "$state/munged.pid"
    fi
    slurmctld -c
    slurmd
    for _ in $(seq 150); do
        if sinfo -h -N -o '%T' 2>/dev/null | grep -qx idle; then
            echo "cluster.sh: SLURM is up on $host ($cpus CPUs, ${mem_mb} MB); state in $state"
            return 0
        fi
        sleep 0.2
    done
    tail -n 20 "$state/slurmctld.log" "$state/slurmd.log" >&2 || true
    die "the node did not become idle within 30 s"
}

down() {
    local state=$1
    [[ -d $state ]] || { echo "cluster.sh: no state directory $state; nothing to stop"; return 0; }
    scancel --full --signal=KILL --user root 2>/dev/null || true
    scancel --user root 2>/dev/null || true
    # Each daemon takes about 2 s to exit on TERM: the two SLURM daemons stop side by side, munge after them.
    stop_pidfile "$state/slurmd.pid" slurmd &
    stop_pidfile "$state/slurmctld.pid" slurmctld &
    wait
    stop_pidfile "$state/munged.pid" munged
    for file in "$CONF" /etc/slurm/gres.conf; do
        if [[ -e $file ]] && grep -qF "$MARK" "$file"; then rm -f "$file"; fi
    done
    echo "cluster.sh: SLURM stopped (state was in $state)"
}

case "${1:-}" in
    up) [[ $# == 2 ]] || die "usage: $0 up STATE_DIR"; up "$2" ;;
    down) [[ $# == 2 ]] || die "usage: $0 down STATE_DIR"; down "$2" ;;
    *) die "usage: $0 up|down STATE_DIR" ;;
esac
