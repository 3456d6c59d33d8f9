package dev.skyport.api;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * One page of a listing; {@code nextPageToken} is present when more items follow.
 *
 * @param items this page's items
 * @param nextPageToken the token of the next page; empty on the last page
 */
public record Page<T>(List<T> items, Optional<String> nextPageToken) {
    /**
     * Rejects null components and copies the collections, so an instance never changes.
     *
     * @param items this page's items
     * @param nextPageToken the token of the next page; empty on the last page
     */
    public Page {
        items = List.copyOf(items);
        Objects.requireNonNull(nextPageToken, "nextPageToken");
    }
}
