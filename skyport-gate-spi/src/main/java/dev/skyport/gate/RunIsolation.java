package dev.skyport.gate;

import java.util.List;
import java.util.Objects;

/**
 * How a run is fenced off on its node, as {@link DetachedRun#command(RunRequest, List, RunIsolation,
 * java.util.Optional)} builds it: with {@link Mode#SANDBOX} and {@link Mode#ACCOUNT} the job runs under bubblewrap in
 * its own mount, PID and IPC namespaces and sees only system paths (read-only), a private {@code /tmp}, its own
 * {@code /proc}, a minimal {@code /dev} and its job directory; {@link Mode#ACCOUNT} also drops to the OS account
 * {@code uid}:{@code gid} (the node's Sky Port runs as root), {@link Mode#SANDBOX} adds a user namespace instead (no
 * root needed). {@code hiddenPaths} are directories covered with an empty file system when they lie under a system path
 * the job sees (the engine's data directory, the daemon's spool).
 *
 * @param bwrap the bubblewrap program on the node ({@code bwrap} from the PATH unless configured)
 * @param uid the account's uid with {@link Mode#ACCOUNT}, else -1
 * @param gid the account's primary gid with {@link Mode#ACCOUNT}, else -1
 * @param mode none, sandbox or account
 * @param hiddenPaths directories the run must not see, hidden under empty ones
 */
public record RunIsolation(Mode mode, String bwrap, int uid, int gid, List<String> hiddenPaths) {
    /** What fences a run off. */
    public enum Mode {
        /** Nothing: the job sees what the OS user running Sky Port sees. */
        NONE,
        /** An unprivileged bubblewrap sandbox (user, mount, PID and IPC namespaces). */
        SANDBOX,
        /** A bubblewrap sandbox (mount, PID and IPC namespaces) run as a mapped OS account. */
        ACCOUNT
    }

    /**
     * Rejects null components and copies the collections, so an instance never changes.
     *
     * @param mode none, sandbox or account
     * @param bwrap the bubblewrap program on the node ({@code bwrap} from the PATH unless configured)
     * @param uid the account's uid with {@link Mode#ACCOUNT}, else -1
     * @param gid the account's primary gid with {@link Mode#ACCOUNT}, else -1
     * @param hiddenPaths directories the run must not see, hidden under empty ones
     * @throws IllegalArgumentException when a component is out of its range (the message names it)
     */
    public RunIsolation {
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(bwrap, "bwrap");
        hiddenPaths = List.copyOf(hiddenPaths);
        if (mode == Mode.ACCOUNT ? uid < 0 || gid < 0 : uid != -1 || gid != -1) {
            throw new IllegalArgumentException("uid and gid are given exactly for ACCOUNT, got " + uid + ":" + gid);
        }
    }

    /** {@return no isolation: the run sees what the gate's account sees} */
    public static RunIsolation none() {
        return new RunIsolation(Mode.NONE, "bwrap", -1, -1, List.of());
    }

    /**
     * {@return a bubblewrap sandbox in a user namespace, no root needed}
     *
     * @param bwrap the bubblewrap program's path
     * @param hiddenPaths directories the run must not see
     */
    public static RunIsolation sandbox(String bwrap, List<String> hiddenPaths) {
        return new RunIsolation(Mode.SANDBOX, bwrap, -1, -1, hiddenPaths);
    }

    /**
     * {@return a bubblewrap sandbox that also drops to the OS account {@code uid}:{@code gid}}
     *
     * @param bwrap the bubblewrap program's path
     * @param uid the account's user id
     * @param gid its group id
     * @param hiddenPaths directories the run must not see
     */
    public static RunIsolation account(String bwrap, int uid, int gid, List<String> hiddenPaths) {
        return new RunIsolation(Mode.ACCOUNT, bwrap, uid, gid, hiddenPaths);
    }
}
