package dev.skyport.samples.daemon;

import dev.skyport.api.JobIsolation;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
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
        assertThat(c.gate()).isEqualTo("local");
        assertThat(c.maxScriptBytes()).isEqualTo(1 << 20);
        assertThat(c.admins()).isEmpty();
        assertThat(c.clients()).isEqualTo(DaemonConfig.ClientLimits.defaults());
        assertThat(c.clients().maxRequestsPerUser()).isEqualTo(32);
        assertThat(c.clients().maxConnectionsPerUser()).isEqualTo(64);
        assertThat(c.clients().minDataRate()).isEqualTo(1024);
        assertThat(c.clients().requestTimeout()).isEqualTo(Duration.ofSeconds(60));
        assertThat(c.clients().idleTimeout()).isEqualTo(Duration.ofSeconds(30));
        assertThat(c.jobIsolation()).isEqualTo(JobIsolation.AUTO);
        assertThat(c.jobs()).isEqualTo(DaemonConfig.JobLimits.defaults());
        assertThat(c.limits()).isEqualTo(dev.skyport.api.Limits.defaults());
    }

    @Test
    void theFileSetsEveryKeyAndRelativePathsAreRelativeToIt() throws IOException {
        Path file = write("""
                port: 9443
                bind: 127.0.0.1
                spool: spool
                data-dir: ~/sky-data
                gate: local
                scheduler: fcfs
                max-script-bytes: 4096
                admins: ["CN=root,O=Sky Port", ops]
                max-requests-per-user: 8
                max-connections-per-user: 9
                min-data-rate: 0
                request-timeout: 120
                idle-timeout: 15
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
        assertThat(c.scheduler()).isEqualTo("fcfs");
        assertThat(c.maxScriptBytes()).isEqualTo(4096);
        assertThat(c.admins()).containsExactly("CN=root,O=Sky Port", "ops");
        assertThat(c.clients()).isEqualTo(new DaemonConfig.ClientLimits(8, 9, 0, Duration.ofSeconds(120),
                Duration.ofSeconds(15)));
        assertThat(c.jobIsolation()).isEqualTo(JobIsolation.SANDBOX);
        assertThat(c.jobs()).isEqualTo(new DaemonConfig.JobLimits(12, 1_000_000, Duration.ofHours(48)));
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
        assertThat(c.scheduler()).isEqualTo("fair-share");
        assertThat(c.spool()).isEqualTo(Path.of("/s"));
        assertThat(c.admins()).containsExactly("CN=a", "CN=b, O=x");
        assertThat(c.jobIsolation()).isEqualTo(JobIsolation.NONE);
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

    private Path write(String yaml) throws IOException {
        Path file = Files.createTempFile(dir, "skyport", ".yaml");
        return Files.writeString(file, yaml);
    }
}
