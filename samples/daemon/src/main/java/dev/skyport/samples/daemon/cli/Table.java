package dev.skyport.samples.daemon.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * A table aligned in terminal columns, two spaces between columns, the last column not padded. Cells are made
 * {@linkplain Cells#safe safe} here, and a cell may carry a colour that is added after padding, so escape codes never
 * count towards a column's width.
 */
final class Table {
    private final List<String> headers;
    private final List<List<Cell>> rows = new ArrayList<>();

    Table(String... headers) {
        this.headers = List.of(headers);
    }

    /** A cell's text and the colour to wrap it in. */
    record Cell(String text, UnaryOperator<String> paint) {
        static Cell of(String text) {
            return new Cell(text, UnaryOperator.identity());
        }
    }

    Table row(Object... cells) {
        if (cells.length != headers.size()) {
            throw new IllegalArgumentException(cells.length + " cells for " + headers.size() + " columns");
        }
        List<Cell> row = new ArrayList<>();
        for (Object cell : cells) {
            Cell c = cell instanceof Cell given ? given : Cell.of(String.valueOf(cell));
            row.add(new Cell(Cells.safe(c.text()), c.paint()));
        }
        rows.add(row);
        return this;
    }

    boolean isEmpty() {
        return rows.isEmpty();
    }

    List<String> lines(Style style) {
        int[] widths = new int[headers.size()];
        for (int i = 0; i < widths.length; i++) {
            widths[i] = Cells.width(headers.get(i));
        }
        for (List<Cell> row : rows) {
            for (int i = 0; i < widths.length; i++) {
                widths[i] = Math.max(widths[i], Cells.width(row.get(i).text()));
            }
        }
        List<String> lines = new ArrayList<>();
        List<Cell> headerCells = headers.stream().map(h -> new Cell(h, style::bold)).toList();
        lines.add(line(headerCells, widths));
        for (List<Cell> row : rows) {
            lines.add(line(row, widths));
        }
        return lines;
    }

    void print(PrintWriter out, Style style) {
        lines(style).forEach(out::println);
    }

    private static String line(List<Cell> cells, int[] widths) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < cells.size(); i++) {
            Cell cell = cells.get(i);
            boolean last = i == cells.size() - 1;
            String padding = last ? "" : " ".repeat(Math.max(0, widths[i] - Cells.width(cell.text())) + 2);
            b.append(cell.paint().apply(cell.text())).append(padding);
        }
        return b.toString().stripTrailing();
    }
}
