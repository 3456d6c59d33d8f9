package dev.skyport.core.internal;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.nio.channels.Channels;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The no-follow primitive the engine reads a job's mounts and writes a user's storage with: a link is refused at every
 * depth, a directory swapped for a link after the walk opened it changes nothing, and a FIFO is refused without
 * blocking.
 */
class NoFollowTest {
    @TempDir
    Path tmp;

    private Path secret() throws Exception {
        Path s = Files.createDirectories(tmp.resolve("secret"));
        Files.writeString(s.resolve("f"), "secret");
        return s;
    }

    @Test
    void aCopyRefusesALinkAtEveryDepth() throws Exception {
        Path secret = secret();
        Path base = Files.createDirectories(tmp.resolve("job"));
        Files.createDirectories(base.resolve("a/b/tree/sub"));
        Files.writeString(base.resolve("a/b/tree/sub/ok"), "ok");
        Files.writeString(base.resolve("a/b/f"), "mine");
        NoFollow.copyOut(base, List.of("a", "b", "f"), tmp.resolve("c0"), false);
        assertThat(tmp.resolve("c0")).hasContent("mine");
        NoFollow.copyOut(base, List.of("a", "b", "tree"), tmp.resolve("c1"), false);
        assertThat(tmp.resolve("c1/sub/ok")).hasContent("ok");

        // The leaf, a directory on the way, the tree's root and a file deep in the tree, each a link in turn.
        Files.createSymbolicLink(base.resolve("a/b/leaf"), secret.resolve("f"));
        Files.createSymbolicLink(base.resolve("a/linkdir"), secret);
        Files.createSymbolicLink(base.resolve("a/b/treelink"), secret);
        Files.createSymbolicLink(base.resolve("a/b/tree/sub/deep"), secret.resolve("f"));
        List<List<String>> refused = List.of(List.of("a", "b", "leaf"), List.of("a", "linkdir", "f"),
                List.of("a", "b", "treelink"), List.of("a", "b", "tree"));
        int i = 0;
        for (List<String> names : refused) {
            Path to = tmp.resolve("r" + i++);
            assertThatThrownBy(() -> NoFollow.copyOut(base, names, to, false)).as(names.toString())
                    .isInstanceOf(NoFollow.Refused.class).hasMessageContaining("symbolic link");
            assertThat(Files.exists(to) && Files.isRegularFile(to) && Files.readString(to).contains("secret"))
                    .isFalse();
        }
        // For a pattern's base the links inside are left out, never followed.
        NoFollow.copyOut(base, List.of("a", "b", "tree"), tmp.resolve("p"), true);
        assertThat(tmp.resolve("p/sub/ok")).hasContent("ok");
        assertThat(tmp.resolve("p/sub/deep")).doesNotExist();
        assertThatThrownBy(() -> NoFollow.copyOut(base, List.of("a", "missing"), tmp.resolve("m"), false))
                .isInstanceOf(NoSuchFileException.class);
    }

    @Test
    void aParentSwappedForALinkAfterTheWalkOpenedItIsStillTheOneRead() throws Exception {
        secret();
        Path base = Files.createDirectories(tmp.resolve("job"));
        Files.createDirectories(base.resolve("a"));
        Files.writeString(base.resolve("a/f"), "mine");
        try (SecureDirectoryStream<Path> dir = NoFollow.open(base, List.of("a"))) {
            // What a concurrent process of the job's account may do between the walk and the read.
            Files.move(base.resolve("a"), base.resolve("moved"));
            Files.createSymbolicLink(base.resolve("a"), tmp.resolve("secret"));
            try (SeekableByteChannel ch = NoFollow.openRegular(dir, "f", "a/f")) {
                assertThat(new String(Channels.newInputStream(ch).readAllBytes(), StandardCharsets.UTF_8))
                        .isEqualTo("mine");
            }
        }
        assertThatThrownBy(() -> NoFollow.open(base, List.of("a"))).isInstanceOf(NoFollow.Refused.class);
    }

    @Test
    void aFifoIsRefusedWithoutBlocking() throws Exception {
        Path base = Files.createDirectories(tmp.resolve("job/d"));
        assertThat(new ProcessBuilder("mkfifo", base.resolve("fifo").toString()).start().waitFor()).isZero();
        CompletableFuture<Throwable> file = CompletableFuture.supplyAsync(() -> thrown(() ->
                NoFollow.copyOut(tmp.resolve("job"), List.of("d", "fifo"), tmp.resolve("x"), false)));
        CompletableFuture<Throwable> tree = CompletableFuture.supplyAsync(() -> thrown(() ->
                NoFollow.copyOut(tmp.resolve("job"), List.of("d"), tmp.resolve("y"), false)));
        assertThat(file.get(30, TimeUnit.SECONDS)).isInstanceOf(NoFollow.Refused.class)
                .hasMessageContaining("FIFO");
        assertThat(tree.get(30, TimeUnit.SECONDS)).isInstanceOf(NoFollow.Refused.class)
                .hasMessageContaining("FIFO");
    }

    @Test
    void aPlacementWritesThroughNoLinkOnTheWayAndReplacesOneAtTheEnd() throws Exception {
        Path secret = secret();
        Path root = Files.createDirectories(tmp.resolve("storage"));
        assertThat(NoFollow.place(root, List.of("new", "deeper", "r.txt"), bytes("result"))).isEqualTo(6);
        assertThat(root.resolve("new/deeper/r.txt")).hasContent("result");

        Files.createSymbolicLink(root.resolve("out"), secret);
        Files.createDirectories(root.resolve("d"));
        Files.createSymbolicLink(root.resolve("d/inner"), secret);
        for (List<String> names : List.of(List.of("out", "f"), List.of("d", "inner", "f"),
                List.of("d", "inner", "new", "f"))) {
            assertThatThrownBy(() -> NoFollow.place(root, names, bytes("overwritten"))).as(names.toString())
                    .isInstanceOf(NoFollow.Refused.class).hasMessageContaining("symbolic link");
        }
        assertThat(secret.resolve("f")).hasContent("secret");
        try (var left = Files.list(secret)) {
            assertThat(left).containsExactly(secret.resolve("f"));
        }
        // A link at the file's own name is replaced, not followed.
        Files.createSymbolicLink(root.resolve("d/f"), secret.resolve("f"));
        NoFollow.place(root, List.of("d", "f"), bytes("mine"));
        assertThat(Files.isSymbolicLink(root.resolve("d/f"))).isFalse();
        assertThat(root.resolve("d/f")).hasContent("mine");
        assertThat(secret.resolve("f")).hasContent("secret");
    }

    private static ByteArrayInputStream bytes(String s) {
        return new ByteArrayInputStream(s.getBytes(StandardCharsets.UTF_8));
    }

    private interface Action {
        void run() throws Exception;
    }

    private static Throwable thrown(Action a) {
        try {
            a.run();
            return null;
        } catch (Exception e) {
            return e;
        }
    }
}
