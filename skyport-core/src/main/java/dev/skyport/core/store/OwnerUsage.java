package dev.skyport.core.store;

/**
 * What one owner holds in the store.
 *
 * @param activeJobs  jobs that have not ended
 * @param storedBytes the total {@linkplain StoredJob#size() size} of the owner's stored jobs, ended ones included
 */
public record OwnerUsage(long activeJobs, long storedBytes) {
}
