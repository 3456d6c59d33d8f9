/**
 * Sky Port's public API: jobs, their specs and states, and {@link dev.skyport.api.SkyPort}, the entry point. The
 * embedded engine is found as a service, so an application that requires only this module gets it by putting
 * {@code skyport-core} on its module path.
 */
module dev.skyport.api {
    exports dev.skyport.api;
    exports dev.skyport.api.spi;

    uses dev.skyport.api.spi.EmbeddedEngineProvider;
}
