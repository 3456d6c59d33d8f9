package dev.skyport.samples.notebook;

import dev.skyport.api.SkyPort;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;

/**
 * What a notebook cell calls to get Sky Port running: an embedded engine on the local gate (jobs run as processes on
 * this machine), by default in a fresh temporary data directory. The kernel closes engines a notebook left open when
 * it shuts down.
 */
public final class Notebook {
    private static final List<SkyPort> started = new CopyOnWriteArrayList<>();

    private Notebook() {
    }

    /** Starts an engine with its data in a new temporary directory, and prints where and on which nodes. */
    public static SkyPort startEngine() {
        try {
            return startEngine(Files.createTempDirectory("skyport-notebook-"));
        } catch (IOException e) {
            throw new UncheckedIOException("could not create a temporary data directory", e);
        }
    }

    /** Starts an engine with its data in {@code dataDir}; jobs a previous engine left there are re-attached. */
    public static SkyPort startEngine(Path dataDir) {
        SkyPort sky = SkyPort.embedded().dataDir(dataDir).start();
        started.add(sky);
        System.out.println("Sky Port is running with data in " + dataDir + " on "
                + sky.nodes().stream().map(n -> n.name() + " (" + n.cpus() + " cpus)").collect(Collectors.joining(", ")));
        return sky;
    }

    /**
     * Shows {@code value} now, as a cell's last expression would be shown (a {@code Job} or {@code Page} as a table, a
     * chart as an image), and goes on with the cell; outside a notebook prints it.
     */
    public static void display(Object value) {
        LiveDisplay.notebookKernel().ifPresentOrElse(kernel -> kernel.display(kernel.getRenderer().render(value)),
                () -> System.out.println(value));
    }

    /** Closes every engine {@link #startEngine} started; closing one twice does nothing. */
    public static void closeEngines() {
        for (SkyPort sky : started) {
            sky.close();
        }
        started.clear();
    }
}
