package dev.skyport.samples.notebook.kernel;

import dev.skyport.samples.notebook.Notebook;
import jdk.jshell.SourceCodeAnalysis;
import org.dflib.jjava.jupyter.channels.JupyterConnection;
import org.dflib.jjava.jupyter.kernel.BaseKernel;
import org.dflib.jjava.jupyter.kernel.JupyterIO;
import org.dflib.jjava.jupyter.kernel.KernelConnectionProperties;
import org.dflib.jjava.jupyter.kernel.LanguageInfo;
import org.dflib.jjava.jupyter.kernel.ReplacementOptions;
import org.dflib.jjava.jupyter.kernel.comm.CommManager;
import org.dflib.jjava.jupyter.kernel.display.DisplayData;
import org.dflib.jjava.jupyter.kernel.display.Renderer;
import org.dflib.jjava.jupyter.kernel.magic.MagicParser;
import org.dflib.jjava.jupyter.kernel.magic.MagicTranspiler;
import org.dflib.jjava.jupyter.kernel.magic.MagicsRegistry;
import org.dflib.jjava.jupyter.kernel.util.StringStyler;
import org.dflib.jjava.jupyter.kernel.util.TextColor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A Jupyter kernel for Java with Sky Port on its class path: jjava-jupyter speaks the kernel protocol, JShell
 * evaluates the cells in this JVM (so one engine started in a cell serves every later cell), and values render as
 * rich output: jobs and pages of jobs as HTML tables, charts as PNG images (see {@link Renderings}).
 *
 * <p>{@code %classpath a.jar:classes/} adds more jars or class directories for the cells that follow.
 *
 * <p>Run by Jupyter from the kernelspec's {@code argv}: {@code java -cp <jars> SkyPortKernel <connection file>}.
 */
public final class SkyPortKernel extends BaseKernel {
    private static final Logger log = LoggerFactory.getLogger(SkyPortKernel.class);

    private final JShellSession session;

    SkyPortKernel(String classPath) {
        super("skyport-java", "0.1.0",
                new LanguageInfo.Builder("Java").version(Runtime.version().toString()).mimetype("text/x-java-source")
                        .fileExtension(".jshell").pygments("java").codemirror("text/x-java").build(),
                List.of(), null, new JupyterIO(StandardCharsets.UTF_8), new CommManager(), new Renderer(),
                new MagicParser("(?<=^|\\n)\\s*%", "%%", new MagicTranspiler()), new MagicsRegistry(), false,
                new StringStyler.Builder().addPrimaryStyle(TextColor.BOLD_RESET_FG)
                        .addSecondaryStyle(TextColor.BOLD_RED_FG).addHighlightStyle(TextColor.BOLD_RESET_FG).build());
        this.session = new JShellSession(classPath);
        Renderings.register(getRenderer());
        magicsRegistry.registerLineMagic("classpath", (kernel, args) -> {
            session.addToClassPath(String.join(File.pathSeparator, args));
            return null;
        });
    }

    @Override
    public Object evalRaw(String source) {
        String code = magicParser.resolveMagics(source);
        return session.eval(code).orElse(null);
    }

    @Override
    public DisplayData inspect(String code, int at, boolean extraDetail) {
        return null;
    }

    @Override
    public ReplacementOptions complete(String code, int at) {
        JShellSession.Completions c = session.complete(code, at);
        return new ReplacementOptions(c.replacements(), c.start(), at);
    }

    @Override
    public String isComplete(String code) {
        SourceCodeAnalysis.Completeness completeness = session.completeness(code);
        if (completeness.isComplete() || completeness == SourceCodeAnalysis.Completeness.EMPTY) {
            return IS_COMPLETE_YES;
        }
        return completeness == SourceCodeAnalysis.Completeness.DEFINITELY_INCOMPLETE ? "    " : IS_COMPLETE_MAYBE;
    }

    @Override
    public List<String> formatError(Throwable e) {
        if (e instanceof CellException cell) {
            return cell.lines();
        }
        return super.formatError(e);
    }

    @Override
    public void interrupt() {
        session.interrupt();
    }

    @Override
    public void onShutdown(boolean isRestarting) {
        // Engines a notebook left open are closed here: their jobs keep running and are re-attached by the next start.
        Notebook.closeEngines();
        session.close();
        super.onShutdown(isRestarting);
    }

    /**
     * Starts the kernel on the connection file Jupyter passes and serves until Jupyter asks it to shut down.
     *
     * @param args the path of the connection file
     */
    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: java -cp <class path> " + SkyPortKernel.class.getName() + " <connection file>");
            System.exit(2);
        }
        // Charts are drawn into images; no display is needed, or on a server wanted.
        System.setProperty("java.awt.headless", "true");
        KernelConnectionProperties connection = KernelConnectionProperties.parse(
                Files.readString(Path.of(args[0]), StandardCharsets.UTF_8));
        SkyPortKernel kernel = new SkyPortKernel(System.getProperty("java.class.path"));
        JupyterConnection jupyter = new JupyterConnection(connection);
        kernel.becomeHandlerForConnection(jupyter);
        kernel.onStartup();
        jupyter.connect();
        log.debug("kernel serving on {}", connection.getIp());
        jupyter.waitUntilClose();
        // Engine threads that a cell started and never closed must not keep the kernel's process alive.
        System.exit(0);
    }
}
