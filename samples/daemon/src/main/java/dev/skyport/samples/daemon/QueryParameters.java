package dev.skyport.samples.daemon;

import org.eclipse.jetty.util.Fields;

import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/** Reading a query string's parameters, shared by the daemon's APIs, each of which words its own errors. */
public final class QueryParameters {
    private QueryParameters() {
    }

    /**
     * All values of a parameter, in their order.
     *
     * @param q the query's parameters
     * @param name the parameter's name
     * @return its values; empty when it is absent
     */
    public static List<String> values(Fields q, String name) {
        List<String> values = q.getValues(name);
        return values == null ? List.of() : values;
    }

    /**
     * The value of a parameter that may be given at most once.
     *
     * @param q the query's parameters
     * @param name the parameter's name
     * @param givenTwice the error for a parameter given more than once, from the message "must be given once"
     * @return its value, or empty when it is absent
     */
    public static Optional<String> single(Fields q, String name,
                                          Function<String, ? extends RuntimeException> givenTwice) {
        List<String> values = values(q, name);
        if (values.size() > 1) {
            throw givenTwice.apply("must be given once");
        }
        return values.stream().findFirst();
    }
}
