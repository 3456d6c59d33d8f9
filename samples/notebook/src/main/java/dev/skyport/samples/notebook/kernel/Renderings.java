package dev.skyport.samples.notebook.kernel;

import dev.skyport.api.Job;
import dev.skyport.api.Page;
import dev.skyport.samples.notebook.Charts;
import dev.skyport.samples.notebook.JobTables;
import dev.skyport.samples.notebook.ResultTable;
import dev.skyport.samples.notebook.Sweep;
import dev.skyport.samples.notebook.SweepProgress;
import org.dflib.jjava.jupyter.kernel.display.RenderContext;
import org.dflib.jjava.jupyter.kernel.display.Renderer;
import org.dflib.jjava.jupyter.kernel.display.mime.MIMEType;
import org.jfree.chart.JFreeChart;

import java.util.Base64;
import java.util.function.Function;

/** How the values a cell returns are shown: each type with an HTML (or PNG) form and a plain-text one. */
final class Renderings {
    private Renderings() {
    }

    static void register(Renderer renderer) {
        table(renderer, Job.class, JobTables::html, JobTables::text);
        table(renderer, Page.class, JobTables::html, JobTables::text);
        table(renderer, Sweep.class, Sweep::toHtml, Sweep::toString);
        table(renderer, ResultTable.class, ResultTable::toHtml, ResultTable::toString);
        table(renderer, SweepProgress.class, SweepProgress::html, SweepProgress::text);
        renderer.createRegistration(JFreeChart.class).preferring(MIMEType.IMAGE_PNG).supporting(MIMEType.IMAGE_PNG)
                .register(Renderings::chart);
    }

    private static <T> void table(Renderer renderer, Class<T> type, Function<T, String> html,
                                  Function<T, String> text) {
        renderer.createRegistration(type).preferring(MIMEType.TEXT_HTML).supporting(MIMEType.TEXT_HTML)
                .register((value, context) -> {
                    context.renderIfRequested(MIMEType.TEXT_HTML, () -> html.apply(value));
                    context.renderIfRequested(MIMEType.TEXT_PLAIN, () -> text.apply(value));
                });
    }

    /**
     * The chart as a PNG of its own encoding: jjava-jupyter's image renderer base64-encodes through a stream it never
     * closes, which drops the last bytes of the image.
     */
    private static void chart(JFreeChart chart, RenderContext context) {
        context.renderIfRequested(MIMEType.IMAGE_PNG, () -> Base64.getEncoder().encodeToString(Charts.png(chart)));
        String title = chart.getTitle() == null ? "" : ": " + chart.getTitle().getText();
        context.renderIfRequested(MIMEType.TEXT_PLAIN, () -> "chart" + title);
    }
}
