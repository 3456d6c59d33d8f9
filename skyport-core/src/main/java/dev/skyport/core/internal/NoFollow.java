package dev.skyport.core.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;

/**
 * File access below a directory that someone else may change while the engine works in it: a job's mounts (any process
 * of the job's account, e.g. another job of the same owner, may swap a directory for a link at any moment) and a
 * user's storage (written by the user directly). Every step goes from a directory already open to the next name,
 * {@code openat} with {@code O_NOFOLLOW} ({@link SecureDirectoryStream}, Linux): a link anywhere is refused whenever it
 * appears, and a directory renamed away after it was opened is still the one read, never the place it was renamed
 * from. So the engine reads and writes only what was below the starting directory, whatever runs meanwhile.
 *
 * <p>What stays by path: the starting directory itself (its parent must be one nobody else can write: the engines's
 * jobs directory, the operator's input root), and the creation of a missing directory ({@code mkdirat} has no Java
 * API): it is made by path and then opened without following links, so a swap in between makes at most an empty
 * directory elsewhere and writes nothing into it.
 *
 * <p>A file's kind is checked before it is opened: a FIFO would block the opening thread. A FIFO swapped in between
 * that check and the open still would; that window is one system call wide.
 */
public final class NoFollow {
    private static final LinkOption[] NOFOLLOW = {LinkOption.NOFOLLOW_LINKS};

    private NoFollow() {
    }

    /** What was refused: a link, or something that is not a regular file or directory, on the way. */
    public static final class Refused extends IOException {
        Refused(String message) {
            super(message);
        }
    }

    /**
     * Opens the directory {@code names} below {@code base}, one name at a time, following no link.
     *
     * @throws NoSuchFileException where a name is missing
     * @throws Refused             where a name is a link or no directory
     */
    static SecureDirectoryStream<Path> open(Path base, List<String> names) throws IOException {
        BasicFileAttributes b = Files.readAttributes(base, BasicFileAttributes.class, NOFOLLOW);
        if (!b.isDirectory()) {
            throw new Refused(base + " is " + kind(b));
        }
        DirectoryStream<Path> d = Files.newDirectoryStream(base);
        if (!(d instanceof SecureDirectoryStream<Path> dir)) {
            d.close();
            throw new IOException("this platform cannot open directories without following links");
        }
        return descend(dir, names);
    }

    /**
     * Opens the directory {@code names} below the open directory {@code from}, one name at a time, following no link;
     * {@code from} is closed on the way (also when that fails).
     *
     * @throws NoSuchFileException where a name is missing
     * @throws Refused             where a name is a link or no directory
     */
    static SecureDirectoryStream<Path> descend(SecureDirectoryStream<Path> from, List<String> names)
            throws IOException {
        SecureDirectoryStream<Path> current = from;
        String shown = "";
        try {
            for (String name : names) {
                shown = shown.isEmpty() ? name : shown + "/" + name;
                SecureDirectoryStream<Path> next = child(current, name, shown);
                current.close();
                current = next;
            }
            return current;
        } catch (IOException | RuntimeException e) {
            current.close();
            throw e;
        }
    }

    /** The names of {@code path} below {@code base}, which it must lie below (or be). */
    public static List<String> names(Path base, Path path) {
        Path b = base.toAbsolutePath().normalize();
        Path p = path.toAbsolutePath().normalize();
        if (!p.startsWith(b)) {
            throw new IllegalArgumentException(p + " is not below " + b);
        }
        List<String> names = new ArrayList<>();
        for (Path n : b.relativize(p)) {
            if (!n.toString().isEmpty()) {
                names.add(n.toString());
            }
        }
        return names;
    }

    /** The attributes of {@code name} in {@code dir}, the link itself where it is one. */
    static BasicFileAttributes attributes(SecureDirectoryStream<Path> dir, String name) throws IOException {
        return dir.getFileAttributeView(Path.of(name), BasicFileAttributeView.class, NOFOLLOW).readAttributes();
    }

    /** Opens the directory {@code name} in {@code dir}; {@code shown} names it in errors. */
    static SecureDirectoryStream<Path> child(SecureDirectoryStream<Path> dir, String name, String shown)
            throws IOException {
        BasicFileAttributes a = attributes(dir, name);
        if (!a.isDirectory()) {
            throw new Refused(shown + " is " + kind(a));
        }
        try {
            return dir.newDirectoryStream(Path.of(name), NOFOLLOW);
        } catch (NoSuchFileException e) {
            throw e;
        } catch (IOException e) {
            throw new Refused(shown + " is no longer a directory: " + e.getMessage());
        }
    }

    /**
     * Opens the regular file {@code name} in {@code dir} for reading.
     *
     * @throws Refused for a link or anything but a regular file
     */
    static SeekableByteChannel openRegular(SecureDirectoryStream<Path> dir, String name, String shown)
            throws IOException {
        BasicFileAttributes a = attributes(dir, name);
        if (!a.isRegularFile()) {
            throw new Refused(shown + " is " + kind(a));
        }
        try {
            return dir.newByteChannel(Path.of(name), Set.of(StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS));
        } catch (NoSuchFileException e) {
            throw e;
        } catch (IOException e) {
            throw new Refused(shown + " cannot be opened as a regular file: " + e.getMessage());
        }
    }

    /**
     * Copies the regular file or directory tree {@code names} below {@code base} to {@code to}, a path only the engine
     * writes. In a tree, a link or special file refuses the copy, or is left out when {@code skipOthers}.
     *
     * @throws NoSuchFileException when there is nothing at {@code names}
     * @throws Refused             for a link on the way or at {@code names}, or a special file there
     */
    public static void copyOut(Path base, List<String> names, Path to, boolean skipOthers) throws IOException {
        if (names.isEmpty()) {
            throw new IllegalArgumentException("nothing below " + base + " named");
        }
        String name = names.get(names.size() - 1);
        String shown = String.join("/", names);
        try (SecureDirectoryStream<Path> dir = open(base, names.subList(0, names.size() - 1))) {
            BasicFileAttributes a = attributes(dir, name);
            if (a.isDirectory()) {
                try (SecureDirectoryStream<Path> tree = child(dir, name, shown)) {
                    Files.createDirectories(to);
                    copyTree(tree, to, skipOthers, shown);
                }
            } else {
                copyFile(dir, name, to, shown);
            }
        }
    }

    private static void copyTree(SecureDirectoryStream<Path> dir, Path to, boolean skipOthers, String shown)
            throws IOException {
        List<String> entries = new ArrayList<>();
        for (Path p : dir) {
            entries.add(p.getFileName().toString());
        }
        for (String e : entries) {
            String s = shown + "/" + e;
            BasicFileAttributes a;
            try {
                a = attributes(dir, e);
            } catch (NoSuchFileException gone) {
                continue;
            }
            if (a.isDirectory()) {
                try (SecureDirectoryStream<Path> sub = child(dir, e, s)) {
                    Path d = to.resolve(e);
                    Files.createDirectory(d);
                    copyTree(sub, d, skipOthers, s);
                }
            } else if (a.isRegularFile()) {
                copyFile(dir, e, to.resolve(e), s);
            } else if (!skipOthers) {
                throw new Refused(s + " is " + kind(a) + "; directories are copied without links");
            }
        }
    }

    private static void copyFile(SecureDirectoryStream<Path> dir, String name, Path to, String shown)
            throws IOException {
        try (SeekableByteChannel in = openRegular(dir, name, shown);
             OutputStream out = Files.newOutputStream(to, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            Channels.newInputStream(in).transferTo(out);
        }
    }

    /** The last {@code max} bytes of {@code in}, and whether there were more before them. */
    static byte[] tail(SeekableByteChannel in, int max, boolean[] cut) throws IOException {
        long size = in.size();
        int n = (int) Math.min(size, max);
        in.position(size - n);
        ByteBuffer buf = ByteBuffer.allocate(n);
        while (buf.hasRemaining() && in.read(buf) > 0) {
            // read it all
        }
        cut[0] = size > n;
        return java.util.Arrays.copyOf(buf.array(), buf.position());
    }

    /**
     * Writes the bytes of {@code from} (a file only the engine writes) to {@code names} below {@code root}: every
     * directory on the way is opened without following links (a missing one is made), the bytes go to a hidden name
     * in the last directory, which is then renamed over the file's name there (a link there is replaced, not
     * followed).
     *
     * @return the bytes written
     * @throws Refused where a directory on the way is a link or no directory
     */
    public static long place(Path root, List<String> names, InputStream from) throws IOException {
        if (names.isEmpty()) {
            throw new IllegalArgumentException("no file below " + root + " named");
        }
        String name = names.get(names.size() - 1);
        SecureDirectoryStream<Path> dir = openMaking(root, names.subList(0, names.size() - 1));
        try {
            String temp = "." + name + "." + UUID.randomUUID() + ".part";
            Set<OpenOption> create = Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                    LinkOption.NOFOLLOW_LINKS);
            long size;
            try (SeekableByteChannel out = dir.newByteChannel(Path.of(temp), create)) {
                size = from.transferTo(Channels.newOutputStream(out));
                if (out instanceof FileChannel file) {
                    file.force(false);
                }
            } catch (IOException | RuntimeException e) {
                deleteQuietly(dir, temp);
                throw e;
            }
            try {
                dir.move(Path.of(temp), dir, Path.of(name));
            } catch (IOException | RuntimeException e) {
                deleteQuietly(dir, temp);
                throw e;
            }
            return size;
        } finally {
            dir.close();
        }
    }

    /**
     * Opens the directory {@code names} below {@code root} as {@link #open} does, making each missing one on the way
     * (by path, then opened without following links: see the class comment).
     *
     * @throws Refused where a name on the way is a link or no directory
     */
    public static SecureDirectoryStream<Path> openMaking(Path root, List<String> names) throws IOException {
        SecureDirectoryStream<Path> dir = open(root, List.of());
        Path byPath = root;
        String shown = "";
        try {
            for (String n : names) {
                byPath = byPath.resolve(n);
                shown = shown.isEmpty() ? n : shown + "/" + n;
                SecureDirectoryStream<Path> next;
                try {
                    next = child(dir, n, shown);
                } catch (NoSuchFileException missing) {
                    try {
                        Files.createDirectory(byPath);
                    } catch (FileAlreadyExistsException raced) {
                        // made meanwhile: opened below like any other
                    }
                    next = child(dir, n, shown);
                }
                dir.close();
                dir = next;
            }
            return dir;
        } catch (IOException | RuntimeException e) {
            dir.close();
            throw e;
        }
    }

    private static void deleteQuietly(SecureDirectoryStream<Path> dir, String name) {
        try {
            dir.deleteFile(Path.of(name));
        } catch (IOException ignored) {
            // gone already, or never made
        }
    }

    static String kind(BasicFileAttributes a) {
        if (a.isSymbolicLink()) {
            return "a symbolic link";
        }
        if (a.isDirectory()) {
            return "a directory";
        }
        if (a.isRegularFile()) {
            return "a regular file";
        }
        return "not a regular file (a FIFO, socket or device)";
    }
}
