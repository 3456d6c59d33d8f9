package dev.skyport.core.internal.local;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** This machine's processes, seen from outside any sandbox, for tests that prove processes ended. */
public final class LocalProcesses {
    private LocalProcesses() {
    }

    /** Pids of live (not zombie) processes whose command line, arguments joined by spaces, contains {@code text}. */
    public static List<Long> running(String text) {
        List<Long> pids = new ArrayList<>();
        try (DirectoryStream<Path> procs = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
            for (Path p : procs) {
                try {
                    String cmdline = new String(Files.readAllBytes(p.resolve("cmdline")), StandardCharsets.UTF_8)
                            .replace('\0', ' ');
                    long pid = Long.parseLong(p.getFileName().toString());
                    if (cmdline.contains(text) && pid != ProcessHandle.current().pid()
                            && LocalNodeAccess.isRunning(pid)) {
                        pids.add(pid);
                    }
                } catch (IOException | NumberFormatException gone) {
                    // ended while listed
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot list /proc", e);
        }
        return pids;
    }
}
