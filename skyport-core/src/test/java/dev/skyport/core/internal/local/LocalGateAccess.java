package dev.skyport.core.internal.local;

/** Opens package-private helpers of the local gate to tests in other packages. */
public final class LocalGateAccess {
    private LocalGateAccess() {
    }

    public static boolean isRunning(long pid) {
        return LocalNodeAccess.isRunning(pid);
    }
}
