package dev.skyport.gate.slurm;

import dev.skyport.gate.GateConfig;
import dev.skyport.gate.GateException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** How the slurm gate's options choose the SSH backend and what they refuse with it (no cluster needed). */
class SlurmGateSshOptionsTest {
    private static final String FINGERPRINT = "SHA256:" + "A".repeat(43);
    @TempDir
    Path dir;
    private Path key;

    @BeforeEach
    void writeKey() throws Exception {
        key = Files.writeString(dir.resolve("key"), "not read before connecting");
    }

    private Map<String, String> sshOptions() {
        Map<String, String> o = new LinkedHashMap<>();
        o.put("ssh-host", "login.example");
        o.put("ssh-user", "alice");
        o.put("ssh-key", key.toString());
        o.put("host-key-fingerprints", FINGERPRINT);
        o.put("work-root", "/shared/skyport");
        return o;
    }

    private SlurmGateConfig parse(Map<String, String> o) {
        return SlurmGateConfig.parse(new GateConfig(dir, o, Clock.systemUTC()));
    }

    @Test
    void anSshHostWithoutRestUrlChoosesSlurmsCommandsOverSshAndFilesThroughTheLoginNode() {
        SlurmGateConfig c = parse(sshOptions());
        assertThat(c.backend).isEqualTo(SlurmGateConfig.Backend.SSH);
        assertThat(c.files).isEqualTo(SlurmGateConfig.Files.SSH);
        assertThat(c.user).isEqualTo("alice");
        assertThat(c.login.orElseThrow().address()).isEqualTo("alice@login.example:22");
    }

    @Test
    void aRestUrlKeepsSlurmrestdEvenWithALoginNodeForFiles() throws Exception {
        Map<String, String> o = sshOptions();
        o.put("rest-url", "http://slurm:6820");
        o.put("user", "alice");
        o.put("files", "ssh");
        o.put("jwt-token-file", Files.writeString(dir.resolve("token"), "t").toString());
        SlurmGateConfig c = parse(o);
        assertThat(c.backend).isEqualTo(SlurmGateConfig.Backend.REST);
        assertThat(c.files).isEqualTo(SlurmGateConfig.Files.SSH);
    }

    @Test
    void overSshTheUserIsTheLoginUserAndRootIsNotRefused() {
        Map<String, String> o = sshOptions();
        o.put("user", "bob");
        assertRefused(o, "user", "must be the login user");
        o.put("user", "alice");
        assertThat(parse(o).user).isEqualTo("alice");
        Map<String, String> root = sshOptions();
        root.put("ssh-user", "root");
        assertThat(parse(root).user).isEqualTo("root");
    }

    @Test
    void theSshBackendWithoutALoginNodeIsRefusedNamingTheOption() {
        Map<String, String> o = new LinkedHashMap<>();
        o.put("backend", "ssh");
        o.put("user", "alice");
        o.put("work-root", "/shared/skyport");
        assertRefused(o, "ssh-host", "is missing");
        Map<String, String> noKey = sshOptions();
        noKey.remove("ssh-key");
        assertRefused(noKey, "ssh-key", "is missing");
        Map<String, String> noHostKey = sshOptions();
        noHostKey.remove("host-key-fingerprints");
        assertRefused(noHostKey, "known-hosts", "is missing");
    }

    private void assertRefused(Map<String, String> o, String option, String why) {
        assertThatThrownBy(() -> parse(o)).isInstanceOfSatisfying(GateException.class, e -> {
            assertThat(e.isTransient()).isFalse();
            assertThat(e.getMessage()).contains("slurm gate option " + option, why);
        });
    }
}
