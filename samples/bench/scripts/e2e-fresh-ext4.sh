#!/bin/bash
# The end-to-end figure (scenario e2e) without the leftovers of earlier runs on the disk: each run gets a freshly made
# ext4 without a journal (as this machine's root), on a loop device over a sparse file, for its temporary directory.
# On ext4 without a journal, allocating an inode skips every one deleted in the last 60-360 s, so a run right after
# another's teardown (about 100,000 inodes) measures the disk rather than the engine (README, Benchmarks). Needs root
# (mkfs.ext4, mount -o loop); Maven then runs as root too, with root's ~/.m2. With OTHER=<another checkout>, runs
# alternate between this checkout and that one, each built first, in the order ABBA so that a drift of the machine
# weighs on both alike. With JOURNAL=1 the ext4 has a journal (mkfs.ext4's default, and what a data directory usually
# sits on), which allocates inodes without that scan. Usage: e2e-fresh-ext4.sh [ROUNDS] [e2e arguments, e.g.
# --isolation=none]
set -euo pipefail
rounds=3
if [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]]; then
    rounds=$1
    shift
fi
here=$(cd "$(dirname "$0")/../../.." && pwd)
image=$(mktemp /var/tmp/skyport-e2e-ext4.XXXXXX)
mnt=$(mktemp -d /var/tmp/skyport-e2e-mnt.XXXXXX)
err=$(mktemp /var/tmp/skyport-e2e-err.XXXXXX)
cleanup() {
    if mountpoint -q "$mnt"; then
        umount "$mnt" || echo "cannot unmount $mnt: remove $image once it is" >&2
    fi
    mountpoint -q "$mnt" || rm -f "$image"
    rmdir "$mnt" 2>/dev/null || true
    rm -f "$err"
}
trap cleanup EXIT
journal=${JOURNAL:-0}
if [ "$journal" != 0 ] && [ "$journal" != 1 ]; then
    echo "JOURNAL must be 0 or 1, not '$journal'" >&2
    exit 2
fi
truncate -s 8G "$image"
checkouts=("$here")
[ -n "${OTHER:-}" ] && checkouts+=("$OTHER")
# Each checkout's commit, marked when its tracked files differ from it (two checkouts of one commit stay apart), taken
# before it is built; --no-optional-locks: as root, git must not rewrite a user's index.
declare -A labels
for dir in "${checkouts[@]}"; do
    rev=$(git -C "$dir" rev-parse --short HEAD 2>/dev/null || echo "no-commit")
    rc=0
    git -C "$dir" --no-optional-locks diff --quiet HEAD -- 2>/dev/null || rc=$?
    if [ "$rc" -eq 1 ]; then
        rev="$rev+changes"
    elif [ "$rc" -gt 1 ]; then
        rev="$rev+unknown"
    fi
    labels[$dir]=$rev
    (cd "$dir" && mvn -B -q -o -DskipTests -pl samples/bench -am package >/dev/null)
done
run() {
    local dir=$1
    shift
    if mountpoint -q "$mnt"; then
        umount "$mnt"
    fi
    if [ "$journal" = 1 ]; then
        mkfs.ext4 -q -F "$image"
    else
        mkfs.ext4 -q -F -O ^has_journal "$image"
    fi
    mount -o loop "$image" "$mnt"
    local started figures
    started=$(date -u +%T)
    if ! figures=$(cd "$dir" && MAVEN_OPTS="-Djava.io.tmpdir=$mnt" mvn -B -q -o -DskipTests -pl samples/bench -am \
            package exec:java -Dsample=dev.skyport.samples.bench.EngineBenchmark -Dexec.args="e2e $*" 2>"$err" \
            | grep -o 'figure .*'); then
        echo "the bench in $dir printed no figure:" >&2
        tail -20 "$err" >&2
        exit 1
    fi
    echo "$started $dir@${labels[$dir]} journal=$journal" \
        "$(awk '{printf "%s %s  ", $2, $3}' <<< "$figures")$(grep -o 'others [0-9.]*' "$err" | tail -1 || true)"
}
for ((i = 1; i <= rounds; i++)); do
    order=("${checkouts[@]}")
    if [ $((i % 2)) -eq 0 ] && [ ${#checkouts[@]} -eq 2 ]; then
        order=("${checkouts[1]}" "${checkouts[0]}")
    fi
    for dir in "${order[@]}"; do
        run "$dir" "$@"
    done
done
