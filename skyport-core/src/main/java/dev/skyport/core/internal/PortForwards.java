package dev.skyport.core.internal;

import dev.skyport.api.JobId;
import dev.skyport.api.JobState;
import dev.skyport.api.JobTransitioned;
import dev.skyport.api.PortSpec;
import dev.skyport.gate.GateException;
import dev.skyport.gate.NodeAccess;
import dev.skyport.gate.PortForward;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.function.Function;
import java.util.function.IntPredicate;
import java.util.function.UnaryOperator;

/**
 * The port forwards of jobs running on remote nodes (a node whose job directory is not the engine's): for each
 * {@code in} port of {@code #SWM ports} a port on the engine's loopback that reaches the job's port on the node
 * ({@link NodeAccess#forwardToNode}), for each {@code out} port the same port on the node's loopback reaching the
 * engine's ({@link NodeAccess#forwardFromNode}, what the upstream Jupyter terminal calls back through). They are opened
 * in the background when a run is followed (started or found again after a restart) and closed when its attempt ends,
 * however it ends. Where they are is shown on the job's details ("Running; port 8888/tcp/in at 127.0.0.1:40211"); a
 * forward that fails is logged with its node and port and shown there too, and the job runs on. Jobs on the engine's
 * own machine need none: their ports are on this host already. Thread-safe.
 */
final class PortForwards {
    private static final Logger LOG = LoggerFactory.getLogger(PortForwards.class);

    /** Where the outcome of opening an attempt's forwards is shown. */
    interface Display {
        void show(JobId job, int attempt, String text);
    }

    private static final class Session {
        final int attempt;
        final List<PortForward> open = new ArrayList<>();
        boolean closed;

        Session(int attempt) {
            this.attempt = attempt;
        }
    }

    /**
     * The gate option naming the ports of the engine's host an {@code out} port may reach: ports and ranges separated
     * by commas ({@code 8081,9000-9010}). Absent or empty: none, as a job could otherwise reach any service of the
     * engine's host from the node (its sshd, the daemon's own port) as the engine's host sees local connections.
     */
    static final String OUT_PORTS_OPTION = "forward-out-ports";

    private final Executor executor;
    private final Function<JobId, List<PortSpec>> portsOf;
    private final Display display;
    private final IntPredicate outAllowed;
    private final Map<JobId, Session> sessions = new ConcurrentHashMap<>();

    PortForwards(Executor executor, Function<JobId, List<PortSpec>> portsOf, Display display,
                 IntPredicate outAllowed) {
        this.executor = executor;
        this.portsOf = portsOf;
        this.display = display;
        this.outAllowed = outAllowed;
    }

    /**
     * The ports {@code option} (the value of {@link #OUT_PORTS_OPTION}) allows; none when it is absent or blank.
     *
     * @throws GateException permanent, naming the option, for a malformed value
     */
    static IntPredicate outPorts(Optional<String> option) {
        String value = option.map(String::strip).orElse("");
        if (value.isEmpty()) {
            return port -> false;
        }
        List<int[]> ranges = new ArrayList<>();
        for (String item : value.split(",", -1)) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d{1,5})(?:-(\\d{1,5}))?")
                    .matcher(item.strip());
            int low = m.matches() ? Integer.parseInt(m.group(1)) : -1;
            int high = m.matches() ? (m.group(2) != null ? Integer.parseInt(m.group(2)) : low) : -1;
            if (low < 1 || high > 65535 || high < low) {
                throw GateException.permanent("gate option " + OUT_PORTS_OPTION + " must list ports (1-65535) or "
                        + "ranges such as 9000-9010 separated by commas, got '" + value + "'");
            }
            ranges.add(new int[] {low, high});
        }
        return port -> ranges.stream().anyMatch(r -> port >= r[0] && port <= r[1]);
    }

    /**
     * The engine's display: a note on the running job (a move from RUNNING to itself with new details), unless the
     * attempt is no longer the current one or a stop is under way, whose details must stay.
     */
    static Display onJobs(JobTable table, Transitions transitions) {
        return (job, attempt, text) -> {
            Entry e = table.active.get(job);
            if (e == null) {
                return;
            }
            synchronized (e) {
                if (table.active.get(job) != e || e.attempt != attempt || e.run == null || e.state != JobState.RUNNING
                        || e.stopIntent != null) {
                    return;
                }
                try {
                    JobTransitioned note = transitions.transition(e, JobState.RUNNING, Optional.empty(),
                            "Running; " + text, UnaryOperator.identity(), Optional.empty(),
                            Optional.ofNullable(e.notBefore));
                    transitions.settle(e, note);
                } catch (RuntimeException ex) {
                    LOG.warn("cannot show the port forwards of job {}: {}", job, ex.toString());
                }
            }
        };
    }

    /**
     * Opens the forwards of attempt {@code attempt} of {@code job} on {@code node} in the background, when the job has
     * ports and the node is remote. The attempt is registered at once, so a {@link #close} that follows, even before
     * the background work began, closes whatever it opens.
     */
    void open(JobId job, int attempt, NodeAccess node, Path engineDirectory) {
        List<PortSpec> ports;
        try {
            ports = portsOf.apply(job);
            if (ports.isEmpty() || node.directoryOf(job, engineDirectory).equals(engineDirectory.toString())) {
                return;
            }
        } catch (RuntimeException e) {
            LOG.warn("cannot forward the ports of job {} on {}: {}", job, node.node(), e.toString());
            return;
        }
        Session session = new Session(attempt);
        Session old = sessions.put(job, session);
        if (old != null) {
            closeSession(job, old);
        }
        executor.execute(() -> {
            try {
                openNow(job, session, node, ports);
            } catch (RuntimeException e) {
                LOG.warn("cannot forward the ports of job {} on {}: {}", job, node.node(), e.toString());
            }
        });
    }

    private void openNow(JobId job, Session session, NodeAccess node, List<PortSpec> ports) {
        List<String> shown = new ArrayList<>();
        for (PortSpec port : ports) {
            synchronized (session) {
                if (session.closed) {
                    return;
                }
            }
            if (!port.protocol().equals("tcp")) {
                shown.add("port " + port + " not forwarded: forwards carry tcp only");
                continue;
            }
            if (port.direction() == PortSpec.Direction.OUT && !outAllowed.test(port.port())) {
                shown.add("port " + port + " not forwarded: the engine's gate option " + OUT_PORTS_OPTION
                        + " does not allow port " + port.port());
                continue;
            }
            PortForward forward;
            try {
                forward = port.direction() == PortSpec.Direction.IN ? node.forwardToNode(port.port())
                        : node.forwardFromNode(port.port(), port.port());
            } catch (RuntimeException e) {
                LOG.warn("cannot forward port {} of job {} on node {}: {}", port, job, node.node(), e.getMessage());
                shown.add("port " + port + " not forwarded: " + e.getMessage());
                continue;
            }
            synchronized (session) {
                if (session.closed) {
                    forward.close();
                    return;
                }
                session.open.add(forward);
            }
            LOG.info("job {}: port {} on node {} forwarded {} 127.0.0.1:{}", job, port, node.node(),
                    port.direction() == PortSpec.Direction.IN ? "from" : "to", forward.localPort());
            shown.add(port.direction() == PortSpec.Direction.IN
                    ? "port " + port + " at 127.0.0.1:" + forward.localPort()
                    : "port " + port + " reaches 127.0.0.1:" + forward.localPort() + " of the engine's host");
        }
        display.show(job, session.attempt, String.join("; ", shown));
    }

    /** Closes the forwards of attempt {@code attempt} of {@code job}; nothing when it has none or another attempt's. */
    void close(JobId job, int attempt) {
        Session s = sessions.get(job);
        if (s != null && s.attempt == attempt && sessions.remove(job, s)) {
            closeSession(job, s);
        }
    }

    /** Closes every forward: the engine stops, and the runs it leaves behind get theirs again when re-attached. */
    void closeAll() {
        for (JobId job : List.copyOf(sessions.keySet())) {
            Session s = sessions.remove(job);
            if (s != null) {
                closeSession(job, s);
            }
        }
    }

    /** The forwards open now for {@code job}, for tests. */
    List<PortForward> openFor(JobId job) {
        Session s = sessions.get(job);
        if (s == null) {
            return List.of();
        }
        synchronized (s) {
            return List.copyOf(s.open);
        }
    }

    private static void closeSession(JobId job, Session s) {
        List<PortForward> forwards;
        synchronized (s) {
            s.closed = true;
            forwards = List.copyOf(s.open);
            s.open.clear();
        }
        for (PortForward f : forwards) {
            try {
                f.close();
            } catch (RuntimeException e) {
                LOG.warn("cannot close the forward of port {} of job {}: {}", f.remotePort(), job, e.toString());
            }
        }
    }
}
