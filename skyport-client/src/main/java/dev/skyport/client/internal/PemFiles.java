package dev.skyport.client.internal;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * PEM certificates and keys with the JDK alone, in the forms the daemon's PKI and upstream's OpenSSL setup write:
 * certificates, PKCS#8 {@code PRIVATE KEY}, and the traditional {@code RSA PRIVATE KEY} (PKCS#1) and
 * {@code EC PRIVATE KEY} (SEC 1), which are wrapped into PKCS#8 here. Encrypted keys are refused, as the upstream
 * clients cannot read them either.
 */
public final class PemFiles {
    private static final Pattern BLOCK = Pattern.compile(
            "-----BEGIN ([A-Z0-9 ]+)-----([^-]*)-----END \\1-----");
    private static final byte[] RSA_OID = {0x06, 0x09, 0x2a, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xf7, 0x0d, 0x01,
            0x01, 0x01};
    private static final byte[] EC_OID = {0x06, 0x07, 0x2a, (byte) 0x86, 0x48, (byte) 0xce, 0x3d, 0x02, 0x01};

    private PemFiles() {
    }

    /** Every certificate in {@code file}, in file order; at least one. */
    public static List<X509Certificate> readCertificates(Path file) {
        List<X509Certificate> certificates = new ArrayList<>();
        try {
            CertificateFactory factory = CertificateFactory.getInstance("X.509");
            for (Block block : blocks(file)) {
                if (block.type.equals("CERTIFICATE")) {
                    certificates.add((X509Certificate) factory.generateCertificate(
                            new ByteArrayInputStream(block.der)));
                }
            }
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException(file + ": not a valid certificate (" + e.getMessage() + ")", e);
        }
        if (certificates.isEmpty()) {
            throw new IllegalArgumentException(file + ": no CERTIFICATE block");
        }
        return certificates;
    }

    /** The first private key in {@code file}. */
    public static PrivateKey readPrivateKey(Path file) {
        for (Block block : blocks(file)) {
            try {
                switch (block.type) {
                    case "PRIVATE KEY":
                        return pkcs8(block.der, algorithmOf(block.der));
                    case "RSA PRIVATE KEY":
                        return pkcs8(wrap(sequence(RSA_OID, new byte[] {0x05, 0x00}), block.der), "RSA");
                    case "EC PRIVATE KEY":
                        return pkcs8(wrap(sequence(EC_OID, curveOf(block.der)), block.der), "EC");
                    case "ENCRYPTED PRIVATE KEY":
                        throw new IllegalArgumentException(file + ": the key is encrypted; the client reads only"
                                + " unencrypted keys (as the upstream clients do)");
                    default:
                        break;
                }
            } catch (GeneralSecurityException | RuntimeException e) {
                if (e instanceof IllegalArgumentException && e.getMessage() != null
                        && e.getMessage().startsWith(file.toString())) {
                    throw (IllegalArgumentException) e;
                }
                throw new IllegalArgumentException(file + ": not a valid " + block.type + " (" + e.getMessage() + ")",
                        e);
            }
        }
        throw new IllegalArgumentException(file + ": no PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY block");
    }

    private record Block(String type, byte[] der) {
    }

    private static List<Block> blocks(Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read " + file + ": " + e.getMessage(), e);
        }
        List<Block> blocks = new ArrayList<>();
        Matcher m = BLOCK.matcher(text);
        while (m.find()) {
            String body = m.group(2).replaceAll("\\s+", "");
            if (body.contains(":")) { // headers such as Proc-Type: 4,ENCRYPTED
                throw new IllegalArgumentException(file + ": the key is encrypted; the client reads only unencrypted"
                        + " keys (as the upstream clients do)");
            }
            try {
                blocks.add(new Block(m.group(1), Base64.getDecoder().decode(body)));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(file + ": a " + m.group(1) + " block is not valid base64", e);
            }
        }
        return blocks;
    }

    private static PrivateKey pkcs8(byte[] der, String algorithm) throws GeneralSecurityException {
        return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
    }

    /** The key algorithm named by a PKCS#8 structure's AlgorithmIdentifier. */
    private static String algorithmOf(byte[] pkcs8) {
        return indexOf(pkcs8, EC_OID) >= 0 ? "EC" : indexOf(pkcs8, RSA_OID) >= 0 ? "RSA"
                : indexOf(pkcs8, new byte[] {0x06, 0x03, 0x2b, 0x65, 0x70}) >= 0 ? "Ed25519" : "RSA";
    }

    /** The named-curve OID of a SEC 1 ECPrivateKey: the OBJECT IDENTIFIER inside its [0] parameters. */
    private static byte[] curveOf(byte[] sec1) {
        Der outer = new Der(sec1, 0);
        int pos = outer.contentStart;
        while (pos < outer.end) {
            Der element = new Der(sec1, pos);
            if ((sec1[pos] & 0xff) == 0xa0) {
                Der oid = new Der(sec1, element.contentStart);
                return java.util.Arrays.copyOfRange(sec1, element.contentStart, oid.end);
            }
            pos = element.end;
        }
        throw new IllegalArgumentException("the EC key names no curve");
    }

    /** PKCS#8 PrivateKeyInfo: version 0, the algorithm, the traditional key as an OCTET STRING. */
    private static byte[] wrap(byte[] algorithm, byte[] key) {
        return tlv(0x30, concat(new byte[] {0x02, 0x01, 0x00}, algorithm, tlv(0x04, key)));
    }

    private static byte[] sequence(byte[]... parts) {
        return tlv(0x30, concat(parts));
    }

    private static byte[] tlv(int tag, byte[] content) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(tag);
        int n = content.length;
        if (n < 0x80) {
            out.write(n);
        } else {
            int bytes = n > 0xffffff ? 4 : n > 0xffff ? 3 : n > 0xff ? 2 : 1;
            out.write(0x80 | bytes);
            for (int i = bytes - 1; i >= 0; i--) {
                out.write(n >>> (8 * i));
            }
        }
        out.writeBytes(content);
        return out.toByteArray();
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] part : parts) {
            out.writeBytes(part);
        }
        return out.toByteArray();
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    /** One DER element at {@code start}: where its content starts and where it ends. */
    private static final class Der {
        final int contentStart;
        final int end;

        Der(byte[] der, int start) {
            if (start + 2 > der.length) {
                throw new IllegalArgumentException("truncated DER");
            }
            int first = der[start + 1] & 0xff;
            int length;
            int header;
            if (first < 0x80) {
                length = first;
                header = 2;
            } else {
                int bytes = first & 0x7f;
                if (bytes == 0 || bytes > 4 || start + 2 + bytes > der.length) {
                    throw new IllegalArgumentException("bad DER length");
                }
                length = 0;
                for (int i = 0; i < bytes; i++) {
                    length = (length << 8) | (der[start + 2 + i] & 0xff);
                }
                header = 2 + bytes;
            }
            contentStart = start + header;
            end = contentStart + length;
            if (length < 0 || end > der.length) {
                throw new IllegalArgumentException("truncated DER");
            }
        }
    }
}
