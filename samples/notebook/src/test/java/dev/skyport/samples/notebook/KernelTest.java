package dev.skyport.samples.notebook;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.StreamSupport;

import static dev.skyport.samples.notebook.SweepNotebookTest.data;
import static dev.skyport.samples.notebook.SweepNotebookTest.only;
import static dev.skyport.samples.notebook.SweepNotebookTest.streamText;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The kernel itself, driven by nbclient through a notebook written here: values shown unless the cell ends with
 * ';', compiler errors and exceptions as error outputs that point at the cell's code, the kernel going on after an
 * error, standard output as a stream, and {@code %classpath} adding a jar's worth of classes for later cells.
 */
class KernelTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;

    private static JupyterRun.Executed run;

    @BeforeAll
    static void executeNotebook() throws Exception {
        Path classes = compileGreeter(dir.resolve("extra"));
        ObjectNode nb = JSON.createObjectNode();
        nb.put("nbformat", 4).put("nbformat_minor", 5);
        nb.putObject("metadata").putObject("kernelspec").put("name", JupyterRun.KERNEL)
                .put("display_name", "Java (Sky Port)").put("language", "java");
        ArrayNode cells = nb.putArray("cells");
        cell(cells, "value", "// a comment first\nint a = 20;\na + 22\n// and one after");
        cell(cells, "semicolon", "a + 22;");
        cell(cells, "comment", "// nothing to run\n");
        cell(cells, "print", "System.out.println(\"printed \" + a);");
        cell(cells, "display", "import dev.skyport.samples.notebook.*;\n"
                + "Notebook.display(new ResultTable(java.util.List.of(\"a\"), java.util.List.of(java.util.List.of(a))));\n"
                + "\"then the value\"");
        cell(cells, "compile-error", "int b = 1;\nString s = b;");
        cell(cells, "exception", "Object o = null;\nthrow new IllegalStateException(\"boom \" + a);");
        cell(cells, "after-error", "\"still here with a = \" + a");
        ((ObjectNode) cell(cells, "interrupted", "System.out.println(\"waiting\");\nThread.sleep(600_000);")
                .get("metadata")).put("timeout", 5);
        cell(cells, "after-interrupt", "System.out.println(\"still serving\");\n\"a = \" + a");
        cell(cells, "classpath", "%classpath " + classes);
        cell(cells, "greet", "new extra.Greeter().greet(\"notebook\")");
        Path notebook = dir.resolve("kernel.ipynb");
        JSON.writeValue(notebook.toFile(), nb);
        run = JupyterRun.execute(notebook, dir);
    }

    @Test
    void anExpressionEndingTheCellIsShown() {
        assertThat(data(only(run.cell("value"), "execute_result"), "text/plain")).isEqualTo("42");
    }

    @Test
    void aSemicolonMakesItAStatementThatShowsNothing() {
        assertThat(run.cell("semicolon").get("outputs")).isEmpty();
    }

    @Test
    void aCellOfCommentsRunsAndShowsNothing() {
        assertThat(run.cell("comment").get("outputs")).isEmpty();
    }

    @Test
    void standardOutputIsAStream() {
        assertThat(streamText(run.cell("print"))).isEqualTo("printed 20\n");
    }

    @Test
    void displayShowsAValueRichlyInTheMiddleOfACell() {
        JsonNode cell = run.cell("display");
        assertThat(cell.get("outputs")).hasSize(2);
        assertThat(cell.get("outputs").get(0).get("output_type").asText()).isEqualTo("display_data");
        assertThat(data(cell.get("outputs").get(0), "text/html")).contains("<td>20</td>");
        assertThat(data(only(cell, "execute_result"), "text/plain")).isEqualTo("then the value");
    }

    @Test
    void aCompileErrorPointsAtTheCode() {
        JsonNode error = only(run.cell("compile-error"), "error");
        assertThat(error.get("evalue").asText()).contains("incompatible types");
        assertThat(traceback(error)).anySatisfy(l -> assertThat(l).contains("String s = b;"))
                .anySatisfy(l -> assertThat(l.strip()).isEqualTo("^"));
    }

    @Test
    void anExceptionShowsItsClassMessageAndTheCellsFrames() {
        JsonNode error = only(run.cell("exception"), "error");
        assertThat(error.get("evalue").asText()).isEqualTo("java.lang.IllegalStateException: boom 20");
        assertThat(traceback(error)).first().isEqualTo("java.lang.IllegalStateException: boom 20");
        assertThat(traceback(error)).noneSatisfy(l -> assertThat(l).contains("dev.skyport.samples.notebook.kernel"));
    }

    @Test
    void theKernelGoesOnAfterAnError() {
        assertThat(data(only(run.cell("after-error"), "execute_result"), "text/plain"))
                .isEqualTo("still here with a = 20");
    }

    @Test
    void anInterruptEndsAWaitingCellAndTheKernelServesTheNext() {
        // nbclient interrupts the kernel when the cell's 5 s pass; were the sleep not interrupted, the next cell would
        // wait behind it past its own 30 s.
        assertThat(streamText(run.cell("interrupted"))).isEqualTo("waiting\n");
        assertThat(streamText(run.cell("after-interrupt"))).isEqualTo("still serving\n");
        assertThat(data(only(run.cell("after-interrupt"), "execute_result"), "text/plain")).isEqualTo("a = 20");
    }

    @Test
    void classpathMagicAddsClassesForLaterCells() {
        assertThat(run.cell("classpath").get("outputs")).isEmpty();
        assertThat(data(only(run.cell("greet"), "execute_result"), "text/plain")).isEqualTo("hello, notebook");
    }

    private static List<String> traceback(JsonNode error) {
        return StreamSupport.stream(error.get("traceback").spliterator(), false).map(JsonNode::asText).toList();
    }

    private static ObjectNode cell(ArrayNode cells, String tag, String source) {
        ObjectNode c = cells.addObject();
        c.put("cell_type", "code").put("id", tag).putNull("execution_count");
        ObjectNode metadata = c.putObject("metadata");
        metadata.putArray("tags").add(tag);
        // Each cell takes well under a second; 30 s is for a loaded machine, and ends a hung kernel's run sooner.
        metadata.put("timeout", 30);
        c.putArray("outputs");
        c.put("source", source);
        return c;
    }

    /** A class the kernel's class path does not have, compiled here into {@code dir}. */
    private static Path compileGreeter(Path dir) throws Exception {
        Path source = dir.resolve("src/extra/Greeter.java");
        Files.createDirectories(source.getParent());
        Files.writeString(source, """
                package extra;
                public class Greeter {
                    public String greet(String who) { return "hello, " + who; }
                }
                """);
        Path classes = Files.createDirectories(dir.resolve("classes"));
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        int exit = javac.run(null, null, null, "-d", classes.toString(), source.toString());
        assertThat(exit).as("javac exit").isZero();
        return classes;
    }
}
