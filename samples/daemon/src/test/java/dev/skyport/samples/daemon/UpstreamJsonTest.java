package dev.skyport.samples.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skyport.api.Flavor;
import dev.skyport.api.Image;
import dev.skyport.api.Node;
import dev.skyport.api.NodeState;
import dev.skyport.api.RemoteSite;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The catalogue shapes ({@code docs/user-api.md}) with cloud content (the local gate lists one remote and one free
 * flavor and no images, so the daemon test cannot show these): every key present with its JSON type, ids that tie flavors and images to
 * listed remotes, and the fixes for the Jupyter spawner's form.
 */
class UpstreamJsonTest {
    private final UpstreamJson shapes = new UpstreamJson(new ObjectMapper());
    private final RemoteSite azure = new RemoteSite("azure", "azure", "westeurope");
    private final RemoteSite bare = new RemoteSite("bare", "azure", "northeurope");
    private final Map<String, String> remoteIds = UpstreamJson.remoteIds(List.of(azure, bare));

    @Test
    void aRemoteHasEveryKeyTheConsoleAndSpawnerRead() {
        JsonNode r = shapes.remote(azure);
        assertThat(keys(r)).containsExactlyInAnyOrder("id", "name", "account_id", "server", "port", "kind",
                "default_image_id", "default_flavor_id");
        assertThat(r.get("port").isIntegralNumber()).isTrue();
        assertThat(r.get("kind").asText()).isEqualTo("azure");
        assertThat(r.get("id").asText()).hasSize(36).isEqualTo(UpstreamJson.remoteId("azure"));
    }

    @Test
    void aFlavorNamesItsRemoteByTheIdTheRemoteListShowsAndCountsBytes() {
        Flavor f = new Flavor("Standard_NC4as_T4_v3", "azure", 4, 28L << 30, 180L << 30, 1, 0.526, "USD");
        JsonNode o = shapes.flavor(f, remoteIds);
        assertThat(keys(o)).containsExactlyInAnyOrder("id", "name", "remote_id", "resources", "price");
        assertThat(o.get("remote_id").asText()).isEqualTo(shapes.remote(azure).get("id").asText());
        assertThat(o.get("price").isNumber()).isTrue();
        assertThat(resource(o, "mem").get("count").asLong()).isEqualTo(28L << 30);
        assertThat(resource(o, "storage").get("count").asLong()).isEqualTo(180L << 30);
        assertThat(resource(o, "gpus").get("count").asInt()).isEqualTo(1);
        assertThat(resource(o, "flavor").get("value").asText()).isEqualTo("Standard_NC4as_T4_v3");
        JsonNode cpuOnly = shapes.flavor(new Flavor("Standard_D2s_v5", "azure", 2, 8L << 30, 0, 0, 0.1, "USD"),
                remoteIds);
        assertThat(names(cpuOnly.get("resources"))).doesNotContain("gpus"); // as upstream: only when > 0
        JsonNode orphan = shapes.flavor(new Flavor("x", "unlisted", 1, 1, 0, 0, 0, "USD"), remoteIds);
        assertThat(orphan.get("remote_id").asText()).isEmpty(); // never an id the remote list lacks
    }

    @Test
    void anImageKeepsItsRemoteOnlyWhenThatRemoteOffersAFlavor() {
        Set<String> withFlavors = Set.of("azure");
        JsonNode o = shapes.image(new Image("ubuntu-hpc/2204", "azure", "cloud"), remoteIds, withFlavors);
        assertThat(keys(o)).containsExactlyInAnyOrder("id", "name", "remote_id", "kind", "comment");
        assertThat(o.get("remote_id").asText()).isEqualTo(remoteIds.get("azure"));
        JsonNode noFlavors = shapes.image(new Image("ubuntu", "bare", "cloud"), remoteIds, withFlavors);
        assertThat(noFlavors.get("remote_id").asText()).isEmpty(); // the spawner's form fails otherwise
    }

    @Test
    void nodeStatesMapOntoTheFiveValuesTheClientAccepts() {
        Set<String> alloc = new HashSet<>();
        for (NodeState state : NodeState.values()) {
            for (boolean busy : new boolean[] {false, true}) {
                JsonNode o = shapes.node(new Node("n1", "p", 2, 1 << 30, 0, state, Map.of()), busy);
                assertThat(o.get("state_power").asText()).isIn("up", "down");
                assertThat(o.get("state_alloc").asText()).isIn("idle", "stopped", "offline", "busy", "maint");
                assertThat(o.get("name").asText()).doesNotStartWith("swm-");
                assertThat(names(o.get("resources"))).doesNotContain("flavor"); // the console would hide it
                alloc.add(o.get("state_alloc").asText());
            }
        }
        assertThat(alloc).contains("idle", "busy", "offline");
    }

    private static Set<String> keys(JsonNode node) {
        Set<String> keys = new HashSet<>();
        node.fieldNames().forEachRemaining(keys::add);
        return keys;
    }

    private static Set<String> names(JsonNode resources) {
        Set<String> names = new HashSet<>();
        resources.forEach(r -> names.add(r.get("name").asText()));
        return names;
    }

    private static JsonNode resource(JsonNode o, String name) {
        for (JsonNode r : o.get("resources")) {
            if (r.get("name").asText().equals(name)) {
                return r;
            }
        }
        throw new AssertionError("no " + name + " in " + o);
    }
}
