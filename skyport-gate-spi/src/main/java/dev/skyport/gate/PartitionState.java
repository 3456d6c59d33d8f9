package dev.skyport.gate;

/** Where a partition a gate created stands. */
public enum PartitionState {
    /** Its resources are being created; some may exist. */
    CREATING,
    /** Every node exists and its address and host keys are known. */
    READY,
    /** Creation failed; what exists must be deleted. */
    FAILED,
    /** Its resources are being deleted. */
    DELETING
}
