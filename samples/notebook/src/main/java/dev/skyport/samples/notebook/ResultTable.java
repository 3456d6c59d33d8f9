package dev.skyport.samples.notebook;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Named columns and rows of values, what a sweep's outputs are collected into: a notebook shows it as an HTML table,
 * {@link Charts} plots two of its columns. Immutable.
 *
 * @param columns the column names, in order, none repeated
 * @param rows    the rows, each with one value per column
 */
public record ResultTable(List<String> columns, List<List<Object>> rows) {
    public ResultTable {
        columns = List.copyOf(columns);
        if (columns.stream().distinct().count() != columns.size()) {
            throw new IllegalArgumentException("column names must differ, got " + columns);
        }
        List<List<Object>> copy = new ArrayList<>();
        for (List<Object> row : rows) {
            if (row.size() != columns.size()) {
                throw new IllegalArgumentException("a row has " + row.size() + " values for " + columns.size()
                        + " columns: " + row);
            }
            copy.add(List.copyOf(row));
        }
        rows = List.copyOf(copy);
    }

    /** The values of one column, top to bottom. @throws IllegalArgumentException naming the columns there are */
    public List<Object> column(String name) {
        int i = columns.indexOf(Objects.requireNonNull(name, "name"));
        if (i < 0) {
            throw new IllegalArgumentException("no column '" + name + "'; the columns are " + columns);
        }
        return rows.stream().map(row -> row.get(i)).toList();
    }

    public String toHtml() {
        return Html.table("skyport-results", rows.size() + " rows", columns, cells());
    }

    @Override
    public String toString() {
        return Html.text(rows.size() + " rows", columns, cells());
    }

    private List<List<String>> cells() {
        return rows.stream().map(row -> row.stream().map(String::valueOf).toList()).toList();
    }
}
