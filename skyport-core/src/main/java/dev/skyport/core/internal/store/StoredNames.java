package dev.skyport.core.internal.store;

import dev.skyport.api.EndReason;
import dev.skyport.api.JobState;
import dev.skyport.api.NodeState;
import dev.skyport.api.PortSpec;
import dev.skyport.api.StorageException;
import dev.skyport.core.store.StopIntent;

/**
 * The names the store writes for the API's enums, in job documents, columns and events. Spelled out rather than
 * taken from {@code name()}: renaming a constant then fails to compile here instead of making stored rows
 * unreadable, and a new constant must be given a stored name (the switches have no default).
 */
final class StoredNames {
    private StoredNames() {
    }

    static String of(JobState state) {
        return switch (state) {
            case QUEUED -> "QUEUED";
            case PROVISIONING -> "PROVISIONING";
            case STAGING_IN -> "STAGING_IN";
            case RUNNING -> "RUNNING";
            case STAGING_OUT -> "STAGING_OUT";
            case CANCELING -> "CANCELING";
            case SUCCEEDED -> "SUCCEEDED";
            case FAILED -> "FAILED";
            case CANCELED -> "CANCELED";
        };
    }

    static JobState state(String stored) {
        return switch (stored) {
            case "QUEUED" -> JobState.QUEUED;
            case "PROVISIONING" -> JobState.PROVISIONING;
            case "STAGING_IN" -> JobState.STAGING_IN;
            case "RUNNING" -> JobState.RUNNING;
            case "STAGING_OUT" -> JobState.STAGING_OUT;
            case "CANCELING" -> JobState.CANCELING;
            case "SUCCEEDED" -> JobState.SUCCEEDED;
            case "FAILED" -> JobState.FAILED;
            case "CANCELED" -> JobState.CANCELED;
            default -> throw unknown("job state", stored);
        };
    }

    static String of(EndReason reason) {
        return switch (reason) {
            case COMPLETED -> "COMPLETED";
            case NON_ZERO_EXIT -> "NON_ZERO_EXIT";
            case SIGNALED -> "SIGNALED";
            case TIME_LIMIT -> "TIME_LIMIT";
            case STAGING_FAILED -> "STAGING_FAILED";
            case NO_CAPACITY -> "NO_CAPACITY";
            case QUOTA_EXCEEDED -> "QUOTA_EXCEEDED";
            case PARTITION_FAILED -> "PARTITION_FAILED";
            case NODE_LOST -> "NODE_LOST";
            case PREEMPTED -> "PREEMPTED";
            case SYSTEM_ERROR -> "SYSTEM_ERROR";
            case CANCELED -> "CANCELED";
        };
    }

    static EndReason endReason(String stored) {
        return switch (stored) {
            case "COMPLETED" -> EndReason.COMPLETED;
            case "NON_ZERO_EXIT" -> EndReason.NON_ZERO_EXIT;
            case "SIGNALED" -> EndReason.SIGNALED;
            case "TIME_LIMIT" -> EndReason.TIME_LIMIT;
            case "STAGING_FAILED" -> EndReason.STAGING_FAILED;
            case "NO_CAPACITY" -> EndReason.NO_CAPACITY;
            case "QUOTA_EXCEEDED" -> EndReason.QUOTA_EXCEEDED;
            case "PARTITION_FAILED" -> EndReason.PARTITION_FAILED;
            case "NODE_LOST" -> EndReason.NODE_LOST;
            case "PREEMPTED" -> EndReason.PREEMPTED;
            case "SYSTEM_ERROR" -> EndReason.SYSTEM_ERROR;
            case "CANCELED" -> EndReason.CANCELED;
            default -> throw unknown("end reason", stored);
        };
    }

    static String of(StopIntent intent) {
        return switch (intent) {
            case CANCEL -> "CANCEL";
            case REQUEUE -> "REQUEUE";
            case TIME_LIMIT -> "TIME_LIMIT";
        };
    }

    static StopIntent stopIntent(String stored) {
        return switch (stored) {
            case "CANCEL" -> StopIntent.CANCEL;
            case "REQUEUE" -> StopIntent.REQUEUE;
            case "TIME_LIMIT" -> StopIntent.TIME_LIMIT;
            default -> throw unknown("stop intent", stored);
        };
    }

    static String of(NodeState state) {
        return switch (state) {
            case UP -> "UP";
            case DRAINING -> "DRAINING";
            case DOWN -> "DOWN";
        };
    }

    static NodeState nodeState(String stored) {
        return switch (stored) {
            case "UP" -> NodeState.UP;
            case "DRAINING" -> NodeState.DRAINING;
            case "DOWN" -> NodeState.DOWN;
            default -> throw unknown("node state", stored);
        };
    }

    static String of(PortSpec.Direction direction) {
        return switch (direction) {
            case IN -> "in";
            case OUT -> "out";
        };
    }

    static PortSpec.Direction direction(String stored) {
        return switch (stored) {
            case "in" -> PortSpec.Direction.IN;
            case "out" -> PortSpec.Direction.OUT;
            default -> throw unknown("port direction", stored);
        };
    }

    private static StorageException unknown(String what, String stored) {
        return new StorageException("the store holds a " + what + " '" + stored
                + "' that this Sky Port does not know; it may have been written by a newer Sky Port", null);
    }
}
