package dev.skyport.samples.daemon;

import dev.skyport.api.Job;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.RetryPolicy;
import dev.skyport.api.SkyPort;
import dev.skyport.client.SkyPortClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code GET /api/v1/jobs/{id}/stdout?follow=true} follows as Jobs.followStdout does, which starts over when a new
 * attempt truncates the log. Skipping to the old offset instead would fail on the next attempt's shorter log
 * (EOFException): the reply would break off and the daemon log an internal error.
 */
class ApiV1FollowRetryTest {
    @Test
    void aFollowGoesOnThroughARetryThatTruncatesTheLog(@TempDir Path dir) throws Exception {
        Path marker = dir.resolve("first-attempt-ran");
        String script = "#!/bin/sh\n"
                + "if [ -e '" + marker + "' ]; then echo two; exit 0; fi\n"
                + "touch '" + marker + "'\n"
                + "echo the-first-attempt-prints-a-line-longer-than-the-second-one\n"
                + "exit 3\n";
        try (ClientDaemon daemon = ClientDaemon.start(dir.resolve("d"));
             SkyPort admin = SkyPortClient.connect(daemon.url(), daemon.adminTls())) {
            Job job = admin.jobs().submit(JobSpec.script(script).toBuilder()
                    .retryPolicy(RetryPolicy.defaults().withMaxAttempts(2).withRetryUserFailures(true)
                            .withBackoff(Duration.ofSeconds(1), Duration.ofSeconds(1)))
                    .build());
            String followed;
            try (InputStream in = admin.jobs().followStdout(job.id())) {
                followed = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
            assertThat(admin.jobs().await(job.id(), Duration.ofSeconds(60)).state()).isEqualTo(JobState.SUCCEEDED);
            assertThat(followed).endsWith("two\n");
        }
    }
}
