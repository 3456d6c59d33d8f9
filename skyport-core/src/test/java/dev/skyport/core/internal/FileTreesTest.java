package dev.skyport.core.internal;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class FileTreesTest {
    @TempDir
    Path dir;

    @Test
    void aTreeGoesWithItsLinksButNothingTheyLeadTo() throws Exception {
        Path outside = Files.createDirectories(dir.resolve("outside/sub"));
        Files.writeString(outside.resolve("keep.txt"), "keep");
        Path tree = Files.createDirectories(dir.resolve("job/a/b"));
        Files.writeString(tree.resolve("f.txt"), "f");
        Files.createSymbolicLink(dir.resolve("job/a/link"), outside.getParent());
        Files.createSymbolicLink(dir.resolve("job/file-link"), outside.resolve("keep.txt"));
        Files.createSymbolicLink(dir.resolve("job/dangling"), dir.resolve("nowhere"));

        FileTrees.delete(dir.resolve("job"));

        assertThat(dir.resolve("job")).doesNotExist();
        assertThat(outside.resolve("keep.txt")).hasContent("keep");
    }

    @Test
    void aLinkToADirectoryIsDeletedItselfAndAMissingPathIsNothingToDo() throws Exception {
        Path target = Files.createDirectories(dir.resolve("target"));
        Files.writeString(target.resolve("keep.txt"), "keep");
        Path link = Files.createSymbolicLink(dir.resolve("link"), target);

        FileTrees.delete(link);
        FileTrees.delete(dir.resolve("missing"));

        assertThat(Files.exists(link, LinkOption.NOFOLLOW_LINKS)).isFalse();
        assertThat(target.resolve("keep.txt")).hasContent("keep");
    }

    @Test
    void aPlainFileIsDeleted() throws Exception {
        Path file = Files.writeString(dir.resolve("f"), "x");
        FileTrees.delete(file);
        assertThat(file).doesNotExist();
    }
}
