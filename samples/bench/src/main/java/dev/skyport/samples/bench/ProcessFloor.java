package dev.skyport.samples.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The machine's floor for the processes of trivial runs, measured now by {@code process_floor.sh} (a bash loop with the
 * local launcher's steps and no engine; see its comment): on a VM it moves by a third from one hour to the next, so the
 * end-to-end figure is read against the floor of its own minute.
 */
final class ProcessFloor {
    private static final String PREFIX = "process_floor_ms_per_run ";
    /** Far beyond what 2,000 runs take even on a loaded machine (5-10 s). */
    private static final long LIMIT_SECONDS = 300;

    private ProcessFloor() {
    }

    /**
     * {@return the cpu of the processes of a run, in milliseconds, over {@code n} runs in {@code dir} and, where the
     * engine's cgroup v2 hierarchy is writable, in cgroups of it; empty, saying why on stderr, where it cannot run}
     */
    static Optional<Double> measure(Path dir, int n) {
        try {
            Path script = dir.resolve("process_floor.sh");
            try (var in = ProcessFloor.class.getResourceAsStream("/bench/process_floor.sh")) {
                Files.write(script, in.readAllBytes());
            }
            List<String> command = new ArrayList<>(List.of("bash", script.toString(), Integer.toString(n),
                    dir.toString()));
            for (String v2 : List.of("/sys/fs/cgroup/skyport", "/sys/fs/cgroup/unified/skyport")) {
                if (Files.isWritable(Path.of(v2, "cgroup.procs"))) {
                    command.add(v2);
                    break;
                }
            }
            ProcessBuilder pb = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT);
            pb.environment().put("LC_ALL", "C");
            Process p = pb.start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (!p.waitFor(LIMIT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return none("process_floor.sh did not end within " + LIMIT_SECONDS + " s");
            }
            if (p.exitValue() != 0) {
                return none("process_floor.sh exited " + p.exitValue());
            }
            if (!out.startsWith(PREFIX)) {
                return none("process_floor.sh printed \"" + out + "\"");
            }
            return Optional.of(Double.parseDouble(out.substring(PREFIX.length())));
        } catch (IOException | RuntimeException e) {
            return none(e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }

    private static Optional<Double> none(String why) {
        System.err.println("   no process floor: " + why);
        return Optional.empty();
    }
}
