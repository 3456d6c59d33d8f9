package dev.skyport.samples.daemon;

import dev.skyport.api.Events;
import dev.skyport.api.Flavor;
import dev.skyport.api.Health;
import dev.skyport.api.Image;
import dev.skyport.api.Jobs;
import dev.skyport.api.Node;
import dev.skyport.api.Partition;
import dev.skyport.api.RemoteSite;
import dev.skyport.api.SkyPort;
import dev.skyport.api.SkyPortContractTest;
import dev.skyport.client.SkyPortClient;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

/**
 * The shared behaviour, proven against {@code skyport-client} talking to the real daemon over mTLS: each test gets
 * its own daemon (random port, fresh certificates, empty queue) and an admin's client, whose {@code asUser} views
 * act through the impersonation headers.
 */
class ClientContractTest extends SkyPortContractTest {
    @TempDir
    Path dir;

    @Override
    protected SkyPort open() {
        ClientDaemon daemon = ClientDaemon.start(dir);
        SkyPort client = SkyPortClient.connect(daemon.url(), daemon.adminTls());
        return new ClosingDaemon(client, daemon);
    }

    /** The admin's client; closing it also stops the daemon the test started. */
    private record ClosingDaemon(SkyPort client, ClientDaemon daemon) implements SkyPort {
        @Override
        public Jobs jobs() {
            return client.jobs();
        }

        @Override
        public List<Node> nodes() {
            return client.nodes();
        }

        @Override
        public List<Flavor> flavors() {
            return client.flavors();
        }

        @Override
        public List<Image> images() {
            return client.images();
        }

        @Override
        public List<RemoteSite> remotes() {
            return client.remotes();
        }

        @Override
        public List<Partition> partitions() {
            return client.partitions();
        }

        @Override
        public Events events() {
            return client.events();
        }

        @Override
        public Health health() {
            return client.health();
        }

        @Override
        public SkyPort asUser(String user) {
            return client.asUser(user);
        }

        @Override
        public SkyPort asUser(String userId, String userName) {
            return client.asUser(userId, userName);
        }

        @Override
        public void close() {
            try {
                client.close();
            } finally {
                daemon.close();
            }
        }
    }
}
