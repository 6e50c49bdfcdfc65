package herald.hub.auth;

import herald.protocol.TopicPattern;
import java.util.List;

/** What one connection or key may do, its patterns compiled once rather than per frame. */
public final class Permissions {
    private final List<TopicPattern> subscribe;
    private final List<TopicPattern> publish;

    private Permissions(List<TopicPattern> subscribe, List<TopicPattern> publish) {
        this.subscribe = subscribe;
        this.publish = publish;
    }

    /** Throws IllegalArgumentException naming the first pattern that is not one. */
    public static Permissions of(List<String> subscribe, List<String> publish) {
        return new Permissions(compile(subscribe), compile(publish));
    }

    private static List<TopicPattern> compile(List<String> patterns) {
        return patterns.stream().map(TopicPattern::compile).toList();
    }

    public boolean canSubscribe(String topic) {
        return TopicPattern.anyMatches(subscribe, topic);
    }

    public boolean canPublish(String topic) {
        return TopicPattern.anyMatches(publish, topic);
    }
}
