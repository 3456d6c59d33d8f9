package dev.skyport.core.internal;

import dev.skyport.api.EmbeddedConfig;
import dev.skyport.api.SkyPort;
import dev.skyport.api.spi.EmbeddedEngineProvider;

/** Lets {@code SkyPort.embedded().start()} find the engine. */
public final class EngineProvider implements EmbeddedEngineProvider {
    @Override
    public SkyPort start(EmbeddedConfig config) {
        return Engine.start(config);
    }
}
