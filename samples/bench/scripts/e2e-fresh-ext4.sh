#!/bin/bash
# The end-to-end figure (scenario e2e) without the leftovers of earlier runs on the disk: each run gets a freshly made
# ext4 without a journal (as this machine's root), on a loop device over a sparse file, for its temporary directory.
# On ext4 without a journal, allocating an inode skips every one deleted in the last 60-360 s, so a run right after
# another's teardown (about 100,000 inodes) measures the disk rather than the engine (README, Benchmarks). Needs root
# (mkfs.ext4, mount -o loop). With OTHER=<another checkout>, runs alternate between this checkout and that one, each
# built first. Usage: e2e-fresh-ext4.sh [ROUNDS] [e2e arguments, e.g. --isolation=none]
set -euo pipefail
rounds=${1:-3}
shift || true
here=$(cd "$(dirname "$0")/../../.." && pwd)
image=$(mktemp /var/tmp/skyport-e2e-ext4.XXXXXX)
mnt=$(mktemp -d /var/tmp/skyport-e2e-mnt.XXXXXX)
trap 'umount "$mnt" 2>/dev/null || true; rm -f "$image"; rmdir "$mnt"' EXIT
truncate -s 8G "$image"
checkouts=("$here")
[ -n "${OTHER:-}" ] && checkouts+=("$OTHER")
for dir in "${checkouts[@]}"; do
    (cd "$dir" && mvn -B -q -o -DskipTests -pl samples/bench -am package >/dev/null)
done
for ((i = 1; i <= rounds; i++)); do
    for dir in "${checkouts[@]}"; do
        umount "$mnt" 2>/dev/null || true
        mkfs.ext4 -q -F -O ^has_journal "$image"
        mount -o loop "$image" "$mnt"
        started=$(date -u +%T)
        figures=$(cd "$dir" && MAVEN_OPTS="-Djava.io.tmpdir=$mnt" mvn -B -q -o -DskipTests -pl samples/bench -am \
            package exec:java -Dsample=dev.skyport.samples.bench.EngineBenchmark -Dexec.args="e2e $*" \
            2>"$mnt.err" | grep -o 'figure .*' | awk '{printf "%s %s  ", $2, $3}')
        echo "$started $(cd "$dir" && git rev-parse --short HEAD) $figures$(grep -o 'others [0-9.]*' "$mnt.err" | tail -1)"
        rm -f "$mnt.err"
    done
done
