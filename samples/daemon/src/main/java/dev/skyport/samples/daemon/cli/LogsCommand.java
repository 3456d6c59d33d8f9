package dev.skyport.samples.daemon.cli;

import dev.skyport.api.JobId;
import dev.skyport.api.Jobs;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.InputStream;
import java.io.OutputStream;
import java.util.List;

/**
 * {@code skyport logs ID}: the job's output as the raw bytes it wrote, not decoded, so binary output and any
 * encoding survive a pipe. With {@code -f} it follows the file until the job has ended and all was read.
 */
@Command(name = "logs", mixinStandardHelpOptions = true,
        description = "Prints a job's standard output (or --stderr) as raw bytes; -f follows it until the job ends.")
final class LogsCommand extends ClientCommand {
    @Parameters(index = "0", paramLabel = "ID", description = "The job's id, or an unambiguous start or end of it.")
    String id;

    @Option(names = {"-f", "--follow"}, description = "Keep printing as the job writes, until it has ended.")
    boolean follow;

    @Option(names = "--stderr", description = "Standard error instead of standard output.")
    boolean stderr;

    @Override
    int run(Connection connection) throws Exception {
        JobId jobId = JobIds.resolve(connection.sky(), List.of(id), spec.commandLine()).get(0);
        Jobs jobs = connection.sky().jobs();
        OutputStream out = context.binaryOut();
        try (InputStream in = follow ? (stderr ? jobs.followStderr(jobId) : jobs.followStdout(jobId))
                : (stderr ? jobs.openStderr(jobId) : jobs.openStdout(jobId))) {
            byte[] buffer = new byte[8192];
            int n;
            while ((n = in.read(buffer)) >= 0) {
                out.write(buffer, 0, n);
                if (follow) {
                    out.flush(); // a follower wants each line when it is written, not when a buffer fills
                }
            }
        }
        out.flush();
        return 0;
    }
}
