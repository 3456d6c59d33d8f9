package dev.skyport.gate.azure;

import dev.skyport.gate.GateException;
import okhttp3.tls.HeldCertificate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** Every option of the azure gate, its default and every way it is refused. */
class AzureGateConfigTest {
    @TempDir
    Path dir;

    static Map<String, String> valid() {
        Map<String, String> o = new LinkedHashMap<>();
        o.put("subscription-id", AzureWire.SUB);
        o.put("tenant-id", AzureWire.TENANT);
        o.put("client-id", AzureWire.CLIENT);
        o.put("client-secret", AzureWire.SECRET);
        o.put("region", "eastus");
        o.put("vm-sizes", "Standard_D2s_v5");
        o.put("ssh-sources", "203.0.113.0/24");
        return o;
    }

    static Map<String, String> with(String key, String value) {
        Map<String, String> o = valid();
        if (value == null) {
            o.remove(key);
        } else {
            o.put(key, value);
        }
        return o;
    }

    static GateException refused(Map<String, String> options) {
        GateException e = catchThrowableOfType(GateException.class, () -> AzureGateConfig.parse(options));
        assertThat(e).as("refused: %s", options.keySet()).isNotNull();
        assertThat(e.isTransient()).isFalse();
        assertThat(e.getMessage()).doesNotContain(AzureWire.SECRET);
        return e;
    }

    @Test
    void theDefaultsAreAsDocumented() {
        AzureGateConfig c = AzureGateConfig.parse(valid());
        assertThat(c.subscriptionId).isEqualTo(AzureWire.SUB);
        assertThat(c.tenantId).contains(AzureWire.TENANT);
        assertThat(c.clientId).contains(AzureWire.CLIENT);
        assertThat(c.credential).isInstanceOf(AzureGateConfig.ClientSecret.class);
        assertThat(((AzureGateConfig.ClientSecret) c.credential).secret().reveal()).isEqualTo(AzureWire.SECRET);
        assertThat(c.region).isEqualTo("eastus");
        assertThat(c.vmSizes).containsExactly("Standard_D2s_v5");
        assertThat(c.images).containsExactly(new ImageRef("Canonical", "ubuntu-24_04-lts", "server", "latest"));
        assertThat(c.adminUser).isEqualTo("skyport");
        assertThat(c.sshSources).containsExactly("203.0.113.0/24");
        assertThat(c.sshPort).isEqualTo(22);
        assertThat(c.priceCurrency).isEqualTo("USD");
        assertThat(c.priceCacheTtl).isEqualTo(Duration.ofHours(24));
        assertThat(c.pricesUrl).isEqualTo(URI.create("https://prices.azure.com/api/retail/prices"));
        assertThat(c.endpoint).isEmpty();
        assertThat(c.authorityHost).isEmpty();
    }

    @Test
    void everyOptionIsRead() {
        Map<String, String> o = valid();
        o.put("region", "WestEurope");
        o.put("vm-sizes", "Standard_D2s_v5, Standard_NC6s_v3");
        o.put("images", "Canonical:0001-com-ubuntu-server-jammy:22_04-lts-gen2:22.04.202411010,"
                + "microsoft-dsvm:ubuntu-hpc:2204");
        o.put("admin-user", "hpc");
        o.put("ssh-sources", "203.0.113.0/24, 198.51.100.7, 2001:db8::/32");
        o.put("ssh-port", "2222");
        o.put("price-currency", "eur");
        o.put("price-cache-ttl", "90m");
        o.put("prices-url", "http://127.0.0.1:8089/api/retail/prices");
        o.put("endpoint", "https://management.chinacloudapi.cn/");
        o.put("authority-host", "https://login.chinacloudapi.cn/");
        o.put("job-isolation", "auto");
        AzureGateConfig c = AzureGateConfig.parse(o);
        assertThat(c.region).isEqualTo("westeurope");
        assertThat(c.vmSizes).containsExactly("Standard_D2s_v5", "Standard_NC6s_v3");
        assertThat(c.images).containsExactly(
                new ImageRef("Canonical", "0001-com-ubuntu-server-jammy", "22_04-lts-gen2", "22.04.202411010"),
                new ImageRef("microsoft-dsvm", "ubuntu-hpc", "2204", "latest"));
        assertThat(c.adminUser).isEqualTo("hpc");
        assertThat(c.sshSources).containsExactly("203.0.113.0/24", "198.51.100.7", "2001:db8::/32");
        assertThat(c.sshPort).isEqualTo(2222);
        assertThat(c.priceCurrency).isEqualTo("EUR");
        assertThat(c.priceCacheTtl).isEqualTo(Duration.ofMinutes(90));
        assertThat(c.pricesUrl).isEqualTo(URI.create("http://127.0.0.1:8089/api/retail/prices"));
        assertThat(c.endpoint).contains(URI.create("https://management.chinacloudapi.cn/"));
        assertThat(c.authorityHost).contains(URI.create("https://login.chinacloudapi.cn/"));
    }

    @Test
    void durationsInIsoFormAndOtherUnitsAreRead() {
        assertThat(AzureGateConfig.parse(with("price-cache-ttl", "PT6H")).priceCacheTtl).isEqualTo(Duration.ofHours(6));
        assertThat(AzureGateConfig.parse(with("price-cache-ttl", "2d")).priceCacheTtl).isEqualTo(Duration.ofDays(2));
        assertThat(AzureGateConfig.parse(with("price-cache-ttl", "45s")).priceCacheTtl)
                .isEqualTo(Duration.ofSeconds(45));
    }

    @Test
    void theWholeInternetIsNeverASshSource() {
        for (String any : List.of("*", "0.0.0.0/0", "::/0", "Internet", "any")) {
            assertThat(refused(with("ssh-sources", any))).hasMessageContaining("ssh-sources")
                    .hasMessageContaining("whole internet");
        }
        // The option that claimed to allow it is gone: an unknown option is refused, not silently ignored.
        Map<String, String> o = with("ssh-sources", "203.0.113.0/24");
        o.put("ssh-sources-any", "true");
        assertThat(refused(o)).hasMessageContaining("ssh-sources-any");
    }

    @ParameterizedTest(name = "{0}={1}")
    @CsvSource(delimiter = '|', nullValues = "NULL", value = {
            "subscription-id|NULL|subscription-id is required",
            "subscription-id|not-a-guid|subscription-id must be a GUID",
            "subscription-id|'  '|subscription-id is empty",
            "tenant-id|NULL|tenant-id is required with client-secret",
            "tenant-id|has space|tenant-id must be a directory",
            "client-id|NULL|client-id is required with client-secret",
            "client-id|x|client-id must be a GUID",
            "client-secret|NULL|client-secret or client-certificate or credential: default is required",
            "region|NULL|region is required",
            "region|East US|region must be an Azure region name",
            "vm-sizes|NULL|vm-sizes is required",
            "vm-sizes|'Standard_D2s_v5,,Standard_D4s_v5'|vm-sizes has an empty entry",
            "vm-sizes|Standard D2|vm-sizes has 'Standard D2'",
            "vm-sizes|'Standard_D2s_v5,Standard_D2s_v5'|vm-sizes names Standard_D2s_v5 twice",
            "images|Canonical:ubuntu|images has 'Canonical:ubuntu', which is not publisher:offer:sku[:version]",
            "images|Canonical:ubuntu:server:newest|whose version 'newest' is neither latest",
            "images|Canonical::server|whose offer '' is not a marketplace name",
            "images|'a:b:c,a:b:c:1.0'|images names b/c twice",
            "admin-user|root|admin-user 'root' is a name Azure reserves",
            "admin-user|Administrator|admin-user 'Administrator' is a name Azure reserves",
            "admin-user|9lives|admin-user '9lives' is not a Linux user name",
            "ssh-sources|NULL|ssh-sources is required",
            "ssh-sources|10.0.0.0/33|ssh-sources has '10.0.0.0/33'",
            "ssh-sources|300.1.1.1/8|ssh-sources has '300.1.1.1/8'",
            "ssh-sources|example.com|ssh-sources has 'example.com'",
            "ssh-sources|10.0.0.0/x|ssh-sources has '10.0.0.0/x'",
            "ssh-port|0|ssh-port must be a port number from 1 to 65535, got '0'",
            "ssh-port|22x|ssh-port must be a port number",
            "ssh-port|70000|ssh-port must be a port number",
            "price-currency|XYZ|price-currency must be one the Retail Prices API answers in",
            "price-cache-ttl|0h|price-cache-ttl must be a positive duration",
            "price-cache-ttl|soon|price-cache-ttl must be a positive duration",
            "price-cache-ttl|-PT1H|price-cache-ttl must be a positive duration",
            "prices-url|ftp://prices|prices-url must be an http(s) URL",
            "prices-url|https://prices.azure.com/api?x=1|prices-url must be an http(s) URL without query",
            "endpoint|not a url|endpoint is not a URL",
            "endpoint|http://127.0.0.1:8080|endpoint must be an https URL",
            "authority-host|http://login.example|authority-host must be an https URL",
            "vm-size|Standard_D2s_v5|vm-size is not an option of the azure gate (did you mean vm-sizes?)",
            "subscription_id|x|subscription_id is not an option of the azure gate (did you mean subscription-id?)",
            "colour|blue|colour is not an option of the azure gate; the options are",
    })
    void aBadOptionIsRefusedNamingItsKey(String key, String value, String message) {
        assertThat(refused(with(key, value))).hasMessageContaining("azure gate option").hasMessageContaining(message);
    }

    @Test
    void oneCredentialOnly() {
        Map<String, String> o = valid();
        o.put("credential", "default");
        assertThat(refused(o)).hasMessageContaining("credential cannot be combined with client-secret");
        Map<String, String> p = valid();
        p.put("client-certificate-password", "pw");
        assertThat(refused(p)).hasMessageContaining("client-certificate-password is only used with client-certificate");
    }

    @Test
    void theDefaultCredentialNeedsNoTenantOrClient() {
        Map<String, String> o = valid();
        o.remove("client-secret");
        o.remove("tenant-id");
        o.remove("client-id");
        o.put("credential", "default");
        AzureGateConfig c = AzureGateConfig.parse(o);
        assertThat(c.credential).isInstanceOf(AzureGateConfig.DefaultCredential.class);
        assertThat(c.tenantId).isEmpty();
        o.put("credential", "managed");
        assertThat(refused(o)).hasMessageContaining("credential must be 'default'");
    }

    @Test
    void aCertificateIsAPemWithKeyAndCertificateOrAPfxWithItsPassword() throws IOException {
        HeldCertificate rsa = new HeldCertificate.Builder().commonName("sp").rsa2048().build();
        Path pem = dir.resolve("node.pem");
        Files.writeString(pem, rsa.privateKeyPkcs8Pem() + rsa.certificatePem());
        Map<String, String> o = valid();
        o.remove("client-secret");
        o.put("client-certificate", pem.toString());
        AzureGateConfig c = AzureGateConfig.parse(o);
        assertThat(c.credential).isEqualTo(new AzureGateConfig.ClientCertificate(pem, false, Optional.empty()));

        o.put("client-certificate-password", "pw");
        assertThat(refused(o)).hasMessageContaining("client-certificate-password is only used with a PFX");
        o.remove("client-certificate-password");

        Path certOnly = dir.resolve("cert.pem");
        Files.writeString(certOnly, rsa.certificatePem());
        o.put("client-certificate", certOnly.toString());
        assertThat(refused(o)).hasMessageContaining("client-certificate names " + certOnly)
                .hasMessageContaining("no unencrypted PEM private key");

        Path keyOnly = dir.resolve("key.pem");
        Files.writeString(keyOnly, rsa.privateKeyPkcs8Pem());
        o.put("client-certificate", keyOnly.toString());
        assertThat(refused(o)).hasMessageContaining("holds no PEM certificate");

        HeldCertificate ec = new HeldCertificate.Builder().commonName("node").ecdsa256().build();
        Path ecPem = dir.resolve("ec.pem");
        Files.writeString(ecPem, ec.privateKeyPkcs8Pem() + ec.certificatePem());
        o.put("client-certificate", ecPem.toString());
        String keyBody = ec.privateKeyPkcs8Pem().split("\n")[1];
        assertThat(refused(o)).hasMessageContaining("is not RSA").hasMessageNotContaining(keyBody);

        Path pkcs1 = dir.resolve("pkcs1.pem");
        Files.writeString(pkcs1, "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n"
                + rsa.certificatePem());
        o.put("client-certificate", pkcs1.toString());
        assertThat(refused(o)).hasMessageContaining("PKCS#1").hasMessageNotContaining("AAAA");

        o.put("client-certificate", dir.resolve("missing.pem").toString());
        assertThat(refused(o)).hasMessageContaining("which is not a readable file");

        Path pfx = dir.resolve("node.pfx");
        Files.write(pfx, new byte[] {0x30, 0x01});
        o.put("client-certificate", pfx.toString());
        assertThat(refused(o)).hasMessageContaining("client-certificate-password is required");
        o.put("client-certificate-password", "pfx-password-1234");
        AzureGateConfig withPfx = AzureGateConfig.parse(o);
        assertThat(withPfx.credential).isInstanceOf(AzureGateConfig.ClientCertificate.class);
        assertThat(withPfx.toString()).doesNotContain("pfx-password-1234").contains("***");
    }

    @Test
    void toStringShowsNoSecret() {
        AzureGateConfig c = AzureGateConfig.parse(valid());
        assertThat(c.toString()).doesNotContain(AzureWire.SECRET).contains("ClientSecret[secret=***]")
                .contains(AzureWire.SUB);
        assertThat(c.credential.toString()).doesNotContain(AzureWire.SECRET);
        assertThat(new Secret("abc").toString()).isEqualTo("***");
        assertThat(new Secret("abc").scrub("x abc y")).isEqualTo("x *** y");
    }

    @Test
    void theEngineDerivedOptionsAreAccepted() {
        for (String key : AzureGateConfig.ENGINE_KEYS) {
            AzureGateConfig.parse(with(key, "1"));
        }
    }
}
