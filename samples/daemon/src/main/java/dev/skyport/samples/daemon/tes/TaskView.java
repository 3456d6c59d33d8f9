package dev.skyport.samples.daemon.tes;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.skyport.api.Attempt;
import dev.skyport.api.ContainerStep;
import dev.skyport.api.ContainerSteps;
import dev.skyport.api.Job;
import dev.skyport.api.JobSpec;
import dev.skyport.api.OutputLog;
import dev.skyport.api.StepInput;
import dev.skyport.api.StepLog;
import dev.skyport.api.StepOutput;
import dev.skyport.api.TesStates;

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;

/**
 * A job as a {@code tesTask} in one of TES's views. Never writes JSON null: absent members are left out, arrays and
 * maps are written as arrays and objects. Times are RFC 3339 in UTC; {@code size_bytes} is a string.
 *
 * <p>{@code logs} holds one entry per attempt and is left out while no attempt started (except for a task that ended
 * without one, whose one entry explains why in {@code system_logs}). An executor's entry appears once its step started;
 * while it runs it has no {@code end_time} and the provisional {@code exit_code} {@value #RUNNING_EXIT_CODE}: only the
 * exit code of an entry with an {@code end_time} is the step's.
 */
final class TaskView {
    /** The exit code of an executor that has not ended: no process exits with it. */
    static final int RUNNING_EXIT_CODE = -1;

    enum View { MINIMAL, BASIC, FULL }

    private TaskView() {
    }

    static ObjectNode render(Job job, View view) {
        ObjectNode t = JsonNodeFactory.instance.objectNode();
        t.put("id", job.id().toString());
        t.put("state", TesStates.of(job));
        if (view == View.MINIMAL) {
            return t;
        }
        JobSpec spec = job.spec();
        if (!spec.name().isEmpty()) {
            t.put("name", spec.name());
        }
        if (!spec.comment().isEmpty()) {
            t.put("description", spec.comment());
        }
        // TES lists only jobs it made, which have steps; empty lists keep a damaged one readable.
        java.util.Optional<ContainerSteps> steps = spec.containerSteps();
        ArrayNode inputs = t.putArray("inputs");
        for (StepInput i : steps.map(ContainerSteps::inputs).orElse(List.of())) {
            ObjectNode in = inputs.addObject();
            in.put("path", i.path());
            i.source().ifPresent(s -> in.put("url", fileUrl(s)));
            in.put("type", i.directory() ? "DIRECTORY" : "FILE");
            if (view == View.FULL) {
                i.content().ifPresent(c -> in.put("content", c));
            }
        }
        ArrayNode outputs = t.putArray("outputs");
        for (StepOutput o : steps.map(ContainerSteps::outputs).orElse(List.of())) {
            ObjectNode out = outputs.addObject();
            out.put("path", o.path());
            o.pathPrefix().ifPresent(p -> out.put("path_prefix", p));
            out.put("url", fileUrl(o.destination()) + (o.isPattern() ? "/" : ""));
            out.put("type", o.directory() ? "DIRECTORY" : "FILE");
        }
        t.set("resources", resources(spec));
        ArrayNode executors = t.putArray("executors");
        for (ContainerStep s : steps.map(ContainerSteps::steps).orElse(List.of())) {
            ObjectNode e = executors.addObject();
            e.put("image", s.image());
            ArrayNode command = e.putArray("command");
            s.command().forEach(command::add);
            s.workdir().ifPresent(w -> e.put("workdir", w));
            s.stdin().ifPresent(w -> e.put("stdin", w));
            s.stdout().ifPresent(w -> e.put("stdout", w));
            s.stderr().ifPresent(w -> e.put("stderr", w));
            if (!s.env().isEmpty()) {
                ObjectNode env = e.putObject("env");
                s.env().forEach(env::put);
            }
            if (s.ignoreError()) {
                e.put("ignore_error", true);
            }
        }
        ArrayNode volumes = t.putArray("volumes");
        steps.map(ContainerSteps::volumes).orElse(List.of()).forEach(volumes::add);
        ObjectNode tags = t.putObject("tags");
        spec.tags().forEach((k, v) -> {
            if (!k.startsWith(TaskMapper.RESERVED)) {
                tags.put(k, v);
            }
        });
        t.put("creation_time", time(job.submitTime()));
        ArrayNode logs = logs(job, view);
        if (!logs.isEmpty()) {
            t.set("logs", logs);
        }
        return t;
    }

    /**
     * {@code n} without trailing zeros and never in exponent form: Jackson writes a BigDecimal's {@code toString()},
     * which is {@code 1E+2} for 100 once its zeros are stripped (a negative scale); valid JSON, but not what was sent.
     */
    static BigDecimal plain(BigDecimal n) {
        BigDecimal stripped = n.stripTrailingZeros();
        return stripped.scale() < 0 ? stripped.setScale(0) : stripped;
    }

    private static ObjectNode resources(JobSpec spec) {
        ObjectNode r = JsonNodeFactory.instance.objectNode();
        r.put("cpu_cores", spec.cpus());
        if (spec.memoryBytes() > 0) {
            // Six decimals: what a client sent (0.1) comes back as sent, not as the bytes it was rounded up to.
            r.put("ram_gb", plain(BigDecimal.valueOf(spec.memoryBytes() / TaskMapper.GB)
                    .setScale(6, java.math.RoundingMode.HALF_UP)));
        }
        String disk = spec.tags().get(TaskMapper.DISK_GB);
        if (disk != null) {
            r.put("disk_gb", plain(new BigDecimal(disk)));
        }
        String preemptible = spec.tags().get(TaskMapper.PREEMPTIBLE);
        if (preemptible != null) {
            r.put("preemptible", Boolean.parseBoolean(preemptible));
        }
        spec.remoteSite().ifPresent(z -> r.putArray("zones").add(z));
        ObjectNode params = JsonNodeFactory.instance.objectNode();
        spec.account().ifPresent(a -> params.put("account", a));
        spec.flavor().ifPresent(f -> params.put("flavor", f));
        if (spec.gpus() > 0) {
            params.put("gpus", String.valueOf(spec.gpus()));
        }
        if (spec.priority() != 0) {
            params.put("priority", String.valueOf(spec.priority()));
        }
        spec.timeLimit().ifPresent(l -> params.put("time_limit", String.valueOf(l.toSeconds())));
        if (!params.isEmpty()) {
            r.set("backend_parameters", params);
        }
        return r;
    }

    private static ArrayNode logs(Job job, View view) {
        ArrayNode logs = JsonNodeFactory.instance.arrayNode();
        List<Attempt> attempts = job.attempts();
        for (int n = 0; n < attempts.size(); n++) {
            Attempt a = attempts.get(n);
            ObjectNode log = logs.addObject();
            log.put("start_time", time(a.startTime()));
            a.endTime().ifPresent(e -> log.put("end_time", time(e)));
            ObjectNode meta = log.putObject("metadata");
            meta.put("attempt", String.valueOf(a.number()));
            if (!a.nodes().isEmpty()) {
                meta.put("nodes", String.join(",", a.nodes()));
            }
            a.partition().ifPresent(p -> meta.put("partition", p));
            a.endReason().ifPresent(r -> meta.put("end_reason", r.name()));
            ArrayNode executors = log.putArray("logs");
            for (StepLog s : a.steps()) {
                ObjectNode e = executors.addObject();
                e.put("start_time", time(s.startTime()));
                s.endTime().ifPresent(t -> e.put("end_time", time(t)));
                e.put("exit_code", s.exitCode().orElse(RUNNING_EXIT_CODE));
                if (view == View.FULL) {
                    e.put("stdout", s.stdoutTail());
                    e.put("stderr", s.stderrTail());
                }
            }
            ArrayNode outputs = log.putArray("outputs");
            for (OutputLog o : a.outputs()) {
                outputs.addObject().put("url", fileUrl(o.destination())).put("path", o.path())
                        .put("size_bytes", String.valueOf(o.sizeBytes()));
            }
            if (view == View.FULL) {
                ArrayNode system = log.putArray("system_logs");
                if (n == 0) {
                    job.warnings().forEach(w -> system.add("warning: " + w));
                }
                if (!a.nodes().isEmpty()) {
                    system.add("attempt " + a.number() + " placed on " + String.join(", ", a.nodes()));
                }
                a.endReason().ifPresent(r -> system.add("attempt " + a.number() + " ended: " + r.name()));
                if (n == attempts.size() - 1 && !job.stateDetails().isEmpty()) {
                    system.add(job.stateDetails());
                }
            }
        }
        if (attempts.isEmpty() && job.state().isTerminal() && !job.state().equals(dev.skyport.api.JobState.CANCELED)) {
            // Ended before any attempt started: the entry is where TES clients look for why.
            ObjectNode log = logs.addObject();
            log.put("end_time", time(job.endTime().orElse(job.updateTime())));
            log.putArray("logs");
            log.putArray("outputs");
            if (view == View.FULL) {
                ArrayNode system = log.putArray("system_logs");
                job.warnings().forEach(w -> system.add("warning: " + w));
                job.endReason().ifPresent(r -> system.add("ended: " + r.name()));
                if (!job.stateDetails().isEmpty()) {
                    system.add(job.stateDetails());
                }
            }
        }
        return logs;
    }

    static String time(Instant t) {
        return t.toString();
    }

    /** {@code file://} and the path, percent-encoding what a URL path cannot hold as it is. */
    static String fileUrl(String path) {
        StringBuilder url = new StringBuilder("file://");
        for (byte b : path.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            boolean plain = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
                    || "/-._~!$&'()*+,;=:@".indexOf(c) >= 0;
            if (plain) {
                url.append((char) c);
            } else {
                url.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
            }
        }
        return url.toString();
    }
}
