package dev.skyport.gate.azure;

import dev.skyport.gate.GateException;
import dev.skyport.gate.GateOptions;

import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The Azure gate's options, parsed and checked before anything is started: every key is known, every value has its
 * shape, and an error is a permanent {@link GateException} that names the key (never a secret's value). Immutable;
 * secrets are held as {@link Secret}, so {@link #toString()} shows none.
 */
final class AzureGateConfig {
    /** The image a partition gets when {@code images} is not set: Ubuntu 24.04 LTS, Gen2 (az CLI alias Ubuntu2404). */
    static final String DEFAULT_IMAGE = "Canonical:ubuntu-24_04-lts:server:latest";
    static final String DEFAULT_PRICES_URL = "https://prices.azure.com/api/retail/prices";

    static final Set<String> KEYS = Set.of("subscription-id", "tenant-id", "client-id", "client-secret",
            "client-certificate", "client-certificate-password", "credential", "region", "vm-sizes", "images",
            "admin-user", "ssh-sources", "ssh-port", "price-currency", "price-cache-ttl",
            "prices-url", "endpoint", "authority-host");
    /**
     * Options the engine builder derives from settings of its own and hands to every gate it opens (as the ssh gate
     * accepts them); the partition's nodes are reached through the engine's SSH access, so they are accepted here and
     * not used by the gate itself.
     */
    static final Set<String> ENGINE_KEYS = Set.of("job-isolation", "job-isolation-required", "job-isolation-hide",
            "job-accounts", "job-account", "forward-out-ports", "cpus", "memoryBytes");

    /**
     * User names Azure refuses for a Linux VM's administrator (the API answers 400 InvalidParameter at VM creation,
     * after the partition's network was paid for): refused at start instead.
     */
    static final Set<String> RESERVED_ADMIN_USERS = Set.of("administrator", "admin", "user", "user1", "test", "user2",
            "test1", "user3", "admin1", "1", "123", "a", "actuser", "adm", "admin2", "aspnet", "backup", "console",
            "david", "guest", "john", "owner", "root", "server", "sql", "support", "support_388945a0", "sys", "test2",
            "test3", "user4", "user5");

    /** The currencies the Retail Prices API answers in (Microsoft's list for {@code currencyCode}). */
    static final Set<String> CURRENCIES = Set.of("USD", "AUD", "BRL", "CAD", "CHF", "CNY", "DKK", "EUR", "GBP",
            "INR", "JPY", "KRW", "NOK", "NZD", "RUB", "SEK", "TWD");

    private static final Pattern GUID =
            Pattern.compile("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");
    private static final Pattern DOMAIN = Pattern.compile("[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\\.[A-Za-z0-9-]{1,63})+");
    private static final Pattern REGION = Pattern.compile("[a-z][a-z0-9]{1,40}");
    private static final Pattern VM_SIZE = Pattern.compile("[A-Za-z][A-Za-z0-9_-]{0,79}");
    private static final Pattern IMAGE_PART = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,99}");
    private static final Pattern IMAGE_VERSION = Pattern.compile("latest|\\d{1,9}(?:\\.\\d{1,18}){0,3}");
    private static final Pattern ADMIN_USER = Pattern.compile("[a-z_][a-z0-9_-]{0,31}");
    private static final Pattern DURATION = Pattern.compile("(\\d{1,9})\\s*(ms|s|m|h|d)");

    /** How the gate authenticates to Azure. */
    sealed interface Credential permits ClientSecret, ClientCertificate, DefaultCredential {
        /** The option that holds it, for error messages. */
        String key();
    }

    record ClientSecret(Secret secret) implements Credential {
        public String key() {
            return "client-secret";
        }
    }

    /** A PEM (key and certificate, as upstream) or a PFX/PKCS#12 file with its password. */
    record ClientCertificate(Path path, boolean pfx, Optional<Secret> password) implements Credential {
        public String key() {
            return "client-certificate";
        }
    }

    /** {@code DefaultAzureCredential}: environment, workload or managed identity, az CLI login. */
    record DefaultCredential() implements Credential {
        public String key() {
            return "credential";
        }
    }

    final String subscriptionId;
    final Optional<String> tenantId;
    final Optional<String> clientId;
    final Credential credential;
    final String region;
    final List<String> vmSizes;
    final List<ImageRef> images;
    final String adminUser;
    final List<String> sshSources;
    final int sshPort;
    final String priceCurrency;
    final Duration priceCacheTtl;
    final URI pricesUrl;
    final Optional<URI> endpoint;
    final Optional<URI> authorityHost;

    private AzureGateConfig(Map<String, String> o) {
        List<String> unknown = new ArrayList<>();
        for (String key : new TreeSet<>(o.keySet())) {
            if (!KEYS.contains(key) && !ENGINE_KEYS.contains(key)) {
                unknown.add(key);
            }
        }
        if (!unknown.isEmpty()) {
            throw refused(unknown.get(0), "is not an option of the azure gate" + suggestion(unknown.get(0))
                    + "; the options are " + new TreeSet<>(KEYS));
        }
        subscriptionId = guid(o, "subscription-id", required(o, "subscription-id"));
        tenantId = optional(o, "tenant-id").map(t -> {
            if (!GUID.matcher(t).matches() && !DOMAIN.matcher(t).matches()) {
                throw refused("tenant-id", "must be a directory (tenant) id (a GUID) or its domain name, got '" + t
                        + "'");
            }
            return t;
        });
        clientId = optional(o, "client-id").map(c -> guid(o, "client-id", c));
        credential = credential(o);
        if (!(credential instanceof DefaultCredential)) {
            if (tenantId.isEmpty()) {
                throw refused("tenant-id", "is required with " + credential.key());
            }
            if (clientId.isEmpty()) {
                throw refused("client-id", "is required with " + credential.key()
                        + " (the service principal's application id)");
            }
        }
        String r = required(o, "region").toLowerCase(Locale.ROOT);
        if (!REGION.matcher(r).matches()) {
            throw refused("region", "must be an Azure region name such as eastus or westeurope (no spaces), got '"
                    + o.get("region").strip() + "'");
        }
        region = r;
        vmSizes = vmSizes(required(o, "vm-sizes"));
        images = images(optional(o, "images").orElse(DEFAULT_IMAGE));
        adminUser = adminUser(optional(o, "admin-user").orElse("skyport"));
        sshSources = sshSources(required(o, "ssh-sources"));
        sshPort = port(o, "ssh-port", 22);
        String currency = optional(o, "price-currency").orElse("USD").toUpperCase(Locale.ROOT);
        if (!CURRENCIES.contains(currency)) {
            throw refused("price-currency", "must be one the Retail Prices API answers in: "
                    + new TreeSet<>(CURRENCIES) + ", got '" + o.get("price-currency").strip() + "'");
        }
        priceCurrency = currency;
        priceCacheTtl = duration(o, "price-cache-ttl", Duration.ofHours(24));
        pricesUrl = url(o, "prices-url", false).orElse(URI.create(DEFAULT_PRICES_URL));
        // https only: the SDK's token policy refuses to send a bearer token over http.
        endpoint = url(o, "endpoint", true);
        authorityHost = url(o, "authority-host", true);
    }

    /**
     * Parses and checks the gate's options.
     *
     * @throws GateException (permanent) naming the first key that is unknown, missing or wrong
     */
    static AzureGateConfig parse(Map<String, String> options) {
        Objects.requireNonNull(options, "options");
        return new AzureGateConfig(options);
    }

    /** The names the SDK and the Retail Prices API know the region by are the same lower-case name. */
    String region() {
        return region;
    }

    private static Credential credential(Map<String, String> o) {
        List<String> given = new ArrayList<>();
        for (String k : List.of("client-secret", "client-certificate", "credential")) {
            if (o.containsKey(k)) {
                given.add(k);
            }
        }
        if (given.isEmpty()) {
            throw refused("client-secret", "or client-certificate or credential: default is required (how the gate"
                    + " signs in to Azure)");
        }
        if (given.size() > 1) {
            throw refused(given.get(1), "cannot be combined with " + given.get(0) + ": give one credential");
        }
        if (o.containsKey("client-certificate-password") && !given.get(0).equals("client-certificate")) {
            throw refused("client-certificate-password", "is only used with client-certificate");
        }
        return switch (given.get(0)) {
            case "client-secret" -> {
                String s = o.get("client-secret");
                if (s.isBlank()) {
                    throw refused("client-secret", "is empty");
                }
                yield new ClientSecret(new Secret(s));
            }
            case "client-certificate" -> certificate(o);
            default -> {
                String v = o.get("credential").strip();
                if (!v.equals("default")) {
                    throw refused("credential", "must be 'default' (DefaultAzureCredential: environment, managed"
                            + " identity or az login), or use client-secret or client-certificate");
                }
                yield new DefaultCredential();
            }
        };
    }

    private static ClientCertificate certificate(Map<String, String> o) {
        String raw = o.get("client-certificate").strip();
        if (raw.isEmpty()) {
            throw refused("client-certificate", "is empty; it names a PEM file with the key and the certificate");
        }
        Path path = Path.of(raw);
        if (!Files.isRegularFile(path) || !Files.isReadable(path)) {
            throw refused("client-certificate", "names " + path + ", which is not a readable file");
        }
        String lower = path.getFileName().toString().toLowerCase(Locale.ROOT);
        boolean pfx = lower.endsWith(".pfx") || lower.endsWith(".p12");
        Optional<Secret> password = Optional.ofNullable(o.get("client-certificate-password")).map(Secret::new);
        if (pfx && password.isEmpty()) {
            throw refused("client-certificate-password", "is required for the PKCS#12 file " + path);
        }
        if (!pfx) {
            if (password.isPresent()) {
                throw refused("client-certificate-password", "is only used with a PFX/PKCS#12 certificate (.pfx,"
                        + " .p12); a PEM's key is not encrypted");
            }
            String pem;
            try {
                pem = Files.readString(path, StandardCharsets.US_ASCII);
            } catch (java.io.IOException | java.io.UncheckedIOException e) {
                throw refused("client-certificate", "names " + path + ", which cannot be read as PEM text");
            }
            checkPem(path, pem);
        }
        return new ClientCertificate(path, pfx, password);
    }

    private static final Pattern PKCS8 =
            Pattern.compile("-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\\s]+)-----END PRIVATE KEY-----");

    /**
     * What azure-identity reads from a PEM (measured on 1.15: its {@code CertificateUtil}): a certificate and an
     * unencrypted PKCS#8 {@code PRIVATE KEY} that is RSA. Anything else fails only at the first token request with
     * "not a valid PEM file", so it is named here; the file's content never appears in a message. The Sky Port node
     * keys {@code skyport certs} makes are EC, so they cannot be used (upstream's node keys were RSA).
     */
    private static void checkPem(Path path, String pem) {
        if (!pem.contains("-----BEGIN CERTIFICATE-----")) {
            throw refused("client-certificate", "names " + path + ", which holds no PEM certificate");
        }
        Matcher key = PKCS8.matcher(pem);
        if (!key.find()) {
            String why = pem.contains("-----BEGIN RSA PRIVATE KEY-----")
                    ? "an RSA key in PKCS#1 form; convert it with openssl pkcs8 -topk8 -nocrypt"
                    : pem.contains("-----BEGIN EC PRIVATE KEY-----") ? "an EC key; Azure accepts RSA certificates only"
                    : pem.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") ? "an encrypted key; use a PFX with"
                    + " client-certificate-password, or an unencrypted PEM"
                    : "no unencrypted PEM private key (the file must hold the key and the certificate)";
            throw refused("client-certificate", "names " + path + ", which holds " + why);
        }
        byte[] der;
        try {
            der = java.util.Base64.getMimeDecoder().decode(key.group(1).replaceAll("\\s", ""));
        } catch (IllegalArgumentException e) {
            throw refused("client-certificate", "names " + path + ", whose private key is not valid base64");
        }
        try {
            java.security.KeyFactory.getInstance("RSA").generatePrivate(new java.security.spec.PKCS8EncodedKeySpec(der));
        } catch (java.security.GeneralSecurityException e) {
            throw refused("client-certificate", "names " + path + ", whose private key is not RSA (an EC key?);"
                    + " Azure accepts RSA certificates only");
        }
    }

    private static List<String> vmSizes(String raw) {
        Set<String> sizes = new LinkedHashSet<>();
        for (String s : raw.split(",")) {
            String size = s.strip();
            if (size.isEmpty()) {
                throw refused("vm-sizes", "has an empty entry; it is a comma list such as Standard_D2s_v5,"
                        + "Standard_D4s_v5");
            }
            if (!VM_SIZE.matcher(size).matches()) {
                throw refused("vm-sizes", "has '" + size + "', which is not a VM size name such as Standard_D2s_v5");
            }
            if (!sizes.add(size)) {
                throw refused("vm-sizes", "names " + size + " twice");
            }
        }
        return List.copyOf(sizes);
    }

    static List<ImageRef> images(String raw) {
        List<ImageRef> images = new ArrayList<>();
        Set<String> names = new LinkedHashSet<>();
        for (String s : raw.split(",")) {
            String entry = s.strip();
            String[] p = entry.split(":", -1);
            if (p.length < 3 || p.length > 4) {
                throw refused("images", "has '" + entry + "', which is not publisher:offer:sku[:version]");
            }
            for (int i = 0; i < 3; i++) {
                if (!IMAGE_PART.matcher(p[i]).matches()) {
                    throw refused("images", "has '" + entry + "', whose " + List.of("publisher", "offer", "sku").get(i)
                            + " '" + p[i] + "' is not a marketplace name");
                }
            }
            String version = p.length == 4 ? p[3] : "latest";
            if (!IMAGE_VERSION.matcher(version).matches()) {
                throw refused("images", "has '" + entry + "', whose version '" + version
                        + "' is neither latest nor a version such as 22.04.202501010");
            }
            ImageRef ref = new ImageRef(p[0], p[1], p[2], version);
            if (!names.add(ref.name())) {
                throw refused("images", "names " + ref.name() + " twice (images are told apart by offer/sku)");
            }
            images.add(ref);
        }
        return List.copyOf(images);
    }

    private static String adminUser(String raw) {
        String user = raw.strip();
        if (RESERVED_ADMIN_USERS.contains(user.toLowerCase(Locale.ROOT))) {
            throw refused("admin-user", "'" + user + "' is a name Azure reserves; choose another, e.g. skyport");
        }
        if (!ADMIN_USER.matcher(user).matches()) {
            throw refused("admin-user", "'" + user + "' is not a Linux user name (lower case letters, digits, _ and"
                    + " -, at most 32, not starting with a digit or -)");
        }
        return user;
    }

    /**
     * The CIDRs allowed to reach SSH and the job ports. The whole internet is refused, with no way around: the engine's
     * address ranges are always known to whoever runs it, and a partition open to everyone is never what is meant.
     */
    private static List<String> sshSources(String raw) {
        List<String> sources = new ArrayList<>();
        for (String s : raw.split(",")) {
            String source = s.strip();
            if (source.isEmpty()) {
                throw refused("ssh-sources", "has an empty entry; it is a comma list of CIDRs such as 203.0.113.0/24");
            }
            boolean everyone = source.equals("*") || source.equalsIgnoreCase("Internet")
                    || source.equalsIgnoreCase("Any");
            if (!everyone) {
                int prefix = cidrPrefix(source);
                everyone = prefix == 0;
            }
            if (everyone) {
                throw refused("ssh-sources", "'" + source + "' opens SSH and the job ports to the whole internet; "
                        + "name the address ranges of the engine");
            }
            sources.add(source);
        }
        return List.copyOf(sources);
    }

    /** The prefix length of a CIDR (a bare address counts as one host), or an error naming ssh-sources. */
    private static int cidrPrefix(String source) {
        String[] p = source.split("/", -1);
        if (p.length > 2) {
            throw badCidr(source);
        }
        String address = p[0];
        boolean v4 = address.matches("\\d{1,3}(?:\\.\\d{1,3}){3}");
        boolean v6 = !v4 && address.contains(":") && address.matches("[0-9A-Fa-f:.]+");
        if (!v4 && !v6) {
            throw badCidr(source);
        }
        byte[] bytes;
        try {
            // Only literal addresses get here (the patterns above), so no name is looked up.
            bytes = InetAddress.getByName(address).getAddress();
        } catch (UnknownHostException e) {
            throw badCidr(source);
        }
        if (v4 && bytes.length != 4) {
            throw badCidr(source);
        }
        int max = bytes.length * 8;
        if (p.length == 1) {
            return max;
        }
        int prefix;
        try {
            prefix = Integer.parseInt(p[1]);
        } catch (NumberFormatException e) {
            throw badCidr(source);
        }
        if (prefix < 0 || prefix > max) {
            throw badCidr(source);
        }
        return prefix;
    }

    private static GateException badCidr(String source) {
        return refused("ssh-sources", "has '" + source + "', which is not an IPv4 or IPv6 address or CIDR such as "
                + "203.0.113.0/24");
    }

    private static boolean bool(Map<String, String> o, String key, boolean fallback) {
        Optional<String> raw = optional(o, key);
        if (raw.isEmpty()) {
            return fallback;
        }
        return switch (raw.get().toLowerCase(Locale.ROOT)) {
            case "true" -> true;
            case "false" -> false;
            default -> throw refused(key, "must be true or false, got '" + raw.get() + "'");
        };
    }

    private static int port(Map<String, String> o, String key, int fallback) {
        Optional<String> raw = optional(o, key);
        if (raw.isEmpty()) {
            return fallback;
        }
        try {
            int p = Integer.parseInt(raw.get());
            if (p >= 1 && p <= 65535) {
                return p;
            }
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw refused(key, "must be a port number from 1 to 65535, got '" + raw.get() + "'");
    }

    /** {@code 90s}, {@code 30m}, {@code 24h}, {@code 2d}, {@code 500ms} or ISO-8601 ({@code PT24H}); positive. */
    static Duration duration(Map<String, String> o, String key, Duration fallback) {
        Optional<String> raw = optional(o, key);
        if (raw.isEmpty()) {
            return fallback;
        }
        String v = raw.get();
        Duration d = null;
        Matcher m = DURATION.matcher(v);
        if (m.matches()) {
            long n = Long.parseLong(m.group(1));
            d = switch (m.group(2)) {
                case "ms" -> Duration.ofMillis(n);
                case "s" -> Duration.ofSeconds(n);
                case "m" -> Duration.ofMinutes(n);
                case "h" -> Duration.ofHours(n);
                default -> Duration.ofDays(n);
            };
        } else if (v.toUpperCase(Locale.ROOT).startsWith("P")) {
            try {
                d = Duration.parse(v.toUpperCase(Locale.ROOT));
            } catch (DateTimeParseException ignored) {
                // reported below
            }
        }
        if (d == null || d.isNegative() || d.isZero()) {
            throw refused(key, "must be a positive duration such as 24h, 30m or PT24H, got '" + v + "'");
        }
        return d;
    }

    private static Optional<URI> url(Map<String, String> o, String key, boolean httpsOnly) {
        Optional<String> raw = optional(o, key);
        if (raw.isEmpty()) {
            return Optional.empty();
        }
        URI uri;
        try {
            uri = new URI(raw.get());
        } catch (URISyntaxException e) {
            throw refused(key, "is not a URL: '" + raw.get() + "'");
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        boolean ok = scheme.equals("https") || (!httpsOnly && scheme.equals("http"));
        if (!ok || uri.getHost() == null || uri.getRawQuery() != null || uri.getRawFragment() != null
                || uri.getRawUserInfo() != null) {
            throw refused(key, "must be an " + (httpsOnly ? "https" : "http(s)") + " URL without query or user"
                    + " info, got '" + raw.get() + "'");
        }
        return Optional.of(uri);
    }

    private static String guid(Map<String, String> o, String key, String v) {
        if (!GUID.matcher(v).matches()) {
            throw refused(key, "must be a GUID such as 00000000-0000-0000-0000-000000000000, got '" + o.get(key).strip()
                    + "'");
        }
        return v.toLowerCase(Locale.ROOT);
    }

    private static String required(Map<String, String> o, String key) {
        return optional(o, key).orElseThrow(() -> refused(key, "is required"));
    }

    private static Optional<String> optional(Map<String, String> o, String key) {
        String v = o.get(key);
        if (v == null) {
            return Optional.empty();
        }
        String s = v.strip();
        if (s.isEmpty()) {
            throw refused(key, "is empty");
        }
        return Optional.of(s);
    }

    /** A near miss of a known key (one edit apart, or a different separator), to name in the error. */
    private static String suggestion(String key) {
        String normal = GateOptions.normalKey(key);
        for (String known : new TreeSet<>(KEYS)) {
            if (known.equals(normal) || GateOptions.editDistance(known, normal) <= 2) {
                return " (did you mean " + known + "?)";
            }
        }
        return "";
    }


    static GateException refused(String key, String why) {
        return GateException.permanent("azure gate option " + key + " " + why);
    }

    @Override
    public String toString() {
        return "AzureGateConfig[subscription-id=" + subscriptionId + ", tenant-id=" + tenantId.orElse("")
                + ", client-id=" + clientId.orElse("") + ", credential=" + credential + ", region=" + region
                + ", vm-sizes=" + vmSizes + ", images=" + images + ", admin-user=" + adminUser + ", ssh-sources="
                + sshSources + ", ssh-port=" + sshPort + ", price-currency=" + priceCurrency + ", price-cache-ttl="
                + priceCacheTtl + ", prices-url=" + pricesUrl + ", endpoint=" + endpoint.map(URI::toString).orElse("")
                + ", authority-host=" + authorityHost.map(URI::toString).orElse("") + "]";
    }
}
