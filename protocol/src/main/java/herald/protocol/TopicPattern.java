package herald.protocol;

import java.util.ArrayList;
import java.util.List;

/**
 * A topic pattern as PROTOCOL.md section 3 defines it: segments split by {@code .}, {@code :} or
 * {@code /}; {@code *} matches one whole segment and a trailing {@code **} one or more segments.
 * Separators must match exactly, so {@code chat:*} matches {@code chat:42} but not {@code chat.42}.
 * {@code **} alone matches every topic. A pattern is compiled once and matched without allocating.
 */
public final class TopicPattern {
    private final String source;
    /** Literal segments, "*" wildcards and the separators between them, in order. */
    private final String[] segments;
    private final char[] separators;
    private final boolean trailingDoubleStar;

    private TopicPattern(String source, String[] segments, char[] separators, boolean trailingDoubleStar) {
        this.source = source;
        this.segments = segments;
        this.separators = separators;
        this.trailingDoubleStar = trailingDoubleStar;
    }

    /** Compiles a pattern, or throws IllegalArgumentException saying what is wrong with it. */
    public static TopicPattern compile(String pattern) {
        if (pattern == null || pattern.isEmpty()) {
            throw new IllegalArgumentException("a topic pattern must not be empty");
        }
        List<String> segs = new ArrayList<>();
        StringBuilder seps = new StringBuilder();
        int start = 0;
        for (int i = 0; i <= pattern.length(); i++) {
            if (i == pattern.length() || isSeparator(pattern.charAt(i))) {
                segs.add(pattern.substring(start, i));
                if (i < pattern.length()) {
                    seps.append(pattern.charAt(i));
                }
                start = i + 1;
            }
        }
        boolean doubleStar = segs.get(segs.size() - 1).equals("**");
        if (doubleStar) {
            if (segs.size() == 1) {
                return new TopicPattern(pattern, new String[0], new char[0], true);
            }
            segs.remove(segs.size() - 1);
        }
        for (String seg : segs) {
            boolean wildcard = seg.equals("*");
            if (seg.isEmpty() || (!wildcard && (seg.contains("*") || !TopicNames.isValid(seg)))) {
                throw new IllegalArgumentException("'" + pattern + "' is not a topic pattern: segments are names,"
                        + " '*' for one segment, or a trailing '**'");
            }
        }
        return new TopicPattern(pattern, segs.toArray(String[]::new), seps.toString().toCharArray(), doubleStar);
    }

    /** Whether any of these patterns matches the topic. */
    public static boolean anyMatches(java.util.List<TopicPattern> patterns, String topic) {
        for (TopicPattern pattern : patterns) {
            if (pattern.matches(topic)) {
                return true;
            }
        }
        return false;
    }

    public boolean matches(String topic) {
        if (segments.length == 0) {
            return true;
        }
        int pos = 0;
        for (int s = 0; s < segments.length; s++) {
            if (s > 0) {
                if (pos >= topic.length() || topic.charAt(pos) != separators[s - 1]) {
                    return false;
                }
                pos++;
            }
            String seg = segments[s];
            int end = segmentEnd(topic, pos);
            if (end == pos) {
                return false;
            }
            int length = end - pos;
            if (!seg.equals("*") && (seg.length() != length || !topic.regionMatches(pos, seg, 0, length))) {
                return false;
            }
            pos = end;
        }
        if (!trailingDoubleStar) {
            return pos == topic.length();
        }
        // One or more further segments, the first joined by the pattern's own separator.
        return pos < topic.length() && topic.charAt(pos) == separators[segments.length - 1]
                && pos + 1 < topic.length() && !isSeparator(topic.charAt(pos + 1));
    }

    private static int segmentEnd(String topic, int from) {
        int i = from;
        while (i < topic.length() && !isSeparator(topic.charAt(i))) {
            i++;
        }
        return i;
    }

    private static boolean isSeparator(char c) {
        return c == '.' || c == ':' || c == '/';
    }

    @Override
    public String toString() {
        return source;
    }
}
