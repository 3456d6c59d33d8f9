package dev.skyport.samples.notebook;

import java.util.List;

/** Builds the small HTML tables a notebook shows; every cell's text is escaped, since job names and output are data. */
final class Html {
    private Html() {
    }

    static String escape(String text) {
        StringBuilder b = new StringBuilder(text.length() + 16);
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '&' -> b.append("&amp;");
                case '"' -> b.append("&quot;");
                case '\'' -> b.append("&#39;");
                default -> b.append(c);
            }
        }
        return b.toString();
    }

    /** A table with a header row; {@code caption} may be empty. */
    static String table(String cssClass, String caption, List<String> header, List<List<String>> rows) {
        StringBuilder b = new StringBuilder("<table class=\"").append(cssClass).append("\">");
        if (!caption.isEmpty()) {
            b.append("<caption>").append(escape(caption)).append("</caption>");
        }
        b.append("<thead><tr>");
        header.forEach(h -> b.append("<th>").append(escape(h)).append("</th>"));
        b.append("</tr></thead><tbody>");
        for (List<String> row : rows) {
            b.append("<tr>");
            row.forEach(cell -> b.append("<td>").append(escape(cell)).append("</td>"));
            b.append("</tr>");
        }
        return b.append("</tbody></table>").toString();
    }

    /** The same table as aligned plain text, for {@code text/plain} and consoles. */
    static String text(String caption, List<String> header, List<List<String>> rows) {
        int[] width = new int[header.size()];
        for (int i = 0; i < header.size(); i++) {
            width[i] = header.get(i).length();
            for (List<String> row : rows) {
                width[i] = Math.max(width[i], row.get(i).length());
            }
        }
        StringBuilder b = new StringBuilder();
        if (!caption.isEmpty()) {
            b.append(caption).append('\n');
        }
        appendRow(b, header, width);
        for (List<String> row : rows) {
            appendRow(b, row, width);
        }
        return b.toString();
    }

    private static void appendRow(StringBuilder b, List<String> cells, int[] width) {
        StringBuilder line = new StringBuilder();
        for (int i = 0; i < cells.size(); i++) {
            line.append(i == 0 ? "" : "  ").append(cells.get(i)).append(" ".repeat(width[i] - cells.get(i).length()));
        }
        b.append(line.toString().stripTrailing()).append('\n');
    }
}
