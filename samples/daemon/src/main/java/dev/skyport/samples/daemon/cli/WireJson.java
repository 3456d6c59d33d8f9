package dev.skyport.samples.daemon.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skyport.api.Attempt;
import dev.skyport.api.Flavor;
import dev.skyport.api.Image;
import dev.skyport.api.Job;
import dev.skyport.api.JobSpec;
import dev.skyport.api.Node;
import dev.skyport.api.PortSpec;
import dev.skyport.api.RemoteSite;

import java.io.PrintWriter;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.function.Function;

/**
 * {@code --json} output in the shapes of the {@code /api/v1} wire contract (camelCase members, absent
 * values omitted, times as RFC 3339 UTC, durations ISO-8601, enums by name), so a script that reads the CLI's JSON
 * reads the REST API's too. Written by hand over Jackson's tree model rather than by reflection: a renamed record
 * component must not silently rename a member. When the shared wire codec of {@code skyport-client} is merged, this
 * class is what it replaces.
 */
final class WireJson {
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private WireJson() {
    }

    static <T> void printArray(PrintWriter out, Collection<T> items, Function<T, ObjectNode> shape) {
        ArrayNode array = NODES.arrayNode();
        items.forEach(item -> array.add(shape.apply(item)));
        print(out, array);
    }

    static void print(PrintWriter out, Object tree) {
        try {
            out.println(MAPPER.writeValueAsString(tree));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("cannot write JSON", e);
        }
    }

    static ObjectNode job(Job job) {
        ObjectNode o = NODES.objectNode();
        o.put("id", job.id().toString());
        o.put("owner", job.owner());
        o.put("ownerName", job.ownerName());
        o.put("name", job.name());
        o.put("state", job.state().name());
        o.put("stateDetails", job.stateDetails());
        job.endReason().ifPresent(r -> o.put("endReason", r.name()));
        o.put("submitTime", job.submitTime().toString());
        o.put("updateTime", job.updateTime().toString());
        job.startTime().ifPresent(t -> o.put("startTime", t.toString()));
        job.endTime().ifPresent(t -> o.put("endTime", t.toString()));
        optionalInt(o, "exitCode", job.exitCode());
        optionalInt(o, "signal", job.signal());
        strings(o, "nodes", job.nodeNames());
        ArrayNode attempts = o.putArray("attempts");
        job.attempts().forEach(a -> attempts.add(attempt(a)));
        o.set("spec", spec(job.spec()));
        return o;
    }

    static ObjectNode attempt(Attempt a) {
        ObjectNode o = NODES.objectNode();
        o.put("number", a.number());
        strings(o, "nodes", a.nodes());
        a.partition().ifPresent(p -> o.put("partition", p));
        o.put("startTime", a.startTime().toString());
        a.endTime().ifPresent(t -> o.put("endTime", t.toString()));
        optionalInt(o, "exitCode", a.exitCode());
        optionalInt(o, "signal", a.signal());
        a.endReason().ifPresent(r -> o.put("endReason", r.name()));
        return o;
    }

    static ObjectNode spec(JobSpec s) {
        ObjectNode o = NODES.objectNode();
        o.put("name", s.name());
        optional(o, "script", s.script());
        if (!s.command().isEmpty()) {
            strings(o, "command", s.command());
        }
        optional(o, "containerImage", s.containerImage());
        optional(o, "cloudImage", s.cloudImage());
        o.put("nodes", s.nodes());
        o.put("cpus", s.cpus());
        o.put("memoryBytes", s.memoryBytes());
        o.put("gpus", s.gpus());
        optional(o, "flavor", s.flavor());
        optional(o, "remoteSite", s.remoteSite());
        o.put("relocatable", s.relocatable());
        ArrayNode ports = o.putArray("ports");
        for (PortSpec p : s.ports()) {
            ports.addObject().put("port", p.port()).put("protocol", p.protocol()).put("direction", p.direction().name());
        }
        strings(o, "inputFiles", s.inputFiles());
        strings(o, "outputFiles", s.outputFiles());
        optional(o, "workdir", s.workdir());
        map(o, "env", s.env());
        optional(o, "account", s.account());
        o.put("priority", s.priority());
        s.timeLimit().ifPresent(d -> o.put("timeLimit", d.toString()));
        ObjectNode retry = o.putObject("retryPolicy");
        retry.put("maxAttempts", s.retryPolicy().maxAttempts());
        retry.put("initialBackoff", s.retryPolicy().initialBackoff().toString());
        retry.put("maxBackoff", s.retryPolicy().maxBackoff().toString());
        retry.put("deadline", s.retryPolicy().deadline().toString());
        retry.put("retryUserFailures", s.retryPolicy().retryUserFailures());
        map(o, "tags", s.tags());
        o.put("comment", s.comment());
        optional(o, "submissionAddress", s.submissionAddress());
        optional(o, "storage", s.storage());
        optional(o, "idempotencyKey", s.idempotencyKey());
        strings(o, "warnings", s.warnings());
        if (s.scriptOmitted()) {
            o.put("scriptOmitted", true);
        }
        return o;
    }

    static ObjectNode node(Node n) {
        ObjectNode o = NODES.objectNode();
        o.put("name", n.name()).put("partition", n.partition()).put("cpus", n.cpus())
                .put("memoryBytes", n.memoryBytes()).put("gpus", n.gpus()).put("state", n.state().name());
        map(o, "labels", n.labels());
        return o;
    }

    static ObjectNode flavor(Flavor f) {
        return NODES.objectNode().put("name", f.name()).put("remoteSite", f.remoteSite()).put("cpus", f.cpus())
                .put("memoryBytes", f.memoryBytes()).put("storageBytes", f.storageBytes()).put("gpus", f.gpus())
                .put("pricePerHour", f.pricePerHour()).put("currency", f.currency());
    }

    static ObjectNode image(Image i) {
        return NODES.objectNode().put("name", i.name()).put("remoteSite", i.remoteSite()).put("kind", i.kind());
    }

    static ObjectNode remote(RemoteSite r) {
        return NODES.objectNode().put("name", r.name()).put("gate", r.gate()).put("location", r.location());
    }

    private static void optional(ObjectNode o, String name, Optional<String> value) {
        value.ifPresent(v -> o.put(name, v));
    }

    private static void optionalInt(ObjectNode o, String name, OptionalInt value) {
        value.ifPresent(v -> o.put(name, v));
    }

    private static void strings(ObjectNode o, String name, List<String> values) {
        ArrayNode array = o.putArray(name);
        values.forEach(array::add);
    }

    private static void map(ObjectNode o, String name, Map<String, String> values) {
        ObjectNode object = o.putObject(name);
        values.forEach(object::put);
    }
}
