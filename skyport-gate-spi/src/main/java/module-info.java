/** The gate SPI: what the engine asks of a place that runs jobs (this machine, an ssh host, a cluster, a cloud). */
module dev.skyport.gate {
    requires transitive dev.skyport.api;

    exports dev.skyport.gate;
}
