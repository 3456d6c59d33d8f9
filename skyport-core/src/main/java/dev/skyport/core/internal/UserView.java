package dev.skyport.core.internal;

import dev.skyport.api.Events;
import dev.skyport.api.Flavor;
import dev.skyport.api.Health;
import dev.skyport.api.Image;
import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobQuery;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobTransitioned;
import dev.skyport.api.Jobs;
import dev.skyport.api.Node;
import dev.skyport.api.Page;
import dev.skyport.api.Partition;
import dev.skyport.api.RemoteSite;
import dev.skyport.api.SkyPort;
import dev.skyport.api.SkyPortEvent;
import dev.skyport.api.Subscription;

import java.io.InputStream;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * The engine as one user sees it ({@link SkyPort#asUser}): submits as that user, and every call that takes a job id
 * checks ownership first, before it waits, locks or changes anything, so another user's job is refused exactly like
 * an unknown id. Holds no state of its own beyond the user; closing it does nothing.
 */
final class UserView implements SkyPort {
    private final Engine engine;
    private final Owner owner;
    /** The owner's id: what every ownership check compares. */
    private final String user;
    private final EngineJobs engineJobs;
    private final Jobs jobs = new UserJobs();
    private final Events events = new UserEvents();

    /**
     * Names already checked: a daemon makes a view per request, and building a whole configuration to check the same
     * name each time was a visible part of a submit's CPU. The rule is pure, so a name once accepted stays accepted.
     */
    private static final Map<String, String> CHECKED_NAMES = new ConcurrentHashMap<>();
    private static final int MAX_CHECKED_NAMES = 10_000;

    UserView(Engine engine, Owner owner) {
        this.engine = engine;
        this.owner = owner;
        this.user = owner.id();
        this.engineJobs = new EngineJobs(engine);
    }

    /**
     * {@code user} checked by the rule of {@link dev.skyport.api.EmbeddedBuilder#owner}: a view's user and the
     * engine's own owner are the same kind of name, and the builder holds the one copy of that rule.
     */
    static String checkedName(String user) {
        String known = CHECKED_NAMES.get(user);
        if (known != null) {
            return known;
        }
        String checked = SkyPort.embedded().owner(user).config().owner();
        if (CHECKED_NAMES.size() < MAX_CHECKED_NAMES) {
            CHECKED_NAMES.put(user, checked);
        }
        return checked;
    }

    /** The job if this view's user owns it; {@link dev.skyport.api.NoSuchJobException} otherwise. */
    private Job owned(JobId id) {
        return engine.get(Objects.requireNonNull(id, "id"), user);
    }

    @Override
    public Jobs jobs() {
        return jobs;
    }

    @Override
    public List<Node> nodes() {
        return engine.nodes();
    }

    @Override
    public Health health() {
        return engine.health();
    }

    @Override
    public List<Flavor> flavors() {
        return engine.flavors();
    }

    @Override
    public List<Image> images() {
        return engine.images();
    }

    @Override
    public List<RemoteSite> remotes() {
        return engine.remotes();
    }

    @Override
    public List<Partition> partitions() {
        return engine.partitions();
    }

    @Override
    public Events events() {
        return events;
    }

    @Override
    public SkyPort asUser(String other) {
        return asUser(other, other);
    }

    @Override
    public SkyPort asUser(String otherId, String otherName) {
        checkedName(otherName);
        if (checkedName(otherId).equals(user)) {
            return this;
        }
        throw new IllegalStateException("this is the view of user '" + owner.name()
                + "'; only the manager itself gives views of other users");
    }

    /** Does nothing: the manager, which other views share, stays up. */
    @Override
    public void close() {
    }

    @Override
    public String toString() {
        return "SkyPort view of user '" + owner.name() + "'";
    }

    private final class UserJobs implements Jobs {
        @Override
        public Job submit(JobSpec spec) {
            return engineJobs.submit(spec, owner);
        }

        @Override
        public List<Job> submitAll(List<JobSpec> specs) {
            return engineJobs.submitAll(specs, owner);
        }

        @Override
        public CompletableFuture<Job> submitAsync(JobSpec spec) {
            return engineJobs.submitAsync(spec, owner);
        }

        @Override
        public Job get(JobId id) {
            return owned(id);
        }

        @Override
        public Page<Job> list(JobQuery query) {
            Objects.requireNonNull(query, "query");
            if (query.owner().isPresent() && !query.owner().get().equals(user)) {
                return new Page<>(List.of(), Optional.empty());
            }
            return engineJobs.list(query.withOwner(user));
        }

        @Override
        public Job cancel(JobId id) {
            owned(id);
            return engineJobs.cancel(id);
        }

        @Override
        public Job requeue(JobId id) {
            owned(id);
            return engineJobs.requeue(id);
        }

        @Override
        public Job await(JobId id, Duration timeout) throws InterruptedException {
            owned(id);
            return engineJobs.await(id, timeout);
        }

        @Override
        public CompletableFuture<Job> onTerminal(JobId id) {
            owned(id);
            return engineJobs.onTerminal(id);
        }

        @Override
        public String stdout(JobId id) {
            owned(id);
            return engineJobs.stdout(id);
        }

        @Override
        public String stderr(JobId id) {
            owned(id);
            return engineJobs.stderr(id);
        }

        @Override
        public InputStream openStdout(JobId id) {
            owned(id);
            return engineJobs.openStdout(id);
        }

        @Override
        public InputStream openStderr(JobId id) {
            owned(id);
            return engineJobs.openStderr(id);
        }

        @Override
        public InputStream followStdout(JobId id) {
            owned(id);
            return engineJobs.followStdout(id);
        }

        @Override
        public InputStream followStderr(JobId id) {
            owned(id);
            return engineJobs.followStderr(id);
        }
    }

    private final class UserEvents implements Events {
        @Override
        public Subscription subscribe(Consumer<? super SkyPortEvent> listener) {
            return engine.eventHub().subscribe(user, listener);
        }

        @Override
        public Subscription subscribeAfter(long afterSequence, Consumer<? super SkyPortEvent> listener) {
            return engine.eventHub().subscribeAfter(afterSequence, user, listener);
        }

        @Override
        public long lastSequence() {
            return engine.eventHub().lastSequence();
        }

        @Override
        public List<JobTransitioned> history(JobId id) {
            owned(id);
            return engine.eventHub().history(id);
        }
    }
}
