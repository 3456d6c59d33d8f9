package dev.skyport.core.internal.store;

import com.fasterxml.jackson.annotation.JsonAutoDetect;
import com.fasterxml.jackson.annotation.PropertyAccessor;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.datatype.jdk8.Jdk8Module;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.StorageException;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * The JSON form of a {@link Job} in the store. Records are read and written through their fields, so derived
 * accessors ({@code isOpen()}, {@code name()}) never become columns of the format.
 */
public final class JobJson {
    private static final ObjectMapper MAPPER = createMapper();
    private static final ObjectWriter WRITER = MAPPER.writerFor(Job.class);
    private static final ObjectReader READER = MAPPER.readerFor(Job.class);

    private JobJson() {
    }

    /** A mapper that reads and writes the public model records. */
    public static ObjectMapper createMapper() {
        SimpleModule ids = new SimpleModule("skyport-ids");
        ids.addSerializer(JobId.class, new JsonSerializer<>() {
            @Override
            public void serialize(JobId id, JsonGenerator gen, SerializerProvider p) throws IOException {
                gen.writeString(id.toString());
            }
        });
        ids.addDeserializer(JobId.class, new JsonDeserializer<>() {
            @Override
            public JobId deserialize(JsonParser p, DeserializationContext ctx) throws IOException {
                return JobId.parse(p.getValueAsString());
            }
        });
        return new ObjectMapper()
                .registerModule(new Jdk8Module())
                .registerModule(new JavaTimeModule())
                .registerModule(ids)
                .setVisibility(PropertyAccessor.ALL, JsonAutoDetect.Visibility.NONE)
                .setVisibility(PropertyAccessor.FIELD, JsonAutoDetect.Visibility.ANY)
                .setVisibility(PropertyAccessor.CREATOR, JsonAutoDetect.Visibility.ANY)
                .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
                .disable(SerializationFeature.WRITE_DURATIONS_AS_TIMESTAMPS)
                .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    }

    public static String write(Job job) {
        try {
            return WRITER.writeValueAsString(job);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static Job read(String json) {
        try {
            return READER.readValue(json);
        } catch (com.fasterxml.jackson.databind.exc.ValueInstantiationException e) {
            return readBeforeOwnerName(json, e);
        } catch (IOException e) {
            throw new StorageException("unreadable job record: " + e.getMessage(), e);
        }
    }

    /** Records written before jobs had an owner name: the owner was the name. */
    private static Job readBeforeOwnerName(String json, IOException failure) {
        try {
            com.fasterxml.jackson.databind.node.ObjectNode tree =
                    (com.fasterxml.jackson.databind.node.ObjectNode) MAPPER.readTree(json);
            if (tree.hasNonNull("ownerName") || !tree.hasNonNull("owner")) {
                throw new StorageException("unreadable job record: " + failure.getMessage(), failure);
            }
            tree.set("ownerName", tree.get("owner"));
            return READER.readValue(tree);
        } catch (IOException e) {
            throw new StorageException("unreadable job record: " + e.getMessage(), e);
        }
    }
}
