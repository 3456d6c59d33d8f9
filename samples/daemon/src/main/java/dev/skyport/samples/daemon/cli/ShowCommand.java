package dev.skyport.samples.daemon.cli;

import dev.skyport.api.Attempt;
import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobTransitioned;
import dev.skyport.api.PortSpec;
import dev.skyport.api.SkyPort;
import dev.skyport.client.internal.wire.WireJson;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * {@code skyport show ID}: everything about one job: its state and why, its resources and settings, every attempt
 * and every recorded transition. Environment values and the script are secrets as often as not, so the text view
 * names the variables only and prints the script only with {@code --script}; {@code --json} has everything.
 */
@Command(name = "show", mixinStandardHelpOptions = true,
        description = "Shows everything about a job: state, resources, settings, attempts and transitions.")
final class ShowCommand extends ClientCommand {
    @Parameters(index = "0", paramLabel = "ID", description = "The job's id, or an unambiguous start or end of it.")
    String id;

    @Option(names = "--json", description = "The job as JSON (the /api/v1 Job shape, with the script and env).")
    boolean json;

    @Option(names = "--script", description = "Also print the job's script.")
    boolean script;

    @Override
    int run(Connection connection) {
        SkyPort sky = connection.sky();
        JobId jobId = JobIds.resolve(sky, List.of(id), spec.commandLine()).get(0);
        Job job = sky.jobs().get(jobId);
        if (json) {
            JsonOutput.print(out(), WireJson.writeJob(job));
            return 0;
        }
        List<JobTransitioned> history = sky.events().history(jobId);
        print(out(), job, history, context.clock().instant());
        if (script) {
            out().println();
            out().println("Script:");
            job.spec().script().ifPresent(text -> text.lines().forEach(line -> out().println("  " + line)));
        }
        return 0;
    }

    private void print(PrintWriter out, Job job, List<JobTransitioned> history, Instant now) {
        JobSpec s = job.spec();
        Style style = style();
        field(out, "ID", job.id().toString());
        field(out, "Name", s.name());
        field(out, "Owner", job.ownerName().equals(job.owner()) ? job.owner()
                : job.ownerName() + " (" + job.owner() + ")");
        out.println(pad("State") + style.state(job.state(), job.state().name())
                + (job.stateDetails().isBlank() ? "" : "  " + Cells.safe(job.stateDetails())));
        job.endReason().ifPresent(r -> field(out, "End reason", JobTable.reason(job)));
        field(out, "Submitted", job.submitTime() + " (" + Cells.age(job.submitTime(), now) + " ago)");
        job.startTime().ifPresent(t -> field(out, "Started", t.toString()));
        job.endTime().ifPresent(t -> field(out, "Ended", t.toString()));
        field(out, "Updated", job.updateTime().toString());
        if (!job.nodeNames().isEmpty()) {
            field(out, "Nodes", String.join(", ", job.nodeNames()));
        }
        field(out, "Resources", s.nodes() + " node(s) x " + s.cpus() + " cpu(s), "
                + Cells.bytes(s.memoryBytes()) + " memory, " + s.gpus() + " gpu(s) per node");
        optional(out, "Flavor", s.flavor());
        optional(out, "Remote site", s.remoteSite());
        if (s.relocatable()) {
            field(out, "Relocatable", "yes");
        }
        optional(out, "Container", s.containerImage());
        optional(out, "Cloud image", s.cloudImage());
        if (!s.command().isEmpty()) {
            field(out, "Command", String.join(" ", s.command()));
        } else {
            field(out, "Script", s.script().map(t -> t.length() + " characters (--script prints it)")
                    .orElse(s.scriptOmitted() ? "omitted" : "none"));
        }
        optional(out, "Workdir", s.workdir());
        optional(out, "Account", s.account());
        field(out, "Priority", String.valueOf(s.priority()));
        optional(out, "Time limit", s.timeLimit().map(Object::toString));
        field(out, "Retry", "at most " + s.retryPolicy().maxAttempts() + " attempt(s), back-off "
                + s.retryPolicy().initialBackoff() + ".." + s.retryPolicy().maxBackoff() + ", deadline "
                + s.retryPolicy().deadline() + (s.retryPolicy().retryUserFailures() ? ", user failures too" : ""));
        if (!s.tags().isEmpty()) {
            field(out, "Tags", String.join(", ", s.tags().entrySet().stream()
                    .map(e -> e.getKey() + "=" + e.getValue()).toList()));
        }
        if (!s.env().isEmpty()) {
            field(out, "Environment", String.join(", ", s.env().keySet()) + " (values: --json)");
        }
        if (!s.ports().isEmpty()) {
            field(out, "Ports", String.join(", ", s.ports().stream().map(ShowCommand::port).toList()));
        }
        if (!s.inputFiles().isEmpty()) {
            field(out, "Inputs", String.join(", ", s.inputFiles()));
        }
        if (!s.outputFiles().isEmpty()) {
            field(out, "Outputs", String.join(", ", s.outputFiles()));
        }
        optional(out, "Storage", s.storage());
        optional(out, "Submitted from", s.submissionAddress());
        optional(out, "Idempotency key", s.idempotencyKey());
        if (!s.comment().isBlank()) {
            field(out, "Comment", s.comment());
        }
        for (String warning : s.warnings()) {
            field(out, "Warning", warning);
        }
        out.println();
        out.println("Attempts:");
        if (job.attempts().isEmpty()) {
            out.println("  none yet");
        } else {
            Table attempts = new Table("#", "START", "END", "EXIT", "SIGNAL", "REASON", "NODES", "PARTITION");
            for (Attempt a : job.attempts()) {
                attempts.row(a.number(), a.startTime(), a.endTime().map(Object::toString).orElse("-"),
                        a.exitCode().isPresent() ? String.valueOf(a.exitCode().getAsInt()) : "-",
                        a.signal().isPresent() ? String.valueOf(a.signal().getAsInt()) : "-",
                        a.endReason().map(Enum::name).orElse("-"),
                        a.nodes().isEmpty() ? "-" : String.join(",", a.nodes()), a.partition().orElse("-"));
            }
            attempts.lines(style).forEach(line -> out.println("  " + line));
        }
        out.println();
        out.println("Transitions:");
        Table events = new Table("TIME", "FROM", "TO", "DETAILS");
        for (JobTransitioned t : history) {
            events.row(t.time(), t.from().map(Enum::name).orElse("-"),
                    t.to().name() + t.endReason().map(r -> " (" + r + ")").orElse(""),
                    t.details().isBlank() ? "-" : t.details());
        }
        events.lines(style).forEach(line -> out.println("  " + line));
    }

    private static String port(PortSpec p) {
        return p.port() + "/" + p.protocol() + " " + p.direction();
    }

    private static String pad(String label) {
        return Cells.pad(label + ":", 17);
    }

    private static void field(PrintWriter out, String label, String value) {
        out.println(pad(label) + Cells.safe(value));
    }

    private static void optional(PrintWriter out, String label, Optional<String> value) {
        value.ifPresent(v -> field(out, label, v));
    }
}
