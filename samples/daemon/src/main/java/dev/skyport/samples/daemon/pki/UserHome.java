package dev.skyport.samples.daemon.pki;

import java.nio.file.Path;
import java.util.Map;

/**
 * The home directory {@code ~} means: {@code $HOME} when set (the upstream Python clients expand {@code ~/.swm} from
 * it, so a relocated {@code HOME} relocates the client files), else the JVM's {@code user.home}.
 */
public final class UserHome {
    private UserHome() {
    }

    public static Path current() {
        return of(System.getenv(), System.getProperty("user.home"));
    }

    static Path of(Map<String, String> env, String userHome) {
        String home = env.get("HOME");
        return home != null && !home.isBlank() && Path.of(home).isAbsolute() ? Path.of(home) : Path.of(userHome);
    }
}
