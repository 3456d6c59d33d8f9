package dev.skyport.samples.notebook;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class HtmlTest {
    @Test
    void cellTextIsEscapedSinceJobNamesAndOutputAreData() {
        String html = Html.table("t", "a <caption>", List.of("h&"), List.of(List.of("<script>alert('x')</script>")));
        assertThat(html).doesNotContain("<script>").contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;")
                .contains("<caption>a &lt;caption&gt;</caption>").contains("<th>h&amp;</th>");
    }

    @Test
    void textTablesAlignColumns() {
        assertThat(Html.text("cap", List.of("seed", "steps"), List.of(List.of("20", "7"), List.of("27", "111"))))
                .isEqualTo("cap\nseed  steps\n20    7\n27    111\n");
    }

    @Test
    void aResultTableRefusesRaggedRowsAndNamesMissingColumns() {
        assertThatThrownBy(() -> new ResultTable(List.of("a", "b"), List.of(List.of(1))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1 values for 2 columns");
        ResultTable table = new ResultTable(List.of("a"), List.of(List.of(1)));
        assertThatThrownBy(() -> table.column("z")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("the columns are [a]");
    }
}
