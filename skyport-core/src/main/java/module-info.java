/**
 * The embedded engine. Applications reach it through {@code dev.skyport.api} (it provides the embedded engine as a
 * service); this module exports only the store SPI and the optional Micrometer adapter, and keeps its internals to
 * itself except the ssh plumbing the slurm gate reuses.
 */
module dev.skyport.core {
    requires transitive dev.skyport.api;
    requires transitive dev.skyport.gate;
    requires dev.skyport.scheduler;
    requires java.sql;
    // LocalGate sizes the machine from com.sun.management's OperatingSystemMXBean (present in every OpenJDK build).
    requires jdk.management;
    requires org.slf4j;
    requires com.fasterxml.jackson.core;
    requires com.fasterxml.jackson.databind;
    requires com.fasterxml.jackson.datatype.jdk8;
    requires com.fasterxml.jackson.datatype.jsr310;
    requires com.fasterxml.uuid;
    requires com.github.benmanes.caffeine;
    requires com.hierynomus.sshj;
    // Optional: only MicrometerMetrics touches it, and only when the application passes it a registry.
    requires static micrometer.core;

    exports dev.skyport.core.store;
    exports dev.skyport.core.micrometer;
    exports dev.skyport.core.internal.ssh to dev.skyport.gate.slurm;

    // Jackson binds the partition state (CloudPartitions.Doc) by reflection; the store streams its JSON by hand.
    opens dev.skyport.core.internal to com.fasterxml.jackson.databind;

    uses dev.skyport.core.store.JobStoreProvider;
    uses dev.skyport.gate.GateProvider;
    uses dev.skyport.scheduler.SchedulerProvider;

    provides dev.skyport.api.spi.EmbeddedEngineProvider with dev.skyport.core.internal.EngineProvider;
    provides dev.skyport.core.store.JobStoreProvider with dev.skyport.core.internal.store.SqliteJobStoreProvider;
    provides dev.skyport.gate.GateProvider with
            dev.skyport.core.internal.local.LocalGateProvider,
            dev.skyport.core.internal.ssh.SshGateProvider;
}
