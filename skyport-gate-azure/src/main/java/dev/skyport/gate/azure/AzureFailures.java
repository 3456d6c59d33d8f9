package dev.skyport.gate.azure;

import com.azure.core.exception.HttpResponseException;
import com.azure.core.management.exception.ManagementError;
import com.azure.core.management.exception.ManagementException;
import dev.skyport.gate.GateException;

import java.time.Duration;
import java.util.Optional;

/**
 * Turns what the SDK throws while the gate starts into a {@link GateException}: refused credentials and permissions
 * are permanent and name the credential's key; throttling, server errors and unreachable endpoints are transient.
 * Messages carry Azure's error code and message, never a request's headers.
 */
final class AzureFailures {
    private AzureFailures() {
    }

    /** The HTTP status of an SDK failure, or -1 when it had no response (I/O). */
    static int status(RuntimeException e) {
        return e instanceof HttpResponseException h && h.getResponse() != null ? h.getResponse().getStatusCode() : -1;
    }

    static Optional<String> code(RuntimeException e) {
        if (e instanceof ManagementException m && m.getValue() != null) {
            return Optional.ofNullable(m.getValue().getCode());
        }
        return Optional.empty();
    }

    /**
     * The failure of {@code what} (e.g. "reading subscription ...") at start.
     *
     * @param config for the credential's key when Azure refused the caller
     */
    static GateException atStart(String what, AzureGateConfig config, RuntimeException e) {
        int status = status(e);
        String detail = detail(e);
        if (status == 401 || status == 403) {
            String key = config.credential.key();
            return GateException.permanent("azure gate option " + key + ": Azure refused " + what + detail
                    + (status == 403 ? " (give the service principal a role on the subscription, e.g. Contributor)"
                    : ""));
        }
        if (status == 429 || status == 408 || status >= 500) {
            Optional<Duration> after = retryAfter(e);
            return GateException.transientFailure("azure gate: " + what + " failed for now" + detail, null, after);
        }
        if (status == -1 && AzureClients.causedByIo(e)) {
            return GateException.transientFailure("azure gate: " + what + " failed, Azure cannot be reached ("
                    + AzureClients.ioKind(e) + ")", null, Optional.empty());
        }
        return GateException.permanent("azure gate: " + what + " failed" + detail);
    }

    static String detail(RuntimeException e) {
        if (e instanceof ManagementException m && m.getValue() != null) {
            ManagementError v = m.getValue();
            return ": HTTP " + status(e) + " " + v.getCode() + (v.getMessage() == null ? "" : " " + v.getMessage());
        }
        int status = status(e);
        return status > 0 ? ": HTTP " + status : "";
    }

    private static Optional<Duration> retryAfter(RuntimeException e) {
        if (e instanceof HttpResponseException h && h.getResponse() != null) {
            String v = h.getResponse().getHeaderValue("Retry-After");
            if (v != null && v.matches("\\d{1,6}")) {
                return Optional.of(Duration.ofSeconds(Long.parseLong(v)));
            }
        }
        return Optional.empty();
    }
}
