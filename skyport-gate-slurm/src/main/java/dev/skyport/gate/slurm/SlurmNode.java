package dev.skyport.gate.slurm;

import java.util.List;
import java.util.Objects;

/**
 * A Slurm node as Slurm reports it: {@code state} Slurm's base state in lower case ({@code idle}, {@code mixed},
 * {@code allocated}, {@code down}, {@code unknown}...), {@code flags} its state flags in upper case ({@code DRAIN},
 * {@code NOT_RESPONDING}...), {@code memoryMiB} its {@code RealMemory}, {@code gres} its generic resources as Slurm
 * writes them ({@code gpu:a100:4,...}; empty for none), {@code reason} why an administrator or Slurm took it down.
 */
record SlurmNode(String name, List<String> partitions, int cpus, long memoryMiB, String gres, String state,
                 List<String> flags, String reason) {
    SlurmNode {
        Objects.requireNonNull(name, "name");
        partitions = List.copyOf(partitions);
        Objects.requireNonNull(gres, "gres");
        Objects.requireNonNull(state, "state");
        flags = List.copyOf(flags);
        Objects.requireNonNull(reason, "reason");
    }
}
