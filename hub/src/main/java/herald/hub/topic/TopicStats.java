package herald.hub.topic;

import herald.protocol.ApiBody;
import java.util.ArrayList;
import java.util.List;
import java.util.NavigableMap;
import java.util.function.Function;

/**
 * A topic's counts, written only by its actor (the owner on one node, the relay in a cluster) and
 * read by the registry when it lists topics, so a listing of many topics needs no message to each
 * of them.
 */
public final class TopicStats {
    public volatile long seq;
    public volatile int entries;
    volatile int subscribers;

    /** Counts the state as it is now; by the actor that holds it. */
    public void count(TopicData data) {
        seq = data.seq();
        entries = data.size();
    }

    /** A page of a registry's topics in name order, after {@code after} (null: from the first). */
    static <T> ApiBody.TopicList page(NavigableMap<String, T> topics, Function<T, TopicStats> statsOf, String after, int limit) {
        NavigableMap<String, T> tail = after == null ? topics : topics.tailMap(after, false);
        List<ApiBody.TopicList.TopicSummary> page = new ArrayList<>(Math.min(limit, tail.size()));
        String next = null;
        for (var entry : tail.entrySet()) {
            if (page.size() == limit) {
                next = page.get(page.size() - 1).topic();
                break;
            }
            TopicStats stats = statsOf.apply(entry.getValue());
            page.add(new ApiBody.TopicList.TopicSummary(entry.getKey(), stats.seq, stats.entries, stats.subscribers));
        }
        return new ApiBody.TopicList(page, next);
    }
}
