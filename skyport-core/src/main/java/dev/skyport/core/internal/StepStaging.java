package dev.skyport.core.internal;

import dev.skyport.api.ContainerSteps;
import dev.skyport.api.OutputLog;
import dev.skyport.api.StepInput;
import dev.skyport.api.StepLog;
import dev.skyport.api.StepOutput;
import dev.skyport.gate.DetachedRun;
import dev.skyport.gate.GateException;
import dev.skyport.gate.NodeAccess;
import dev.skyport.gate.RunRequest;
import dev.skyport.gate.StepLayout;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * The files of a {@link ContainerSteps} job, on the engine's side of the {@link StepLayout} contract: before the run,
 * the shared directories are made and the inputs placed in the job's directory on its node; after it, each step's
 * record and the tails of its output are read into {@link StepLog}s, and after a success the outputs are copied to
 * their destinations on the engine's machine, one {@link OutputLog} per file.
 *
 * <p>Everything goes over {@link NodeAccess}, so a remote node works as the local one does. On a node that shares the
 * engine's file system the engine reads the mounts itself, with its own rights, from directories the job's account
 * owns, and any process of that account (another job of the same owner) may change them while the engine reads: the
 * step logs' tails are read, and the outputs copied into a directory of the engine's ({@code .<job>.collect-*} beside
 * the job directory), through {@link NoFollow}, which follows no link whenever it appears (a step could plant
 * {@code /outputs/x -> /etc/shadow}). Only that private copy is then matched and placed. On a remote node the mounts
 * are first copied into the engine's job directory ({@code collect.<attempt>}), where the same work runs.
 *
 * <p>Destinations are written with the engine's rights too: below the owner's input root (when one is set) every
 * directory on the way is opened without following links ({@link NoFollow#place}), a missing one is created, and the
 * file itself is written beside and renamed over the last component, which is replaced, never followed. Inputs from
 * the owner's storage are likewise copied out of it without following links before they are uploaded; a FIFO, socket
 * or device is refused as a source.
 */
final class StepStaging {
    private static final Logger LOG = LoggerFactory.getLogger(StepStaging.class);

    private StepStaging() {
    }

    /**
     * Makes every shared directory of {@code request}'s steps and places every input there or at its own mount.
     * {@code root} is the owner's input root (real path), when there is one; {@code shared} says that the node's
     * files are the engine's.
     *
     * @throws GateException naming the input; permanent for a missing input or one outside the input root
     */
    static void stageIn(ContainerSteps steps, String owner, NodeAccess node, RunRequest request, Optional<Path> root,
                        boolean shared) {
        String dir = request.directory();
        int attempt = request.attempt();
        // Each attempt has mounts of its own, and they start empty: a stage-in tried again for the same attempt must
        // neither write through links its steps could not have made yet nor find files of its own first try. What an
        // earlier attempt left is in its own directory, never written through or collected for this one.
        String mounts = StepLayout.mountsOf(dir, attempt);
        if (shared) {
            try {
                // From the job directory down: the directories on the way may have been the account's.
                FileTrees.deleteBelow(Path.of(dir), Path.of(mounts));
            } catch (NoFollow.Refused e) {
                throw GateException.permanent("cannot empty the mounts of the job: " + e.getMessage());
            } catch (IOException e) {
                throw GateException.transientFailure("cannot empty the mounts of the job: " + IoErrors.reason(e), e,
                        Optional.empty());
            }
        } else {
            node.deleteTree(mounts);
        }
        Path empty = null;
        try {
            empty = Files.createTempDirectory("skyport-mount");
            for (StepLayout.Mount m : StepLayout.mounts(dir, attempt, steps)) {
                if (!m.readOnly()) {
                    node.uploadTree(empty, m.host());
                }
            }
        } catch (IOException e) {
            throw GateException.transientFailure("cannot make the job's mounts: " + IoErrors.reason(e), e,
                    Optional.empty());
        } finally {
            deleteQuietly(empty);
        }
        List<StepInput> inputs = steps.inputs();
        for (StepInput in : inputs) {
            String target = StepLayout.hostPath(dir, attempt, steps, in.path()).orElseThrow();
            if (shared) {
                Staging.checkNoLinks(Path.of(dir), Path.of(target), in.path());
            }
            if (in.content().isPresent()) {
                placeContent(node, in, target);
                continue;
            }
            Path real = source(in, owner, root);
            Path snapshot = null;
            try {
                if (root.isPresent()) {
                    // The user may write their storage meanwhile: what is uploaded is a copy taken without following
                    // any link from the root down, so a directory swapped for a link after the check adds nothing.
                    snapshot = Files.createTempDirectory("skyport-input");
                    Path copy = snapshot.resolve("x");
                    NoFollow.copyOut(root.get(), NoFollow.names(root.get(), real), copy, false);
                    real = copy;
                }
                if (in.directory()) {
                    node.uploadTree(real, target);
                } else {
                    node.upload(real, target);
                }
            } catch (NoSuchFileException e) {
                throw GateException.permanent("input '" + in.source().orElseThrow() + "' does not exist in the input "
                        + "directory " + root.orElseThrow() + " of user " + owner);
            } catch (IOException e) {
                throw GateException.permanent("input '" + in.source().orElseThrow() + "' cannot be read: "
                        + IoErrors.reason(e));
            } catch (GateException e) {
                throw Staging.named("cannot stage in '" + in.path() + "'", e);
            } finally {
                deleteQuietly(snapshot);
            }
        }
    }

    private static void placeContent(NodeAccess node, StepInput in, String target) {
        Path temp = null;
        try {
            temp = Files.createTempFile("skyport-input", ".part");
            Files.writeString(temp, in.content().get(), StandardCharsets.UTF_8);
            node.upload(temp, target);
        } catch (IOException e) {
            throw GateException.transientFailure("cannot write the content of input '" + in.path() + "': "
                    + IoErrors.reason(e), e, Optional.empty());
        } catch (GateException e) {
            throw Staging.named("cannot stage in '" + in.path() + "'", e);
        } finally {
            deleteQuietly(temp);
        }
    }

    /** The real path of {@code in}'s source, refused (as missing) outside {@code root}, and of the kind it says. */
    private static Path source(StepInput in, String owner, Optional<Path> root) {
        String source = in.source().orElseThrow();
        Path real;
        BasicFileAttributes attrs;
        try {
            Path p = Path.of(source);
            Path lexical = p.isAbsolute() ? p.normalize()
                    : (root.isPresent() ? root.get().resolve(p) : p.toAbsolutePath()).normalize();
            real = lexical.toRealPath();
            if (root.isPresent() && !real.startsWith(root.get())) {
                throw new NoSuchFileException(source);
            }
            attrs = Files.readAttributes(real, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            // One message for missing and outside, as for input-files.
            throw GateException.permanent("input '" + source + "' does not exist"
                    + root.map(r -> " in the input directory " + r + " of user " + owner).orElse(""));
        } catch (IOException e) {
            throw GateException.permanent("input '" + source + "' cannot be read: " + IoErrors.reason(e));
        }
        if (!attrs.isDirectory() && !attrs.isRegularFile()) {
            // Reading a FIFO blocks until someone writes it: one user could hold a staging thread of everyone's.
            throw GateException.permanent("input '" + source + "' for " + in.path() + " is "
                    + NoFollow.kind(attrs) + "; only regular files and directories are staged");
        }
        if (in.directory() != attrs.isDirectory()) {
            throw GateException.permanent("input '" + source + "' for " + in.path() + " is "
                    + (attrs.isDirectory() ? "a directory; mark the input as one" : "not a directory"));
        }
        return real;
    }

    /**
     * The log of every step of {@code request} that started, from its record and output files on the node. What
     * cannot be read is logged and left out (a log is a report, not the outcome): a record never written means the
     * step never started. Remote files are brought into {@code local}, the job's directory on the engine's machine.
     */
    static List<StepLog> readLogs(ContainerSteps steps, NodeAccess node, RunRequest request, boolean shared,
                                  Path local) {
        return readSteps(steps, node, request, shared, local).logs();
    }

    /**
     * The logs of {@link #readLogs}, and the first step whose command never ran because the runtime could not create
     * or start its container ({@link StepLayout.StepRecord#noContainer()}).
     */
    record StepsRead(List<StepLog> logs, OptionalInt noContainer) {
    }

    /** As {@link #readLogs}, with the step that had no container. */
    static StepsRead readSteps(ContainerSteps steps, NodeAccess node, RunRequest request, boolean shared,
                               Path local) {
        OptionalInt noContainer = OptionalInt.empty();
        String runDir = request.directory() + "/" + DetachedRun.runDirectoryName(request.attempt());
        Path copies = local.resolve("steps." + request.attempt());
        List<StepLog> logs = new ArrayList<>();
        for (int i = 0; i < steps.steps().size(); i++) {
            Optional<String> record = read(node, StepLayout.record(runDir, i), shared, copies, "step." + i);
            Optional<StepLayout.StepRecord> parsed = record.flatMap(StepLayout::parseRecord);
            if (parsed.isEmpty()) {
                break; // steps run in order: none after this one started
            }
            String out = StepLayout.stdoutOf(request.directory(), request.attempt(), runDir, steps, i);
            String err = StepLayout.stderrOf(request.directory(), request.attempt(), runDir, steps, i);
            String outTail = tail(node, out, shared, copies, "step." + i + ".stdout", request.directory());
            String errTail = tail(node, err, shared, copies, "step." + i + ".stderr", request.directory());
            StepLayout.StepRecord r = parsed.get();
            logs.add(new StepLog(r.start(), r.end(), r.status(), outTail, errTail));
            if (r.noContainer() && noContainer.isEmpty()) {
                noContainer = OptionalInt.of(i);
            }
            if (r.status().isEmpty()) {
                break;
            }
        }
        return new StepsRead(List.copyOf(logs), noContainer);
    }

    /** A small file of the node as text, empty when it is not there. */
    private static Optional<String> read(NodeAccess node, String path, boolean shared, Path copies, String name) {
        try {
            Path file = shared ? Path.of(path) : fetch(node, path, copies, name);
            if (file == null) {
                return Optional.empty();
            }
            try (InputStream in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
                // A record is two short lines; more is not one the driver wrote.
                return Optional.of(new String(in.readNBytes(4096), StandardCharsets.UTF_8));
            }
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException | GateException e) {
            LOG.warn("cannot read {} on {}: {}", path, node.node(), e.getMessage());
            return Optional.empty();
        }
    }

    /**
     * The last {@link StepLog#MAX_TAIL_BYTES} bytes of {@code path} on the node as UTF-8, a character cut in two at
     * the start replaced by U+FFFD; empty when there is no such file. In the job's mounts no link is followed.
     */
    private static String tail(NodeAccess node, String path, boolean shared, Path copies, String name,
                               String jobDirectory) {
        try {
            Path file;
            if (shared) {
                file = Path.of(path);
                if (file.startsWith(Path.of(jobDirectory, StepLayout.MOUNTS))) {
                    List<String> names = NoFollow.names(Path.of(jobDirectory), file);
                    String last = names.get(names.size() - 1);
                    try (var dir = NoFollow.open(Path.of(jobDirectory), names.subList(0, names.size() - 1));
                         SeekableByteChannel ch = NoFollow.openRegular(dir, last, path)) {
                        return tail(ch);
                    }
                }
            } else {
                file = fetch(node, path, copies, name);
                if (file == null) {
                    return "";
                }
            }
            return tail(file);
        } catch (NoSuchFileException e) {
            return "";
        } catch (IOException | GateException e) {
            LOG.warn("cannot read {} on {}: {}", path, node.node(), e.getMessage());
            return "";
        }
    }

    /** The tail of a local file, as {@link #tail(NodeAccess, String, boolean, Path, String, String)} says. */
    static String tail(Path file) throws IOException {
        try (SeekableByteChannel ch = Files.newByteChannel(file, StandardOpenOption.READ,
                LinkOption.NOFOLLOW_LINKS)) {
            return tail(ch);
        }
    }

    private static String tail(SeekableByteChannel ch) throws IOException {
        boolean[] cut = new boolean[1];
        byte[] bytes = NoFollow.tail(ch, StepLog.MAX_TAIL_BYTES, cut);
        return utf8Tail(bytes, cut[0]);
    }

    /** {@code bytes} as text; when {@code cut}, continuation bytes at the start (half a character) become one U+FFFD. */
    static String utf8Tail(byte[] bytes, boolean cut) {
        int skip = 0;
        if (cut) {
            while (skip < bytes.length && skip < 3 && (bytes[skip] & 0xC0) == 0x80) {
                skip++;
            }
        }
        String text = new String(bytes, skip, bytes.length - skip, StandardCharsets.UTF_8);
        return skip > 0 ? "\uFFFD" + text : text;
    }

    /** Downloads a file of a remote node into {@code copies}; null when the node has no such file. */
    private static Path fetch(NodeAccess node, String path, Path copies, String name) {
        Path local = copies.resolve(name);
        try {
            node.download(path, local);
            return local;
        } catch (GateException e) {
            if (e.isTransient()) {
                throw e;
            }
            return null; // permanent: there is no such file
        }
    }

    /**
     * The index of the step whose failure ended the run: the first that ended non-zero without ignoring errors; empty
     * when every step that ended succeeded or was allowed to fail.
     */
    static OptionalInt failedStep(ContainerSteps steps, List<StepLog> logs) {
        for (int i = 0; i < logs.size() && i < steps.steps().size(); i++) {
            OptionalInt code = logs.get(i).exitCode();
            if (code.isPresent() && code.getAsInt() != 0 && !steps.steps().get(i).ignoreError()) {
                return OptionalInt.of(i);
            }
        }
        return OptionalInt.empty();
    }

    /**
     * Copies every output of {@code steps} from the node to its destination, one log per file.
     *
     * @throws GateException permanent for a missing output without wildcards or a destination that cannot be
     *                       written safely; transient when the node could not be reached
     */
    static List<OutputLog> collect(ContainerSteps steps, String owner, NodeAccess node, RunRequest request,
                                   Optional<Path> root, Optional<Path> lexicalRoot, boolean shared, Path local) {
        List<OutputLog> logs = new ArrayList<>();
        collect(steps, owner, node, request, root, lexicalRoot, shared, local, logs);
        return List.copyOf(logs);
    }

    /**
     * As {@link #collect(ContainerSteps, String, NodeAccess, RunRequest, Optional, Optional, boolean, Path)}, adding
     * each file's log to {@code logs} once it is in place: when a later output fails, the files already copied stay
     * where they are and stay logged (the task's log shows every file written into the user's storage).
     */
    static void collect(ContainerSteps steps, String owner, NodeAccess node, RunRequest request, Optional<Path> root,
                        Optional<Path> lexicalRoot, boolean shared, Path local, List<OutputLog> logs) {
        int attempt = request.attempt();
        String dir = request.directory();
        Path view;
        if (shared) {
            // The job directory is the account's: the copies go beside it, into the engine's own jobs directory.
            try {
                view = Files.createTempDirectory(local.toAbsolutePath().getParent(),
                        "." + local.getFileName() + ".collect-");
            } catch (IOException e) {
                throw GateException.transientFailure("cannot make a directory to collect the outputs in: "
                        + IoErrors.reason(e), e, Optional.empty());
            }
        } else {
            view = local.resolve("collect." + attempt);
        }
        try {
            List<StepOutput> outputs = steps.outputs();
            for (int k = 0; k < outputs.size(); k++) {
                StepOutput o = outputs.get(k);
                if (o.isPattern()) {
                    collectPattern(steps, owner, node, dir, attempt, o, root, lexicalRoot, shared, view.resolve(
                            Integer.toString(k)), logs);
                } else {
                    collectPath(steps, owner, node, dir, attempt, o, root, lexicalRoot, shared, view.resolve(
                            Integer.toString(k)), logs);
                }
            }
        } finally {
            deleteQuietly(view);
        }
    }

    private static void collectPath(ContainerSteps steps, String owner, NodeAccess node, String dir, int attempt,
                                    StepOutput o, Optional<Path> root, Optional<Path> lexicalRoot, boolean shared,
                                    Path view, List<OutputLog> logs) {
        String host = StepLayout.hostPath(dir, attempt, steps, o.path()).orElseThrow();
        Path from;
        if (shared) {
            try {
                copyOutShared(dir, host, view, false, o);
            } catch (NoSuchFileException e) {
                throw missing(o, "no such " + (o.directory() ? "directory" : "file"));
            }
            from = view;
        } else {
            try {
                if (o.directory()) {
                    node.downloadTree(host, view);
                } else {
                    node.download(host, view);
                }
            } catch (GateException e) {
                if (e.isTransient()) {
                    throw Staging.named("cannot stage out '" + o.path() + "'", e);
                }
                throw missing(o, e.getMessage());
            }
            from = view;
        }
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(from, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            throw missing(o, "no such " + (o.directory() ? "directory" : "file"));
        } catch (IOException e) {
            throw GateException.permanent("output '" + o.path() + "' cannot be read: " + IoErrors.reason(e));
        }
        Path destination = destination(o.destination(), "", owner, root, lexicalRoot);
        if (!o.directory()) {
            if (!a.isRegularFile()) {
                throw missing(o, a.isSymbolicLink() ? "it is a symbolic link" : "it is not a regular file");
            }
            long size = place(from, destination, o.path(), root);
            logs.add(new OutputLog(o.path(), destination.toString(), size));
            return;
        }
        if (!a.isDirectory()) {
            throw missing(o, "it is not a directory");
        }
        List<Path> files = new ArrayList<>();
        try (Stream<Path> walk = Files.walk(from)) {
            for (Path p : (Iterable<Path>) walk::iterator) {
                BasicFileAttributes pa = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                if (pa.isRegularFile()) {
                    files.add(p);
                } else if (!pa.isDirectory()) {
                    throw GateException.permanent("output '" + o.path() + "': " + from.relativize(p) + " is "
                            + (pa.isSymbolicLink() ? "a symbolic link" : "not a regular file")
                            + "; directories are copied without links");
                }
            }
        } catch (IOException | java.io.UncheckedIOException e) {
            throw GateException.permanent("output '" + o.path() + "' cannot be read: " + e.getMessage());
        }
        files.sort(null);
        for (Path f : files) {
            String rel = from.relativize(f).toString();
            Path to = destination(o.destination(), rel, owner, root, lexicalRoot);
            long size = place(f, to, o.path() + "/" + rel, root);
            logs.add(new OutputLog(o.path() + "/" + rel, to.toString(), size));
        }
    }

    private static void collectPattern(ContainerSteps steps, String owner, NodeAccess node, String dir, int attempt,
                                       StepOutput o, Optional<Path> root, Optional<Path> lexicalRoot,
                                       boolean shared, Path view, List<OutputLog> logs) {
        String base = ContainerSteps.directoryOf(o);
        List<String> segments = List.of(o.path().substring(base.length() + 1).split("/"));
        String host = StepLayout.hostPath(dir, attempt, steps, base).orElseThrow();
        Path from;
        if (shared) {
            // The base itself and every directory above it, up to the job's directory, must be no link; inside it,
            // links and special files match nothing.
            try {
                copyOutShared(dir, host, view, true, o);
            } catch (NoSuchFileException e) {
                LOG.debug("output {}: no directory {}; nothing matches", o.path(), base);
                return;
            }
            from = view;
        } else {
            try {
                node.downloadTree(host, view);
            } catch (GateException e) {
                if (e.isTransient()) {
                    throw Staging.named("cannot stage out '" + o.path() + "'", e);
                }
                if (!e.getMessage().contains("no such ")) {
                    // a link or a file where the base directory should be: refused, never zero matches
                    throw GateException.permanent("output '" + o.path() + "' cannot be matched: " + e.getMessage());
                }
                LOG.debug("output {}: {}; nothing matches", o.path(), e.getMessage());
                return; // the directory is not there: zero matches
            }
            from = view;
        }
        List<String> matches;
        try {
            matches = OutputPattern.expand(from, segments);
        } catch (IOException e) {
            throw GateException.permanent("output '" + o.path() + "' cannot be matched: " + IoErrors.reason(e));
        }
        String prefix = o.pathPrefix().orElseThrow();
        for (String rel : matches) {
            String matched = base + "/" + rel;
            String rest = matched.substring(Math.min(prefix.length(), matched.length()));
            Path to = destination(o.destination(), rest, owner, root, lexicalRoot);
            long size = place(from.resolve(rel), to, matched, root);
            logs.add(new OutputLog(matched, to.toString(), size));
        }
    }

    private static GateException missing(StepOutput o, String why) {
        return GateException.permanent("output '" + o.path() + "' was not left by the steps (" + why + ")");
    }

    /**
     * The destination {@code destination + rest} on the engine's machine: lexically below the input root, then moved
     * onto the root's real path, where {@link #place} checks each directory.
     */
    private static Path destination(String destination, String rest, String owner, Optional<Path> root,
                                    Optional<Path> lexicalRoot) {
        Path d = Path.of(destination);
        String r = rest;
        while (r.startsWith("/")) {
            r = r.substring(1);
        }
        Path target = (r.isEmpty() ? d : d.resolve(r)).normalize();
        if (root.isEmpty()) {
            return target;
        }
        Path lexical = lexicalRoot.orElseThrow();
        if (!target.startsWith(lexical) || target.equals(lexical)) {
            throw GateException.permanent("the destination " + target + " lies outside the input directory "
                    + lexical + " of user " + owner);
        }
        return root.get().resolve(lexical.relativize(target).toString());
    }

    /**
     * Copies the local file {@code from} (opened without following a link) to {@code to}: the directories on the way
     * below the input root {@code root} are made where missing and must be no links, the bytes go to a hidden name beside {@code to} and are renamed
     * over it.
     *
     * @return the bytes copied
     */
    private static long place(Path from, Path to, String named, Optional<Path> root) {
        try {
            if (root.isPresent()) {
                // The user may write their storage meanwhile: no link is followed from the root down, whenever it
                // appears.
                try (InputStream in = Files.newInputStream(from, LinkOption.NOFOLLOW_LINKS)) {
                    return NoFollow.place(root.get(), NoFollow.names(root.get(), to), in);
                } catch (NoFollow.Refused e) {
                    throw GateException.permanent("output '" + named + "': " + e.getMessage()
                            + "; nothing is written through it");
                }
            }
            Files.createDirectories(to.getParent()); // a trusted embedding: wherever the engine may write
            Path temp = to.resolveSibling("." + to.getFileName() + "." + UUID.randomUUID() + ".part");
            long size;
            try (InputStream in = Files.newInputStream(from, LinkOption.NOFOLLOW_LINKS);
                 OutputStream out = Files.newOutputStream(temp, StandardOpenOption.CREATE_NEW,
                         StandardOpenOption.WRITE)) {
                size = in.transferTo(out);
            } catch (IOException | RuntimeException e) {
                Files.deleteIfExists(temp);
                throw e;
            }
            try {
                Files.move(temp, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (IOException e) {
                Files.deleteIfExists(temp);
                throw e;
            }
            return size;
        } catch (java.nio.channels.ClosedByInterruptException e) {
            Thread.currentThread().interrupt();
            throw GateException.transientFailure("copying output '" + named + "' was interrupted", e,
                    Optional.empty());
        } catch (IOException e) {
            throw GateException.permanent("output '" + named + "' cannot be copied to " + to + ": "
                    + IoErrors.reason(e));
        }
    }

    private static void deleteQuietly(Path path) {
        if (path == null) {
            return;
        }
        try {
            FileTrees.delete(path);
        } catch (IOException e) {
            LOG.debug("cannot delete {}: {}", path, e.getMessage());
        }
    }

    /**
     * Copies {@code host} out of the job's shared directory without following links; a missing path is the caller's
     * to judge (an error for a named output, no match for a pattern's base), any other failure is permanent.
     */
    private static void copyOutShared(String dir, String host, Path view, boolean skipOthers, StepOutput o)
            throws NoSuchFileException {
        try {
            NoFollow.copyOut(Path.of(dir), NoFollow.names(Path.of(dir), Path.of(host)), view, skipOthers);
        } catch (NoSuchFileException e) {
            throw e;
        } catch (NoFollow.Refused e) {
            throw GateException.permanent("output '" + o.path() + "': " + e.getMessage());
        } catch (IOException e) {
            throw GateException.permanent("output '" + o.path() + "' cannot be read: " + IoErrors.reason(e));
        }
    }
}
