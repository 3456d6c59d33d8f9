/**
 * The consumer as a named module. It requires the API only: dev.skyport.api declares that it uses the embedded engine
 * service, so the module system binds dev.skyport.core (which provides it) and everything core requires.
 */
module dev.skyport.consumer {
    requires dev.skyport.api;
}
