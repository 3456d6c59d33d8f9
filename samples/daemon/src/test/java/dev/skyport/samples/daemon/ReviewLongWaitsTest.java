package dev.skyport.samples.daemon;

import dev.skyport.api.Job;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.SkyPort;
import dev.skyport.client.SkyPortClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Review of issue 12: a long poll (Jobs.onTerminal over the client) holds one of the user's max-requests-per-user
 * slots (default 32) in ClientGuard for up to 25 s, so a user who waits for more jobs than that at once is refused
 * with 429, on the extra waits and on every other call, although the embedded SkyPort lets anyone wait for any number
 * of jobs.
 */
class ReviewLongWaitsTest {
    private static final int JOBS = 40;

    @Test
    void aUserWaitingForManyJobsCanStillWaitForAllAndMakeOtherCalls(@TempDir Path dir) throws Exception {
        try (ClientDaemon daemon = ClientDaemon.start(dir);
             SkyPort admin = SkyPortClient.connect(daemon.url(), daemon.adminTls());
             SkyPort alice = SkyPortClient.connect(daemon.url(), daemon.userTls("alice"))) {
            List<Job> jobs = alice.jobs().submitAll(Collections.nCopies(JOBS,
                    JobSpec.script("#!/bin/sh\nsleep 600\n")));
            List<CompletableFuture<Job>> ends = new ArrayList<>();
            try {
                for (Job j : jobs) {
                    ends.add(alice.jobs().onTerminal(j.id()));
                }
                assertThat(alice.jobs().get(jobs.get(0).id()).id()).isEqualTo(jobs.get(0).id());
            } finally {
                for (Job j : jobs) {
                    try {
                        admin.jobs().cancel(j.id());
                    } catch (RuntimeException ended) {
                        // already ended
                    }
                }
            }
            for (CompletableFuture<Job> end : ends) {
                assertThat(end.get(60, TimeUnit.SECONDS).state()).isEqualTo(JobState.CANCELED);
            }
        }
    }
}
