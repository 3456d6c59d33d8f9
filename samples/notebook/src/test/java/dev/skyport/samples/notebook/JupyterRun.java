package dev.skyport.samples.notebook;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.StreamSupport;

import static org.assertj.core.api.Assertions.fail;

/**
 * Executes a notebook the way Jupyter does, with Jupyter's own nbclient and jupyter_client starting the kernel from a
 * kernelspec: the module's kernel.json, with the test's class path in place of the installed {@code lib/} (the jar
 * is built after the tests). Jupyter's directories are under {@code dir}, so nothing in the user's home is read or
 * written.
 */
final class JupyterRun {
    static final String KERNEL = "skyport-java";
    private static final ObjectMapper JSON = new ObjectMapper();

    private JupyterRun() {
    }

    /** An executed notebook and, per cell index, the types of the kernel messages that cell got. */
    record Executed(JsonNode notebook, Map<String, List<String>> messageTypes) {
        List<JsonNode> codeCells() {
            return StreamSupport.stream(notebook.get("cells").spliterator(), false)
                    .filter(c -> c.get("cell_type").asText().equals("code")).toList();
        }

        int indexOf(String tag) {
            JsonNode cells = notebook.get("cells");
            for (int i = 0; i < cells.size(); i++) {
                for (JsonNode t : cells.get(i).path("metadata").path("tags")) {
                    if (t.asText().equals(tag)) {
                        return i;
                    }
                }
            }
            throw new AssertionError("no cell tagged '" + tag + "'");
        }

        JsonNode cell(String tag) {
            return notebook.get("cells").get(indexOf(tag));
        }

        List<String> messageTypes(String tag) {
            return messageTypes.getOrDefault(Integer.toString(indexOf(tag)), List.of());
        }
    }

    static Executed execute(Path notebook, Path dir) throws IOException, InterruptedException {
        String python = pythonWithNbclient();
        Path jupyterPath = dir.resolve("jupyter");
        writeKernelspec(jupyterPath.resolve("kernels").resolve(KERNEL), Files.createDirectories(dir.resolve("tmp")));
        Path script = dir.resolve("execute_notebook.py");
        try (InputStream in = Objects.requireNonNull(JupyterRun.class.getResourceAsStream("execute_notebook.py"))) {
            Files.copy(in, script);
        }
        Path out = dir.resolve("executed.ipynb");
        Path messages = dir.resolve("messages.json");
        Path log = dir.resolve("nbclient.log");
        ProcessBuilder pb = new ProcessBuilder(python, script.toString(), notebook.toString(), out.toString(),
                messages.toString(), KERNEL).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile());
        Map<String, String> env = pb.environment();
        env.put("JUPYTER_PATH", jupyterPath.toString());
        env.put("JUPYTER_DATA_DIR", dir.resolve("data").toString());
        env.put("JUPYTER_CONFIG_DIR", dir.resolve("config").toString());
        env.put("JUPYTER_RUNTIME_DIR", dir.resolve("runtime").toString());
        env.put("JUPYTER_PLATFORM_DIRS", "1");
        Process p = pb.start();
        // Generous: the sweep itself takes a few seconds; nbclient's own per-cell timeout (180 s) ends a stuck cell.
        if (!p.waitFor(240, TimeUnit.SECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            fail("nbclient did not finish within 240 s; its output:\n" + Files.readString(log));
        }
        if (p.exitValue() != 0 || !Files.exists(out)) {
            fail("nbclient exited with " + p.exitValue() + "; its output:\n" + Files.readString(log));
        }
        Map<String, List<String>> types = JSON.readValue(messages.toFile(),
                JSON.getTypeFactory().constructMapType(Map.class, JSON.constructType(String.class),
                        JSON.getTypeFactory().constructCollectionType(List.class, String.class)));
        return new Executed(JSON.readTree(out.toFile()), types);
    }

    /**
     * The first Python that has nbclient: {@code $SKYPORT_PYTHON}, then {@code python3} on the PATH, then Debian's
     * {@code /usr/bin/python3} (a pyenv or venv python3 first on the PATH does not see Debian's packages). Fails,
     * naming each one tried and why, when none has it: the test must not pass without running the notebook.
     */
    static String pythonWithNbclient() throws IOException, InterruptedException {
        Set<String> candidates = new LinkedHashSet<>();
        String configured = System.getenv("SKYPORT_PYTHON");
        if (configured != null && !configured.isBlank()) {
            candidates.add(configured);
        }
        candidates.add("python3");
        candidates.add("/usr/bin/python3");
        List<String> tried = new ArrayList<>();
        for (String python : candidates) {
            Process p;
            try {
                p = new ProcessBuilder(python, "-c", "import nbclient, nbformat, jupyter_client")
                        .redirectErrorStream(true).start();
            } catch (IOException notThere) {
                tried.add(python + ": " + notThere.getMessage());
                continue;
            }
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                tried.add(python + ": did not answer within 60 s");
            } else if (p.exitValue() == 0) {
                return python;
            } else {
                String[] lines = output.split("\n");
                tried.add(python + ": " + lines[lines.length - 1]);
            }
        }
        throw new AssertionError("no Python with Jupyter's nbclient to execute the notebook with; tried "
                + String.join("; ", tried) + ". Install it (Debian: apt-get install python3-nbclient "
                + "python3-jupyter-client, as .ci/run does) or point SKYPORT_PYTHON at a python that has it");
    }

    /**
     * The module's kernel.json, running the kernel on this test's class path, with its temporary files (the engine's
     * data directory among them) in {@code tmp} so that they go when the test's directory does.
     */
    private static void writeKernelspec(Path dir, Path tmp) throws IOException {
        Path built = Path.of(System.getProperty("basedir", "."), "target", "kernelspec", KERNEL, "kernel.json");
        ObjectNode spec = (ObjectNode) JSON.readTree(built.toFile());
        ArrayNode argv = (ArrayNode) spec.get("argv");
        boolean replaced = false;
        for (int i = 0; i < argv.size(); i++) {
            if (argv.get(i).asText().equals("{resource_dir}/lib/*")) {
                argv.set(i, System.getProperty("java.class.path"));
                replaced = true;
            }
        }
        if (!replaced) {
            fail("kernel.json has no {resource_dir}/lib/* class path to replace: " + argv);
        }
        argv.insert(1, "-Djava.io.tmpdir=" + tmp);
        Files.createDirectories(dir);
        JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("kernel.json").toFile(), spec);
    }
}
