package dev.skyport.core.internal.local;

import dev.skyport.gate.Gate;
import dev.skyport.gate.GateConfig;
import dev.skyport.gate.NodeGateContractTest;
import dev.skyport.gate.NodeAccess;
import dev.skyport.gate.RunRequest;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The gate contract, proven for the local gate. */
class LocalGateContractTest extends NodeGateContractTest {
    @Override
    protected Gate createGate(Path workDir) {
        return new LocalGate(new GateConfig(workDir, Map.of("cpus", "2"), Clock.systemUTC()));
    }

    @Override
    protected String jobRoot() {
        return workDir.resolve("jobs").toString();
    }

    @Override
    protected String readOnNode(String path) throws Exception {
        return Files.readString(Path.of(path));
    }

    /** Runs have their own PID namespace: look at this machine's processes from outside. */
    @Override
    protected boolean runsOnNode(String commandLine) {
        return !LocalProcesses.running(commandLine).isEmpty();
    }

    /** Whether this gate runs jobs as mapped accounts: its default, {@code auto}, does where the tests run as root. */
    protected boolean jobsRunAsAccounts() {
        return LocalIsolation.isRoot();
    }

    @Test
    void theJobDirectoryAndScriptAreTheOwnersOnly() throws Exception {
        RunRequest req = script("#!/bin/sh\necho secret-token\n");
        NodeAccess node = firstNode();
        node.watch(node.launch(req)).get(30, TimeUnit.SECONDS);
        Path dir = Path.of(req.directory());
        Path script = dir.resolve("script");
        if (jobsRunAsAccounts()) {
            // Jobs run as the mapped account (nobody): it writes the directory through its group, but the directory,
            // the script and the logs stay the engine's, and the sticky bit keeps the account from renaming them.
            int nobody = gidOf("nobody");
            assertThat(Integer.toOctalString((Integer) Files.getAttribute(dir, "unix:mode") & 07777)).isEqualTo("1770");
            assertThat(Files.getAttribute(dir, "unix:uid")).isEqualTo(0);
            assertThat(Files.getAttribute(dir, "unix:gid")).isEqualTo(nobody);
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(script))).isEqualTo("rw-r-----");
            assertThat(Files.getAttribute(script, "unix:uid")).isEqualTo(0);
            assertThat(Files.getAttribute(script, "unix:gid")).isEqualTo(nobody);
            assertThat(Files.getAttribute(dir.resolve("stdout.log"), "unix:uid")).isEqualTo(0);
        } else {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir))).isEqualTo("rwx------");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(script))).isEqualTo("rw-------");
        }
    }

    private static int gidOf(String account) throws Exception {
        Process p = new ProcessBuilder("id", "-g", account).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).strip();
        assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
        return Integer.parseInt(out);
    }
}
