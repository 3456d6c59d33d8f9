package dev.skyport.core.internal;

import dev.skyport.api.SkyPort;
import dev.skyport.api.SkyPortContractTest;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

/** The shared behaviour, proven against the embedded engine on the local gate. */
class EmbeddedSkyPortTest extends SkyPortContractTest {
    @TempDir
    Path dataDir;

    @Override
    protected SkyPort open() {
        return SkyPort.embedded().dataDir(dataDir).localCpus(4).start();
    }
}
