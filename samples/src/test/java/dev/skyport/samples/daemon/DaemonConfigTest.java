package dev.skyport.samples.daemon;

import dev.skyport.api.JobIsolation;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
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
        assertThat(c.jobIsolation()).isEqualTo(JobIsolation.AUTO);
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
                job-isolation: sandbox
                """);
        DaemonConfig c = DaemonConfig.load(Optional.of(file), Map.of());
        assertThat(c.port()).isEqualTo(9443);
        assertThat(c.bind()).isEqualTo("127.0.0.1");
        assertThat(c.spool()).isEqualTo(dir.resolve("spool"));
        assertThat(c.dataDir()).isEqualTo(dev.skyport.samples.daemon.pki.UserHome.current().resolve("sky-data"));
        assertThat(c.scheduler()).isEqualTo("fcfs");
        assertThat(c.maxScriptBytes()).isEqualTo(4096);
        assertThat(c.admins()).containsExactly("CN=root,O=Sky Port", "ops");
        assertThat(c.jobIsolation()).isEqualTo(JobIsolation.SANDBOX);
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
