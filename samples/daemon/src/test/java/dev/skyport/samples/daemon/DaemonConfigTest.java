package dev.skyport.samples.daemon;

import dev.skyport.api.EmbeddedConfig;
import dev.skyport.api.JobIsolation;
import dev.skyport.api.Limits;
import dev.skyport.api.PartitionPolicy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DaemonConfigTest {
    @TempDir
    Path dir;

    @Test
    void defaultsAreUpstreamsPortAndTheLocalGate() {
        DaemonConfig c = DaemonConfig.load(Optional.empty(), Map.of());
        assertThat(c.port()).isEqualTo(8443);
        assertThat(c.engine()).isEqualTo(EngineSettings.defaults());
        assertThat(c.engine().gate()).isEqualTo("local");
        assertThat(c.engine().scheduler()).isEqualTo("backfill");
        assertThat(c.engine().localCpus()).isEmpty();
        assertThat(c.engine().localMemoryBytes()).isEmpty();
        assertThat(c.limits().maxScriptBytes()).isEqualTo(1 << 20);
        assertThat(c.admins()).isEmpty();
        assertThat(c.clients()).isEqualTo(DaemonConfig.ClientLimits.defaults());
        assertThat(c.clients().maxRequestsPerUser()).isEqualTo(32);
        assertThat(c.clients().maxConnectionsPerUser()).isEqualTo(64);
        assertThat(c.clients().minDataRate()).isEqualTo(1024);
        assertThat(c.clients().requestTimeout()).isEqualTo(Duration.ofSeconds(60));
        assertThat(c.clients().idleTimeout()).isEqualTo(Duration.ofSeconds(30));
        assertThat(c.clients().maxStreamsPerUser()).isEqualTo(16);
        assertThat(c.clients().maxWaitsPerUser()).isEqualTo(256);
        assertThat(c.engine().jobIsolation()).isEqualTo(JobIsolation.AUTO);
        assertThat(c.limits()).isEqualTo(Limits.defaults());
    }

    @Test
    void theFileSetsEveryKeyAndRelativePathsAreRelativeToIt() throws IOException {
        Path file = write("""
                port: 9443
                bind: 127.0.0.1
                spool: spool
                data-dir: ~/sky-data
                gate: local
                gate-options:
                  bwrap: /usr/bin/bwrap
                scheduler: fcfs
                max-script-bytes: 4096
                max-active-jobs: 500
                kill-grace-period: 3
                local-cpus: 3
                local-memory: 2G
                job-accounts: {alice: skyalice, bob: skybob}
                default-job-account: skyguest
                admins: ["CN=root,O=Sky Port", ops]
                max-requests-per-user: 8
                max-connections-per-user: 9
                min-data-rate: 0
                request-timeout: 120
                idle-timeout: 15
                max-streams-per-user: 4
                max-waits-per-user: 40
                job-isolation: sandbox
                max-jobs-per-user: 12
                max-stored-bytes-per-user: 1000000
                job-retention-hours: 48
                """);
        DaemonConfig c = DaemonConfig.load(Optional.of(file), Map.of());
        assertThat(c.port()).isEqualTo(9443);
        assertThat(c.bind()).isEqualTo("127.0.0.1");
        assertThat(c.spool()).isEqualTo(dir.resolve("spool"));
        assertThat(c.dataDir()).isEqualTo(dev.skyport.samples.daemon.pki.UserHome.current().resolve("sky-data"));
        assertThat(c.engine().gate()).isEqualTo("local");
        assertThat(c.engine().gateOptions()).containsExactly(Map.entry("bwrap", "/usr/bin/bwrap"));
        assertThat(c.engine().scheduler()).isEqualTo("fcfs");
        assertThat(c.engine().localCpus()).hasValue(3);
        assertThat(c.engine().localMemoryBytes()).hasValue(2L << 30);
        assertThat(c.engine().jobAccounts()).containsExactly(Map.entry("alice", "skyalice"),
                Map.entry("bob", "skybob"));
        assertThat(c.engine().defaultJobAccount()).hasValue("skyguest");
        assertThat(c.admins()).containsExactly("CN=root,O=Sky Port", "ops");
        assertThat(c.clients()).isEqualTo(new DaemonConfig.ClientLimits(8, 9, 0, Duration.ofSeconds(120),
                Duration.ofSeconds(15), 4, 40));
        assertThat(c.engine().jobIsolation()).isEqualTo(JobIsolation.SANDBOX);
        assertThat(c.limits()).isEqualTo(new Limits(4096, 500, Duration.ofSeconds(3), 12, 1_000_000,
                Duration.ofHours(48)));
        assertThat(c.limits().maxActiveJobsPerUser()).isEqualTo(12);
        assertThat(c.limits().maxStoredBytesPerUser()).isEqualTo(1_000_000);
        assertThat(c.limits().jobRetention()).isEqualTo(Duration.ofHours(48));
        assertThat(c.limits().maxScriptBytes()).isEqualTo(4096);
    }

    @Test
    void theEnvironmentOverridesTheFile() throws IOException {
        Path file = write("port: 9443\nscheduler: fcfs\n");
        DaemonConfig c = DaemonConfig.load(Optional.of(file), Map.of("SKYPORT_PORT", "0",
                "SKYPORT_SCHEDULER", "fair-share", "SKYPORT_ADMINS", "CN=a;CN=b, O=x", "SKYPORT_SPOOL", "/s",
                "SKYPORT_JOB_ISOLATION", "none"));
        assertThat(c.port()).isZero();
        assertThat(c.engine().scheduler()).isEqualTo("fair-share");
        assertThat(c.spool()).isEqualTo(Path.of("/s"));
        assertThat(c.admins()).containsExactly("CN=a", "CN=b, O=x");
        assertThat(c.engine().jobIsolation()).isEqualTo(JobIsolation.NONE);
        assertThat(DaemonConfig.load(Optional.of(file), Map.of("SKYPORT_MAX_SCRIPT_BYTES", "2048")).limits()
                .maxScriptBytes()).isEqualTo(2048);
    }

    @Test
    void theShippedSettingsFileReadsAsTheDefaults() {
        // The distribution's conf/skyport.yaml documents every key; it must stay a file the daemon accepts.
        DaemonConfig shipped = DaemonConfig.load(Optional.of(Path.of("src/dist/conf/skyport.yaml")), Map.of());
        assertThat(shipped).isEqualTo(DaemonConfig.defaults());
    }

    @Test
    void theEngineIsBuiltFromTheSameSettingsTheFileGave() throws IOException {
        Path file = write("""
                data-dir: data
                scheduler: fcfs
                max-script-bytes: 4096
                local-cpus: 3
                local-memory: 512M
                job-isolation: none
                job-accounts: {alice: skyalice}
                """);
        EmbeddedConfig engine = DaemonConfig.load(Optional.of(file), Map.of()).embedded().config();
        assertThat(engine.dataDir()).isEqualTo(dir.resolve("data"));
        assertThat(engine.gate()).isEqualTo("local");
        assertThat(engine.scheduler()).isEqualTo("fcfs");
        assertThat(engine.limits().maxScriptBytes()).isEqualTo(4096);
        assertThat(engine.localCpus()).hasValue(3);
        assertThat(engine.localMemoryBytes()).hasValue(512L << 20);
        assertThat(engine.gateOptions()).containsEntry("job-isolation", "none")
                .containsEntry("job-accounts", "alice=skyalice");
    }

    @Test
    void aValueTheEngineWouldRefuseIsRefusedWhenTheFileIsReadNamingTheKey() {
        Map<String, String> refused = new LinkedHashMap<>();
        refused.put("gate: nosuch", "gate: no gate named 'nosuch'; available: local");
        refused.put("scheduler: sjf", "scheduler: no scheduler named 'sjf'; available: ");
        refused.put("gate: \"\"", "gate: gate must not be blank");
        refused.put("scheduler: \"fcfs\\n\"", "scheduler: scheduler must not contain control characters");
        refused.put("local-cpus: 0", "local-cpus: localCpus must be positive, got 0");
        refused.put("local-cpus: -4", "local-cpus: localCpus must be positive, got -4");
        refused.put("local-memory: 0", "local-memory: localMemoryBytes must be positive, got 0");
        refused.put("local-memory: lots", "local-memory: expected bytes such as");
        refused.put("local-memory: 99999999999T", "local-memory: expected bytes such as");
        refused.put("max-active-jobs: 0", "max-active-jobs: maxActiveJobs must be positive");
        refused.put("kill-grace-period: -1", "kill-grace-period: killGracePeriod must not be negative");
        refused.put("max-jobs-per-user: 0", "max-jobs-per-user: maxActiveJobsPerUser must be positive");
        refused.put("gate-options: {\"\": x}", "gate-options: gateOption must not be blank");
        refused.put("gate-options: {cpus: 8}", "gate-options: 'cpus' is set by local-cpus");
        refused.put("gate-options: {job-isolation: none}", "gate-options: 'job-isolation' is set by job-isolation");
        refused.put("gate-options: {job-isolation-hide: /}", "gate-options: 'job-isolation-hide' is set by the daemon");
        refused.put("job-accounts: {alice: \"root; rm\"}", "job-accounts: jobAccount must be a plain account name");
        refused.put("job-accounts: {\"../x\": sky}", "job-accounts: jobAccount user must be a plain account name");
        refused.put("default-job-account: \"-\"", "default-job-account: defaultJobAccount must be a plain account");
        refused.put("max-streams-per-user: 0", "max-streams-per-user: expected 1..10000, got 0");
        refused.put("max-waits-per-user: 0", "max-waits-per-user: expected 1..10000, got 0");
        refused.forEach((yaml, message) -> assertThatThrownBy(() -> DaemonConfig.load(Optional.of(write(yaml + "\n")),
                Map.of())).as(yaml).isInstanceOf(DaemonConfig.ConfigException.class).hasMessageStartingWith(message));
        assertThatThrownBy(() -> DaemonConfig.load(Optional.empty(), Map.of("SKYPORT_GATE", "nosuch")))
                .isInstanceOf(DaemonConfig.ConfigException.class)
                .hasMessageStartingWith("SKYPORT_GATE (overrides gate: no gate named 'nosuch'");
        assertThatThrownBy(() -> DaemonConfig.load(Optional.empty(), Map.of("SKYPORT_SCHEDULER", "sjf")))
                .isInstanceOf(DaemonConfig.ConfigException.class).hasMessageStartingWith("SKYPORT_SCHEDULER");
        assertThatThrownBy(() -> DaemonConfig.load(Optional.empty(), Map.of("SKYPORT_MAX_SCRIPT_BYTES", "0")))
                .isInstanceOf(DaemonConfig.ConfigException.class)
                .hasMessageStartingWith("SKYPORT_MAX_SCRIPT_BYTES (overrides max-script-bytes:");
    }

    @Test
    void nestedGateOptionsAreFlattenedWithDots() throws IOException {
        Path file = write("""
                gate: ssh
                job-isolation: none
                gate-options:
                  nodes: [a, b]
                  key: /etc/skyport/id_ed25519
                  health-interval: 10s
                  node:
                    a: {host: a.example, cpus: 16, memory: 64G}
                    b:
                      host: b.example
                      port: 2222
                      labels: rack=r2
                  node.c.host: flat.example
                """);
        DaemonConfig c = DaemonConfig.load(Optional.of(file), Map.of());
        assertThat(c.engine().gate()).isEqualTo("ssh");
        assertThat(c.engine().gateOptions()).containsExactly(Map.entry("nodes", "a,b"),
                Map.entry("key", "/etc/skyport/id_ed25519"), Map.entry("health-interval", "10s"),
                Map.entry("node.a.host", "a.example"), Map.entry("node.a.cpus", "16"),
                Map.entry("node.a.memory", "64G"), Map.entry("node.b.host", "b.example"),
                Map.entry("node.b.port", "2222"), Map.entry("node.b.labels", "rack=r2"),
                Map.entry("node.c.host", "flat.example"));
        assertThatThrownBy(() -> DaemonConfig.load(Optional.of(write("""
                gate-options:
                  node: {a: {host: x}}
                  node.a.host: y
                """)), Map.of())).isInstanceOf(DaemonConfig.ConfigException.class)
                .hasMessage("gate-options: 'node.a.host' is given twice");
        assertThatThrownBy(() -> DaemonConfig.load(Optional.of(write("gate-options: {nodes: [[a]]}\n")), Map.of()))
                .isInstanceOf(DaemonConfig.ConfigException.class)
                .hasMessage("gate-options: 'nodes' must be a value, a list of values or a map");
    }

    @Test
    void typosAndBadValuesAreRefusedWithTheKeyNamed() throws IOException {
        assertThatThrownBy(() -> DaemonConfig.load(Optional.of(write("prot: 8443\n")), Map.of()))
                .isInstanceOf(DaemonConfig.ConfigException.class).hasMessageContaining("unknown key 'prot'")
                .hasMessageContaining("port");
        assertThatThrownBy(() -> DaemonConfig.load(Optional.of(write("port: eighty\n")), Map.of()))
                .isInstanceOf(DaemonConfig.ConfigException.class).hasMessageContaining("line 1");
        assertThatThrownBy(() -> DaemonConfig.load(Optional.of(write("port: 70000\n")), Map.of()))
                .isInstanceOf(DaemonConfig.ConfigException.class).hasMessageContaining("port");
        assertThatThrownBy(() -> DaemonConfig.load(Optional.of(write("max-script-bytes: 0\n")), Map.of()))
                .isInstanceOf(DaemonConfig.ConfigException.class).hasMessageContaining("max-script-bytes");
        assertThatThrownBy(() -> DaemonConfig.load(Optional.of(write("admins: [\"not a name\"]\n")), Map.of()))
                .isInstanceOf(DaemonConfig.ConfigException.class).hasMessageContaining("not a name");
        assertThatThrownBy(() -> DaemonConfig.load(Optional.of(write("admins: [\"CN=a=b=,,\"]\n")), Map.of()))
                .isInstanceOf(DaemonConfig.ConfigException.class).hasMessageContaining("certificate subject");
        assertThatThrownBy(() -> DaemonConfig.load(Optional.of(write("max-script-bytes: 2147483647\n")), Map.of()))
                .isInstanceOf(DaemonConfig.ConfigException.class).hasMessageContaining("max-script-bytes");
        for (String bad : new String[] {"max-requests-per-user: 0", "max-requests-per-user: 10001",
                "max-connections-per-user: 0", "max-connections-per-user: 10001", "min-data-rate: -1",
                "request-timeout: 0", "request-timeout: 3601", "idle-timeout: -5", "idle-timeout: 86400",
                "max-jobs-per-user: 0", "max-stored-bytes-per-user: -1", "job-retention-hours: 0",
                "job-retention-hours: 87601"}) {
            String key = bad.substring(0, bad.indexOf(':'));
            assertThatThrownBy(() -> DaemonConfig.load(Optional.of(write(bad + "\n")), Map.of())).as(bad)
                    .isInstanceOf(DaemonConfig.ConfigException.class).hasMessageStartingWith(key + ":");
        }
        assertThatThrownBy(() -> DaemonConfig.load(Optional.of(write("job-isolation: off\n")), Map.of()))
                .isInstanceOf(DaemonConfig.ConfigException.class).hasMessageContaining("job-isolation")
                .hasMessageContaining("auto, account, sandbox or none");
        assertThatThrownBy(() -> DaemonConfig.load(Optional.empty(), Map.of("SKYPORT_JOB_ISOLATION", "")))
                .isInstanceOf(DaemonConfig.ConfigException.class).hasMessageContaining("SKYPORT_JOB_ISOLATION");
        assertThatThrownBy(() -> DaemonConfig.load(Optional.empty(), Map.of("SKYPORT_PORT", "x")))
                .isInstanceOf(DaemonConfig.ConfigException.class).hasMessageContaining("SKYPORT_PORT");
        assertThatThrownBy(() -> DaemonConfig.load(Optional.of(dir.resolve("missing.yaml")), Map.of()))
                .isInstanceOf(DaemonConfig.ConfigException.class).hasMessageContaining("no such file");
    }

    @Test
    void theCloudGateItsNestedOptionsAndThePartitionPolicyReachTheEngine() throws IOException {
        Path file = write("""
                job-isolation: none
                cloud-gate: loopback
                cloud-gate-options:
                  remote: lab
                  images: [ubuntu-24.04, alma-9]
                  pricing: {cache: {ttl: 1h}}
                partitions:
                  create-timeout: 15m
                  ready-timeout: 300
                  create-attempts: 7
                  retry-budget: 2h
                  reconcile-interval: 30s
                  orphan-grace: 20m
                  idle-timeout: 0
                  max-in-flight: 100
                """);
        DaemonConfig c = DaemonConfig.load(Optional.of(file), Map.of());
        assertThat(c.engine().cloudGateOptions()).containsExactly(Map.entry("remote", "lab"),
                Map.entry("images", "ubuntu-24.04,alma-9"), Map.entry("pricing.cache.ttl", "1h"));
        EmbeddedConfig engine = c.embedded().config();
        assertThat(engine.cloudGate()).contains("loopback");
        assertThat(engine.cloudGateOptions()).isEqualTo(c.engine().cloudGateOptions());
        assertThat(engine.partitions()).isEqualTo(new PartitionPolicy(Duration.ofMinutes(15), Duration.ofMinutes(5),
                7, Duration.ofHours(2), Duration.ofSeconds(30), Duration.ofMinutes(20), Duration.ZERO, 100));
        assertThat(DaemonConfig.defaults().engine().cloudGate()).isEmpty();
        assertThat(DaemonConfig.defaults().embedded().config().partitions()).isEqualTo(PartitionPolicy.defaults());
    }

    @Test
    void theConfigurationPrintsTheKeysOfSecretOptionsButNeverTheirValues() throws IOException {
        Path file = write("""
                job-isolation: none
                gate-options:
                  api-token: tok-value
                cloud-gate: loopback
                cloud-gate-options:
                  client-id: the-client-id
                  client-secret: s3cr3t-value
                  client-certificate-password: pw-value
                """);
        DaemonConfig c = DaemonConfig.load(Optional.of(file), Map.of());
        for (String text : List.of(c.toString(), c.engine().toString(), c.embedded().config().toString())) {
            assertThat(text).doesNotContain("s3cr3t-value", "pw-value", "tok-value")
                    .contains("client-secret=" + dev.skyport.api.Secrets.REDACTED, "client-id=the-client-id",
                            "api-token=" + dev.skyport.api.Secrets.REDACTED);
        }
        assertThat(new dev.skyport.gate.GateConfig(dir, c.engine().cloudGateOptions(), java.time.Clock.systemUTC())
                .toString()).doesNotContain("s3cr3t-value", "pw-value").contains("client-id=the-client-id");
    }

    @Test
    void aBadCloudGateOrPartitionSettingIsRefusedNamingTheKey() {
        Map<String, String> refused = new LinkedHashMap<>();
        refused.put("cloud-gate: nosuch", "cloud-gate: no cloud-gate named 'nosuch'; available: ");
        refused.put("cloud-gate: \"\"", "cloud-gate: cloudGate must not be blank");
        refused.put("cloud-gate-options: {remote: lab}", "cloud-gate-options: set without a cloud-gate");
        refused.put("cloud-gate: loopback\ncloud-gate-options: {\"\": x}",
                "cloud-gate-options: cloudGateOption must not be blank");
        refused.put("cloud-gate: loopback\ncloud-gate-options: {a: {b: x}, a.b: y}",
                "cloud-gate-options: 'a.b' is given twice");
        refused.put("partitions: {create-timeout: 0}", "partitions.create-timeout: expected 1 or more seconds");
        refused.put("partitions: {ready-timeout: soon}", "partitions.ready-timeout: expected 1 or more seconds");
        refused.put("partitions: {retry-budget: -5}", "partitions.retry-budget: expected 1 or more seconds");
        refused.put("partitions: {reconcile-interval: 1.5}", "partitions.reconcile-interval: expected");
        refused.put("partitions: {orphan-grace: 400d}", "partitions.orphan-grace: expected");
        refused.put("partitions: {idle-timeout: -1}", "partitions.idle-timeout: expected 0 or more seconds");
        refused.put("partitions: {create-attempts: 0}", "partitions.create-attempts: expected an integer 1..100000");
        refused.put("partitions: {max-in-flight: many}", "partitions.max-in-flight: expected an integer");
        refused.put("partitions: {create-timout: 5m}",
                "partitions: unknown key 'create-timout' (known: create-timeout");
        refused.forEach((yaml, message) -> assertThatThrownBy(() -> DaemonConfig.load(Optional.of(write(yaml + "\n")),
                Map.of())).as(yaml).isInstanceOf(DaemonConfig.ConfigException.class).hasMessageStartingWith(message));
    }

    private Path write(String yaml) throws IOException {
        Path file = Files.createTempFile(dir, "skyport", ".yaml");
        return Files.writeString(file, yaml);
    }
}
