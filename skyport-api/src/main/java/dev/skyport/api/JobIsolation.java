package dev.skyport.api;

import java.util.Locale;

/**
 * What keeps a job from reaching what is not its own (other jobs' directories and processes, the engine's store,
 * keys): see {@link EmbeddedBuilder#jobIsolation}. The name in configuration files is the lower-case constant name.
 */
public enum JobIsolation {
    /** The strongest mode this machine allows: {@link #ACCOUNT} when running as root, else {@link #SANDBOX}. */
    AUTO,
    /**
     * Jobs run as a mapped OS account (Sky Port must run as root), each in its own mount and PID namespaces
     * (bubblewrap), so jobs sharing an account still cannot see each other.
     */
    ACCOUNT,
    /** Jobs run in an unprivileged bubblewrap sandbox (user, mount and PID namespaces). */
    SANDBOX,
    /** No isolation: jobs see what the OS user running Sky Port sees. An explicit opt-out. */
    NONE;

    /** {@return the name used in configuration files and gate options} */
    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * {@return the mode a configuration file names}
     *
     * @param name the mode's configuration name, e.g. {@code sandbox}
     * @throws IllegalArgumentException naming the accepted values when {@code name} is none of them
     */
    public static JobIsolation parse(String name) {
        for (JobIsolation m : values()) {
            if (m.configName().equals(name.strip().toLowerCase(Locale.ROOT))) {
                return m;
            }
        }
        throw new IllegalArgumentException("expected auto, account, sandbox or none, got '" + Text.abbreviate(name) + "'");
    }
}
