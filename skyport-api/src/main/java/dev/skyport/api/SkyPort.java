package dev.skyport.api;

import java.util.List;

/**
 * The workload manager: in-process ({@link #embedded()}) or, through the REST client, out of process. Both implement
 * this same interface and pass the same behavioural tests. Thread-safe. {@link #close()} stops the manager's
 * threads; jobs that run keep running and are re-attached on the next start.
 */
public interface SkyPort extends AutoCloseable {
    /**
     * A builder for the in-process engine. The engine itself comes from {@code skyport-core}, found with
     * {@link java.util.ServiceLoader}; with the default settings it runs jobs as processes on this machine and keeps
     * its state under {@code ~/.skyport}.
     *
     * @return this builder
     */
    static EmbeddedBuilder embedded() {
        return new EmbeddedBuilder();
    }

    /** {@return the jobs: submit, list, watch, cancel} */
    Jobs jobs();

    /** {@return nodes jobs can run on now, with their capacity} */
    List<Node> nodes();

    /** {@return sizes of machine the gates can create} */
    List<Flavor> flavors();

    /** {@return the images the gates can start jobs from} */
    List<Image> images();

    /** {@return the sites the gates create resources in} */
    List<RemoteSite> remotes();

    /** {@return partitions the gates manage now} */
    List<Partition> partitions();

    /** {@return the event stream of job and node transitions} */
    Events events();

    /**
     * {@return whether the manager is doing its work, and what is failing if not} Cheap; thread-safe. While it is
     * {@link Health.Status#DOWN}, submissions throw {@link EngineUnavailableException}. A {@link #asUser user view}
     * reports its manager's health.
     */
    Health health();

    /**
     * {@return a view of this manager for one user, for a server that serves many users from one manager} Jobs
     * submitted through it are owned by {@code user}; {@code get}, {@code list}, {@code cancel}, {@code requeue},
     * {@code await}, {@code stdout}/{@code stderr} (and their {@code follow} streams), and
     * {@code events().history}/{@code subscribe} see only that user's jobs. Another user's job id behaves exactly like
     * an id that does not exist: {@link NoSuchJobException} with the same message, also from {@code events().history},
     * so a view cannot learn whether another user's job exists. A {@link JobQuery} owner filter only narrows: naming
     * another owner lists nothing. {@link #nodes()}, {@link #flavors()}, {@link #images()}, {@link #remotes()} and
     * {@link #partitions()} are shared. {@link #close()} on a view does nothing; the manager stays up, and a view stops
     * working when its manager is closed. * <p>The manager itself is the admin view: it sees every user's jobs. A view
     * cannot escape to another user: {@code asUser} on a view returns the view itself for its own user and throws for
     * any other. Thread-safe; a view is cheap and may be created per request.
     *
     * @param user the owner of the view's jobs; the same rule as {@link EmbeddedBuilder#owner}: not blank, no
     *       control characters
     * @throws NullPointerException     when {@code user} is null
     * @throws IllegalArgumentException when {@code user} is blank or contains control characters
     * @throws IllegalStateException    when called on a view with a user other than the view's own
     */
    SkyPort asUser(String user);

    /**
     * As {@link #asUser(String)}, for a user whose stable id differs from the name shown: jobs are owned by
     * {@code userId} (every ownership check compares it) and carry {@code userName} for display and as the job's
     * {@code USER}. A server that identifies users by a certificate's UUID passes the UUID here, so a user deleted and
     * re-created under the same name (with a new id) sees none of the old user's jobs.
     *
     * @param userId the user's stable id, which owns the jobs
     * @param userName the name shown, and the jobs' {@code USER}
     * @return a view that acts as that user
     * @throws IllegalArgumentException when either is blank or contains control characters
     * @throws IllegalStateException    when called on a view with a user id other than the view's own
     */
    SkyPort asUser(String userId, String userName);

    @Override
    void close();
}
