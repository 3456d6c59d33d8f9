package dev.skyport.client.internal.wire;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skyport.api.ContainerStep;
import dev.skyport.api.ContainerSteps;
import dev.skyport.api.OutputLog;
import dev.skyport.api.StepInput;
import dev.skyport.api.StepLog;
import dev.skyport.api.StepOutput;

import java.util.List;
import java.util.Map;

/**
 * {@link ContainerSteps} of a spec and the {@link StepLog}s and {@link OutputLog}s of an attempt on the {@code /api/v1}
 * wire, named as the records are: {@code containerSteps: {steps: [{image, command, workdir?, stdin?, stdout?, stderr?,
 * env, ignoreError}], inputs: [{path, content?, source?, directory}], outputs: [{path, pathPrefix?, destination,
 * directory}], volumes}}, an attempt's {@code steps: [{startTime, endTime?, exitCode?, stdoutTail, stderrTail}]} and
 * {@code outputs: [{path, destination, sizeBytes}]}. Readers are strict (unknown members refused) for requests,
 * tolerant for responses.
 */
final class WireSteps {
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private WireSteps() {
    }

    static ObjectNode write(ContainerSteps steps) {
        ObjectNode o = NODES.objectNode();
        ArrayNode list = o.putArray("steps");
        for (ContainerStep s : steps.steps()) {
            ObjectNode n = list.addObject();
            n.put("image", s.image());
            ArrayNode command = n.putArray("command");
            s.command().forEach(command::add);
            s.workdir().ifPresent(v -> n.put("workdir", v));
            s.stdin().ifPresent(v -> n.put("stdin", v));
            s.stdout().ifPresent(v -> n.put("stdout", v));
            s.stderr().ifPresent(v -> n.put("stderr", v));
            ObjectNode env = n.putObject("env");
            s.env().forEach(env::put);
            n.put("ignoreError", s.ignoreError());
        }
        ArrayNode inputs = o.putArray("inputs");
        for (StepInput i : steps.inputs()) {
            ObjectNode n = inputs.addObject();
            n.put("path", i.path());
            i.content().ifPresent(v -> n.put("content", v));
            i.source().ifPresent(v -> n.put("source", v));
            n.put("directory", i.directory());
        }
        ArrayNode outputs = o.putArray("outputs");
        for (StepOutput out : steps.outputs()) {
            ObjectNode n = outputs.addObject();
            n.put("path", out.path());
            out.pathPrefix().ifPresent(v -> n.put("pathPrefix", v));
            n.put("destination", out.destination());
            n.put("directory", out.directory());
        }
        ArrayNode volumes = o.putArray("volumes");
        steps.volumes().forEach(volumes::add);
        return o;
    }

    static ContainerSteps read(JsonNode node, String where, boolean strict) {
        Members m = Members.of(node, where, strict);
        List<ContainerStep> steps = m.optArray("steps", (n, w) -> step(n, w, strict)).orElse(List.of());
        List<StepInput> inputs = m.optArray("inputs", (n, w) -> input(n, w, strict)).orElse(List.of());
        List<StepOutput> outputs = m.optArray("outputs", (n, w) -> output(n, w, strict)).orElse(List.of());
        List<String> volumes = m.strings("volumes");
        m.done();
        return new ContainerSteps(steps, inputs, outputs, volumes);
    }

    private static ContainerStep step(JsonNode node, String where, boolean strict) {
        Members m = Members.of(node, where, strict);
        String image = m.string("image");
        List<String> command = m.strings("command");
        var workdir = m.optString("workdir");
        var stdin = m.optString("stdin");
        var stdout = m.optString("stdout");
        var stderr = m.optString("stderr");
        Map<String, String> env = m.stringMap("env");
        boolean ignoreError = m.optBoolean("ignoreError").orElse(false);
        m.done();
        return new ContainerStep(image, command, workdir, stdin, stdout, stderr, env, ignoreError);
    }

    private static StepInput input(JsonNode node, String where, boolean strict) {
        Members m = Members.of(node, where, strict);
        String path = m.string("path");
        var content = m.optString("content");
        var source = m.optString("source");
        boolean directory = m.optBoolean("directory").orElse(false);
        m.done();
        return new StepInput(path, content, source, directory);
    }

    private static StepOutput output(JsonNode node, String where, boolean strict) {
        Members m = Members.of(node, where, strict);
        String path = m.string("path");
        var pathPrefix = m.optString("pathPrefix");
        String destination = m.string("destination");
        boolean directory = m.optBoolean("directory").orElse(false);
        m.done();
        return new StepOutput(path, pathPrefix, destination, directory);
    }

    static ArrayNode writeStepLogs(List<StepLog> logs) {
        ArrayNode a = NODES.arrayNode();
        for (StepLog l : logs) {
            ObjectNode n = a.addObject();
            n.put("startTime", l.startTime().toString());
            l.endTime().ifPresent(t -> n.put("endTime", t.toString()));
            l.exitCode().ifPresent(c -> n.put("exitCode", c));
            n.put("stdoutTail", l.stdoutTail());
            n.put("stderrTail", l.stderrTail());
        }
        return a;
    }

    static ArrayNode writeOutputLogs(List<OutputLog> logs) {
        ArrayNode a = NODES.arrayNode();
        for (OutputLog l : logs) {
            a.addObject().put("path", l.path()).put("destination", l.destination()).put("sizeBytes", l.sizeBytes());
        }
        return a;
    }

    static StepLog readStepLog(JsonNode node, String where) {
        Members m = Members.of(node, where, false);
        return new StepLog(m.instant("startTime"), m.optInstant("endTime"), m.optIntAsOptionalInt("exitCode"),
                m.optString("stdoutTail").orElse(""), m.optString("stderrTail").orElse(""));
    }

    static OutputLog readOutputLog(JsonNode node, String where) {
        Members m = Members.of(node, where, false);
        return new OutputLog(m.string("path"), m.string("destination"), m.optLong("sizeBytes").orElse(0L));
    }
}
