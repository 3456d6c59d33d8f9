package dev.skyport.gate;

import dev.skyport.api.JobId;
import dev.skyport.api.PortSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ContainerRunTest {
    private static final JobId JOB = new JobId(UUID.fromString("01890a5d-ac96-774b-bcce-b302099a8057"));

    @TempDir
    Path tmp;

    private static RunRequest request(List<PortSpec> ports, Map<String, String> env) {
        return new RunRequest(JOB, 2, "/data/jobs/j", Optional.of("#!/bin/sh\necho hi\n"), List.of(),
                "/data/jobs/j/work", env, "alice", 3, 64L << 20, Optional.of("localhost/busybox:1"), ports);
    }

    @Test
    void theProgramRunsTheImageWithTheDirectoryLimitsVariablesAndInPorts() {
        RunRequest r = request(List.of(PortSpec.parse("8888/tcp/in"), PortSpec.parse("5353/udp/in")),
                Map.of("TOKEN", "s3cret"));
        List<String> p = ContainerRun.program(r, "/usr/bin/podman",
                new ContainerRuntime(List.of("podman"), List.of("--runtime", "runc")), RunIsolation.none());
        String name = "skyport-" + JOB + "-2";
        assertThat(ContainerRun.name(JOB, 2)).isEqualTo(name);
        assertThat(p.subList(0, 3)).containsExactly("/bin/sh", "-c", ContainerRun.CLIENT);
        assertThat(p.subList(4, 9)).containsExactly("/usr/bin/podman", name, "/usr/bin/podman", "run", "--rm");
        assertThat(String.join(" ", p)).contains("--init", "--name " + name, "--runtime runc",
                "-v /data/jobs/j:/data/jobs/j", "-v /data/jobs/j/run.2:/data/jobs/j/run.2:ro",
                "-v /data/jobs/j/stdout.log:/data/jobs/j/stdout.log:ro", "-w /data/jobs/j/work",
                "--env-file /data/jobs/j/run.2/" + ContainerRun.ENV_FILE, "--cap-drop=ALL",
                "--pids-limit " + ContainerRun.PIDS_LIMIT, "--cpus 3",
                "--memory " + (64L << 20), "-p 8888:8888/tcp", "-p 5353:5353/udp");
        assertThat(p).doesNotContain("--user", "--network", "-e").noneMatch(a -> a.contains("s3cret"));
        assertThat(ContainerRun.envFile(r)).isEqualTo("HOME=/data/jobs/j\nTOKEN=s3cret\nSKYPORT_JOB_ID=" + JOB
                + "\nSWM_JOB_ID=" + JOB + "\nSKYPORT_ATTEMPT=2\nSKYPORT_JOB_DIR=/data/jobs/j\nUSER=alice\nLOGNAME=alice\n");
        assertThat(p.subList(p.size() - 3, p.size())).containsExactly("localhost/busybox:1", "/bin/sh",
                "/data/jobs/j/script");
        // The runtime's arguments come before the job's, so that the job's win where both name one.
        assertThat(p.indexOf("--runtime")).isLessThan(p.indexOf("--cpus"));
    }

    @Test
    void anOutPortGivesTheNodesNetworkAndAnAccountItsUser() {
        RunRequest r = request(List.of(PortSpec.parse("8888/tcp/in"), PortSpec.parse("8081/tcp/out")), Map.of());
        List<String> p = ContainerRun.program(r, "docker", ContainerRuntime.auto(),
                RunIsolation.account("bwrap", 1234, 5678, List.of()));
        assertThat(String.join(" ", p)).contains("--network host", "--user 1234:5678");
        assertThat(p).doesNotContain("-p");
    }

    @Test
    void withoutAnAccountDockerRunsAsTheGatesUserAndPodmanAsItsOwnRoot() {
        RunRequest r = request(List.of(), Map.of());
        List<String> docker = ContainerRun.program(r, "/usr/bin/docker", ContainerRuntime.auto(), RunIsolation.none(),
                Optional.of("1000:1001"));
        assertThat(String.join(" ", docker)).contains("--user 1000:1001");
        List<String> podman = ContainerRun.program(r, "/usr/bin/podman", ContainerRuntime.auto(), RunIsolation.none(),
                Optional.of("1000:1001"));
        assertThat(podman).doesNotContain("--user");
        List<String> mapped = ContainerRun.program(r, "docker", ContainerRuntime.auto(),
                RunIsolation.account("bwrap", 1234, 5678, List.of()), Optional.of("1000:1001"));
        assertThat(String.join(" ", mapped)).contains("--user 1234:5678").doesNotContain("1000:1001");
    }

    @Test
    void aPathAMountCannotSayIsRefused() {
        RunRequest r = new RunRequest(JOB, 1, "/data/a:b", Optional.empty(), List.of("true"), "/data/a:b",
                Map.of(), "alice", 1, 0, Optional.of("img"), List.of());
        assertThatThrownBy(() -> ContainerRun.program(r, "podman", ContainerRuntime.auto(), RunIsolation.none()))
                .isInstanceOf(GateException.class).hasMessageContaining("/data/a:b");
    }

    @Test
    void anImageThatWouldBeReadAsAnOptionOrAValueWithALineBreakIsRefused() {
        for (String image : List.of("--privileged", "-v/:/host", "img --privileged", "")) {
            RunRequest r = new RunRequest(JOB, 1, "/data/j", Optional.empty(), List.of("true"), "/data/j",
                    Map.of(), "alice", 1, 0, Optional.of(image), List.of());
            assertThatThrownBy(() -> ContainerRun.program(r, "podman", ContainerRuntime.auto(), RunIsolation.none()))
                    .as(image).isInstanceOf(GateException.class).hasMessageContaining("container image");
        }
        assertThatThrownBy(() -> ContainerRun.envFile(request(List.of(), Map.of("X", "a\nB=b"))))
                .isInstanceOf(GateException.class).hasMessageContaining("X");
    }

    @Test
    void onlyASigkillNeedsTheRuntime() {
        assertThat(ContainerRun.stopCommands("podman", "c", RunSignal.TERM)).isEmpty();
        assertThat(ContainerRun.stopCommands("podman", "c", RunSignal.KILL)).containsExactly(
                List.of("podman", "kill", "--signal", "KILL", "c"), List.of("podman", "rm", "-f", "c"));
    }

    @Test
    void optionsNameTheRuntime() {
        assertThat(ContainerRuntime.fromOptions(config(Map.of()), "none")).isEmpty();
        assertThat(ContainerRuntime.fromOptions(config(Map.of()), "auto")).contains(ContainerRuntime.auto());
        assertThat(ContainerRuntime.fromOptions(config(Map.of("container-runtime", " docker , /opt/podman ",
                "container-runtime-args", " --runtime runc  --ulimit nofile=1024:1024 ")), "none"))
                .contains(new ContainerRuntime(List.of("docker", "/opt/podman"),
                        List.of("--runtime", "runc", "--ulimit", "nofile=1024:1024")));
        assertThatThrownBy(() -> ContainerRuntime.fromOptions(config(Map.of("container-runtime", "podman;rm")),
                "none")).isInstanceOf(GateException.class).hasMessageContaining("container-runtime");
        assertThatThrownBy(() -> ContainerRuntime.fromOptions(config(Map.of("container-runtime", "podman,")),
                "none")).isInstanceOf(GateException.class).hasMessageContaining("container-runtime");
        assertThatThrownBy(() -> ContainerRuntime.fromOptions(config(Map.of("container-runtime-args", "-x")),
                "none")).isInstanceOf(GateException.class).hasMessageContaining("container-runtime-args");
    }

    private GateConfig config(Map<String, String> options) {
        return new GateConfig(tmp, options, Clock.systemUTC());
    }

    /** A directory for PATH holding the tools the discovery script uses, and no runtime. */
    private Path binWithoutRuntimes() throws IOException {
        Path bin = Files.createDirectories(tmp.resolve("bin"));
        for (String tool : List.of("timeout", "tr", "cut")) {
            Path real = Path.of("/usr/bin", tool);
            Files.createSymbolicLink(bin.resolve(tool), Files.exists(real) ? real : Path.of("/bin", tool));
        }
        return bin;
    }

    private static String discover(Path bin, String timeoutSeconds, String... candidates)
            throws IOException, InterruptedException {
        List<String> argv = new ArrayList<>(List.of("/bin/sh", "-c", ContainerRun.DISCOVER, "skyport-discover",
                timeoutSeconds));
        Collections.addAll(argv, candidates);
        ProcessBuilder pb = new ProcessBuilder(argv).redirectError(ProcessBuilder.Redirect.DISCARD);
        pb.environment().put("PATH", bin.toString());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return out;
    }

    @Test
    void aNodeWithNeitherRuntimeIsNamedWithBoth() throws Exception {
        String out = discover(binWithoutRuntimes(), "15", "podman", "docker");
        assertThatThrownBy(() -> ContainerRun.discovered("node-7", ContainerRuntime.auto(), out))
                .isInstanceOf(GateException.class)
                .matches(e -> !((GateException) e).isTransient())
                .hasMessage("no container runtime (podman or docker) on node node-7: podman not found; "
                        + "docker not found");
    }

    @Test
    void aRuntimeThatFailsOrHangsIsPassedOverWithItsReason() throws Exception {
        Path bin = binWithoutRuntimes();
        // A real program that fails its check, and one that never answers: the check is bounded by its timeout.
        Files.createSymbolicLink(bin.resolve("podman"), Path.of("/bin/false"));
        Path hanging = bin.resolve("docker");
        Files.writeString(hanging, "#!/bin/sh\necho 'Cannot connect to the daemon' >&2\nexec /bin/sleep 60\n");
        Files.setPosixFilePermissions(hanging, PosixFilePermissions.fromString("rwxr-xr-x"));
        String out = discover(bin, "1", "podman", "docker");
        assertThatThrownBy(() -> ContainerRun.discovered("n", ContainerRuntime.auto(), out))
                .hasMessage("no container runtime (podman or docker) on node n: podman info failed; "
                        + "docker version did not answer in 1 s");
    }

    @Test
    void theFirstWorkingRuntimeIsTaken() throws Exception {
        Path bin = binWithoutRuntimes();
        Files.createSymbolicLink(bin.resolve("docker"), Path.of("/bin/true"));
        String out = discover(bin, "15", "podman", "docker");
        assertThat(ContainerRun.discovered("n", ContainerRuntime.auto(), out)).isEqualTo(bin.resolve("docker")
                .toString());
    }
}
