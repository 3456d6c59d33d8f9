package dev.skyport.samples.daemon.cli;

import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobQuery;
import dev.skyport.api.SkyPort;
import dev.skyport.api.SkyPortException;
import picocli.CommandLine;
import picocli.CommandLine.ParameterException;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Job ids as people type them: the whole id, or an unambiguous part of it, either its start (as docker and git take
 * prefixes) or its end (what {@code skyport jobs} shows). Both are accepted because Sky Port's ids are time-ordered
 * UUIDs (version 7): their first 12 hex digits are the submission millisecond, so jobs submitted within the same
 * minute share the first 8 characters and a docker-style 8-character prefix would name none of them; the last digits
 * are random (and count up within one millisecond), so the end of an id is what tells jobs apart.
 *
 * <p>A part is matched against the jobs the caller can see (listed without scripts). No match is a
 * {@link SkyPortException}; several are a usage error naming the candidates.
 */
final class JobIds {
    static final int SHORT = 8;
    private static final Pattern PART = Pattern.compile("[0-9a-fA-F-]{1,36}");
    private static final int CANDIDATES_SHOWN = 5;

    private JobIds() {
    }

    /** The short form tables show: the last {@value #SHORT} hex digits. */
    static String shortForm(JobId id) {
        String text = id.toString();
        return text.substring(text.length() - SHORT);
    }

    /** Resolves every argument before any is acted on, so a typo in the third id changes nothing. */
    static List<JobId> resolve(SkyPort sky, List<String> arguments, CommandLine cli) {
        List<JobId> ids = new ArrayList<>();
        List<Job> listing = null;
        for (String argument : arguments) {
            String part = argument.trim().toLowerCase(Locale.ROOT);
            if (!PART.matcher(part).matches()) {
                throw new ParameterException(cli, "not a job id or part of one: '" + Cells.safe(argument) + "'");
            }
            if (part.length() == 36) {
                ids.add(JobId.parse(part));
                continue;
            }
            if (listing == null) {
                listing = JobTable.list(sky, JobQuery.all(), Integer.MAX_VALUE);
            }
            ids.add(match(part, argument, listing, cli));
        }
        return ids;
    }

    private static JobId match(String part, String argument, List<Job> listing, CommandLine cli) {
        List<JobId> candidates = new ArrayList<>();
        for (Job job : listing) {
            String id = job.id().toString();
            if (id.startsWith(part) || id.endsWith(part)) {
                candidates.add(job.id());
            }
        }
        if (candidates.isEmpty()) {
            throw new SkyPortException("no job id starts or ends with '" + argument + "'");
        }
        if (candidates.size() > 1) {
            StringBuilder names = new StringBuilder();
            candidates.stream().limit(CANDIDATES_SHOWN).forEach(id -> names.append(' ').append(id));
            if (candidates.size() > CANDIDATES_SHOWN) {
                names.append(" and ").append(candidates.size() - CANDIDATES_SHOWN).append(" more");
            }
            throw new ParameterException(cli, "'" + argument + "' is ambiguous: it matches" + names
                    + "; give more of the id");
        }
        return candidates.get(0);
    }
}
