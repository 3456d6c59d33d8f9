package dev.skyport.samples.daemon.cli;

/**
 * A command cannot do what it was asked for a reason the user can act on (a missing file): printed as its message
 * alone, exit code 1, like a refusal from the daemon.
 */
final class CommandFailure extends RuntimeException {
    CommandFailure(String message) {
        super(message, null, false, false);
    }
}
