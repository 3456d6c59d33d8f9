package dev.skyport.core.internal;

import dev.skyport.api.JobIsolation;
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
        // The contract's jobs report their pids to the test, signal their wrapper (kill -9 0, standing for a lost
        // node) and read files the test writes: they must see this machine as the test does. Isolation has its own
        // tests (JobIsolationTest).
        return SkyPort.embedded().dataDir(dataDir).localCpus(4).jobIsolation(JobIsolation.NONE).start();
    }
}
