package dev.skyport.samples.daemon.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.skyport.client.internal.wire.WireJson;

import java.io.PrintWriter;
import java.util.Collection;
import java.util.function.Function;

/**
 * {@code --json} output: the shapes of the {@code /api/v1} wire contract, written by the codec the daemon and the
 * client share, so a script that reads the CLI's JSON reads the REST API's too. Indented, since people read it as
 * well; one document per run (a listing is one array).
 */
final class JsonOutput {
    private JsonOutput() {
    }

    static <T> void printArray(PrintWriter out, Collection<T> items, Function<? super T, ? extends JsonNode> shape) {
        ArrayNode array = WireJson.mapper().createArrayNode();
        items.forEach(item -> array.add(shape.apply(item)));
        print(out, array);
    }

    static void print(PrintWriter out, JsonNode tree) {
        try {
            out.println(WireJson.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(tree));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a JSON tree always serialises", e);
        }
    }
}
