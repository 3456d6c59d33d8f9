/**
 * The REST client: {@link dev.skyport.api.SkyPort} over the daemon's {@code /api/v1}, with mutual TLS
 * ({@link dev.skyport.client.ClientTls}) and {@link dev.skyport.client.SkyPortClient} to connect. Everything else
 * (transport, retries, event streams, the JSON codec it shares with the daemon) lives in {@code internal}.
 */
package dev.skyport.client;
