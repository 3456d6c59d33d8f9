package dev.skyport.samples.daemon.tes;

import com.fasterxml.jackson.databind.JsonNode;
import dev.skyport.api.Attempt;
import dev.skyport.api.ContainerStep;
import dev.skyport.api.ContainerSteps;
import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.StepLog;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * How {@link TaskView} renders what the live daemon cannot be made to show on demand: an executor that started and has
 * not ended (the engine reads step records when a run ends, so a running task shows none), and numbers Jackson would
 * write in exponent form.
 */
class TaskViewTest {
    private static final Instant T0 = Instant.parse("2026-12-07T04:00:00Z");

    private static Job running(List<StepLog> steps) {
        JobSpec spec = JobSpec.builder().containerSteps(ContainerSteps.of(ContainerStep.of("busybox", "true"),
                ContainerStep.of("busybox", "sleep", "60"))).memoryBytes(100L << 30)
                .tag(TaskMapper.DISK_GB, "2500").build();
        Attempt open = new Attempt(1, List.of("local"), Optional.empty(), T0, Optional.empty(), OptionalInt.empty(),
                OptionalInt.empty(), Optional.empty(), steps, List.of());
        return new Job(new JobId(UUID.randomUUID()), "o", "alice", spec, JobState.RUNNING, "", Optional.empty(), T0,
                T0, List.of(open));
    }

    @Test
    void anExecutorThatStartedAndHasNotEndedHasNoEndTimeAndTheProvisionalExitCode() {
        Job job = running(List.of(
                new StepLog(T0, Optional.of(T0.plusSeconds(1)), OptionalInt.of(0), "done\n", ""),
                new StepLog(T0.plusSeconds(1), Optional.empty(), OptionalInt.empty(), "so far\n", "")));
        JsonNode attempt = TaskView.render(job, TaskView.View.FULL).get("logs").get(0);
        assertThat(attempt.has("end_time")).isFalse();
        JsonNode ended = attempt.get("logs").get(0);
        assertThat(ended.get("end_time").asText()).isEqualTo("2026-12-07T04:00:01Z");
        assertThat(ended.get("exit_code").asInt()).isZero();
        JsonNode open = attempt.get("logs").get(1);
        assertThat(open.get("start_time").asText()).isEqualTo("2026-12-07T04:00:01Z");
        assertThat(open.has("end_time")).isFalse();
        assertThat(open.get("exit_code").isInt()).isTrue();
        assertThat(open.get("exit_code").asInt()).isEqualTo(TaskView.RUNNING_EXIT_CODE).isEqualTo(-1);
        assertThat(open.get("stdout").asText()).isEqualTo("so far\n");
    }

    @Test
    void gigabytesAreWrittenWithoutAnExponent() {
        JsonNode resources = TaskView.render(running(List.of()), TaskView.View.BASIC).get("resources");
        assertThat(resources.toString()).contains("\"ram_gb\":100,").contains("\"disk_gb\":2500");
        assertThat(TaskView.plain(new BigDecimal("1E+3")).toString()).isEqualTo("1000");
        assertThat(TaskView.plain(new BigDecimal("0.500000")).toString()).isEqualTo("0.5");
        assertThat(TaskView.plain(new BigDecimal("0.000000")).toString()).isEqualTo("0");
    }
}
