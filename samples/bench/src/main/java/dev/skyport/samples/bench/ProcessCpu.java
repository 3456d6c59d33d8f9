package dev.skyport.samples.bench;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The cpu time this JVM and the processes it started used, read from {@code /proc} in clock ticks, so that a figure
 * can be divided by its units of work on a machine others load too (their share does not enter it).
 *
 * <p>Processes: this JVM's waited-for children ({@code cutime}, {@code cstime}; a process's own reaped descendants
 * are in its own fields), plus what its live children have used so far, self and reaped descendants: a long-lived
 * child such as the local gate's launcher reaps every run, but is itself reaped only when it exits. What no parent
 * in this tree reaps escapes (a process reparented to init), and so does what the kernel does in its own threads on
 * the jobs' behalf (namespace and cgroup teardown): {@link #kernelThreads} is the whole machine's kernel threads,
 * whoever caused their work.
 *
 * @param jvm this JVM's own cpu
 * @param processes its children's and their reaped descendants'
 * @param kernelThreads every kernel thread's (children of {@code kthreadd}, pid 2)
 * @param machineBusy the whole machine's non-idle cpu, every program's
 */
record ProcessCpu(long jvm, long processes, long kernelThreads, long machineBusy) {
    /** Clock ticks per second of {@code /proc}'s cpu fields ({@code USER_HZ}), 100 on Linux since forever. */
    private static final double TICKS_PER_SECOND = 100;

    /** {@return now; all zero where there is no {@code /proc}} */
    static ProcessCpu now() {
        try {
            long self = ProcessHandle.current().pid();
            long[] own = fields(Path.of("/proc/self/stat"));
            long jvm = own[0] + own[1];
            long processes = own[2] + own[3];
            long kernel = 0;
            try (DirectoryStream<Path> all = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
                for (Path p : all) {
                    long[] f;
                    try {
                        f = fields(p.resolve("stat"));
                    } catch (IOException | RuntimeException gone) {
                        continue;
                    }
                    if (f[4] == self) {
                        processes += f[0] + f[1] + f[2] + f[3];
                    } else if (f[4] == 2 || p.getFileName().toString().equals("2")) {
                        kernel += f[0] + f[1];
                    }
                }
            }
            String[] machine = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
            long busy = 0;
            for (int i = 1; i <= 8; i++) {
                if (i != 4 && i != 5) {
                    busy += Long.parseLong(machine[i]);
                }
            }
            return new ProcessCpu(jvm, processes, kernel, busy);
        } catch (IOException | RuntimeException notLinux) {
            return new ProcessCpu(0, 0, 0, 0);
        }
    }

    /** utime, stime, cutime, cstime, ppid of a {@code /proc/<pid>/stat}. */
    private static long[] fields(Path stat) throws IOException {
        String s = Files.readString(stat);
        // After "(comm)": state is field 0, ppid 1, utime 11, stime 12, cutime 13, cstime 14.
        String[] f = s.substring(s.lastIndexOf(')') + 2).split(" ");
        return new long[] {Long.parseLong(f[11]), Long.parseLong(f[12]), Long.parseLong(f[13]),
                Long.parseLong(f[14]), Long.parseLong(f[1])};
    }

    /** {@return the cpu used since this reading, per unit of work ({@code units}), in milliseconds} */
    PerUnit perUnitSince(long units) {
        ProcessCpu start = this;
        ProcessCpu end = now();
        double ms = 1000 / TICKS_PER_SECOND / Math.max(1, units);
        return new PerUnit((end.jvm - start.jvm) * ms, (end.processes - start.processes) * ms,
                (end.kernelThreads - start.kernelThreads) * ms, (end.machineBusy - start.machineBusy) * ms);
    }

    /** Cpu milliseconds per unit of work. */
    record PerUnit(double jvmMs, double processesMs, double kernelThreadsMs, double machineBusyMs) {
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "cpu per job: engine JVM %.2f ms, its processes %.2f ms, kernel "
                            + "threads %.2f ms (any cause); the whole machine %.2f ms (others included)", jvmMs,
                    processesMs, kernelThreadsMs, machineBusyMs);
        }
    }
}
