package dev.skyport.api;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class SecretsTest {
    private static final String PEM = "-----BEGIN PRIVATE KEY-----\nMIIEv-the-key-itself\n-----END PRIVATE KEY-----\n";

    private static Map<String, String> options() {
        Map<String, String> o = new LinkedHashMap<>();
        o.put("client-id", "the-client-id");
        o.put("client-secret", "s3cr3t-value");
        o.put("client-certificate", "/etc/skyport/azure.pem");
        o.put("client-certificate-password", "pw-value");
        o.put("API_TOKEN", "tok-value");
        o.put("ssh-private-key", "pk-value");
        o.put("credential", "default");
        o.put("key", PEM);
        return o;
    }

    @Test
    void secretsAreNamedByTheirKeyOrByAPrivateKeyInTheirValue() {
        assertThat(Secrets.redacted(options())).containsExactly(
                Map.entry("client-id", "the-client-id"),
                Map.entry("client-secret", Secrets.REDACTED),
                Map.entry("client-certificate", "/etc/skyport/azure.pem"),
                Map.entry("client-certificate-password", Secrets.REDACTED),
                Map.entry("API_TOKEN", Secrets.REDACTED),
                Map.entry("ssh-private-key", Secrets.REDACTED),
                Map.entry("credential", Secrets.REDACTED),
                Map.entry("key", Secrets.REDACTED));
    }

    @Test
    void anEmbeddedConfigPrintsItsOptionsWithoutTheirSecrets() {
        EmbeddedConfig c = SkyPort.embedded().dataDir(Path.of("/tmp/x")).gate("ssh").cloudGate("azure").config();
        EmbeddedConfig withSecrets = new EmbeddedConfig(c.dataDir(), c.gate(), options(), c.scheduler(), c.clock(),
                c.limits(), c.owner(), c.localCpus(), c.localMemoryBytes(), c.randomSeed(), c.inputRoot(),
                c.cloudGate(), options(), c.partitions());
        String text = withSecrets.toString();
        assertThat(text).doesNotContain("s3cr3t-value", "pw-value", "tok-value", "pk-value", "the-key-itself")
                .contains("client-secret=" + Secrets.REDACTED, "client-id=the-client-id",
                        "client-certificate=/etc/skyport/azure.pem", "cloudGate=Optional[azure]");
    }
}
