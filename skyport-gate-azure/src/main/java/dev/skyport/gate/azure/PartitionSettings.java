package dev.skyport.gate.azure;

import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Objects;

/**
 * What partition creation needs from the gate's checked configuration.
 *
 * @param gateName      the gate's name as the engine knows it ({@code azure})
 * @param region        the Azure region of every partition ({@code eastus})
 * @param adminUser     the login user on the VMs (Azure refuses {@code root} and {@code admin})
 * @param sshSources    the address ranges (CIDR) allowed to reach SSH and the job's ports; never {@code *}
 * @param sshPort       the port the engine reaches SSH on (22 on Azure; tests change it)
 * @param workDir       the gate's directory: per-partition keys live under {@code partitions/<name>/}
 * @param clock         the engine's clock
 */
record PartitionSettings(String gateName, String region, String adminUser, List<String> sshSources, int sshPort,
                         Path workDir, Clock clock) {
    PartitionSettings {
        Objects.requireNonNull(gateName, "gateName");
        Objects.requireNonNull(region, "region");
        Objects.requireNonNull(adminUser, "adminUser");
        sshSources = List.copyOf(sshSources);
        Objects.requireNonNull(workDir, "workDir");
        Objects.requireNonNull(clock, "clock");
    }
}
