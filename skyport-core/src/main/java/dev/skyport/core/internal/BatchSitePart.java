package dev.skyport.core.internal;

import dev.skyport.api.JobId;
import dev.skyport.core.internal.BatchSites.Run;
import dev.skyport.core.store.JobStore;

import java.util.Map;
import java.util.function.BooleanSupplier;

/**
 * What every part of {@link BatchSites} (submits, following, restart) works on: the sites' runs, the store, the job
 * table, the transitions and the loop, taken from the one {@link BatchSites} they belong to.
 */
abstract class BatchSitePart {
    final BatchSites sites;
    final Map<JobId, Run> runs;
    final JobStore store;
    final JobTable table;
    final Transitions transitions;
    final SchedulingLoop loop;
    final BooleanSupplier closed;

    BatchSitePart(BatchSites sites) {
        this.sites = sites;
        this.runs = sites.runs;
        this.store = sites.store;
        this.table = sites.table;
        this.transitions = sites.transitions;
        this.loop = sites.loop;
        this.closed = sites.closed;
    }
}
