package dev.skyport.gate.azure;

import com.azure.core.exception.ClientAuthenticationException;
import com.azure.core.management.exception.ManagementError;
import com.azure.core.management.exception.ManagementException;
import com.azure.core.management.polling.PollResult;
import dev.skyport.api.EndReason;
import dev.skyport.gate.GateException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/** The classification table of spec cloud-gate.md 3.7, code by code, outer or nested in the details. */
class AzureErrorsTest {

    @ParameterizedTest(name = "{0} -> transient {1}, {2}")
    @CsvSource({
            "QuotaExceeded, false, QUOTA_EXCEEDED",
            "ResourceQuotaExceeded, false, QUOTA_EXCEEDED",
            "PublicIPCountLimitReached, false, QUOTA_EXCEEDED",
            "SkuNotAvailable, false, NO_CAPACITY",
            "AllocationFailed, true, NO_CAPACITY",
            "ZonalAllocationFailed, true, NO_CAPACITY",
            "OverconstrainedAllocationRequest, true, NO_CAPACITY",
            "InvalidParameter, false, PARTITION_FAILED",
            "BadRequest, false, PARTITION_FAILED",
            "InvalidTemplate, false, PARTITION_FAILED",
            "InvalidTemplateDeployment, false, PARTITION_FAILED",
            "OperationNotAllowed, false, PARTITION_FAILED",
            "OSProvisioningTimedOut, false, PARTITION_FAILED",
            "MissingSubscriptionRegistration, false, PARTITION_FAILED",
    })
    void aCodeIsClassifiedOuterOrInTheDetailsOfAFailedOperation(String code, boolean transientError,
                                                                 EndReason reason) {
        GateException outer = AzureErrors.classify("create", new ManagementException("failed", null,
                new ManagementError(code, code + " happened")));
        assertThat(outer.isTransient()).isEqualTo(transientError);
        assertThat(outer.reason()).contains(reason);
        assertThat(outer.getMessage()).contains(code);

        GateException nested = AzureErrors.failedOperation("create", new PollResult.Error("failed", 200, null,
                "{\"status\":\"Failed\",\"error\":{\"code\":\"DeploymentFailed\",\"message\":\"see details\","
                        + "\"details\":[{\"code\":\"" + code + "\",\"message\":\"" + code + " happened\"}]}}"));
        assertThat(nested.isTransient()).isEqualTo(transientError);
        assertThat(nested.reason()).contains(reason);
    }

    @Test
    void aRefusedCredentialIsPermanentWithOrWithoutAResponse() {
        GateException bare = AzureErrors.classify("list partitions", new ClientAuthenticationException(
                "ClientSecretCredential authentication failed: AADSTS7000215 invalid client secret", null));
        assertThat(bare.isTransient()).isFalse();
        assertThat(bare.reason()).contains(EndReason.PARTITION_FAILED);
        assertThat(bare.getMessage()).contains("credential was refused", "AADSTS7000215");
        GateException wrapped = AzureErrors.classify("create", new RuntimeException(
                new com.azure.identity.CredentialUnavailableException("no managed identity endpoint")));
        assertThat(wrapped.isTransient()).isFalse();
    }

    @Test
    void operationNotAllowedAboutAQuotaIsQuotaExceeded() {
        GateException e = AzureErrors.classify("create", new ManagementException("failed", null,
                new ManagementError("OperationNotAllowed", "Operation results in exceeding approved Total Regional "
                        + "Cores quota.")));
        assertThat(e.isTransient()).isFalse();
        assertThat(e.reason()).contains(EndReason.QUOTA_EXCEEDED);
    }

    @Test
    void conflictsAndServerErrorsAreTransient() {
        for (String code : new String[]{"Conflict", "AnotherOperationInProgress", "ResourceGroupBeingDeleted",
                "InternalServerError", "RetryableError"}) {
            GateException e = AzureErrors.classify("create", new ManagementException("failed", null,
                    new ManagementError(code, "try again")));
            assertThat(e.isTransient()).as(code).isTrue();
        }
    }

    @Test
    void ioErrorsAreTransientAndAnInterruptionSaysSo() {
        assertThat(AzureErrors.classify("create", new UncheckedIOException(new IOException("connection reset")))
                .isTransient()).isTrue();
        GateException interrupted = AzureErrors.classify("create",
                new RuntimeException(new InterruptedException()));
        try {
            assertThat(interrupted.isTransient()).isTrue();
            assertThat(interrupted.getMessage()).contains("interrupted");
            assertThat(Thread.currentThread().isInterrupted()).as("the interrupt is kept for the caller").isTrue();
        } finally {
            Thread.interrupted();
        }
    }

    @Test
    void aFailedOperationWithoutABodyIsStillAnError() {
        GateException e = AzureErrors.failedOperation("create", new PollResult.Error("it failed", 200, null, null));
        assertThat(e.getMessage()).contains("it failed");
        assertThat(AzureErrors.failedOperation("create", null).reason()).isEqualTo(Optional.of(
                EndReason.PARTITION_FAILED));
    }
}
