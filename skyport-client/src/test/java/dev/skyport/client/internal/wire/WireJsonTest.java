package dev.skyport.client.internal.wire;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skyport.api.Attempt;
import dev.skyport.api.EndReason;
import dev.skyport.api.Flavor;
import dev.skyport.api.Health;
import dev.skyport.api.Image;
import dev.skyport.api.InvalidJobSpecException;
import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.JobTransitioned;
import dev.skyport.api.Node;
import dev.skyport.api.NodeState;
import dev.skyport.api.NodeTransitioned;
import dev.skyport.api.Page;
import dev.skyport.api.Partition;
import dev.skyport.api.PortSpec;
import dev.skyport.api.RemoteSite;
import dev.skyport.api.RetryPolicy;
import dev.skyport.api.SkyPortEvent;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class WireJsonTest {
    private static final Instant T0 = Instant.parse("2026-03-04T05:06:07.123456Z");

    /** A spec with every member set to something other than its default. */
    static JobSpec.Builder everything() {
        return JobSpec.builder()
                .name("train \"model\" ü")
                .script("#!/bin/bash\n#SWM cpus 2\necho hi\n")
                .containerImage("docker.io/library/ubuntu:24.04")
                .cloudImage("ubuntu-24")
                .nodes(3)
                .cpus(4)
                .memoryBytes(8L << 30)
                .gpus(2)
                .flavor("Standard_D4")
                .remoteSite("azure-westeurope")
                .relocatable(false)
                .ports(List.of(new PortSpec(8888, "tcp", PortSpec.Direction.IN),
                        new PortSpec(53, "udp", PortSpec.Direction.OUT)))
                .inputFile("data/in.csv")
                .inputFile("data/in2.csv")
                .outputFile("out/result.bin")
                .workdir("/scratch/run")
                .env("A", "1")
                .env("SECRET", "x=y")
                .account("physics")
                .priority(-7)
                .timeLimit(Duration.ofMinutes(90))
                .retryPolicy(new RetryPolicy(5, Duration.ofSeconds(2), Duration.ofMinutes(3), Duration.ofHours(4),
                        true))
                .tag("team", "ml")
                .tag("cost-center", "42")
                .comment("a comment")
                .submissionAddress("10.0.0.7")
                .storage("bucket-1")
                .idempotencyKey("3f0b291e-key");
    }

    @Test
    void aRequestSpecWithEveryMemberRoundTrips() {
        JobSpec spec = everything().build();
        JsonNode json = WireJson.parse(WireJson.bytes(WireJson.writeSpecRequest(spec)));
        assertThat(WireJson.readSpecRequest(json, "")).isEqualTo(spec);

        JobSpec command = everything().command(List.of("/bin/echo", "a b", "")).build();
        assertThat(WireJson.readSpecRequest(WireJson.parse(WireJson.text(WireJson.writeSpecRequest(command))), ""))
                .isEqualTo(command);
    }

    @Test
    void aResponseSpecKeepsWarningsAndScriptOmission() {
        JobSpec spec = everything().warning("unknown directive #SWM foo").warning("second").build();
        assertThat(WireJson.readSpec(WireJson.parse(WireJson.bytes(WireJson.writeSpec(spec))))).isEqualTo(spec);
        JobSpec omitted = spec.withoutScript();
        JsonNode json = WireJson.writeSpec(omitted);
        assertThat(json.get("scriptOmitted").booleanValue()).isTrue();
        assertThat(json.has("script")).isFalse();
        assertThat(WireJson.readSpec(WireJson.parse(WireJson.bytes(json)))).isEqualTo(omitted);
        assertThatThrownBy(() -> WireJson.writeSpecRequest(omitted)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void absentOptionalsAreOmittedAndDefaultsFillAMinimalRequest() {
        JobSpec minimal = JobSpec.builder().script("echo hi").build();
        ObjectNode json = WireJson.writeSpecRequest(minimal);
        assertThat(json.has("containerImage")).isFalse();
        assertThat(json.has("timeLimit")).isFalse();
        assertThat(json.toString()).doesNotContain("null");
        assertThat(WireJson.readSpecRequest(WireJson.parse("{\"script\":\"echo hi\"}"), "")).isEqualTo(minimal);
        assertThat(WireJson.readSpecRequest(json, "")).isEqualTo(minimal);
    }

    @Test
    void requestErrorsNameTheMember() {
        assertField("{\"script\":\"x\",\"cpu\":2}", WireFormatException.UNKNOWN_FIELD, "cpu");
        assertField("{\"script\":\"x\",\"cpus\":\"2\"}", WireFormatException.INVALID_JSON, "cpus");
        assertField("{\"script\":\"x\",\"cpus\":2.5}", WireFormatException.INVALID_JSON, "cpus");
        assertField("{\"script\":\"x\",\"cpus\":99999999999}", WireFormatException.INVALID_JSON, "cpus");
        assertField("{\"script\":\"x\",\"cpus\":null}", WireFormatException.INVALID_JSON, "cpus");
        assertField("{\"script\":\"x\",\"warnings\":[]}", WireFormatException.UNKNOWN_FIELD, "warnings");
        assertField("{\"script\":\"x\",\"scriptOmitted\":true}", WireFormatException.UNKNOWN_FIELD, "scriptOmitted");
        assertField("{\"script\":\"x\",\"retryPolicy\":{\"tries\":1}}", WireFormatException.UNKNOWN_FIELD,
                "retryPolicy.tries");
        assertField("{\"script\":\"x\",\"retryPolicy\":{\"deadline\":\"1h\"}}", WireFormatException.INVALID_JSON,
                "retryPolicy.deadline");
        assertField("{\"script\":\"x\",\"ports\":[{\"port\":1,\"protocol\":\"tcp\",\"direction\":\"in\"}]}",
                WireFormatException.INVALID_JSON, "ports[0].direction");
        assertField("{\"script\":\"x\",\"env\":{\"A\":1}}", WireFormatException.INVALID_JSON, "env.A");
        assertField("{\"script\":\"x\",\"timeLimit\":\"soon\"}", WireFormatException.INVALID_JSON, "timeLimit");
        assertField("[1]", WireFormatException.INVALID_JSON, "$");
        assertField("{\"script\":\"x\"", WireFormatException.INVALID_JSON, "$");
        assertField("{\"script\":\"x\",\"script\":\"y\"}", WireFormatException.INVALID_JSON, "$");
        assertField("{\"script\":\"x\"} {}", WireFormatException.INVALID_JSON, "$");
        assertField("", WireFormatException.INVALID_JSON, "$");
    }

    @Test
    void builderChecksApplyToRequests() {
        assertSpecField("{\"script\":\"x\",\"cpus\":-1}", "cpus");
        assertSpecField("{\"script\":\"x\",\"memoryBytes\":-5}", "memoryBytes");
        assertSpecField("{\"script\":\"x\",\"name\":\"" + "n".repeat(JobSpec.MAX_NAME_LENGTH + 1) + "\"}", "name");
        assertSpecField("{\"script\":\"x\",\"command\":[\"ls\"]}", "script");
        assertSpecField("{\"name\":\"nothing to run\"}", "script");
        assertSpecField("{\"script\":\"x\",\"retryPolicy\":{\"maxAttempts\":0}}", "retryPolicy.maxAttempts");
        assertSpecField("{\"script\":\"x\",\"idempotencyKey\":\"has space\"}", "idempotencyKey");
        assertSpecField("{\"script\":\"x\",\"ports\":[{\"port\":0,\"protocol\":\"tcp\",\"direction\":\"IN\"}]}",
                "ports");
    }

    @Test
    void batchRequestsRoundTripAndNameTheSpecInErrors() {
        List<JobSpec> specs = List.of(everything().build(), JobSpec.command("true"));
        assertThat(WireJson.readBatchRequest(WireJson.parse(WireJson.bytes(WireJson.writeBatchRequest(specs)))))
                .isEqualTo(specs);
        assertThatThrownBy(() -> WireJson.readBatchRequest(WireJson.parse(
                "{\"jobs\":[{\"script\":\"x\"},{\"script\":\"x\"},{\"script\":\"x\"},{\"script\":\"x\",\"cpus\":0}]}")))
                .isInstanceOf(InvalidJobSpecException.class)
                .extracting(e -> ((InvalidJobSpecException) e).field()).isEqualTo("jobs[3].cpus");
        assertThatThrownBy(() -> WireJson.readBatchRequest(WireJson.parse("{\"jobs\":[{\"script\":\"x\",\"x\":1}]}")))
                .isInstanceOf(WireFormatException.class)
                .extracting(e -> ((InvalidJobSpecException) e).field()).isEqualTo("jobs[0].x");
        assertThatThrownBy(() -> WireJson.readBatchRequest(WireJson.parse("{\"jobs\":[]}")))
                .isInstanceOf(InvalidJobSpecException.class)
                .extracting(e -> ((InvalidJobSpecException) e).field()).isEqualTo("jobs");
        assertThatThrownBy(() -> WireJson.readBatchRequest(WireJson.parse("{\"jobs\":[],\"more\":1}")))
                .isInstanceOf(WireFormatException.class)
                .extracting(e -> ((InvalidJobSpecException) e).field()).isEqualTo("more");
    }

    static Job job() {
        JobSpec spec = everything().warning("w").build();
        Attempt first = new Attempt(1, List.of("n1", "n2"), Optional.of("p1"), T0.plusSeconds(1),
                Optional.of(T0.plusSeconds(5)), OptionalInt.empty(), OptionalInt.of(9),
                Optional.of(EndReason.NODE_LOST));
        Attempt second = new Attempt(2, List.of("n3"), Optional.empty(), T0.plusSeconds(10),
                Optional.of(T0.plusSeconds(20)), OptionalInt.of(3), OptionalInt.empty(),
                Optional.of(EndReason.NON_ZERO_EXIT));
        return new Job(new JobId(UUID.randomUUID()), "u1000", "alice", spec, JobState.FAILED, "exit 3",
                Optional.of(EndReason.NON_ZERO_EXIT), T0, T0.plusSeconds(21), List.of(first, second));
    }

    @Test
    void jobsRoundTripWithDerivedMembers() {
        Job job = job();
        JsonNode json = WireJson.parse(WireJson.bytes(WireJson.writeJob(job)));
        assertThat(WireJson.readJob(json)).isEqualTo(job);
        assertThat(json.get("name").textValue()).isEqualTo(job.name());
        assertThat(json.get("exitCode").intValue()).isEqualTo(3);
        assertThat(json.get("endTime").textValue()).isEqualTo(T0.plusSeconds(20).toString());
        assertThat(json.get("nodes")).hasSize(1);

        Job queued = new Job(job.id(), "u", "u", JobSpec.command("true"), JobState.QUEUED, "", Optional.empty(), T0,
                T0, List.of());
        JsonNode q = WireJson.writeJob(queued);
        assertThat(q.has("endReason") || q.has("startTime") || q.has("endTime") || q.has("exitCode")).isFalse();
        assertThat(WireJson.readJob(WireJson.parse(WireJson.bytes(q)))).isEqualTo(queued);
    }

    @Test
    void jobBytesAreTheJobTreeByteForByte() {
        Job full = job();
        Job queued = new Job(full.id(), "u", "u", JobSpec.command("true"), JobState.QUEUED, "Submitted",
                Optional.empty(), T0, T0, List.of());
        Job escaped = new Job(full.id(), "u\"1", "ä\u2028", JobSpec.builder().script("#!/bin/sh\necho \"\u00e9\t\\\"\n")
                .comment("</script> \u0001 \uD83D\uDE00").env("A", "x\ny").tag("k", "ü").build(),
                JobState.RUNNING, "on \"n1\"", Optional.empty(), T0, T0.plusMillis(1), List.of());
        for (Job job : List.of(full, queued, escaped)) {
            assertThat(new String(WireJson.jobBytes(job), StandardCharsets.UTF_8))
                    .isEqualTo(new String(WireJson.bytes(WireJson.writeJob(job)), StandardCharsets.UTF_8));
        }
    }

    /** A job of container steps: its steps in the spec, and its step and output logs in the attempt. */
    @Test
    void aJobOfContainerStepsRoundTripsWithItsLogsAndItsRequestIsReadStrictly() {
        dev.skyport.api.ContainerSteps steps = new dev.skyport.api.ContainerSteps(List.of(
                new dev.skyport.api.ContainerStep("python:3.12", List.of("python3", "-c", "print(1)"),
                        Optional.of("/work"), Optional.of("/in/x"), Optional.of("/out/o"), Optional.of("/out/e"),
                        Map.of("K", "v\t\"q\""), true),
                dev.skyport.api.ContainerStep.of("busybox", "true")),
                List.of(dev.skyport.api.StepInput.content("/in/x", "h\u00e9llo\n"),
                        dev.skyport.api.StepInput.directory("/ref", "/srv/alice/ref")),
                List.of(dev.skyport.api.StepOutput.file("/out/o", "/srv/alice/o"),
                        new dev.skyport.api.StepOutput("/out/*.csv", Optional.of("/out/"), "/srv/alice/csv", false)),
                List.of("/scratch"));
        JobSpec spec = JobSpec.builder().name("tes").containerSteps(steps).build();
        Attempt attempt = new Attempt(1, List.of("local"), Optional.empty(), T0, Optional.of(T0.plusSeconds(5)),
                OptionalInt.of(0), OptionalInt.empty(), Optional.of(EndReason.COMPLETED),
                List.of(new dev.skyport.api.StepLog(T0.plusSeconds(1), Optional.of(T0.plusSeconds(2)),
                                OptionalInt.of(3), "out\n", ""),
                        new dev.skyport.api.StepLog(T0.plusSeconds(3), Optional.empty(), OptionalInt.empty(), "", "e")),
                List.of(new dev.skyport.api.OutputLog("/out/a.csv", "/srv/alice/csv/a.csv", 42)));
        Job job = new Job(new JobId(UUID.randomUUID()), "u", "u", spec, JobState.SUCCEEDED, "Completed",
                Optional.of(EndReason.COMPLETED), T0, T0.plusSeconds(5), List.of(attempt));

        assertThat(WireJson.readJob(WireJson.parse(WireJson.bytes(WireJson.writeJob(job))))).isEqualTo(job);
        assertThat(new String(WireJson.jobBytes(job), StandardCharsets.UTF_8))
                .isEqualTo(new String(WireJson.bytes(WireJson.writeJob(job)), StandardCharsets.UTF_8));
        assertThat(WireJson.readSpecRequest(WireJson.parse(WireJson.bytes(WireJson.writeSpecRequest(spec))), ""))
                .isEqualTo(spec);
        assertField("{\"containerSteps\":{\"steps\":[{\"image\":\"a\",\"command\":[\"b\"],\"gpu\":1}]}}",
                WireFormatException.UNKNOWN_FIELD, "containerSteps.steps[0].gpu");
        assertSpecField("{\"command\":[\"x\"],\"containerSteps\":{\"steps\":[{\"image\":\"a\","
                + "\"command\":[\"b\"]}]}}", "script");
    }

    @Test
    void eventsRoundTrip() {
        List<SkyPortEvent> events = List.of(
                new JobTransitioned(7, T0, new JobId(UUID.randomUUID()), Optional.of(JobState.RUNNING),
                        JobState.FAILED, Optional.of(EndReason.SIGNALED), "killed"),
                new JobTransitioned(8, T0, new JobId(UUID.randomUUID()), Optional.empty(), JobState.QUEUED,
                        Optional.empty(), ""),
                new NodeTransitioned(9, T0, "n1", "local", Optional.of(NodeState.UP), NodeState.DRAINING, "drain"),
                new NodeTransitioned(10, T0, "n2", "local", Optional.empty(), NodeState.UP, ""));
        for (SkyPortEvent e : events) {
            JsonNode json = WireJson.parse(WireJson.bytes(WireJson.writeEvent(e)));
            assertThat(WireJson.readEvent(json)).isEqualTo(e);
            assertThat(json.get("type").textValue()).isEqualTo(WireJson.eventType(e));
            assertThat(WireJson.text(json)).doesNotContain("\n");
        }
    }

    @Test
    void catalogueShapesRoundTrip() {
        Node node = new Node("n1", "local", 8, 1L << 34, 1, NodeState.DOWN, Map.of("rack", "r1", "zone", "z"));
        assertThat(WireJson.readNode(reparse(WireJson.writeNode(node)))).isEqualTo(node);
        Flavor flavor = new Flavor("D4", "az", 4, 1L << 34, 1L << 40, 0, 0.192, "USD");
        assertThat(WireJson.readFlavor(reparse(WireJson.writeFlavor(flavor)))).isEqualTo(flavor);
        Image image = new Image("ubuntu", "az", "vm");
        assertThat(WireJson.readImage(reparse(WireJson.writeImage(image)))).isEqualTo(image);
        RemoteSite site = new RemoteSite("az", "azure", "westeurope");
        assertThat(WireJson.readRemoteSite(reparse(WireJson.writeRemoteSite(site)))).isEqualTo(site);
        Partition partition = new Partition("p", "local", "READY", List.of("n1", "n2"), Map.of("k", "v"));
        assertThat(WireJson.readPartition(reparse(WireJson.writePartition(partition)))).isEqualTo(partition);
        assertThat(WireJson.readItems(reparse(WireJson.writeItems(List.of(node, node), WireJson::writeNode)),
                WireJson::readNode)).containsExactly(node, node);
    }

    @Test
    void healthPagesWhoAmIAndErrorsRoundTrip() {
        Health health = Health.of(List.of(
                new Health.Problem("store", "disk gone", T0, 3, true, Optional.of(T0.plusSeconds(30))),
                new Health.Problem("gate azure", "slow", T0, 1, false, Optional.empty())));
        assertThat(WireJson.readHealth(reparse(WireJson.writeHealth(health)))).isEqualTo(health);
        assertThat(WireJson.readHealth(reparse(WireJson.writeHealth(Health.up())))).isEqualTo(Health.up());

        Job job = job();
        Page<Job> page = new Page<>(List.of(job), Optional.of("abc"));
        assertThat(WireJson.readPage(reparse(WireJson.writePage(page, WireJson::writeJob)), WireJson::readJob))
                .isEqualTo(page);
        Page<Job> last = new Page<>(List.of(), Optional.empty());
        assertThat(WireJson.readPage(reparse(WireJson.writePage(last, WireJson::writeJob)), WireJson::readJob))
                .isEqualTo(last);

        WireUser user = new WireUser("u1", "alice", true);
        assertThat(WireJson.readWhoAmI(reparse(WireJson.writeWhoAmI(user)))).isEqualTo(user);

        WireError full = WireError.of("queue_full", "too many").withField("f").withReason("r").withLine(3)
                .withJobId(job.id().toString()).withState("RUNNING").withLimit("jobs").withHealth(health);
        assertThat(WireJson.readError(reparse(WireJson.writeError(full)))).isEqualTo(full);
        WireError bare = WireError.of("not_found", "no such job");
        JsonNode bareJson = reparse(WireJson.writeError(bare));
        assertThat(bareJson.size()).isEqualTo(2);
        assertThat(WireJson.readError(bareJson)).isEqualTo(bare);
    }

    @Test
    void responsesAreReadTolerantly() {
        Job job = job();
        ObjectNode json = WireJson.writeJob(job);
        json.put("somethingNew", 1);
        ((ObjectNode) json.get("spec")).put("alsoNew", "x");
        assertThat(WireJson.readJob(reparse(json))).isEqualTo(job);
    }

    private static JsonNode reparse(JsonNode node) {
        return WireJson.parse(WireJson.bytes(node));
    }

    private static void assertField(String body, String code, String field) {
        assertThatThrownBy(() -> WireJson.readSpecRequest(WireJson.parse(body), ""))
                .as(body)
                .isInstanceOfSatisfying(WireFormatException.class, e -> {
                    assertThat(e.code()).isEqualTo(code);
                    assertThat(e.field()).isEqualTo(field);
                });
    }

    private static void assertSpecField(String body, String field) {
        assertThatThrownBy(() -> WireJson.readSpecRequest(WireJson.parse(body), ""))
                .as(body)
                .isInstanceOfSatisfying(InvalidJobSpecException.class, e -> {
                    assertThat(e).isNotInstanceOf(WireFormatException.class);
                    assertThat(e.field()).isEqualTo(field);
                });
    }
}
