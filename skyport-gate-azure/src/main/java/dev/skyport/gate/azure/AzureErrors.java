package dev.skyport.gate.azure;

import com.azure.core.exception.ClientAuthenticationException;
import com.azure.core.exception.HttpResponseException;
import com.azure.core.http.HttpResponse;
import com.azure.core.management.exception.ManagementError;
import com.azure.core.management.exception.ManagementException;
import com.azure.core.management.polling.PollResult;
import com.azure.json.JsonProviders;
import com.azure.json.JsonReader;
import dev.skyport.api.EndReason;
import dev.skyport.gate.GateException;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeoutException;

/**
 * Turns what the Azure SDK throws into a {@link GateException} of the right kind (spec cloud-gate.md 3.7): quota and
 * invalid requests fail the attempt at once, capacity, throttling, server errors and timeouts are transient. It
 * classifies on the error code and the codes of its details, because ARM wraps the real cause (a quota, an
 * allocation failure) in a generic outer code, and the HTTP status of a failed long-running operation is the poll's 200.
 */
final class AzureErrors {
    private static final Set<String> QUOTA = Set.of("quotaexceeded", "resourcequotaexceeded",
            "publicipcountlimitreached");
    private static final Set<String> NOT_OFFERED = Set.of("skunotavailable");
    private static final Set<String> NO_CAPACITY_NOW = Set.of("allocationfailed", "zonalallocationfailed",
            "overconstrainedallocationrequest");
    private static final Set<String> THROTTLED = Set.of("toomanyrequests", "retryableerrorduetoanotheroperation");
    private static final Set<String> TRANSIENT = Set.of("conflict", "anotheroperationinprogress",
            "resourcegroupbeingdeleted", "internalservererror", "serviceunavailable", "gatewaytimeout",
            "retryableerror");
    private static final Set<String> INVALID = Set.of("invalidparameter", "badrequest", "invalidtemplate",
            "invalidtemplatedeployment", "invalidresourcename", "invalidresourcegrouplocation",
            "osprovisioningtimedout", "osprovisioningclienterror", "vmextensionprovisioningerror",
            "authorizationfailed", "linkedauthorizationfailed", "requestdisallowedbypolicy",
            "invalidauthenticationtoken", "expiredauthenticationtoken", "authenticationfailed",
            "propertychangenotallowed",
            // A resource provider the subscription is not registered for stays unregistered until someone registers
            // it: retrying only spends the retry budget.
            "missingsubscriptionregistration");

    private AzureErrors() {
    }

    /** Whether {@code e} says the resource (a group on GET or DELETE) does not exist. */
    static boolean isNotFound(Throwable e) {
        return e instanceof HttpResponseException h && h.getResponse() != null && h.getResponse().getStatusCode() == 404;
    }

    static GateException classify(String doing, Throwable e) {
        if (isInterrupted(e)) {
            Thread.currentThread().interrupt();
            return GateException.transientFailure(doing + ": interrupted", null, Optional.empty());
        }
        if (causedBy(e, ClientAuthenticationException.class)) {
            // A credential that is refused (or that cannot get a token at all, answered or not) stays so until the
            // configuration changes; its message names what was tried, never the secret.
            return GateException.permanent(doing + ": the Azure credential was refused: " + rootMessage(e),
                    EndReason.PARTITION_FAILED);
        }
        if (e instanceof ManagementException m) {
            return classify(doing, m);
        }
        if (e instanceof HttpResponseException h && h.getResponse() != null) {
            int status = h.getResponse().getStatusCode();
            String what = doing + ": Azure answered HTTP " + status;
            if (status == 429) {
                return GateException.transientFailure(what, null, retryAfter(h.getResponse()));
            }
            if (status == 408 || status >= 500) {
                return GateException.transientFailure(what, null, Optional.empty());
            }
            return GateException.permanent(what, EndReason.PARTITION_FAILED);
        }
        if (causedBy(e, IOException.class) || causedBy(e, TimeoutException.class)) {
            return GateException.transientFailure(doing + ": Azure did not answer (" + rootMessage(e) + ")", null,
                    Optional.empty());
        }
        return GateException.transientFailure(doing + ": " + rootMessage(e), null, Optional.empty());
    }

    private static GateException classify(String doing, ManagementException m) {
        return classify(doing, m.getResponse() == null ? 0 : m.getResponse().getStatusCode(), m.getValue(),
                m.getResponse() == null ? Optional.empty() : retryAfter(m.getResponse()));
    }

    /**
     * A long-running operation that ended Failed or Canceled: the SDK's poller reports it as a poll result rather
     * than throwing, with the operation's status body ({@code {"status":"Failed","error":{...}}}).
     */
    static GateException failedOperation(String doing, PollResult.Error error) {
        if (error == null) {
            return GateException.transientFailure(doing + ": the operation failed without saying why", null,
                    Optional.empty(), EndReason.PARTITION_FAILED);
        }
        ManagementError value = null;
        String body = error.getResponseBody();
        if (body != null && !body.isBlank()) {
            try (JsonReader reader = JsonProviders.createReader(body)) {
                value = ManagementError.fromJson(reader);
            } catch (IOException | RuntimeException e) {
                value = null;
            }
        }
        if (value == null || value.getCode() == null) {
            value = new ManagementError(null, error.getMessage());
        }
        // the poll itself answered 200: the status that matters is the operation's, which has none
        return classify(doing, 0, value, Optional.empty());
    }

    private static GateException classify(String doing, int status, ManagementError value,
                                          Optional<Duration> retryAfter) {
        List<String> codes = new ArrayList<>();
        List<String> messages = new ArrayList<>();
        collect(value, codes, messages);
        String what = doing + ": Azure " + (codes.isEmpty() ? "HTTP " + status : String.join("/", codes))
                + (messages.isEmpty() ? "" : ": " + String.join("; ", messages));
        List<String> lower = codes.stream().map(c -> c.toLowerCase(Locale.ROOT)).toList();
        boolean quotaText = messages.stream().anyMatch(t -> t.toLowerCase(Locale.ROOT).contains("quota"));
        if (status == 429 || lower.stream().anyMatch(THROTTLED::contains)) {
            return GateException.transientFailure(what, null, retryAfter);
        }
        if (lower.stream().anyMatch(QUOTA::contains) || (lower.contains("operationnotallowed") && quotaText)) {
            return GateException.permanent(what, EndReason.QUOTA_EXCEEDED);
        }
        if (lower.stream().anyMatch(NOT_OFFERED::contains)) {
            return GateException.permanent(what, EndReason.NO_CAPACITY);
        }
        if (lower.stream().anyMatch(NO_CAPACITY_NOW::contains)) {
            return GateException.transientFailure(what, null, Optional.empty(), EndReason.NO_CAPACITY);
        }
        if (lower.stream().anyMatch(INVALID::contains) || lower.contains("operationnotallowed")) {
            return GateException.permanent(what, EndReason.PARTITION_FAILED);
        }
        if (lower.stream().anyMatch(TRANSIENT::contains) || status == 408 || status >= 500) {
            return GateException.transientFailure(what, null, Optional.empty());
        }
        if (status >= 400 && status < 500) {
            return GateException.permanent(what, EndReason.PARTITION_FAILED);
        }
        // a long-running operation that ended Failed with a code none of the lists name: a later try may do better
        return GateException.transientFailure(what, null, Optional.empty(), EndReason.PARTITION_FAILED);
    }

    private static void collect(ManagementError error, List<String> codes, List<String> messages) {
        if (error == null) {
            return;
        }
        if (error.getCode() != null && !codes.contains(error.getCode())) {
            codes.add(error.getCode());
        }
        if (error.getMessage() != null && !error.getMessage().isBlank()) {
            messages.add(abbreviate(error.getMessage()));
        }
        if (error.getDetails() != null) {
            for (ManagementError d : error.getDetails()) {
                collect(d, codes, messages);
            }
        }
    }

    /** The {@code Retry-After} header in seconds (ARM's form); an HTTP date is not used by ARM and is ignored. */
    static Optional<Duration> retryAfter(HttpResponse response) {
        String value = response.getHeaderValue("Retry-After");
        if (value == null) {
            return Optional.empty();
        }
        try {
            long seconds = Long.parseLong(value.trim());
            return seconds >= 0 ? Optional.of(Duration.ofSeconds(seconds)) : Optional.empty();
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    static boolean isInterrupted(Throwable e) {
        return Thread.currentThread().isInterrupted() || causedBy(e, InterruptedException.class);
    }

    private static boolean causedBy(Throwable e, Class<? extends Throwable> type) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (type.isInstance(t)) {
                return true;
            }
            for (Throwable s : t.getSuppressed()) {
                if (type.isInstance(s)) {
                    return true;
                }
            }
        }
        return false;
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + abbreviate(t.getMessage()));
    }

    private static String abbreviate(String s) {
        String one = s.replaceAll("\\s+", " ").trim();
        return one.length() <= 500 ? one : one.substring(0, 500) + "...";
    }
}
