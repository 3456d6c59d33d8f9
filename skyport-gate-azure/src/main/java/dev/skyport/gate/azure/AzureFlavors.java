package dev.skyport.gate.azure;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Objects;
import java.util.UUID;

/**
 * The flavor ids the upstream wire carries for Azure VM sizes, so that a front door speaking the upstream protocol
 * ({@code /user/flavor}) gives the ids the upstream console and Jupyter spawner already know. Stateless, thread-safe.
 */
public final class AzureFlavors {
    private AzureFlavors() {
    }

    /**
     * {@return the upstream gate's flavor id of a VM size: the first 16 bytes of the SHA-256 of the UTF-8 name, as a
     * UUID with the version nibble forced to 4 and the RFC 4122 variant bits set (so {@code flavor1} gives
     * {@code 9348abe1-2a12-4ba7-9942-920a58fa887f})} Stable across restarts and hosts.
     *
     * @param name the VM size name, e.g. {@code Standard_D2s_v5}; not null
     */
    public static String upstreamId(String name) {
        Objects.requireNonNull(name, "name");
        byte[] hash;
        try {
            hash = MessageDigest.getInstance("SHA-256").digest(name.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
        hash[6] = (byte) ((hash[6] & 0x0f) | 0x40);
        hash[8] = (byte) ((hash[8] & 0x3f) | 0x80);
        ByteBuffer b = ByteBuffer.wrap(hash, 0, 16);
        return new UUID(b.getLong(), b.getLong()).toString();
    }
}
