package dev.skyport.samples.daemon.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skyport.samples.daemon.ClientDaemon;
import dev.skyport.samples.daemon.cli.CliHarness.Result;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.locks.LockSupport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/**
 * The program as a user runs it: the real connector, skyport-client over mTLS with certificates from the cluster PKI,
 * and the real daemon's {@code /api/v1} on a random port.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EndToEndTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private ClientDaemon daemon;

    @BeforeAll
    void start(@TempDir Path dir) {
        daemon = ClientDaemon.start(dir);
        daemon.installUser("alice");
        daemon.installUser("bob");
    }

    @AfterAll
    void stop() {
        daemon.close();
    }

    /** {@code skyport ARGS} as {@code user}: their home's ~/.swm, SKYPORT_URL and SKYPORT_SPOOL set. */
    private Result run(String user, byte[] stdin, String... args) {
        Map<String, String> env = Map.of("SKYPORT_URL", daemon.url().toString(), "SKYPORT_SPOOL",
                daemon.spool().toString());
        Path home = user.equals(ClientDaemon.ADMIN) ? daemon.adminHome() : daemon.homeOf(user);
        return assertTimeoutPreemptively(Duration.ofSeconds(60), () -> CliHarness.run(new RemoteConnector(env, home),
                stdin, env, false, Optional.empty(), args));
    }

    private Result run(String user, String... args) {
        return run(user, new byte[0], args);
    }

    private static byte[] script(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void aUserSubmitsWatchesListsShowsAndReadsTheirJob() throws Exception {
        Result submitted = run("alice", script("#!/bin/sh\n#SWM name e2e\necho over the wire\n"), "submit",
                "--watch", "-");
        assertThat(submitted.exit()).as(submitted.err()).isZero();
        String id = submitted.out().strip();
        assertThat(id).hasSize(36);
        assertThat(submitted.bytesAsText()).isEqualTo("over the wire\n");
        assertThat(submitted.err()).contains("SUCCEEDED");

        Result jobs = run("alice", "jobs");
        assertThat(jobs.exit()).as(jobs.err()).isZero();
        assertThat(jobs.out()).contains(id.substring(28) + "  e2e").contains("SUCCEEDED");

        assertThat(run("alice", "jobs", "--json").jobIds()).contains(id);

        Result show = run("alice", "show", id.substring(28));
        assertThat(show.exit()).as(show.err()).isZero();
        assertThat(show.out()).contains(id, "Attempts:", "Transitions:", "RUNNING");

        Result logs = run("alice", "logs", id.substring(28));
        assertThat(logs.exit()).as(logs.err()).isZero();
        assertThat(logs.bytesAsText()).isEqualTo("over the wire\n");

        // Bob does not see it: another user's job is a job that does not exist.
        Result foreign = run("bob", "show", id);
        assertThat(foreign.exit()).isEqualTo(1);
        assertThat(foreign.err()).isEqualTo("skyport show: no such job: " + id + System.lineSeparator());
    }

    @Test
    void cancelAndRequeueOverTheWire() throws Exception {
        Result submitted = run("alice", script("#!/bin/sh\nsleep 300\n"), "submit", "-");
        String id = submitted.out().strip();
        Result cancel = run("alice", "cancel", id);
        assertThat(cancel.exit()).as(cancel.err()).isZero();
        assertThat(cancel.out()).startsWith("canceled " + id);
        awaitState("alice", id, "CANCELED"); // a requeue while the cancel tears down (CANCELING) is refused
        Result requeue = run("alice", "requeue", id);
        assertThat(requeue.exit()).as(requeue.err()).isZero();
        assertThat(run("alice", "cancel", id).exit()).isZero();
        Result again = run("alice", "cancel", id, "00000000-0000-7000-8000-000000000000");
        assertThat(again.exit()).isEqualTo(1);
        assertThat(again.err()).contains("no such job: 00000000-0000-7000-8000-000000000000");
    }

    /** Polls {@code skyport show --json} until the job is in {@code state}, with a generous deadline. */
    private void awaitState(String user, String id, String state) throws Exception {
        Instant deadline = Instant.now().plusSeconds(30);
        String now;
        do {
            now = JSON.readTree(run(user, "show", "--json", id).out()).get("state").asText();
            if (now.equals(state)) {
                return;
            }
            LockSupport.parkNanos(Duration.ofMillis(50).toNanos());
        } while (Instant.now().isBefore(deadline));
        throw new AssertionError(id + " still " + now + " after 30 s");
    }

    @Test
    void aRetriedSubmitWithTheSameKeyReturnsTheFirstJob() {
        byte[] job = script("#!/bin/sh\n#SWM name keyed\ntrue\n");
        Result first = run("alice", job, "submit", "--idempotency-key", "nightly-2026-12-06", "-");
        Result again = run("alice", job, "submit", "--idempotency-key", "nightly-2026-12-06", "-");
        assertThat(first.exit()).as(first.err()).isZero();
        assertThat(again.exit()).as(again.err()).isZero();
        assertThat(again.out()).isEqualTo(first.out());
        assertThat(run("alice", job, "submit", "-").out()).isNotEqualTo(first.out());
    }

    @Test
    void aBadScriptIsTheDaemonsMessageAndExitOne() {
        Result r = run("alice", script("#!/bin/sh\n#SWM cpus lots\necho x\n"), "submit", "-");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).startsWith("skyport submit: ").contains("cpus").doesNotContain("\tat ");
        assertThat(r.err().lines()).hasSize(1);
    }

    @Test
    void anAdminListsTheirOwnJobsUnlessAll() {
        String alices = run("alice", script("#!/bin/sh\ntrue\n"), "submit", "-").out().strip();
        String roots = run(ClientDaemon.ADMIN, script("#!/bin/sh\ntrue\n"), "submit", "-").out().strip();
        assertThat(run(ClientDaemon.ADMIN, "jobs", "--wide").out()).contains(roots).doesNotContain(alices);
        assertThat(run(ClientDaemon.ADMIN, "jobs", "--all", "--wide").out()).contains(roots, alices);
        assertThat(run("alice", "jobs", "--all", "--wide").out()).contains(alices).doesNotContain(roots);
    }

    /** The CLI does not filter on its own: what these return is what the daemon's store selected. */
    @Test
    void nameAndTagFiltersReachTheDaemon() {
        String alpha = run("alice", script("#!/bin/sh\n#SWM name filter-alpha\n#SWM tag team=blue\ntrue\n"),
                "submit", "-").out().strip();
        String beta = run("alice", script("#!/bin/sh\n#SWM name filter-beta\n#SWM tag team=red\ntrue\n"),
                "submit", "-").out().strip();
        assertThat(listed("alice", "--name", "filter-")).containsExactly(alpha, beta);
        assertThat(listed("alice", "--name", "filter-b")).containsExactly(beta);
        assertThat(listed("alice", "--tag", "team=blue")).containsExactly(alpha);
        assertThat(listed("alice", "--name", "filter-", "--tag", "team=red")).containsExactly(beta);
        assertThat(listed("alice", "--name", "filter-a", "--tag", "team=red")).isEmpty();
    }

    private List<String> listed(String user, String... filters) {
        List<String> args = new ArrayList<>(List.of("jobs", "--json"));
        args.addAll(List.of(filters));
        return run(user, args.toArray(String[]::new)).jobIds();
    }

    @Test
    void catalogueAndWatchOverTheWire() throws Exception {
        for (String command : List.of("nodes", "flavors", "images", "remotes", "partitions")) {
            Result table = run("alice", command);
            assertThat(table.exit()).as(command + ": " + table.err()).isZero();
            assertThat(table.out()).as(command).startsWith("NAME");
            assertThat(JSON.readTree(run("alice", command, "--json").out()).isArray()).as(command).isTrue();
        }
        Result watch = run("alice", "watch", "-n", "2", "--interval", "0.1");
        assertThat(watch.exit()).as(watch.err()).isZero();
        assertThat(watch.out().lines().filter(line -> line.startsWith("QUEUED "))).hasSize(2);
    }
}
