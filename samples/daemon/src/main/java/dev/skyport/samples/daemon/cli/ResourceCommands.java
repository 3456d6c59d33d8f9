package dev.skyport.samples.daemon.cli;

import dev.skyport.api.Flavor;
import dev.skyport.api.Image;
import dev.skyport.api.Node;
import dev.skyport.api.Partition;
import dev.skyport.api.RemoteSite;
import dev.skyport.client.internal.wire.WireJson;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * {@code nodes}, {@code flavors}, {@code images}, {@code remotes} and {@code partitions}: what jobs can run on, as
 * tables or JSON.
 */
final class ResourceCommands {
    private ResourceCommands() {
    }

    /** A listing printed as a table, or with {@code --json} as a JSON array in the /api/v1 shape. */
    abstract static class Listing extends ClientCommand {
        @Option(names = "--json", description = "A JSON array (the /api/v1 shape) instead of a table.")
        boolean json;
    }

    @Command(name = "nodes", mixinStandardHelpOptions = true,
            description = "Lists the nodes jobs can run on now, with their total capacity and state.")
    static final class Nodes extends Listing {
        @Override
        int run(Connection connection) {
            List<Node> nodes = connection.sky().nodes();
            if (json) {
                JsonOutput.printArray(out(), nodes, WireJson::writeNode);
                return 0;
            }
            Table table = new Table("NAME", "PARTITION", "STATE", "CPUS", "MEMORY", "GPUS", "LABELS");
            for (Node n : nodes) {
                table.row(n.name(), n.partition(), n.state(), n.cpus(), Cells.bytes(n.memoryBytes()), n.gpus(),
                        n.labels().isEmpty() ? "-" : n.labels().entrySet().stream().sorted(Map.Entry.comparingByKey())
                                .map(e -> e.getKey() + "=" + e.getValue()).collect(Collectors.joining(",")));
            }
            table.print(out(), style());
            return 0;
        }
    }

    @Command(name = "flavors", mixinStandardHelpOptions = true,
            description = "Lists the machine sizes the gates can create, with their price per hour.")
    static final class Flavors extends Listing {
        @Override
        int run(Connection connection) {
            List<Flavor> flavors = connection.sky().flavors();
            if (json) {
                JsonOutput.printArray(out(), flavors, WireJson::writeFlavor);
                return 0;
            }
            Table table = new Table("NAME", "SITE", "CPUS", "MEMORY", "STORAGE", "GPUS", "PRICE/H");
            for (Flavor f : flavors) {
                table.row(f.name(), f.remoteSite(), f.cpus(), Cells.bytes(f.memoryBytes()),
                        Cells.bytes(f.storageBytes()), f.gpus(),
                        String.format(Locale.ROOT, "%.4f %s", f.pricePerHour(), f.currency()));
            }
            table.print(out(), style());
            return 0;
        }
    }

    @Command(name = "images", mixinStandardHelpOptions = true,
            description = "Lists the machine and container images the gates can start jobs from.")
    static final class Images extends Listing {
        @Override
        int run(Connection connection) {
            List<Image> images = connection.sky().images();
            if (json) {
                JsonOutput.printArray(out(), images, WireJson::writeImage);
                return 0;
            }
            Table table = new Table("NAME", "SITE", "KIND");
            images.forEach(i -> table.row(i.name(), i.remoteSite(), i.kind()));
            table.print(out(), style());
            return 0;
        }
    }

    @Command(name = "remotes", mixinStandardHelpOptions = true,
            description = "Lists the remote sites (cloud accounts and locations, on-prem sites) the gates use.")
    static final class Remotes extends Listing {
        @Override
        int run(Connection connection) {
            List<RemoteSite> remotes = connection.sky().remotes();
            if (json) {
                JsonOutput.printArray(out(), remotes, WireJson::writeRemoteSite);
                return 0;
            }
            Table table = new Table("NAME", "GATE", "LOCATION");
            remotes.forEach(r -> table.row(r.name(), r.gate(), r.location()));
            table.print(out(), style());
            return 0;
        }
    }

    @Command(name = "partitions", mixinStandardHelpOptions = true,
            description = "Lists the partitions the gates created for jobs (cloud machines), with their state, nodes "
                    + "and the job and owner their tags name.")
    static final class Partitions extends Listing {
        /* The tags every partition the engine creates carries (PartitionSpec's TAG_JOB, TAG_OWNER, TAG_CREATED). */
        private static final String JOB = "skyport-job";
        private static final String OWNER = "skyport-owner";
        private static final String CREATED = "skyport-created";

        @Override
        int run(Connection connection) {
            List<Partition> partitions = connection.sky().partitions();
            if (json) {
                JsonOutput.printArray(out(), partitions, WireJson::writePartition);
                return 0;
            }
            Table table = new Table("NAME", "GATE", "STATE", "NODES", "JOB", "OWNER", "CREATED");
            for (Partition p : partitions) {
                table.row(p.name(), p.gate(), p.state(), p.nodes().isEmpty() ? "-" : String.join(",", p.nodes()),
                        p.tags().getOrDefault(JOB, "-"), p.tags().getOrDefault(OWNER, "-"),
                        p.tags().getOrDefault(CREATED, "-"));
            }
            table.print(out(), style());
            return 0;
        }
    }
}
