package dev.skyport.core.internal;

import dev.skyport.api.IdempotencyKeyReusedException;
import dev.skyport.api.InvalidJobSpecException;
import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobSpec;
import dev.skyport.api.NoSuchJobException;
import dev.skyport.core.store.JobStore;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;

/**
 * Submissions with an {@linkplain JobSpec#idempotencyKey() idempotency key}: a key this owner already used returns
 * that job as it is now (nothing stored, nothing published) when the spec is the same, and fails with
 * {@link IdempotencyKeyReusedException} when it differs. The mapping is the store's ({@link
 * JobStore#findByIdempotencyKey}), written with the job, so it holds across restarts and a purge frees the key.
 *
 * <p>Submissions of one owner and key are serialised on a striped lock from the look-up to the end of the write, so
 * two at the same time make one job; the store's unique key is the backstop. A batch takes its stripes in index order.
 */
final class IdempotencyKeys {
    private static final int STRIPES = 256;

    private final JobStore store;
    /** The current snapshot of a job, as a caller sees it; {@link NoSuchJobException} once purged. */
    private final Function<JobId, Job> current;
    private final ReentrantLock[] stripes = new ReentrantLock[STRIPES];

    IdempotencyKeys(JobStore store, Function<JobId, Job> current) {
        this.store = store;
        this.current = current;
        for (int i = 0; i < STRIPES; i++) {
            stripes[i] = new ReentrantLock();
        }
    }

    /**
     * Submits {@code specs} for {@code owner} through {@code submit} (which validates and stores them in one write),
     * except those whose key names a stored job: their place in the answer holds that job.
     *
     * @throws InvalidJobSpecException        when two specs of the batch have the same key
     * @throws IdempotencyKeyReusedException when a key names a job with another spec; nothing is stored then
     * @param indexed whether a problem names its spec's index in {@code specs} (a batch); {@code submit} then names
     *                the index in the list it was given, which this maps back
     */
    List<Job> submitAll(List<JobSpec> specs, String owner, boolean indexed,
                        Function<List<JobSpec>, List<Job>> submit) {
        Map<String, Integer> first = new HashMap<>();
        TreeSet<Integer> locks = new TreeSet<>();
        for (int i = 0; i < specs.size(); i++) {
            Optional<String> key = specs.get(i).idempotencyKey();
            if (key.isEmpty()) {
                continue;
            }
            Integer earlier = first.putIfAbsent(key.get(), i);
            if (earlier != null) {
                InvalidJobSpecException e = new InvalidJobSpecException("idempotencyKey", "specs " + earlier
                        + " and " + i + " of the batch have the same idempotency key; a key names one job");
                throw indexed ? e.inBatchAt(i) : e;
            }
            locks.add(stripe(owner, key.get()));
        }
        if (locks.isEmpty()) {
            return submit.apply(specs);
        }
        List<ReentrantLock> held = new ArrayList<>(locks.size());
        try {
            for (int stripe : locks) { // in index order, so two batches cannot wait for each other
                stripes[stripe].lock();
                held.add(stripes[stripe]);
            }
            return resolveAndSubmit(specs, owner, indexed, submit, true);
        } finally {
            for (int i = held.size() - 1; i >= 0; i--) {
                held.get(i).unlock();
            }
        }
    }

    private List<Job> resolveAndSubmit(List<JobSpec> specs, String owner, boolean indexed,
                                       Function<List<JobSpec>, List<Job>> submit, boolean again) {
        Job[] out = new Job[specs.size()];
        List<JobSpec> fresh = new ArrayList<>();
        List<Integer> freshAt = new ArrayList<>();
        for (int i = 0; i < specs.size(); i++) {
            JobSpec spec = specs.get(i);
            Optional<Job> known = spec.idempotencyKey().flatMap(key -> known(owner, key));
            if (known.isPresent()) {
                if (!sameSubmission(known.get().spec(), spec)) {
                    IdempotencyKeyReusedException e = new IdempotencyKeyReusedException(known.get().id());
                    throw indexed ? e.inBatchAt(i) : e;
                }
                out[i] = known.get();
            } else {
                fresh.add(spec);
                freshAt.add(i);
            }
        }
        if (!fresh.isEmpty()) {
            List<Job> stored;
            try {
                stored = submit.apply(fresh);
            } catch (InvalidJobSpecException e) {
                // submit names the index in fresh; the caller knows the specs by their index in specs
                if (e.batchIndex().isPresent() && e.batchIndex().getAsInt() < freshAt.size()) {
                    throw e.inBatchAt(freshAt.get(e.batchIndex().getAsInt()));
                }
                throw e;
            } catch (IllegalArgumentException taken) {
                // The store's unique key refused a key this engine did not know of: look again, once.
                if (again && fresh.stream().anyMatch(s -> s.idempotencyKey().flatMap(k -> known(owner, k)).isPresent())) {
                    return resolveAndSubmit(specs, owner, indexed, submit, false);
                }
                throw taken;
            }
            for (int i = 0; i < stored.size(); i++) {
                out[freshAt.get(i)] = stored.get(i);
            }
        }
        return List.of(out);
    }

    /** The job {@code owner}'s key names now, if it is still stored. */
    private Optional<Job> known(String owner, String key) {
        Optional<JobId> id = store.findByIdempotencyKey(owner, key);
        if (id.isEmpty()) {
            return Optional.empty();
        }
        try {
            return Optional.of(current.apply(id.get()));
        } catch (NoSuchJobException purgedMeanwhile) {
            return Optional.empty();
        }
    }

    private int stripe(String owner, String key) {
        int h = owner.hashCode() * 31 + key.hashCode();
        return (h ^ (h >>> 16)) & (STRIPES - 1);
    }

    /**
     * Whether a retry carries the submission that made {@code stored}: the same spec but for what differs between two
     * sendings of one submission, the address it came from (a daemon fills it from the client's) and the warnings
     * (the engine adds some at submission, e.g. when the gate could not be asked).
     */
    static boolean sameSubmission(JobSpec stored, JobSpec retry) {
        return comparable(stored).equals(comparable(retry));
    }

    private static JobSpec comparable(JobSpec s) {
        // The canonical constructor, so that a component added to JobSpec is compared unless it is dropped here.
        return new JobSpec(s.name(), s.script(), s.command(), s.containerImage(), s.cloudImage(), s.nodes(), s.cpus(),
                s.memoryBytes(), s.gpus(), s.flavor(), s.remoteSite(), s.relocatable(), s.ports(), s.inputFiles(),
                s.outputFiles(), s.workdir(), s.env(), s.account(), s.priority(), s.timeLimit(), s.retryPolicy(),
                s.tags(), s.comment(), Optional.empty(), s.storage(), s.idempotencyKey(), List.of(),
                s.scriptOmitted());
    }
}
