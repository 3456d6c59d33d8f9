#!/bin/bash
# What this machine charges, right now, for the processes of N trivial runs started the way the local gate's launcher
# starts them, without any engine: from one long-lived bash, per run a fork that claims (O_EXCL), opens the logs,
# writes the pid, and forks the job (which enters its cgroup when there is one, and execs `true`), then kills what is
# left in the cgroup and writes the exit code. Directories and cgroups are made before and removed after, as the engine
# does them. 64 runs at a time, like the e2e bench's node. Prints the cpu of the runs' processes a run (user + system,
# from bash's `times`: this shell's reaped children only, not other programs). The e2e bench runs it after its rounds,
# so that its `jobs_process_cpu_ms_per_job` can be set against the machine's floor of that minute; on a VM the floor
# moves by a third from one hour to the next.
#
# Usage: process_floor.sh [N] [DIR] [CGROUP_PARENT]   (CGROUP_PARENT: a cgroup v2 directory this user can populate)
set -euo pipefail
# bash's `times` writes the locale's decimal separator; awk below reads a point.
export LC_ALL=C
n=${1:-2000}
parent=${2:-${TMPDIR:-/tmp}}
cgparent=${3:-}
dir=$(mktemp -d "$parent/skyport-floor.XXXXXX")
cleanup() {
    # Runs still going (an interrupt) hold their cgroups: kill them first.
    kill -KILL $(jobs -p) 2>/dev/null || true
    wait 2>/dev/null || true
    if [ -n "$cgparent" ]; then
        for ((i = 0; i < n; i++)); do
            echo 1 > "$cgparent/floor.$$.$i/cgroup.kill" 2>/dev/null || true
            rmdir "$cgparent/floor.$$.$i" 2>/dev/null || true
        done
    fi
    rm -rf "$dir"
}
trap cleanup EXIT
for ((i = 0; i < n; i++)); do printf '%s/%d/run.1\n' "$dir" "$i"; done | xargs mkdir -p
if [ -n "$cgparent" ]; then
    for ((i = 0; i < n; i++)); do printf '%s/floor.%d.%d\n' "$cgparent" "$$" "$i"; done | xargs mkdir
fi

run() {
    local d=$dir/$1 r=$dir/$1/run.1 cg= rc
    [ -z "$cgparent" ] || cg=$cgparent/floor.$$.$1
    set -C
    { : > "$r/claim"; } 2>/dev/null || exit 0
    set +C
    exec </dev/null >"$d/stdout.log" 2>"$d/stderr.log"
    echo "$BASHPID" > "$r/pid"
    trap : TERM INT HUP
    rc=0
    if cd "$d"; then
        ( if [ -n "$cg" ] && ! echo 0 > "$cg/cgroup.procs"; then exit 201; fi
          exec true ) || rc=$?
    else rc=200; fi
    [ -z "$cg" ] || echo 1 > "$cg/cgroup.kill" 2>/dev/null || true
    echo "$rc" > "$r/exitcode"
}

# bash's `times`, run by this shell itself (in a command substitution it would report that subshell): its user and
# system time, then its reaped children's, as "XmY.YYYs" each.
children_ms() {
    times > "$dir/times"
    awk 'NR == 2 { s = 0; for (i = 1; i <= 2; i++) { split($i, p, "m"); sub("s", "", p[2]); s += p[1] * 60 + p[2] }
         printf "%d\n", s * 1000 }' "$dir/times"
}

children_ms > "$dir/before"
# Without job control, unlike the launcher (its `set -m` gives each run a process group: two setpgid calls more a run),
# so that bash neither reports each job's end nor keeps a run from an interrupt.
for ((i = 0; i < n; i++)); do
    ( run "$i" ) &
    if (( i % 64 == 63 )); then wait; fi
done
wait
children_ms > "$dir/after"
bad=0
for ((i = 0; i < n; i++)); do [ "$(cat "$dir/$i/run.1/exitcode" 2>/dev/null)" = 0 ] || bad=$((bad + 1)); done
if [ "$bad" -gt 0 ]; then
    echo "process_floor: $bad of $n runs did not exit 0" >&2
    exit 1
fi
awk -v ms=$(($(cat "$dir/after") - $(cat "$dir/before"))) -v n="$n" 'BEGIN { printf "process_floor_ms_per_run %.2f\n", ms / n }'
