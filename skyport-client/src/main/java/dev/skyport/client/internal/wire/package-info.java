/**
 * The JSON shapes of the daemon's {@code /api/v1}, written and read in one place ({@link
 * dev.skyport.client.internal.wire.WireJson}) by both the daemon and the client. Public classes in an internal
 * package: they are the two sides' shared implementation, not API.
 */
package dev.skyport.client.internal.wire;
