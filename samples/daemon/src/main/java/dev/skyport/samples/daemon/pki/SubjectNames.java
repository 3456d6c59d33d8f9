package dev.skyport.samples.daemon.pki;

import org.bouncycastle.util.IPAddress;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/** The rules for the names that go into certificates: user names (also directory names) and server host names. */
final class SubjectNames {
    static final String USER_RULE = "1 to 64 letters, digits, '.', '_' or '-', not starting with '.'";

    private static final Pattern USER = Pattern.compile("[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}");
    // Underscores are not legal in host names, but real hosts have them and OpenSSL matches them as written.
    private static final Pattern LABEL = Pattern.compile("[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?");
    private static final int MAX_HOST_NAME = 253;

    private SubjectNames() {
    }

    /** {@code name} when it is a valid user name; it becomes a directory name under {@code secure/users}. */
    static String userName(String name) {
        if (name == null || !USER.matcher(name).matches()) {
            throw new PkiException("invalid user name \"" + name + "\": use " + USER_RULE);
        }
        return name;
    }

    /**
     * The server names to certify, in order, without duplicates (compared ignoring case). Each is an IP literal or a
     * DNS name (a leading {@code *} label is allowed).
     */
    static List<String> serverNames(List<String> names) {
        Map<String, String> unique = new LinkedHashMap<>();
        for (String name : names) {
            if (!isServerName(name)) {
                throw new PkiException("invalid server name \"" + name + "\": use a DNS name or an IP address");
            }
            unique.putIfAbsent(name.toLowerCase(Locale.ROOT), name);
        }
        if (unique.isEmpty()) {
            throw new PkiException("a server certificate needs at least one name");
        }
        return List.copyOf(new ArrayList<>(unique.values()));
    }

    static boolean isServerName(String name) {
        return name != null && (isIpLiteral(name) || isDnsName(name));
    }

    static boolean isIpLiteral(String name) {
        return IPAddress.isValid(name);
    }

    private static boolean isDnsName(String name) {
        if (name.isEmpty() || name.length() > MAX_HOST_NAME) {
            return false;
        }
        String[] labels = name.split("\\.", -1);
        for (int i = 0; i < labels.length; i++) {
            boolean wildcard = i == 0 && labels.length > 2 && labels[i].equals("*");
            if (!wildcard && !LABEL.matcher(labels[i]).matches()) {
                return false;
            }
        }
        return true;
    }
}
