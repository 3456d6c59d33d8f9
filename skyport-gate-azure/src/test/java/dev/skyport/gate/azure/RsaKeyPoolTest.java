package dev.skyport.gate.azure;

import org.junit.jupiter.api.Test;

import java.security.KeyPair;
import java.security.interfaces.RSAPublicKey;

import static org.assertj.core.api.Assertions.assertThat;

class RsaKeyPoolTest {
    @Test
    void keysAreMadeAheadAndEachIsHandedOutOnce() throws Exception {
        try (RsaKeyPool pool = new RsaKeyPool("test", 2)) {
            long end = System.nanoTime() + 60_000_000_000L;
            while (pool.ready() < 2) {
                assertThat(System.nanoTime()).as("two keys made ahead within 60 s").isLessThan(end);
                Thread.sleep(10); // polls the pool's own thread, which has no event to wait on
            }
            KeyPair a = pool.get();
            assertThat(pool.ready()).isLessThanOrEqualTo(2);
            KeyPair b = pool.get();
            assertThat(a.getPublic()).isNotEqualTo(b.getPublic());
            assertThat(((RSAPublicKey) a.getPublic()).getModulus().bitLength()).isEqualTo(3072);
        }
    }

    @Test
    void anEmptyPoolMakesTheKeyOnTheCallersThread() {
        try (RsaKeyPool pool = new RsaKeyPool("test", 0)) {
            assertThat(pool.ready()).isZero();
            assertThat(((RSAPublicKey) pool.get().getPublic()).getModulus().bitLength()).isEqualTo(3072);
        }
    }
}
