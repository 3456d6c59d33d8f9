package dev.skyport.gate.slurm;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/** Tokens the gate signs are renewed before they expire; the real cluster accepts them (see SlurmGateTest). */
class JwtTokensTest {
    @TempDir
    Path dir;

    @Test
    void aSignedTokenIsKeptUntilAQuarterOfItsLifeIsLeftThenRenewed() throws Exception {
        Path key = dir.resolve("jwt.key");
        Files.write(key, new byte[32]);
        AtomicReference<Instant> now = new AtomicReference<>(Instant.ofEpochSecond(1_800_000_000L));
        Clock clock = new Clock() {
            @Override
            public ZoneOffset getZone() {
                return ZoneOffset.UTC;
            }

            @Override
            public Clock withZone(java.time.ZoneId zone) {
                return this;
            }

            @Override
            public Instant instant() {
                return now.get();
            }
        };
        JwtTokens tokens = JwtTokens.signed(key, "alice", Duration.ofMinutes(40), clock);

        String first = tokens.token();
        assertThat(claims(first)).isEqualTo("{\"exp\":1800002400,\"iat\":1800000000,\"sun\":\"alice\"}");
        now.set(now.get().plus(Duration.ofMinutes(29)));
        assertThat(tokens.token()).isEqualTo(first);
        now.set(now.get().plus(Duration.ofMinutes(1)));
        String renewed = tokens.token();
        assertThat(renewed).isNotEqualTo(first);
        assertThat(claims(renewed)).contains("\"iat\":1800001800");
        assertThat(tokens.toString()).doesNotContain(first).doesNotContain(renewed);
    }

    @Test
    void aTokenFileIsReadAsScontrolWritesIt() throws Exception {
        Path file = dir.resolve("token");
        Files.writeString(file, "SLURM_JWT=aaa.bbb.ccc\n");
        JwtTokens tokens = JwtTokens.fromFile(file);
        assertThat(tokens.token()).isEqualTo("aaa.bbb.ccc");
        Files.writeString(file, "export SLURM_JWT=dddd.eeee.ffff\n");
        assertThat(tokens.token()).isEqualTo("dddd.eeee.ffff");
        assertThat(tokens.toString()).doesNotContain("dddd");
    }

    private static String claims(String token) {
        return new String(Base64.getUrlDecoder().decode(token.split("\\.")[1]), StandardCharsets.UTF_8);
    }
}
