package dev.skyport.gate;

/** Signals Sky Port sends to a run's process group. */
public enum RunSignal {
    /** Ask to stop (SIGTERM). */
    TERM,
    /** Stop now (SIGKILL). */
    KILL
}
