package dev.skyport.api.spi;

import dev.skyport.api.EmbeddedConfig;
import dev.skyport.api.SkyPort;

/**
 * Found with {@link java.util.ServiceLoader} by {@link SkyPort#embedded()}: {@code skyport-core} provides the engine.
 */
public interface EmbeddedEngineProvider {
    /**
     * Starts an engine with {@code config}.
     *
     * @param config the settings the user gave {@link dev.skyport.api.SkyPort#embedded()}'s builder
     * @return the running engine; closing it stops the engine
     */
    SkyPort start(EmbeddedConfig config);
}
