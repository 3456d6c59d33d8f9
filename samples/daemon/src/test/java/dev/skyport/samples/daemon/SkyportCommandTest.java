package dev.skyport.samples.daemon;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** The {@code skyport} command line refuses what it cannot use with one line and an exit code, never a trace. */
class SkyportCommandTest {
    @TempDir
    Path dir;
    private final StringWriter err = new StringWriter();

    private int run(String... args) {
        CommandLine cli = new CommandLine(new SkyportCommand());
        cli.setErr(new PrintWriter(err, true));
        cli.setOut(new PrintWriter(new StringWriter(), true));
        return cli.execute(args);
    }

    @Test
    void aMissingConfigFileIsNamed() {
        Path missing = dir.resolve("nope.yaml");
        assertThat(run("daemon", "--config", missing.toString())).isEqualTo(1);
        assertThat(err.toString()).startsWith("skyport daemon: ").contains("nope.yaml").doesNotContain("\tat ");
    }

    @Test
    void aSpoolWithoutCertificatesSaysHowToCreateThem() throws Exception {
        Path config = Files.writeString(dir.resolve("skyport.yaml"),
                "port: 0\nbind: 127.0.0.1\nspool: empty-spool\ndata-dir: data\n");
        assertThat(run("daemon", "--config", config.toString())).isEqualTo(1);
        assertThat(err.toString()).contains("skyport certs init").doesNotContain("\tat ");
        assertThat(dir.resolve("data")).doesNotExist(); // nothing was started
    }

    @Test
    void aTypoInTheConfigIsRefused() throws Exception {
        Path config = Files.writeString(dir.resolve("skyport.yaml"), "sheduler: fcfs\n");
        assertThat(run("daemon", "--config", config.toString())).isEqualTo(1);
        assertThat(err.toString()).contains("unknown key 'sheduler'");
    }

    @Test
    void noCommandOrAnUnknownOneIsAUsageError() {
        assertThat(run()).isEqualTo(2);
        assertThat(run("demon")).isEqualTo(2);
    }
}
