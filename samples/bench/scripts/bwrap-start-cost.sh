#!/bin/bash
# What one sandboxed start costs this machine, apart from the engine: N sequential starts of `sh -c true` bare, inside
# bubblewrap with the mounts a job gets, and inside the account chain (bubblewrap, setpriv, env) Sky Port runs as
# root. Prints the whole machine's cpu (user + system + irq + softirq from /proc/stat, so kernel threads count) per
# start. Run it on an otherwise quiet machine: other programs' cpu counts too. Usage: bwrap-start-cost.sh [N]
set -euo pipefail
n=${1:-200}
job=$(mktemp -d /dev/shm/skyport-bwrap-cost.XXXXXX)
trap 'rm -rf "$job"' EXIT
mkdir "$job/run.1"
: > "$job/stdout.log"
: > "$job/stderr.log"
sandbox=(bwrap --die-with-parent --unshare-pid --unshare-ipc --ro-bind /usr /usr)
for p in /bin /sbin /lib /lib32 /lib64 /libx32 /etc /opt; do sandbox+=(--ro-bind-try "$p" "$p"); done
sandbox+=(--proc /proc --dev /dev --perms 1777 --tmpfs /tmp)
for d in /dev/shm; do sandbox+=(--perms 0711 --dir "$d"); done
sandbox+=(--bind "$job" "$job" --ro-bind "$job/run.1" "$job/run.1" --ro-bind "$job/stdout.log" "$job/stdout.log"
          --ro-bind "$job/stderr.log" "$job/stderr.log" --chdir "$job" --)
account=(setpriv --reuid=65534 --regid=65534 --clear-groups --no-new-privs --inh-caps=-all --bounding-set=-all --
         env --default-signal=TERM,INT,HUP)
busy() { read -r _ u n s _ _ q sq _ < /proc/stat; echo $((u + n + s + q + sq)); }
measure() {
    local name=$1; shift
    local t0; t0=$(busy)
    for ((i = 0; i < n; i++)); do "$@" /bin/sh -c true; done
    local t1; t1=$(busy)
    local ticks; ticks=$(getconf CLK_TCK)
    echo "$name: $(( (t1 - t0) * 1000000 / ticks / n )) us of machine cpu a start ($n starts)"
}
measure "sh -c true"
measure "bubblewrap" "${sandbox[@]}"
if [ "$(id -u)" = 0 ]; then
    measure "bubblewrap + setpriv + env (account)" "${sandbox[@]}" "${account[@]}"
fi
