package dev.skyport.samples.daemon;

import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobQuery;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.JobTransitioned;
import dev.skyport.api.NoSuchJobException;
import dev.skyport.api.SkyPort;
import dev.skyport.api.SkyPortContractTest;
import dev.skyport.api.SkyPortEvent;
import dev.skyport.api.SkyPortException;
import dev.skyport.api.Subscription;
import dev.skyport.client.ClientTls;
import dev.skyport.client.SkyPortClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** What the contract test cannot show with an admin's client: a plain user's client, and a stream cut under it. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ClientViewsTest {
    private static final Duration WAIT = Duration.ofSeconds(60);

    private ClientDaemon daemon;
    private SkyPort admin;
    private ClientTls aliceTls;

    @BeforeAll
    void start(@TempDir Path dir) {
        daemon = ClientDaemon.start(dir);
        admin = SkyPortClient.connect(daemon.url(), daemon.adminTls());
        aliceTls = daemon.userTls("alice");
    }

    @AfterAll
    void stop() {
        admin.close();
        daemon.close();
    }

    @Test
    void aPlainUsersClientSeesOnlyItsOwnJobs() throws Exception {
        try (SkyPort alice = SkyPortClient.connect(daemon.url(), aliceTls)) {
            Job hers = alice.jobs().submit(JobSpec.script("#!/bin/sh\necho hers\n"));
            Job others = admin.jobs().submit(JobSpec.script("#!/bin/sh\necho others\n"));
            Job bobs = admin.asUser("bob").jobs().submit(JobSpec.script("#!/bin/sh\necho bobs\n"));

            assertThat(alice.jobs().await(hers.id(), WAIT).state()).isEqualTo(JobState.SUCCEEDED);
            assertThat(alice.jobs().stdout(hers.id())).isEqualTo("hers\n");
            List<Job> listed = SkyPortContractTest.listAll(alice);
            assertThat(listed).extracting(Job::id).contains(hers.id()).doesNotContain(others.id(), bobs.id());
            assertThat(listed).extracting(Job::owner).containsOnly(hers.owner());
            assertThat(SkyPortContractTest.listAll(admin)).extracting(Job::id)
                    .contains(hers.id(), others.id(), bobs.id());
            for (JobId foreign : List.of(others.id(), bobs.id())) {
                assertThatThrownBy(() -> alice.jobs().get(foreign)).isInstanceOfSatisfying(NoSuchJobException.class,
                        e -> assertThat(e.id()).isEqualTo(foreign)).hasMessage(new NoSuchJobException(foreign)
                        .getMessage());
                assertThatThrownBy(() -> alice.jobs().followStdout(foreign)).isInstanceOf(NoSuchJobException.class);
                assertThatThrownBy(() -> alice.events().history(foreign)).isInstanceOf(NoSuchJobException.class);
            }
            assertThat(alice.jobs().list(JobQuery.all().withOwner(others.owner())).items()).isEmpty();
            assertThatThrownBy(() -> alice.asUser("bob").jobs().list(JobQuery.all()))
                    .as("only an admin may act as another user").isExactlyInstanceOf(SkyPortException.class);
        }
    }

    @Test
    void aStreamCutUnderASubscriptionResumesWithoutLosingOrRepeatingAnEvent() throws Exception {
        try (CuttableProxy proxy = new CuttableProxy(daemon.daemon.port());
             SkyPort viaProxy = SkyPortClient.builder(ClientDaemon.url(proxy.port()), daemon.adminTls())
                     .backoff(Duration.ofMillis(50), Duration.ofMillis(200)).build()) {
            BlockingQueue<SkyPortEvent> received = new LinkedBlockingQueue<>();
            List<SkyPortEvent> all = new ArrayList<>();
            try (Subscription ignored = viaProxy.events().subscribe(received::add)) {
                Job before = runToEnd();
                collectUntilTerminal(received, all, before.id());

                proxy.refuse(true);
                proxy.cut();
                int relayedWhileCut = proxy.relayed();
                Job during = runToEnd(); // its whole life happens while the subscription is cut off
                proxy.refuse(false);

                Job after = runToEnd();
                collectUntilTerminal(received, all, after.id());
                assertThat(proxy.relayed()).as("the subscription reconnected").isGreaterThan(relayedWhileCut);

                assertThat(all).extracting(SkyPortEvent::sequence).isSorted().doesNotHaveDuplicates();
                for (Job job : List.of(before, during, after)) {
                    List<JobTransitioned> stored = admin.events().history(job.id());
                    assertThat(all.stream().filter(e -> e instanceof JobTransitioned t && t.jobId().equals(job.id()))
                            .toList()).as("events of %s", job.name()).isEqualTo(stored);
                }
            }
        }
    }

    /** Submits a job through the admin's direct client and waits until it has ended. */
    private Job runToEnd() throws InterruptedException {
        Job job = admin.jobs().submit(JobSpec.script("#!/bin/sh\ntrue\n"));
        assertThat(admin.jobs().await(job.id(), WAIT).state()).isEqualTo(JobState.SUCCEEDED);
        return job;
    }

    private static void collectUntilTerminal(BlockingQueue<SkyPortEvent> received, List<SkyPortEvent> all, JobId id)
            throws InterruptedException {
        Instant deadline = Instant.now().plus(WAIT);
        while (all.stream().noneMatch(e -> e instanceof JobTransitioned t && t.jobId().equals(id)
                && t.to().isTerminal())) {
            long left = Duration.between(Instant.now(), deadline).toMillis();
            SkyPortEvent next = received.poll(Math.max(0, left), TimeUnit.MILLISECONDS);
            assertThat(next).as("the terminal event of %s within %s", id, WAIT).isNotNull();
            all.add(next);
        }
    }
}
