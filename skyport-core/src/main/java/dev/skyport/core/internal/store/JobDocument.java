package dev.skyport.core.internal.store;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.io.SegmentedStringWriter;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import com.fasterxml.jackson.core.util.BufferRecycler;
import dev.skyport.api.Attempt;
import dev.skyport.api.ContainerStep;
import dev.skyport.api.ContainerSteps;
import dev.skyport.api.Job;
import dev.skyport.api.JobSpec;
import dev.skyport.api.OutputLog;
import dev.skyport.api.PortSpec;
import dev.skyport.api.RetryPolicy;
import dev.skyport.api.StepInput;
import dev.skyport.api.StepLog;
import dev.skyport.api.StepOutput;
import dev.skyport.api.StorageException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The store's own document of a job (the {@code job_json} column), written and read field by field so that the
 * public records can change without changing what is stored: renaming a record component is a compile error here,
 * never a silently dropped value. The format is described in {@code docs/design-notes.md} ("Store").
 *
 * <p>Rules of format version {@value #VERSION}: names are snake_case and chosen for storage; {@code "v"} comes first;
 * an absent optional value or an empty list or map is left out and read back as absent or empty; everything else is
 * always written and its absence is an error; nothing is ever {@code null}; instants and durations are ISO-8601 text
 * (lossless to the nanosecond); the script's text is never in the document (it lives in the {@code scripts} table,
 * written once), only {@code "kind": "script"}. A field this version does not know is refused, naming it, rather than
 * dropped: a document from a newer version would otherwise lose it on the next rewrite.
 */
final class JobDocument {
    /**
     * The format version this code writes and the newest it reads. Version 2 adds a spec's {@code "kind": "steps"}
     * with its {@code "container_steps"} and an attempt's {@code "steps"} and {@code "outputs"}; a version 1 document
     * is a version 2 document without them, and reads as one.
     */
    static final int VERSION = 2;

    /**
     * Surrogate pairs combined: the UTF-8 generator would otherwise write a character outside the BMP (an emoji in a
     * name) as two escapes, where the text one writes the character, and the stored bytes would depend on the path.
     */
    private static final JsonFactory JSON = JsonFactory.builder()
            .enable(JsonWriteFeature.COMBINE_UNICODE_SURROGATES_IN_UTF8).build();

    private JobDocument() {
    }

    /** The document of {@code job}, without its script's text. */
    static String write(Job job) {
        // As ObjectMapper.writeValueAsString does: Jackson's recycled buffers, not a synchronized StringBuffer.
        BufferRecycler buffers = JSON._getBufferRecycler();
        try (SegmentedStringWriter out = new SegmentedStringWriter(buffers)) {
            try (JsonGenerator g = JSON.createGenerator(out)) {
                writeJob(g, job);
            }
            return out.getAndClear();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            buffers.releaseToPool();
        }
    }

    /**
     * As {@link #write}, the document's UTF-8 bytes: what SQLite stores. A new job's insert binds these (the store's
     * writer thread then has no String to encode), where going through a String cost the writer a copy per job.
     */
    static byte[] writeUtf8(Job job) {
        BufferRecycler buffers = JSON._getBufferRecycler();
        try (ByteArrayBuilder out = new ByteArrayBuilder(buffers, 1024)) {
            try (JsonGenerator g = JSON.createGenerator(out, JsonEncoding.UTF8)) {
                writeJob(g, job);
            }
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            buffers.releaseToPool();
        }
    }

    private static void writeJob(JsonGenerator g, Job job) throws IOException {
        g.writeStartObject();
        g.writeNumberField("v", VERSION);
        g.writeStringField("id", job.id().toString());
        g.writeStringField("owner", job.owner());
        g.writeStringField("owner_name", job.ownerName());
        g.writeStringField("state", StoredNames.of(job.state()));
        g.writeStringField("state_details", job.stateDetails());
        if (job.endReason().isPresent()) {
            g.writeStringField("end_reason", StoredNames.of(job.endReason().get()));
        }
        String submitTime = job.submitTime().toString();
        g.writeStringField("submit_time", submitTime);
        // A new job was last updated when it was submitted: format the instant once.
        g.writeStringField("update_time", job.updateTime().equals(job.submitTime()) ? submitTime
                : job.updateTime().toString());
        g.writeFieldName("spec");
        writeSpec(g, job.spec());
        if (!job.attempts().isEmpty()) {
            g.writeArrayFieldStart("attempts");
            for (Attempt a : job.attempts()) {
                writeAttempt(g, a);
            }
            g.writeEndArray();
        }
        g.writeEndObject();
    }

    private static void writeSpec(JsonGenerator g, JobSpec s) throws IOException {
        g.writeStartObject();
        g.writeStringField("name", s.name());
        if (s.containerSteps().isPresent()) {
            g.writeStringField("kind", "steps");
            g.writeFieldName("container_steps");
            writeSteps(g, s.containerSteps().get());
        } else if (s.command().isEmpty()) {
            // A script job, or one given to the store with its script already omitted: either way its text, if any,
            // is in the scripts table.
            g.writeStringField("kind", "script");
        } else {
            g.writeStringField("kind", "command");
            writeStrings(g, "command", s.command());
        }
        optional(g, "container_image", s.containerImage());
        optional(g, "cloud_image", s.cloudImage());
        g.writeNumberField("nodes", s.nodes());
        g.writeNumberField("cpus", s.cpus());
        g.writeNumberField("memory_bytes", s.memoryBytes());
        g.writeNumberField("gpus", s.gpus());
        optional(g, "flavor", s.flavor());
        optional(g, "remote_site", s.remoteSite());
        g.writeBooleanField("relocatable", s.relocatable());
        if (!s.ports().isEmpty()) {
            g.writeArrayFieldStart("ports");
            for (PortSpec p : s.ports()) {
                g.writeStartObject();
                g.writeNumberField("port", p.port());
                g.writeStringField("protocol", p.protocol());
                g.writeStringField("direction", StoredNames.of(p.direction()));
                g.writeEndObject();
            }
            g.writeEndArray();
        }
        writeStrings(g, "input_files", s.inputFiles());
        writeStrings(g, "output_files", s.outputFiles());
        optional(g, "workdir", s.workdir());
        writeMap(g, "env", s.env());
        optional(g, "account", s.account());
        g.writeNumberField("priority", s.priority());
        if (s.timeLimit().isPresent()) {
            g.writeStringField("time_limit", s.timeLimit().get().toString());
        }
        RetryPolicy r = s.retryPolicy();
        String[] backoffs = durations(r);
        g.writeObjectFieldStart("retry");
        g.writeNumberField("max_attempts", r.maxAttempts());
        g.writeStringField("initial_backoff", backoffs[0]);
        g.writeStringField("max_backoff", backoffs[1]);
        g.writeStringField("deadline", backoffs[2]);
        g.writeBooleanField("retry_user_failures", r.retryUserFailures());
        g.writeEndObject();
        writeMap(g, "tags", s.tags());
        g.writeStringField("comment", s.comment());
        optional(g, "submission_address", s.submissionAddress());
        optional(g, "storage", s.storage());
        optional(g, "idempotency_key", s.idempotencyKey());
        writeStrings(g, "warnings", s.warnings());
        g.writeEndObject();
    }

    /** The texts of the last retry policy written, which most jobs share (the default one). */
    private record PolicyTexts(RetryPolicy policy, String[] texts) {
    }

    private static volatile PolicyTexts lastPolicy = new PolicyTexts(null, null);

    /**
     * A policy's three durations as ISO-8601 text. Formatting them was a twentieth of a submission's cpu on the
     * caller's thread, the same three strings for nearly every job: the last policy's are kept.
     */
    private static String[] durations(RetryPolicy r) {
        PolicyTexts last = lastPolicy;
        if (r.equals(last.policy)) {
            return last.texts;
        }
        String[] texts = {r.initialBackoff().toString(), r.maxBackoff().toString(), r.deadline().toString()};
        lastPolicy = new PolicyTexts(r, texts);
        return texts;
    }

    private static void writeSteps(JsonGenerator g, ContainerSteps steps) throws IOException {
        g.writeStartObject();
        g.writeArrayFieldStart("steps");
        for (ContainerStep s : steps.steps()) {
            g.writeStartObject();
            g.writeStringField("image", s.image());
            writeStrings(g, "command", s.command());
            optional(g, "workdir", s.workdir());
            optional(g, "stdin", s.stdin());
            optional(g, "stdout", s.stdout());
            optional(g, "stderr", s.stderr());
            writeMap(g, "env", s.env());
            g.writeBooleanField("ignore_error", s.ignoreError());
            g.writeEndObject();
        }
        g.writeEndArray();
        if (!steps.inputs().isEmpty()) {
            g.writeArrayFieldStart("inputs");
            for (StepInput i : steps.inputs()) {
                g.writeStartObject();
                g.writeStringField("path", i.path());
                optional(g, "content", i.content());
                optional(g, "source", i.source());
                g.writeBooleanField("directory", i.directory());
                g.writeEndObject();
            }
            g.writeEndArray();
        }
        if (!steps.outputs().isEmpty()) {
            g.writeArrayFieldStart("outputs");
            for (StepOutput o : steps.outputs()) {
                g.writeStartObject();
                g.writeStringField("path", o.path());
                optional(g, "path_prefix", o.pathPrefix());
                g.writeStringField("destination", o.destination());
                g.writeBooleanField("directory", o.directory());
                g.writeEndObject();
            }
            g.writeEndArray();
        }
        writeStrings(g, "volumes", steps.volumes());
        g.writeEndObject();
    }

    private static void writeAttempt(JsonGenerator g, Attempt a) throws IOException {
        g.writeStartObject();
        g.writeNumberField("number", a.number());
        writeStrings(g, "nodes", a.nodes());
        optional(g, "partition", a.partition());
        g.writeStringField("start_time", a.startTime().toString());
        if (a.endTime().isPresent()) {
            g.writeStringField("end_time", a.endTime().get().toString());
        }
        if (a.exitCode().isPresent()) {
            g.writeNumberField("exit_code", a.exitCode().getAsInt());
        }
        if (a.signal().isPresent()) {
            g.writeNumberField("signal", a.signal().getAsInt());
        }
        if (a.endReason().isPresent()) {
            g.writeStringField("end_reason", StoredNames.of(a.endReason().get()));
        }
        if (!a.steps().isEmpty()) {
            g.writeArrayFieldStart("steps");
            for (StepLog l : a.steps()) {
                g.writeStartObject();
                g.writeStringField("start_time", l.startTime().toString());
                if (l.endTime().isPresent()) {
                    g.writeStringField("end_time", l.endTime().get().toString());
                }
                if (l.exitCode().isPresent()) {
                    g.writeNumberField("exit_code", l.exitCode().getAsInt());
                }
                g.writeStringField("stdout_tail", l.stdoutTail());
                g.writeStringField("stderr_tail", l.stderrTail());
                g.writeEndObject();
            }
            g.writeEndArray();
        }
        if (!a.outputs().isEmpty()) {
            g.writeArrayFieldStart("outputs");
            for (OutputLog o : a.outputs()) {
                g.writeStartObject();
                g.writeStringField("path", o.path());
                g.writeStringField("destination", o.destination());
                g.writeNumberField("size_bytes", o.sizeBytes());
                g.writeEndObject();
            }
            g.writeEndArray();
        }
        g.writeEndObject();
    }

    private static void optional(JsonGenerator g, String field, Optional<String> value) throws IOException {
        if (value.isPresent()) {
            g.writeStringField(field, value.get());
        }
    }

    private static void writeStrings(JsonGenerator g, String field, List<String> values) throws IOException {
        if (values.isEmpty()) {
            return;
        }
        g.writeArrayFieldStart(field);
        for (String v : values) {
            g.writeString(v);
        }
        g.writeEndArray();
    }

    private static void writeMap(JsonGenerator g, String field, Map<String, String> map) throws IOException {
        if (map.isEmpty()) {
            return;
        }
        g.writeObjectFieldStart(field);
        for (Map.Entry<String, String> e : map.entrySet()) {
            g.writeStringField(e.getKey(), e.getValue());
        }
        g.writeEndObject();
    }

    /**
     * The job a document describes; {@code script} is the text from the scripts table, or {@code null} when it was
     * not read (a listing without scripts), which gives a script job's spec with {@link JobSpec#scriptOmitted()}.
     *
     * @throws StorageException naming the field when the document is not one this version reads
     */
    static Job read(String document, String script) {
        try (JsonParser p = JSON.createParser(document)) {
            return new JobDocumentReader(p).job(script);
        } catch (JsonProcessingException e) {
            throw new StorageException("a stored job document is not JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new StorageException("a stored job document cannot be read: " + e.getMessage(), e);
        }
    }
}
