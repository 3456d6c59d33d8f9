package dev.skyport.gate.azure;

import java.util.Objects;

/**
 * A marketplace image: publisher, offer, sku and version ({@code latest} or a pinned one). {@link #name()} is how users
 * and the upstream wire name it: {@code <offer>/<sku>}.
 */
record ImageRef(String publisher, String offer, String sku, String version) {
    ImageRef {
        Objects.requireNonNull(publisher, "publisher");
        Objects.requireNonNull(offer, "offer");
        Objects.requireNonNull(sku, "sku");
        Objects.requireNonNull(version, "version");
    }

    String name() {
        return offer + "/" + sku;
    }
}
