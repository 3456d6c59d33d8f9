package dev.skyport.core.internal;

import dev.skyport.api.JobId;
import dev.skyport.core.internal.BatchSites.Run;
import dev.skyport.core.store.JobStore;
import dev.skyport.gate.GateException;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Future;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * What every part of {@link BatchSites} (submits, following, restart) works on: the sites' runs, the store, the job
 * table, the transitions, the loop and staging, taken from the one {@link BatchSites} they belong to.
 */
abstract class BatchSitePart {
    final BatchSites sites;
    final Map<JobId, Run> runs;
    final JobStore store;
    final JobTable table;
    final Transitions transitions;
    final SchedulingLoop loop;
    final BooleanSupplier closed;
    final Staging staging;

    BatchSitePart(BatchSites sites) {
        this.sites = sites;
        this.runs = sites.runs;
        this.store = sites.store;
        this.table = sites.table;
        this.transitions = sites.transitions;
        this.loop = sites.loop;
        this.closed = sites.closed;
        this.staging = sites.staging;
    }

    /**
     * Runs {@code step} (a stage-in or stage-out of job {@code id}) on the staging pool, then hands its failure to
     * {@code then} in the background: null when it succeeded, a transient one for any other runtime exception. The
     * pool thread's interrupt, a cancel meant for this transfer only, is cleared before the thread goes on.
     */
    Future<?> stageThen(JobId id, Runnable step, Consumer<GateException> then) {
        return staging.submit(id, () -> {
            GateException failed = null;
            try {
                step.run();
            } catch (GateException ex) {
                failed = ex;
            } catch (RuntimeException ex) {
                failed = GateException.transientFailure("staging failed: " + ex, ex, Optional.empty());
            } finally {
                Thread.interrupted();
            }
            GateException f = failed;
            sites.background(() -> then.accept(f));
        });
    }
}
