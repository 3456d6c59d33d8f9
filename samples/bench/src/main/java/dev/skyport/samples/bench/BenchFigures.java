package dev.skyport.samples.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * What the benchmarks share to report: a {@code figure} line, percentiles of timings, where the machine's cpu went
 * ({@link CpuUse}) and the removal of their scratch directories.
 */
final class BenchFigures {

    private BenchFigures() {
    }

    /** Prints {@code figure <name> <value> <unit>}, the line the benchmark scripts collect. */
    static void figure(String name, double value, String unit) {
        System.out.println(String.format(Locale.ROOT, "figure %s %.1f %s", name, value, unit).trim());
    }

    /** The {@code pct}-th percentile (nearest rank) of {@code nanos}, in milliseconds. */
    static double pct(long[] nanos, double pct) {
        long[] sorted = nanos.clone();
        Arrays.sort(sorted);
        int rank = (int) Math.ceil(pct / 100 * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))] / 1e6;
    }

    /** Deletes {@code dir} with everything in it. */
    static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** Where the machine's cpu went since a point in time (Linux {@code /proc}); unknown elsewhere. */
    record CpuUse(long machineTotal, long machineIdle, long self, long children) {
        static CpuUse now() {
            try {
                // cpu  user nice system idle iowait irq softirq steal ...; idle and iowait are idle time.
                String[] machine = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
                long total = 0;
                for (int i = 1; i <= 8; i++) {
                    total += Long.parseLong(machine[i]);
                }
                long idle = Long.parseLong(machine[4]) + Long.parseLong(machine[5]);
                String stat = Files.readString(Path.of("/proc/self/stat"));
                // Fields after "(comm)": utime and stime at 11 and 12, the waited-for children's at 13 and 14.
                String[] own = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
                return new CpuUse(total, idle, Long.parseLong(own[11]) + Long.parseLong(own[12]),
                        Long.parseLong(own[13]) + Long.parseLong(own[14]));
            } catch (IOException | RuntimeException notLinux) {
                return new CpuUse(-1, 0, 0, 0);
            }
        }

        /** E.g. "cpu (of 2 cores): this JVM 1.01, others 0.40, idle 0.59". */
        String since() {
            return since("others");
        }

        /** As {@link #since()}, naming what the others are, e.g. "others (Slurm, its jobs, other programs)". */
        String since(String others) {
            return since(false, others);
        }

        /** With the share of this JVM's waited-for children (the jobs it runs itself) apart from the others. */
        String sinceWithJobs() {
            return since(true, "others");
        }

        private String since(boolean jobsApart, String others) {
            CpuUse end = now();
            if (machineTotal < 0 || end.machineTotal <= machineTotal) {
                return "cpu use unknown";
            }
            int cores = Runtime.getRuntime().availableProcessors();
            double ticks = end.machineTotal - machineTotal;
            double own = (end.self - self) / ticks * cores;
            double idle = (end.machineIdle - machineIdle) / ticks * cores;
            if (!jobsApart) {
                return String.format(Locale.ROOT, "cpu (of %d cores): this JVM %.2f, %s %.2f, idle %.2f", cores, own,
                        others, Math.max(0, cores - idle - own), idle);
            }
            double jobs = (end.children - children) / ticks * cores;
            return String.format(Locale.ROOT, "cpu (of %d cores): this JVM %.2f, its jobs %.2f, %s %.2f, idle %.2f",
                    cores, own, jobs, others, Math.max(0, cores - idle - own - jobs), idle);
        }
    }
}
