package dev.skyport.core.internal;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;

/**
 * POSIX filename expansion (Shell Command Language §2.13.3) of a {@link dev.skyport.api.StepOutput}'s wildcard path:
 * {@code *}, {@code ?} and bracket expressions ({@code [abc]}, {@code [a-z]}, {@code [!abc]}, {@code [[:digit:]]}),
 * a backslash quoting the next character. Patterns apply segment by segment, so nothing matches {@code /}, and a name
 * beginning with {@code .} is matched only by a segment beginning with a literal {@code .}. There is no {@code **}:
 * two stars are one. A {@code [} without its {@code ]} is itself.
 */
final class OutputPattern {
    private OutputPattern() {
    }

    /**
     * The regular files below {@code root} that {@code segments} (the pattern's segments after {@code root}) match, as
     * paths relative to {@code root} with {@code /} between segments, sorted. Nothing is followed: a symbolic link is
     * neither a directory to descend into nor a match, and a missing {@code root} matches nothing.
     *
     * @throws IOException when a directory cannot be read
     */
    static List<String> expand(Path root, List<String> segments) throws IOException {
        List<String> current = List.of("");
        for (int i = 0; i < segments.size(); i++) {
            boolean last = i == segments.size() - 1;
            String segment = segments.get(i);
            List<String> next = new ArrayList<>();
            for (String dir : current) {
                Path at = dir.isEmpty() ? root : root.resolve(dir);
                for (String name : children(at)) {
                    if (!matches(segment, name)) {
                        continue;
                    }
                    String rel = dir.isEmpty() ? name : dir + "/" + name;
                    BasicFileAttributes a = Files.readAttributes(root.resolve(rel), BasicFileAttributes.class,
                            LinkOption.NOFOLLOW_LINKS);
                    if (last ? a.isRegularFile() : a.isDirectory()) {
                        next.add(rel);
                    }
                }
            }
            current = next;
        }
        return current.stream().sorted().toList();
    }

    private static List<String> children(Path dir) throws IOException {
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            return List.of();
        }
        List<String> names = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path p : entries) {
                names.add(p.getFileName().toString());
            }
        } catch (NoSuchFileException | NotDirectoryException gone) {
            return List.of();
        }
        return names;
    }

    /** True when the file name {@code name} matches the pattern segment {@code segment}. */
    static boolean matches(String segment, String name) {
        if (name.indexOf('/') >= 0) {
            return false;
        }
        List<Token> tokens = compile(segment);
        if (name.startsWith(".") && (tokens.isEmpty() || !tokens.get(0).isLiteral('.'))) {
            return false;
        }
        return match(tokens, name);
    }

    /** One element of a pattern: a literal character, {@code ?}, {@code *}, or a bracket expression. */
    private record Token(char kind, char literal, String set, boolean negated) {
        static final char LITERAL = 'l';
        static final char ANY = '?';
        static final char STAR = '*';
        static final char SET = '[';

        boolean isLiteral(char c) {
            return kind == LITERAL && literal == c;
        }

        boolean accepts(char c) {
            return switch (kind) {
                case LITERAL -> c == literal;
                case ANY -> true;
                case SET -> inSet(set, c) != negated;
                default -> false;
            };
        }
    }

    private static List<Token> compile(String p) {
        List<Token> tokens = new ArrayList<>();
        int i = 0;
        while (i < p.length()) {
            char c = p.charAt(i);
            if (c == '\\' && i + 1 < p.length()) {
                tokens.add(new Token(Token.LITERAL, p.charAt(i + 1), null, false));
                i += 2;
            } else if (c == '*') {
                if (tokens.isEmpty() || tokens.get(tokens.size() - 1).kind() != Token.STAR) {
                    tokens.add(new Token(Token.STAR, '\0', null, false));
                }
                i++;
            } else if (c == '?') {
                tokens.add(new Token(Token.ANY, '\0', null, false));
                i++;
            } else if (c == '[') {
                int end = bracketEnd(p, i);
                if (end < 0) {
                    tokens.add(new Token(Token.LITERAL, '[', null, false));
                    i++;
                } else {
                    boolean negated = p.charAt(i + 1) == '!';
                    String body = p.substring(i + (negated ? 2 : 1), end);
                    tokens.add(new Token(Token.SET, '\0', body, negated));
                    i = end + 1;
                }
            } else {
                tokens.add(new Token(Token.LITERAL, c, null, false));
                i++;
            }
        }
        return tokens;
    }

    /** The index of the {@code ]} closing the bracket expression opened at {@code open}, or -1 when none does. */
    private static int bracketEnd(String p, int open) {
        int j = open + 1;
        if (j < p.length() && p.charAt(j) == '!') {
            j++;
        }
        if (j < p.length() && p.charAt(j) == ']') {
            j++; // a ']' first is a member
        }
        while (j < p.length()) {
            char c = p.charAt(j);
            if (c == '[' && j + 1 < p.length() && p.charAt(j + 1) == ':') {
                int close = p.indexOf(":]", j + 2);
                if (close >= 0) {
                    j = close + 2;
                    continue;
                }
            }
            if (c == ']') {
                return j;
            }
            j++;
        }
        return -1;
    }

    /** Whether {@code c} is a member of the bracket expression's body {@code set} (without the brackets and '!'). */
    private static boolean inSet(String set, char c) {
        int i = 0;
        while (i < set.length()) {
            char first = set.charAt(i);
            if (first == '[' && i + 1 < set.length() && set.charAt(i + 1) == ':') {
                int close = set.indexOf(":]", i + 2);
                if (close >= 0) {
                    if (inClass(set.substring(i + 2, close), c)) {
                        return true;
                    }
                    i = close + 2;
                    continue;
                }
            }
            if (i + 2 < set.length() && set.charAt(i + 1) == '-') {
                char last = set.charAt(i + 2);
                if (first <= c && c <= last) {
                    return true;
                }
                i += 3;
                continue;
            }
            if (first == c) {
                return true;
            }
            i++;
        }
        return false;
    }

    private static boolean inClass(String name, char c) {
        return switch (name) {
            case "alpha" -> Character.isLetter(c);
            case "digit" -> c >= '0' && c <= '9';
            case "alnum" -> Character.isLetterOrDigit(c);
            case "upper" -> Character.isUpperCase(c);
            case "lower" -> Character.isLowerCase(c);
            case "space" -> Character.isWhitespace(c);
            case "blank" -> c == ' ' || c == '\t';
            case "xdigit" -> (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
            case "punct" -> c > ' ' && c < 127 && !Character.isLetterOrDigit(c);
            case "cntrl" -> Character.isISOControl(c);
            case "print" -> c >= ' ' && c != 127;
            case "graph" -> c > ' ' && c != 127;
            default -> false;
        };
    }

    /** Matches with one backtracking point, the last star: linear in practice, never exponential. */
    private static boolean match(List<Token> tokens, String name) {
        int t = 0;
        int n = 0;
        int starT = -1;
        int starN = -1;
        while (n < name.length()) {
            if (t < tokens.size() && tokens.get(t).kind() == Token.STAR) {
                starT = t++;
                starN = n;
            } else if (t < tokens.size() && tokens.get(t).accepts(name.charAt(n))) {
                t++;
                n++;
            } else if (starT >= 0) {
                t = starT + 1;
                n = ++starN;
            } else {
                return false;
            }
        }
        while (t < tokens.size() && tokens.get(t).kind() == Token.STAR) {
            t++;
        }
        return t == tokens.size();
    }
}
