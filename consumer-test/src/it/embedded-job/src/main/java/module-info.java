/** The consumer as a named module: Sky Port's jars must resolve as modules by their Automatic-Module-Name. */
module dev.skyport.consumer {
    requires dev.skyport.api;
    // Nothing here names a core type; the requirement puts the engine (found by ServiceLoader) into the module graph.
    requires dev.skyport.core;
}
