package dev.skyport.core.internal;

import dev.skyport.api.InvalidJobSpecException;
import dev.skyport.api.JobSpec;
import dev.skyport.core.internal.BatchSites.Site;
import dev.skyport.core.internal.BatchSites.Target;
import dev.skyport.gate.BatchPartition;

import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Which batch site partition a job goes to, and the submit-time checks, from the sites' cached partition lists. A job's
 * size is judged against every partition, up or down: a site in maintenance does not make a job "too large"; it is
 * routed only to a partition that is up, and waits while those that hold it are down.
 */
final class BatchChoice {
    private final Map<String, Site> sites;

    BatchChoice(Map<String, Site> sites) {
        this.sites = sites;
    }

    /** Whether {@code remoteSite} (a job's {@code remoteSite}) names one of the batch sites, with or without a partition. */
    boolean names(String remoteSite) {
        return siteOf(remoteSite) != null;
    }

    private Site siteOf(String remoteSite) {
        int slash = remoteSite.indexOf('/');
        return sites.get(slash < 0 ? remoteSite : remoteSite.substring(0, slash));
    }

    /**
     * Refuses at submit a job naming a batch site that cannot take it: an unknown site or partition (the choices
     * listed), a job larger than the named partition (its limits named), a site none of whose partitions holds the
     * job, an account the partition does not allow.
     *
     * @return a warning when the site has not listed its partitions yet (nothing could be checked)
     * @throws InvalidJobSpecException naming the field
     */
    Optional<String> check(JobSpec spec) {
        String remote = spec.remoteSite().orElseThrow();
        int slash = remote.indexOf('/');
        Site s = siteOf(remote);
        if (s == null) {
            throw new InvalidJobSpecException("remoteSite", "unknown batch site '" + remote + "'; the sites are "
                    + sites.keySet());
        }
        List<BatchPartition> ps = s.partitions;
        if (ps == null) {
            return Optional.of("not checked at submission: batch site " + s.name + " has not listed its partitions yet");
        }
        if (slash >= 0) {
            String name = remote.substring(slash + 1);
            BatchPartition p = ps.stream().filter(x -> x.name().equals(name)).findFirst().orElseThrow(() ->
                    new InvalidJobSpecException("remoteSite", "batch site " + s.name + " has no partition '" + name
                            + "'; its partitions are " + ps.stream().map(x -> s.name + "/" + x.name()).toList()));
            checkHolds(spec, p);
            return Optional.empty();
        }
        if (ps.stream().noneMatch(p -> holds(spec, p))) {
            throw new InvalidJobSpecException(tooLarge(spec, ps), "no partition of batch site " + s.name
                    + " holds the job (" + asked(spec) + "); its partitions: "
                    + String.join("; ", ps.stream().map(BatchPartition::describe).toList()));
        }
        return Optional.empty();
    }

    private static void checkHolds(JobSpec spec, BatchPartition p) {
        String field = misfit(spec, p);
        if (field != null) {
            throw new InvalidJobSpecException(field, "the job (" + asked(spec) + ") does not fit partition "
                    + p.describe());
        }
        if (!allows(spec, p)) {
            throw new InvalidJobSpecException("account", "account '" + spec.account().orElse("") + "' may not use "
                    + "partition " + p.name() + "; it allows " + p.allowedAccounts());
        }
    }

    /** The field of {@code spec} that {@code p} cannot hold, or null when it holds the job. */
    private static String misfit(JobSpec spec, BatchPartition p) {
        if (spec.nodes() > p.maxNodes()) {
            return "nodes";
        }
        if (spec.cpus() > p.maxCpusPerNode()) {
            return "cpus";
        }
        if (spec.memoryBytes() > p.maxMemoryPerNode()) {
            return "memoryBytes";
        }
        if (spec.gpus() > p.maxGpusPerNode()) {
            return "gpus";
        }
        if (spec.timeLimit().isPresent() && p.maxTime().isPresent()
                && spec.timeLimit().get().compareTo(p.maxTime().get()) > 0) {
            return "timeLimit";
        }
        return null;
    }

    private static boolean allows(JobSpec spec, BatchPartition p) {
        return p.allowedAccounts().isEmpty() || p.allowedAccounts().contains(spec.account().orElse(""));
    }

    private static boolean holds(JobSpec spec, BatchPartition p) {
        return misfit(spec, p) == null && allows(spec, p);
    }

    /** The field the job is too large in (the first a partition refuses it for), else the account none allows. */
    private static String tooLarge(JobSpec spec, List<BatchPartition> ps) {
        return ps.stream().map(p -> misfit(spec, p)).filter(Objects::nonNull).findFirst().orElse("account");
    }

    private static String asked(JobSpec spec) {
        return spec.nodes() + " node" + (spec.nodes() == 1 ? "" : "s") + " of " + spec.cpus() + " cpus, "
                + (spec.memoryBytes() >> 20) + " MiB, " + spec.gpus() + " gpus"
                + spec.timeLimit().map(t -> ", " + t.toMinutes() + " min").orElse("");
    }

    /** The partition of {@code s} for {@code spec} now: its default when that is up and holds the job, else the first. */
    private static Optional<BatchPartition> choose(Site s, JobSpec spec) {
        List<BatchPartition> ps = s.partitions;
        if (ps == null) {
            return Optional.empty();
        }
        return ps.stream().filter(p -> p.up() && holds(spec, p))
                .min(Comparator.comparing((BatchPartition p) -> !p.isDefault()));
    }

    /** Where a job naming a batch site in its {@code remoteSite} goes; empty when it names none (or none takes it now). */
    Optional<Target> named(JobSpec spec) {
        if (spec.remoteSite().isEmpty() || !names(spec.remoteSite().get())) {
            return Optional.empty();
        }
        String remote = spec.remoteSite().get();
        int slash = remote.indexOf('/');
        Site s = siteOf(remote);
        List<BatchPartition> ps = s.partitions;
        if (ps == null) {
            return Optional.empty();
        }
        if (slash < 0) {
            return choose(s, spec).map(p -> new Target(s, p));
        }
        String name = remote.substring(slash + 1);
        return ps.stream().filter(p -> p.name().equals(name)).findFirst().map(p -> new Target(s, p));
    }

    /** Why a job naming a site is not handed to it now ({@link #named} was empty). */
    String whyWaiting(JobSpec spec) {
        String remote = spec.remoteSite().orElseThrow();
        Site s = siteOf(remote);
        List<BatchPartition> ps = s == null ? null : s.partitions;
        if (ps == null) {
            return "batch site " + remote + " has not listed its partitions yet";
        }
        List<String> down = ps.stream().filter(p -> !p.up() && holds(spec, p)).map(p -> s.name + "/" + p.name())
                .toList();
        if (!down.isEmpty()) {
            return "the partitions of batch site " + s.name + " that hold it are down: " + String.join(", ", down);
        }
        return "batch site " + remote + " has listed no partition that holds it";
    }

    /** Whether some partition of some site could hold {@code spec}, up or down: it is not refused for being too large. */
    boolean anyHolds(JobSpec spec) {
        return sites.values().stream().map(s -> s.partitions).filter(Objects::nonNull)
                .anyMatch(ps -> ps.stream().anyMatch(p -> holds(spec, p)));
    }

    /** The cheapest site partition that holds {@code spec} now, with its price per hour for the whole job. */
    Optional<Map.Entry<Target, Double>> cheapest(JobSpec spec) {
        Target best = null;
        double cost = Double.MAX_VALUE;
        for (Site s : sites.values()) {
            Optional<BatchPartition> p = choose(s, spec);
            double c = s.options.pricePerCpuHour() * spec.cpus() * spec.nodes();
            if (p.isPresent() && c < cost) {
                best = new Target(s, p.get());
                cost = c;
            }
        }
        return best == null ? Optional.empty() : Optional.of(Map.entry(best, cost));
    }
}
