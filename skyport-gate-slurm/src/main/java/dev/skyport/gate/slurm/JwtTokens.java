package dev.skyport.gate.slurm;

import dev.skyport.gate.GateException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.GeneralSecurityException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Objects;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Where the gate's JWT for slurmrestd comes from: a file an administrator's {@code scontrol token} keeps fresh, re-read
 * whenever it changes, or HS256 tokens the gate signs itself with the cluster's {@code jwt_key} and renews before they
 * expire. A token is a credential: it never appears in a message, a log line or {@code toString()}.
 */
abstract class JwtTokens {
    /** The token to send now. */
    abstract String token();

    /** How the token is obtained, for messages (no secret). */
    abstract String describe();

    @Override
    public final String toString() {
        return describe();
    }

    static JwtTokens fromFile(Path file) {
        return new FromFile(file);
    }

    static JwtTokens signed(Path keyFile, String user, Duration lifetime, Clock clock) {
        return new Signed(keyFile, user, lifetime, clock);
    }

    /** Tokens signed for any user with the key in {@code keyFile}, each user's renewed on its own. */
    static java.util.function.Function<String, JwtTokens> signedForEach(Path keyFile, Duration lifetime, Clock clock) {
        java.util.Map<String, JwtTokens> byUser = new java.util.concurrent.ConcurrentHashMap<>();
        return user -> byUser.computeIfAbsent(user, u -> new Signed(keyFile, u, lifetime, clock));
    }

    private static final class FromFile extends JwtTokens {
        private final Path file;
        private FileTime modified;
        private long size = -1;
        private String token;

        FromFile(Path file) {
            this.file = Objects.requireNonNull(file, "file");
            token();
        }

        @Override
        synchronized String token() {
            try {
                FileTime m = Files.getLastModifiedTime(file);
                long s = Files.size(file);
                if (token == null || !m.equals(modified) || s != size) {
                    token = parse(Files.readString(file, StandardCharsets.UTF_8));
                    modified = m;
                    size = s;
                }
                return token;
            } catch (IOException e) {
                if (token != null) {
                    // Being replaced right now (a rename over it): the previous token is still good for a moment.
                    return token;
                }
                throw GateException.permanent("slurm gate option jwt-token-file: cannot read " + file + " ("
                        + e.getClass().getSimpleName() + ")");
            }
        }

        /** The token in the file: alone, or as {@code scontrol token} prints it ({@code SLURM_JWT=...}). */
        private String parse(String content) {
            for (String line : content.split("\n")) {
                String l = line.strip();
                if (l.startsWith("export ")) {
                    l = l.substring("export ".length()).strip();
                }
                if (l.startsWith("SLURM_JWT=")) {
                    l = l.substring("SLURM_JWT=".length()).strip();
                }
                if (!l.isEmpty()) {
                    if (!l.matches("[A-Za-z0-9_=-]+\\.[A-Za-z0-9_=-]+\\.[A-Za-z0-9_=-]*")) {
                        throw GateException.permanent("slurm gate option jwt-token-file: " + file
                                + " holds no JWT (a line 'SLURM_JWT=<token>' or the token alone)");
                    }
                    return l;
                }
            }
            throw GateException.permanent("slurm gate option jwt-token-file: " + file + " is empty");
        }

        @Override
        String describe() {
            return "the token in " + file;
        }
    }

    private static final class Signed extends JwtTokens {
        private final byte[] key;
        private final String user;
        private final Duration lifetime;
        private final Clock clock;
        private String token;
        private Instant renewAt = Instant.MIN;

        Signed(Path keyFile, String user, Duration lifetime, Clock clock) {
            try {
                this.key = Files.readAllBytes(keyFile);
            } catch (IOException e) {
                throw GateException.permanent("slurm gate option jwt-key-file: cannot read " + keyFile + " ("
                        + e.getClass().getSimpleName() + ")");
            }
            if (key.length < 16) {
                throw GateException.permanent("slurm gate option jwt-key-file: " + keyFile + " holds " + key.length
                        + " bytes; Slurm's jwt_key is at least 16 (32 random bytes usually)");
            }
            this.user = user;
            this.lifetime = lifetime;
            this.clock = clock;
        }

        @Override
        synchronized String token() {
            Instant now = clock.instant();
            if (token == null || !now.isBefore(renewAt)) {
                long iat = now.getEpochSecond();
                long exp = now.plus(lifetime).getEpochSecond();
                String header = b64("{\"alg\":\"HS256\",\"typ\":\"JWT\"}");
                String claims = b64("{\"exp\":" + exp + ",\"iat\":" + iat + ",\"sun\":\"" + user + "\"}");
                String signingInput = header + "." + claims;
                token = signingInput + "." + Base64.getUrlEncoder().withoutPadding().encodeToString(hmac(signingInput));
                // Renewed when a quarter of its life is left, so that a request in flight never carries an expired one.
                renewAt = now.plus(lifetime.multipliedBy(3).dividedBy(4));
            }
            return token;
        }

        private byte[] hmac(String input) {
            try {
                Mac mac = Mac.getInstance("HmacSHA256");
                mac.init(new SecretKeySpec(key, "HmacSHA256"));
                return mac.doFinal(input.getBytes(StandardCharsets.US_ASCII));
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
            }
        }

        private static String b64(String json) {
            return Base64.getUrlEncoder().withoutPadding().encodeToString(json.getBytes(StandardCharsets.UTF_8));
        }

        @Override
        String describe() {
            return "tokens signed for " + user + " with the key file (renewed every "
                    + lifetime.multipliedBy(3).dividedBy(4).toMinutes() + " min)";
        }
    }
}
