package dev.skyport.samples.notebook;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.StreamSupport;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Executes {@code sweep.ipynb} headless with Jupyter's nbclient on the Sky Port kernel and checks what every cell
 * shows: the engine starts, the sweep's eight jobs are listed, the progress display was updated in place up to 8/8,
 * the results table holds each seed's Collatz step count (checked against a count made here), the plot is a PNG,
 * and the last cell closes the engine without an error.
 */
class SweepNotebookTest {
    private static final int FIRST_SEED = 20;
    private static final int SEEDS = 8;

    @TempDir
    static Path dir;

    private static JupyterRun.Executed run;

    @BeforeAll
    static void executeNotebook() throws Exception {
        Path notebook = Path.of(System.getProperty("basedir", "."), "sweep.ipynb");
        run = JupyterRun.execute(notebook, dir);
    }

    @Test
    void everyCodeCellRanWithoutAnError() {
        List<String> errors = new ArrayList<>();
        for (JsonNode cell : run.codeCells()) {
            if (cell.get("execution_count").isNull()) {
                errors.add("not executed: " + source(cell));
            }
            for (JsonNode out : cell.get("outputs")) {
                if (out.get("output_type").asText().equals("error")) {
                    errors.add(source(cell) + "\n  -> " + out.get("ename").asText() + ": " + out.get("evalue").asText()
                            + "\n" + String.join("\n", StreamSupport.stream(out.get("traceback").spliterator(), false)
                            .map(JsonNode::asText).toList()));
                }
            }
        }
        assertThat(errors).as("cells that failed").isEmpty();
        assertThat(run.codeCells()).hasSize(7);
    }

    @Test
    void theEngineStartsInATemporaryDataDirectory() {
        assertThat(streamText(run.cell("start")))
                .startsWith("Sky Port is running with data in " + dir.resolve("tmp").resolve("skyport-notebook-"));
    }

    @Test
    void theSubmittedSweepShowsAsATableOfItsEightJobs() {
        JsonNode result = only(run.cell("submit"), "execute_result");
        assertThat(bodyRows(data(result, "text/html"))).hasSize(SEEDS);
        for (int seed = FIRST_SEED; seed < FIRST_SEED + SEEDS; seed++) {
            assertThat(data(result, "text/plain")).contains("collatz-" + seed);
        }
    }

    @Test
    void progressIsOneDisplayUpdatedInPlaceUntilAllEightEnded() {
        JsonNode cell = run.cell("progress");
        JsonNode display = only(cell, "display_data");
        assertThat(data(display, "text/plain"))
                .isEqualTo("collatz: 8/8 ended (8 succeeded, 0 failed, 0 canceled; 0 running, 0 waiting)");
        assertThat(data(display, "text/html")).contains("<progress value=\"8\" max=\"8\">");
        // The cell ends with ';': its value (the jobs) is not shown, the progress display is its only output.
        assertThat(cell.get("outputs")).hasSize(1);
        List<String> types = run.messageTypes("progress");
        assertThat(types).containsOnlyOnce("display_data").contains("update_display_data");
        assertThat(types.indexOf("display_data")).isLessThan(types.indexOf("update_display_data"));
    }

    @Test
    void theResultsTableHoldsEachSeedsCollatzSteps() {
        JsonNode result = only(run.cell("results"), "execute_result");
        assertThat(bodyRows(data(result, "text/html"))).hasSize(SEEDS);
        Map<Integer, Integer> shown = new LinkedHashMap<>();
        Matcher row = Pattern.compile("(?m)^(\\d+)\\s+\\S+\\s+SUCCEEDED\\s+0\\s+(\\d+)$")
                .matcher(data(result, "text/plain"));
        while (row.find()) {
            shown.put(Integer.parseInt(row.group(1)), Integer.parseInt(row.group(2)));
        }
        Map<Integer, Integer> expected = new LinkedHashMap<>();
        for (int seed = FIRST_SEED; seed < FIRST_SEED + SEEDS; seed++) {
            expected.put(seed, collatzSteps(seed));
        }
        assertThat(shown).containsExactlyEntriesOf(expected);
    }

    @Test
    void thePlotIsAPngChartOfSensibleSize() throws Exception {
        JsonNode result = only(run.cell("plot"), "execute_result");
        byte[] png = Base64.getMimeDecoder().decode(data(result, "image/png"));
        assertThat(png).startsWith(0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n');
        // The whole file, up to the IEND chunk and its CRC: ImageIO reads an image cut short of it without a word.
        assertThat(png).endsWith(0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82);
        BufferedImage image = ImageIO.read(new ByteArrayInputStream(png));
        assertThat(image).as("a PNG ImageIO can read").isNotNull();
        assertThat(image.getWidth()).isEqualTo(Charts.WIDTH);
        assertThat(image.getHeight()).isEqualTo(Charts.HEIGHT);
        Set<Integer> colors = new HashSet<>();
        for (int x = 0; x < image.getWidth(); x += 4) {
            for (int y = 0; y < image.getHeight(); y += 4) {
                colors.add(image.getRGB(x, y));
            }
        }
        assertThat(colors).as("colors of a drawn chart, not a blank image").hasSizeGreaterThan(3);
        assertThat(data(result, "text/plain")).isEqualTo("chart: Collatz steps by seed");
    }

    @Test
    void aPageOfJobsShowsAsATable() {
        JsonNode result = only(run.cell("list"), "execute_result");
        List<String> rows = bodyRows(data(result, "text/html"));
        assertThat(rows).hasSize(SEEDS).allSatisfy(r -> assertThat(r).contains("<td>SUCCEEDED</td>"));
        assertThat(data(result, "text/html")).contains("<caption>8 items</caption>");
    }

    @Test
    void closingTheEngineShowsNothing() {
        assertThat(run.cell("close").get("outputs")).isEmpty();
        assertThat(run.cell("close").get("execution_count").isNull()).isFalse();
    }

    /** The Collatz steps from {@code n} down to 1, counted here independently of the job's shell arithmetic. */
    private static int collatzSteps(long n) {
        int steps = 0;
        for (; n != 1; steps++) {
            n = n % 2 == 0 ? n / 2 : 3 * n + 1;
        }
        return steps;
    }

    static JsonNode only(JsonNode cell, String outputType) {
        List<JsonNode> found = StreamSupport.stream(cell.get("outputs").spliterator(), false)
                .filter(o -> o.get("output_type").asText().equals(outputType)).toList();
        assertThat(found).as("%s outputs of %s", outputType, cell.get("outputs")).hasSize(1);
        return found.get(0);
    }

    /** A MIME bundle entry, which nbformat stores as one string or as a list of lines. */
    static String data(JsonNode output, String mime) {
        JsonNode value = output.path("data").path(mime);
        assertThat(value.isMissingNode()).as("%s in %s", mime, output.path("data").fieldNames()).isFalse();
        return value.isArray() ? String.join("", StreamSupport.stream(value.spliterator(), false)
                .map(JsonNode::asText).toList()) : value.asText();
    }

    static String streamText(JsonNode cell) {
        StringBuilder b = new StringBuilder();
        for (JsonNode out : cell.get("outputs")) {
            if (out.get("output_type").asText().equals("stream")) {
                JsonNode text = out.get("text");
                b.append(text.isArray() ? String.join("", StreamSupport.stream(text.spliterator(), false)
                        .map(JsonNode::asText).toList()) : text.asText());
            }
        }
        return b.toString();
    }

    private static List<String> bodyRows(String html) {
        int body = html.indexOf("<tbody>");
        assertThat(body).as("a table body in %s", html).isNotNegative();
        return Pattern.compile("<tr>(.*?)</tr>").matcher(html.substring(body)).results().map(m -> m.group(1)).toList();
    }

    private static String source(JsonNode cell) {
        JsonNode s = cell.get("source");
        return s.isArray() ? String.join("", StreamSupport.stream(s.spliterator(), false).map(JsonNode::asText).toList())
                : s.asText();
    }
}
