package dev.skyport.samples.notebook;

import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.data.category.DefaultCategoryDataset;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;

/**
 * Charts of a {@link ResultTable} with JFreeChart, drawn without a display. A cell that returns a {@link JFreeChart}
 * shows it as a PNG image ({@link #WIDTH} x {@link #HEIGHT}).
 */
public final class Charts {
    public static final int WIDTH = 640;
    public static final int HEIGHT = 360;

    private Charts() {
    }

    /**
     * A bar per row: the category is the row's value in {@code categoryColumn}, the bar's height its value in
     * {@code valueColumn}.
     *
     * @throws IllegalArgumentException when a column is missing or a value is not a number
     */
    public static JFreeChart bar(String title, ResultTable table, String categoryColumn, String valueColumn) {
        List<Object> categories = table.column(categoryColumn);
        List<Object> values = table.column(valueColumn);
        DefaultCategoryDataset data = new DefaultCategoryDataset();
        for (int i = 0; i < categories.size(); i++) {
            if (!(values.get(i) instanceof Number n)) {
                throw new IllegalArgumentException("column '" + valueColumn + "' holds '" + values.get(i)
                        + "' for " + categoryColumn + " " + categories.get(i) + ", not a number");
            }
            data.addValue(n, valueColumn, String.valueOf(categories.get(i)));
        }
        return ChartFactory.createBarChart(title, categoryColumn, valueColumn, data, PlotOrientation.VERTICAL,
                false, false, false);
    }

    /** The chart as a PNG image of {@link #WIDTH} x {@link #HEIGHT} pixels. */
    public static byte[] png(JFreeChart chart) {
        try {
            return ChartUtils.encodeAsPNG(chart.createBufferedImage(WIDTH, HEIGHT));
        } catch (IOException e) {
            throw new UncheckedIOException("could not encode the chart as PNG", e);
        }
    }
}
