package dev.skyport.samples.daemon;

import dev.skyport.api.SkyPortException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/** {@code skyport daemon}: runs the daemon until SIGTERM or Ctrl-C. */
@Command(name = "daemon", mixinStandardHelpOptions = true,
        description = {"Runs the Sky Port daemon: the engine behind HTTPS with client certificates (mTLS).",
                "Settings come from skyport.yaml (--config, else ./skyport.yaml when present), then the",
                "environment: SKYPORT_PORT, SKYPORT_BIND, SKYPORT_SPOOL, SKYPORT_DATA_DIR, SKYPORT_GATE,",
                "SKYPORT_SCHEDULER, SKYPORT_MAX_SCRIPT_BYTES, SKYPORT_ADMINS (subjects separated by ';'),",
                "SKYPORT_TLS_PROVIDER (auto, native or jdk: TLS on BoringSSL where it loads, else the JDK's)."})
final class DaemonCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--config", paramLabel = "FILE", description = "the settings file (default ./skyport.yaml)")
    Path config;

    @Override
    public Integer call() throws InterruptedException {
        Optional<Path> file = Optional.ofNullable(config)
                .or(() -> Optional.of(Path.of("skyport.yaml")).filter(Files::isRegularFile));
        Daemon daemon;
        try {
            daemon = Daemon.start(DaemonConfig.load(file, System.getenv()));
        } catch (DaemonConfig.ConfigException | Daemon.DaemonException | SkyPortException e) {
            spec.commandLine().getErr().println("skyport daemon: " + e.getMessage());
            return 1;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            daemon.close();
            stopped.countDown();
        }, "skyport-shutdown"));
        spec.commandLine().getOut().println("Sky Port daemon listening on port " + daemon.port()
                + " (Ctrl-C to stop)");
        spec.commandLine().getOut().flush();
        stopped.await();
        return 0;
    }
}
