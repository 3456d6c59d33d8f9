package dev.skyport.samples.daemon.cli;

import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.SkyPortException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code cancel} and {@code requeue}: one result line per job, on stdout for those it worked for and on stderr for
 * those it did not; exit code 1 when any did not. Every id is resolved first, so an ambiguous one changes nothing.
 */
abstract class JobActionCommand extends ClientCommand {
    @Parameters(arity = "1..*", paramLabel = "ID",
            description = "Job ids, or unambiguous starts or ends of them.")
    List<String> ids = new ArrayList<>();

    abstract Job apply(Connection connection, JobId id);

    abstract String done();

    @Override
    final int run(Connection connection) {
        List<JobId> resolved = JobIds.resolve(connection.sky(), ids, spec.commandLine());
        int failures = 0;
        for (JobId id : resolved) {
            try {
                Job job = apply(connection, id);
                out().println(done() + " " + id + " (" + job.state() + ")");
            } catch (SkyPortException e) {
                complain(e.getMessage());
                failures++;
            }
        }
        return failures == 0 ? 0 : 1;
    }

    @Command(name = "cancel", mixinStandardHelpOptions = true,
            description = "Cancels jobs: a running one is stopped (SIGTERM, then SIGKILL). Exits 1 if any could "
                    + "not be canceled.")
    static final class Cancel extends JobActionCommand {
        @Override
        Job apply(Connection connection, JobId id) {
            return connection.sky().jobs().cancel(id);
        }

        @Override
        String done() {
            return "canceled";
        }
    }

    @Command(name = "requeue", mixinStandardHelpOptions = true,
            description = "Puts jobs back in the queue with fresh placement (a running one is stopped first). "
                    + "Exits 1 if any could not be requeued.")
    static final class Requeue extends JobActionCommand {
        @Override
        Job apply(Connection connection, JobId id) {
            return connection.sky().jobs().requeue(id);
        }

        @Override
        String done() {
            return "requeued";
        }
    }
}
