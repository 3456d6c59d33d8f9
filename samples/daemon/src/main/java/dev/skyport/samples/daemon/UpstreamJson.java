package dev.skyport.samples.daemon;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.benmanes.caffeine.cache.AsyncLoadingCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.skyport.api.EndReason;
import dev.skyport.api.Flavor;
import dev.skyport.api.Image;
import dev.skyport.api.Job;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.Node;
import dev.skyport.api.NodeState;
import dev.skyport.api.PortSpec;
import dev.skyport.api.RemoteSite;
import dev.skyport.api.UpstreamStates;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The JSON shapes of the upstream {@code /user} API (spec §C): every documented key always present, never
 * {@code null}, enums only with the values the generated Python client accepts. Extra keys ({@code user},
 * {@code account}) are safe: the client keeps unknown keys aside.
 */
final class UpstreamJson {
    /** Upstream's fixed expected duration, used when a job has no time limit. */
    static final long DEFAULT_DURATION_S = 3600;
    private static final String LOOPBACK = "127.0.0.1";

    private final ObjectMapper json;
    /** Resolved in the background: a slow resolver must never hold a reply past the clients' 5 s timeout. */
    private final AsyncLoadingCache<String, String> addresses = Caffeine.newBuilder()
            .maximumSize(10_000).expireAfterWrite(Duration.ofMinutes(5)).buildAsync(UpstreamJson::resolve);

    UpstreamJson(ObjectMapper json) {
        this.json = json;
    }

    ObjectNode job(Job job, Function<String, Optional<Node>> nodes, Map<String, String> flavorIds,
                   Map<String, String> remoteIds) {
        JobSpec spec = job.spec();
        ObjectNode o = json.createObjectNode();
        o.put("id", job.id().toString());
        o.put("name", job.name());
        o.put("state", String.valueOf(UpstreamStates.letter(job)));
        o.put("state_details", job.stateDetails());
        o.put("submit_time", time(job.submitTime()));
        o.put("start_time", job.startTime().map(UpstreamJson::time).orElse(""));
        // Upstream stamps the end at the cancel; a job still being torn down shows when the cancel was recorded.
        o.put("end_time", job.endTime().or(() -> job.state() == JobState.CANCELING
                ? Optional.of(job.updateTime()) : Optional.empty()).map(UpstreamJson::time).orElse(""));
        o.put("duration", spec.timeLimit().map(Duration::toSeconds).orElse(DEFAULT_DURATION_S));
        boolean canceled = job.state() == JobState.CANCELED || job.state() == JobState.CANCELING
                || job.endReason().filter(r -> r == EndReason.CANCELED).isPresent();
        // Upstream: 0 until completion, -1 for both after a cancel (whatever the stopped process returned).
        o.put("exitcode", canceled ? -1 : job.exitCode().orElse(0));
        o.put("signal", canceled ? -1 : job.signal().orElse(0));
        ArrayNode names = o.putArray("node_names");
        ArrayNode ips = o.putArray("node_ips");
        for (String name : job.nodeNames()) {
            names.add(name);
            ips.add(address(name, nodes.apply(name)));
        }
        String remoteId = spec.remoteSite().map(r -> remoteIds.getOrDefault(r, "")).orElse("");
        o.put("remote_id", remoteId);
        o.put("flavor_id", spec.flavor().map(f -> flavorIds.getOrDefault(flavorKey(spec.remoteSite(), f), ""))
                .orElse(""));
        ArrayNode request = o.putArray("request");
        resource(request, "cpus", spec.cpus());
        resource(request, "node", spec.nodes());
        if (spec.memoryBytes() > 0) {
            resource(request, "mem", spec.memoryBytes());
        }
        if (spec.gpus() > 0) {
            resource(request, "gpus", spec.gpus());
        }
        spec.flavor().ifPresent(v -> resource(request, "flavor", v));
        spec.cloudImage().ifPresent(v -> resource(request, "cloud-image", v));
        spec.containerImage().ifPresent(v -> resource(request, "container-image", v));
        if (!spec.ports().isEmpty()) {
            resource(request, "ports", spec.ports().stream().map(PortSpec::toString).collect(Collectors.joining(",")));
        }
        spec.submissionAddress().ifPresent(v -> resource(request, "submission-address", v));
        ArrayNode resources = o.putArray("resources");
        if (!job.nodeNames().isEmpty()) {
            resource(resources, "node", job.nodeNames().size());
        }
        o.put("comment", spec.comment());
        o.put("user", job.ownerName());
        o.put("account", spec.account().orElse(""));
        return o;
    }

    ObjectNode node(Node node, boolean busy) {
        ObjectNode o = json.createObjectNode();
        o.put("id", id("node", node.name()));
        o.put("name", node.name());
        o.put("host", node.labels().getOrDefault("host", node.name()));
        o.put("api_port", 0);
        o.put("state_power", node.state() == NodeState.DOWN ? "down" : "up");
        o.put("state_alloc", switch (node.state()) {
            case DOWN -> "offline";
            case DRAINING -> "maint";
            case UP -> busy ? "busy" : "idle";
        });
        ArrayNode resources = o.putArray("resources");
        resource(resources, "cpus", node.cpus());
        resource(resources, "mem", node.memoryBytes());
        if (node.gpus() > 0) {
            resource(resources, "gpus", node.gpus());
        }
        o.putArray("roles");
        return o;
    }

    ObjectNode flavor(Flavor flavor, Map<String, String> remoteIds) {
        ObjectNode o = json.createObjectNode();
        o.put("id", flavorId(flavor));
        o.put("name", flavor.name());
        o.put("remote_id", remoteIds.getOrDefault(flavor.remoteSite(), ""));
        ArrayNode resources = o.putArray("resources");
        resource(resources, "cpus", flavor.cpus());
        resource(resources, "mem", flavor.memoryBytes());
        resource(resources, "storage", flavor.storageBytes());
        if (flavor.gpus() > 0) {
            resource(resources, "gpus", flavor.gpus());
        }
        resource(resources, "flavor", flavor.name());
        o.put("price", flavor.pricePerHour());
        return o;
    }

    /**
     * An image; its {@code remote_id} is left empty when that remote offers no flavor, because the Jupyter spawner's
     * form fails on an image whose remote has none (spec §C.6).
     */
    ObjectNode image(Image image, Map<String, String> remoteIds, Set<String> remotesWithFlavors) {
        ObjectNode o = json.createObjectNode();
        o.put("id", id("image", image.remoteSite() + "/" + image.name()));
        o.put("name", image.name());
        o.put("remote_id", remotesWithFlavors.contains(image.remoteSite())
                ? remoteIds.getOrDefault(image.remoteSite(), "") : "");
        o.put("kind", image.kind());
        o.put("comment", "");
        return o;
    }

    ObjectNode remote(RemoteSite remote) {
        ObjectNode o = json.createObjectNode();
        o.put("id", remoteId(remote.name()));
        o.put("name", remote.name());
        o.put("account_id", "");
        o.put("server", "");
        o.put("port", 0);
        o.put("kind", remote.gate());
        o.put("default_image_id", "");
        o.put("default_flavor_id", "");
        return o;
    }

    static Map<String, String> remoteIds(Collection<RemoteSite> remotes) {
        return remotes.stream().collect(Collectors.toMap(RemoteSite::name, r -> remoteId(r.name()), (a, b) -> a));
    }

    /**
     * Flavor ids by remote and name, and by name alone where only one remote offers that name (a job that names a
     * flavor but no remote).
     */
    static Map<String, String> flavorIds(List<Flavor> flavors) {
        Map<String, String> ids = new HashMap<>();
        Map<String, Long> offers = flavors.stream().collect(Collectors.groupingBy(Flavor::name, Collectors.counting()));
        for (Flavor f : flavors) {
            ids.put(flavorKey(Optional.of(f.remoteSite()), f.name()), flavorId(f));
            if (offers.get(f.name()) == 1) {
                ids.put(flavorKey(Optional.empty(), f.name()), flavorId(f));
            }
        }
        return ids;
    }

    private static String flavorKey(Optional<String> remote, String flavor) {
        return remote.map(r -> r + "/").orElse("") + flavor;
    }

    static String remoteId(String name) {
        return id("remote", name);
    }

    static String flavorId(Flavor flavor) {
        return id("flavor", flavor.remoteSite() + "/" + flavor.name());
    }

    /** A stable UUID for things the engine names but does not number, so ids survive restarts. */
    private static String id(String kind, String name) {
        return UUID.nameUUIDFromBytes((kind + ":" + name).getBytes(StandardCharsets.UTF_8)).toString();
    }

    /** Zero-padded RFC 3339 in UTC, to the second (upstream's local, unpadded times are opaque to the clients). */
    static String time(Instant instant) {
        return DateTimeFormatter.ISO_INSTANT.format(instant.truncatedTo(ChronoUnit.SECONDS));
    }

    /**
     * The address clients reach a node at: its {@code address} label (a cloud VM's public IP), an IP literal name,
     * loopback for this machine's own nodes, else the name resolved to IPv4 (loopback when it does not resolve, as
     * upstream; the name itself while the resolution is under way).
     */
    private String address(String nodeName, Optional<Node> node) {
        Optional<String> label = node.map(n -> n.labels().get("address"));
        if (label.isPresent()) {
            return label.get();
        }
        if (node.map(n -> n.partition().equals("local")).orElse(false)) {
            return LOOPBACK;
        }
        return addresses.get(nodeName).getNow(nodeName); // the name itself until the address is known
    }

    private static String resolve(String name) {
        try {
            for (InetAddress a : InetAddress.getAllByName(name)) {
                if (a.getAddress().length == 4) {
                    return a.getHostAddress();
                }
            }
        } catch (UnknownHostException e) {
            // fall through: upstream shows loopback for names it cannot resolve
        }
        return LOOPBACK;
    }

    private void resource(ArrayNode list, String name, long count) {
        list.addObject().put("name", name).put("count", count);
    }

    private void resource(ArrayNode list, String name, String value) {
        list.addObject().put("name", name).put("count", 1).put("value", value);
    }
}
