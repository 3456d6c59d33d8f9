package dev.skyport.gate.azure;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;

/**
 * The cloud-init custom data of one VM: its ed25519 host key (so the fingerprints are known before it boots), key-only SSH,
 * no root login and, on the head, the compute nodes' host public keys in {@code /etc/ssh/ssh_known_hosts} so that
 * head-to-compute logins are pinned too. Nothing secret beyond the VM's own host keys: Microsoft advises against
 * secrets in custom data, and the partition's private key is the engine's to place on the head over SSH.
 */
final class CloudInit {
    /** Azure's limit on custom data, counted after base64 decoding. */
    static final int MAX_BYTES = 65_535;

    /** A line of the head's known-hosts file: a compute node's addresses and its ed25519 public key. */
    record KnownHost(List<String> names, String publicKey) {
        String line() {
            String[] parts = publicKey.trim().split("\\s+");
            return String.join(",", names) + " " + parts[0] + " " + parts[1];
        }
    }

    private CloudInit() {
    }

    static String render(PartitionKeys.HostKeys keys, List<KnownHost> knownHosts) {
        StringBuilder y = new StringBuilder("#cloud-config\n");
        y.append("ssh_pwauth: false\n");
        y.append("disable_root: true\n");
        // the image's own keys are replaced by ours; generating others would only show keys nobody pinned
        y.append("ssh_deletekeys: true\n");
        y.append("ssh_genkeytypes: []\n");
        y.append("ssh_keys:\n");
        block(y, "  ed25519_private", keys.ed25519Private());
        y.append("  ed25519_public: ").append(keys.ed25519Public().trim()).append('\n');
        if (!knownHosts.isEmpty()) {
            y.append("write_files:\n");
            y.append("  - path: /etc/ssh/ssh_known_hosts\n");
            y.append("    permissions: '0644'\n");
            y.append("    owner: root:root\n");
            StringBuilder lines = new StringBuilder();
            for (KnownHost h : knownHosts) {
                lines.append(h.line()).append('\n');
            }
            block(y, "    content", lines.toString());
        }
        return y.toString();
    }

    static String base64(String cloudConfig) {
        return Base64.getEncoder().encodeToString(cloudConfig.getBytes(StandardCharsets.UTF_8));
    }

    static int size(String cloudConfig) {
        return cloudConfig.getBytes(StandardCharsets.UTF_8).length;
    }

    private static void block(StringBuilder y, String key, String text) {
        String indent = " ".repeat(key.length() - key.stripLeading().length() + 2);
        y.append(key).append(": |\n");
        for (String line : text.strip().split("\n")) {
            y.append(indent).append(line).append('\n');
        }
    }
}
