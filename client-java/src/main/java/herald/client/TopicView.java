package herald.client;

import com.fasterxml.jackson.databind.JsonNode;
import herald.protocol.Position;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.function.Consumer;

/**
 * One topic as this client holds it: the entries in the order of their last change's seq, the seq
 * and epoch of that state, and its status. The client applies every snapshot and event to it on its
 * own thread; readers on any thread see a consistent copy ({@link #entries()}). Listeners run on the
 * client's listener executor, one at a time, in the order the changes happened.
 */
public final class TopicView {

    /** {@code data} is the entry's JSON. */
    public record Entry(String key, long seq, String event, JsonNode data) {
    }

    public enum Status {
        /** No snapshot yet, or disconnected: the entries are the last ones known. */
        PENDING,
        LIVE,
        /** A gap was seen; a fresh snapshot is on its way. */
        RESYNCING,
        /** The hub refused the subscription ({@link #error()} says why). */
        FAILED,
        CLOSED
    }

    private final String topic;
    private final Executor listeners;
    private final List<Consumer<TopicView>> onChange = new CopyOnWriteArrayList<>();
    private final LinkedHashMap<String, Entry> entries = new LinkedHashMap<>();
    private long seq = -1;
    private String epoch;
    private Status status = Status.PENDING;
    private HeraldException error;

    TopicView(String topic, Executor listeners) {
        this.topic = topic;
        this.listeners = listeners;
    }

    public String topic() {
        return topic;
    }

    /** A copy of the entries, oldest change first. */
    public synchronized List<Entry> entries() {
        return List.copyOf(entries.values());
    }

    public synchronized Entry get(String key) {
        return entries.get(key);
    }

    /** The seq of the last change applied; -1 before the first snapshot. */
    public synchronized long seq() {
        return seq;
    }

    public synchronized String epoch() {
        return epoch;
    }

    public synchronized Status status() {
        return status;
    }

    public synchronized HeraldException error() {
        return error;
    }

    /** Called after anything about the view changed (state or status), on the listener executor. */
    public void onChange(Consumer<TopicView> listener) {
        onChange.add(listener);
    }

    /** Where a resubscribe resumes from, or null when the view holds nothing yet. */
    synchronized Position position() {
        return epoch == null ? null : new Position(epoch, seq);
    }

    /**
     * A snapshot: full (replaces) or delta (9.2: removes the deleted keys, sets the changed entries).
     * False for a delta that does not start where the view stands: the caller asks for a full one.
     */
    boolean snapshot(JsonNode frame) {
        synchronized (this) {
            String newEpoch = frame.path("epoch").asText();
            if (frame.has("since")) {
                if (!newEpoch.equals(epoch) || frame.path("since").asLong() != seq) {
                    status = Status.RESYNCING;
                    return false;
                }
                frame.path("deleted").forEach(key -> entries.remove(key.asText()));
                frame.path("entries").forEach(this::put);
            } else {
                entries.clear();
                frame.path("entries").forEach(this::put);
            }
            epoch = newEpoch;
            seq = frame.path("seq").asLong();
            status = Status.LIVE;
            error = null;
        }
        changed();
        return true;
    }

    /** An event; false when it is not the next seq (a gap): the caller subscribes again. */
    boolean event(JsonNode frame) {
        synchronized (this) {
            if (status != Status.LIVE) {
                return true;
            }
            long next = frame.path("seq").asLong();
            if (next != seq + 1) {
                status = Status.RESYNCING;
                return false;
            }
            String key = frame.path("key").asText(null);
            switch (frame.path("op").asText()) {
                case "set", "append" -> put(key, next, frame);
                case "delete" -> entries.remove(key);
                case "clear" -> entries.clear();
                default -> {
                    // An op from a newer protocol: the seq still counts.
                }
            }
            seq = next;
        }
        changed();
        return true;
    }

    void status(Status next, HeraldException why) {
        synchronized (this) {
            status = next;
            error = why;
        }
        changed();
    }

    private void put(JsonNode entry) {
        put(entry.path("key").asText(), entry.path("seq").asLong(), entry);
    }

    /** The entry {@code key} at {@code seq}, last in order; its event and data are those of {@code source} (an entry or an event). */
    private void put(String key, long seq, JsonNode source) {
        entries.remove(key);
        entries.put(key, new Entry(key, seq, source.path("event").asText(null), source.path("data")));
    }

    private void changed() {
        for (Consumer<TopicView> listener : onChange) {
            listeners.execute(() -> listener.accept(this));
        }
    }

    @Override
    public synchronized String toString() {
        return "TopicView[" + topic + " " + status + " epoch " + epoch + " seq " + seq + ", " + entries.size() + " entries]";
    }

    /** The keys in order, for tests and logs. */
    synchronized List<String> keys() {
        return new ArrayList<>(entries.keySet());
    }
}
