package dev.skyport.core.internal.store;

import dev.skyport.api.Job;
import dev.skyport.api.StorageException;
import dev.skyport.core.store.StoredJob;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** What the document reader refuses, and how it says so: the job, the field, and why. */
class JobDocumentTest {
    private static final Job FULL = GoldenJobs.full().job();
    private static final String DOCUMENT = JobDocument.write(FULL);

    @Test
    void everyGoldenJobReadsBackEqualWithItsScriptAndWithoutIt() {
        for (StoredJob stored : GoldenJobs.all()) {
            Job job = stored.job();
            String document = JobDocument.write(job);
            assertThat(document).startsWith("{\"v\":2,").doesNotContain("null");
            assertThat(JobDocument.read(document, job.spec().script().orElse(null))).isEqualTo(job);
            Job listed = JobDocument.read(document, null);
            assertThat(listed.spec()).isEqualTo(job.spec().withoutScript());
        }
        assertThat(DOCUMENT).as("the script lives in its own table").doesNotContain("#!/bin/bash");
    }

    /** The texts of the last retry policy are reused: jobs alternating between policies each read back their own. */
    @Test
    void jobsAlternatingRetryPoliciesEachKeepTheirOwn() {
        Job full = GoldenJobs.all().get(0).job();
        List<dev.skyport.api.RetryPolicy> policies = List.of(dev.skyport.api.RetryPolicy.defaults(),
                new dev.skyport.api.RetryPolicy(2, java.time.Duration.ofMillis(1500), java.time.Duration.ofHours(2),
                        java.time.Duration.ofDays(3), true), dev.skyport.api.RetryPolicy.none());
        for (int i = 0; i < 7; i++) {
            dev.skyport.api.RetryPolicy policy = policies.get(i % policies.size());
            Job job = new Job(full.id(), full.owner(), full.ownerName(), full.spec().toBuilder().retryPolicy(policy)
                    .build(), full.state(), full.stateDetails(), full.endReason(), full.submitTime(),
                    full.updateTime(), full.attempts());
            assertThat(JobDocument.read(JobDocument.write(job), job.spec().script().orElse(null)).spec().retryPolicy())
                    .isEqualTo(policy);
            assertThat(JobDocument.read(new String(JobDocument.writeUtf8(job),
                    java.nio.charset.StandardCharsets.UTF_8), null).spec().retryPolicy()).isEqualTo(policy);
        }
    }

    /** A new job's insert binds the document's UTF-8 bytes: they must be the text's (golden jobs, any character). */
    @Test
    void theUtf8DocumentIsTheTextsBytes() {
        List<Job> jobs = new java.util.ArrayList<>(GoldenJobs.all().stream().map(StoredJob::job).toList());
        Job full = jobs.get(0);
        jobs.add(new Job(full.id(), full.owner(), "\u00e9\ud83d\ude00", full.spec().toBuilder()
                .name("caf\u00e9 \u2713 \ud83d\ude00 \"q\" \\ \u0001").build(), full.state(), "\ud83d\ude00",
                full.endReason(), full.submitTime(), full.updateTime(), full.attempts()));
        for (Job job : jobs) {
            String text = JobDocument.write(job);
            assertThat(new String(JobDocument.writeUtf8(job), java.nio.charset.StandardCharsets.UTF_8)).isEqualTo(text);
            assertThat(JobDocument.writeUtf8(job)).isEqualTo(text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
    }

    @Test
    void aDocumentOfANewerFormatIsRefusedNamingItsVersion() {
        assertThatThrownBy(() -> JobDocument.read(DOCUMENT.replace("{\"v\":2,", "{\"v\":3,"), null))
                .isInstanceOf(StorageException.class)
                .hasMessageContaining("stored job ?: field 'v' is format version 3; this Sky Port reads up to 2")
                .hasMessageContaining("newer Sky Port");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        // what is changed | replaced | by | the message names
        "unknown top-level field | \"owner_name\": | \"owner_email\":\"a@b\",\"owner_name\": | field 'owner_email' is not part of format version 2",
        "unknown attempt field | \"signal\":9, | \"signal\":9,\"core_dumped\":true, | field 'attempts[0].core_dumped' is not part of format version 2",
        "unknown port field | \"protocol\":\"udp\", | \"protocol\":\"udp\",\"host_port\":1, | field 'spec.ports[1].host_port' is not part of format version 2",
        "missing required field | \"owner_name\":\"alice\", | '' | field 'owner_name' is missing",
        "missing retry field | \"deadline\":\"PT6H\", | '' | field 'spec.retry.deadline' is missing",
        "wrong type | \"nodes\":3 | \"nodes\":\"3\" | field 'spec.nodes' is text; expected a number",
        "null | \"account\":\"physics\" | \"account\":null | field 'spec.account' is null; expected text",
        "unknown state | \"state\":\"FAILED\" | \"state\":\"PAUSED\" | field 'state' cannot be read: the store holds a job state 'PAUSED'",
        "bad instant | \"submit_time\":\"2026-03-01T10:00:00Z\" | \"submit_time\":\"yesterday\" | field 'submit_time' cannot be read",
        "out of range | \"cpus\":16 | \"cpus\":4294967296 | field 'spec.cpus' is 4294967296, out of range",
        "invalid spec | \"cpus\":16 | \"cpus\":0 | field 'spec' is not a valid job spec: cpus",
        "bad kind | \"kind\":\"script\" | \"kind\":\"notebook\" | field 'spec.kind' is 'notebook'; expected script, command or steps",
    })
    void aDocumentThisVersionCannotTakeAsItIsIsRefusedNamingTheJobAndTheField(String what, String replaced,
                                                                              String by, String message) {
        assertThat(DOCUMENT).contains(replaced);
        String changed = DOCUMENT.replace(replaced, by);

        assertThatThrownBy(() -> JobDocument.read(changed, null)).as(what)
                .isInstanceOf(StorageException.class)
                .hasMessageContaining("stored job " + FULL.id() + ": ")
                .hasMessageContaining(message);
    }

    @Test
    void aDocumentWithoutItsVersionOrNotJsonIsRefused() {
        assertThatThrownBy(() -> JobDocument.read(DOCUMENT.replace("{\"v\":2,", "{"), null))
                .isInstanceOf(StorageException.class)
                .hasMessageContaining("does not start with its format version");
        assertThatThrownBy(() -> JobDocument.read("{}", null)).isInstanceOf(StorageException.class)
                .hasMessageContaining("field 'v' is missing");
        assertThatThrownBy(() -> JobDocument.read(DOCUMENT.substring(0, 200), null))
                .isInstanceOf(StorageException.class).hasMessageContaining("not JSON");
        assertThatThrownBy(() -> JobDocument.read(DOCUMENT + "{}", null))
                .isInstanceOf(StorageException.class).hasMessageContaining("has more after the job");
    }
}
