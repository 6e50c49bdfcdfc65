package herald.hub.topic;

import herald.config.HeraldSettings.TopicLimits;
import herald.protocol.Change;
import herald.protocol.Entry;
import herald.protocol.Op;
import herald.protocol.Position;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A topic's state: its entries in seq order, its seq and its epoch, and what it remembers of its
 * recent history. The topic's owner turns a {@link Change} into numbered steps
 * ({@link #apply}); a replica applies the same steps as the owner sent them ({@link #replay}), so
 * both hold the same entries and can answer the same delta snapshots.
 *
 * <p>Resume (PROTOCOL.md 9.2): the keys removed since a client's position, together with the
 * entries changed since, turn the client's state into the current one. Removed keys are kept as
 * tombstones for at least the last {@code resume-window} changes; {@link #horizon} is the oldest
 * position from which every removal is still known (a clear moves it to the clear's seq).
 *
 * <p>Idempotency (9.3): the owner remembers which seq each {@code idem} got, for at least the
 * last {@code idempotency-window} changes and {@code idempotency-ttl}, at most
 * {@code idempotency-max-keys}. A replica does not need them: only the owner applies changes.
 */
public final class TopicData {

    /** One numbered change as applied, evictions included: what subscribers receive as an event. */
    public record Step(long seq, Op op, String key, String event, String data) {
    }

    /** An entry as it travels between nodes; {@link Entry} carries its data as raw JSON for clients. */
    record Item(String key, long seq, String event, String data) {
        public static Item of(Entry entry) {
            return new Item(entry.key(), entry.seq(), entry.event(), entry.data());
        }

        Entry toEntry() {
            return new Entry(key, seq, event, data);
        }
    }

    /** A key removed at {@code seq} and not set since. */
    record Tombstone(String key, long seq) {
    }

    /** What a replica needs besides the entries to answer delta snapshots as the owner would. */
    record History(long horizon, List<Tombstone> tombstones) {
    }

    /** What became of a change: applied as these steps, refused by its {@code ifVersion}, or a repeat of its {@code idem}. */
    public sealed interface Outcome {
    }

    public record Applied(List<Step> steps) implements Outcome {
    }

    record Conflict(long version) implements Outcome {
    }

    record Duplicate(long seq) implements Outcome {
    }

    /** The delta from a position: the entries changed after {@code since} and the keys removed after it. */
    record Delta(long since, List<Entry> entries, List<String> deleted) {
    }

    private record Remembered(long seq, long atMillis) {
    }

    /** An idem key as a snapshot keeps it: the seq it got and when (epoch ms). */
    record IdemKey(String idem, long seq, long atMillis) {
    }

    /** Everything the state holds, as one immutable value: what a durable topic's snapshot stores. */
    public record Image(String epoch, long seq, List<Item> entries, History history, List<IdemKey> idems) {
    }

    public final String epoch;
    private final TopicLimits limits;
    private long seq;
    /** Insertion order is seq order: a key that changes is removed and put back at the end. */
    private final LinkedHashMap<String, Entry> entries = new LinkedHashMap<>();
    /** Also in seq order, at most resume-window of them. */
    private final LinkedHashMap<String, Long> tombstones = new LinkedHashMap<>();
    private long horizon;
    private final LinkedHashMap<String, Remembered> idems = new LinkedHashMap<>();

    public TopicData(String epoch, TopicLimits limits) {
        this.epoch = epoch;
        this.limits = limits;
    }

    /** Unique across restarts of the topic and of the server: a time part and a random part. */
    public static String newEpoch() {
        return Long.toString(System.currentTimeMillis(), 36) + "-"
                + Long.toString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE, 36);
    }

    /** A replica's state as its owner sent it. */
    public TopicData(String epoch, TopicLimits limits, long seq, List<Item> items, History history) {
        this(epoch, limits);
        this.seq = seq;
        items.forEach(item -> entries.put(item.key(), item.toEntry()));
        horizon = history.horizon();
        history.tombstones().forEach(t -> tombstones.put(t.key(), t.seq()));
    }

    public long seq() {
        return seq;
    }

    public int size() {
        return entries.size();
    }

    boolean isEmpty() {
        return entries.isEmpty();
    }

    List<Entry> entries() {
        return new ArrayList<>(entries.values());
    }

    public List<Item> items() {
        return entries.values().stream().map(Item::of).toList();
    }

    public Image image() {
        List<IdemKey> keys = new ArrayList<>(idems.size());
        idems.forEach((idem, r) -> keys.add(new IdemKey(idem, r.seq(), r.atMillis())));
        return new Image(epoch, seq, items(), history(), keys);
    }

    public static TopicData of(Image image, TopicLimits limits) {
        TopicData data = new TopicData(image.epoch(), limits, image.seq(), image.entries(), image.history());
        image.idems().forEach(key -> data.idems.put(key.idem(), new Remembered(key.seq(), key.atMillis())));
        return data;
    }

    public History history() {
        return new History(horizon, tombstones.entrySet().stream().map(t -> new Tombstone(t.getKey(), t.getValue())).toList());
    }

    /** The version a conditional change compares with: the key's seq, 0 when absent. */
    long versionOf(String key) {
        Entry entry = entries.get(key);
        return entry == null ? 0 : entry.seq();
    }

    /** Numbers and applies a change: {@link #plan}, then {@link #commit} when it is to be applied. */
    Outcome apply(Change change, long nowMillis) {
        Outcome outcome = plan(change, nowMillis);
        if (outcome instanceof Applied applied) {
            commit(applied.steps(), change.idem(), nowMillis);
        }
        return outcome;
    }

    /**
     * What a change would do, changing nothing: a repeat of an {@code idem} applied already, a
     * conflict with {@code ifVersion}, or the numbered steps: the change itself, then one delete with
     * event "evicted" per entry the retention limit pushes out, each numbered right after the last.
     */
    private Outcome plan(Change change, long nowMillis) {
        forgetOldIdems(nowMillis);
        if (change.idem() != null) {
            Remembered earlier = idems.get(change.idem());
            if (earlier != null) {
                return new Duplicate(earlier.seq());
            }
        }
        if (change.ifVersion() != null && versionOf(change.key()) != change.ifVersion()) {
            return new Conflict(versionOf(change.key()));
        }
        long changeSeq = seq + 1;
        Step step = switch (change.op()) {
            case SET -> new Step(changeSeq, Op.SET, change.key(), change.event(), change.data());
            case APPEND -> new Step(changeSeq, Op.APPEND, Long.toString(changeSeq), change.event(), change.data());
            case DELETE -> new Step(changeSeq, Op.DELETE, change.key(), change.event(), null);
            case CLEAR -> new Step(changeSeq, Op.CLEAR, null, change.event(), null);
        };
        List<Step> steps = new ArrayList<>(1);
        steps.add(step);
        boolean adds = (change.op() == Op.SET || change.op() == Op.APPEND) && !entries.containsKey(step.key());
        int over = adds ? entries.size() + 1 - limits.maxEntries() : 0;
        if (over > 0) {
            // The oldest entries go; the one just added is the newest, so never among them.
            Iterator<Entry> oldest = entries.values().iterator();
            for (int i = 0; i < over && oldest.hasNext(); i++) {
                steps.add(new Step(changeSeq + 1 + i, Op.DELETE, oldest.next().key(), "evicted", null));
            }
        }
        return new Applied(steps);
    }

    /** Applies a change's numbered steps (planned here, or read back from a journal) and remembers its idem key, if any. */
    public void commit(List<Step> steps, String idem, long nowMillis) {
        steps.forEach(this::replay);
        if (idem != null) {
            idems.put(idem, new Remembered(steps.get(0).seq(), nowMillis));
        }
    }

    /** Applies a step numbered elsewhere (or just now by {@link #apply}). */
    void replay(Step step) {
        switch (step.op()) {
            case SET, APPEND -> {
                entries.remove(step.key());
                entries.put(step.key(), new Entry(step.key(), step.seq(), step.event(), step.data()));
                tombstones.remove(step.key());
            }
            case DELETE -> {
                if (entries.remove(step.key()) != null) {
                    tombstones.remove(step.key());
                    tombstones.put(step.key(), step.seq());
                }
            }
            case CLEAR -> {
                entries.clear();
                tombstones.clear();
                horizon = step.seq();
            }
        }
        seq = step.seq();
        forgetOldTombstones();
    }

    /**
     * The delta from a client's position, or null when only a full snapshot will do: another epoch,
     * a position ahead of the topic or older than what it remembers (a clear after it included), or
     * a delta that would not be smaller than the full snapshot (many keys removed, few kept).
     */
    Delta deltaSince(Position position) {
        long since = position.seq();
        if (!position.epoch().equals(epoch) || since > seq || since < horizon) {
            return null;
        }
        List<Entry> changed = new ArrayList<>();
        long unchangedSize = 0;
        for (Entry entry : entries.values()) {
            if (entry.seq() > since) {
                changed.add(entry);
            } else {
                unchangedSize += ENTRY_OVERHEAD + entry.key().length() + entry.data().length()
                        + (entry.event() == null ? 0 : entry.event().length());
            }
        }
        List<String> deleted = new ArrayList<>();
        long deletedSize = DELTA_OVERHEAD;
        for (Map.Entry<String, Long> tombstone : tombstones.entrySet()) {
            if (tombstone.getValue() > since) {
                deleted.add(tombstone.getKey());
                deletedSize += tombstone.getKey().length() + 3;
            }
        }
        return deletedSize < unchangedSize ? new Delta(since, changed, deleted) : null;
    }

    /** The fewest characters an entry takes in a snapshot: {@code {"key":"","seq":0,"data":0},}. */
    private static final int ENTRY_OVERHEAD = 27;
    /** What a delta adds to a full snapshot besides its keys: {@code "since":0,"deleted":[]} and a margin. */
    private static final int DELTA_OVERHEAD = 32;

    private void forgetOldTombstones() {
        Iterator<Map.Entry<String, Long>> oldest = tombstones.entrySet().iterator();
        while (oldest.hasNext()) {
            long removedAt = oldest.next().getValue();
            if (removedAt > seq - limits.resumeWindow()) {
                return;
            }
            oldest.remove();
            horizon = Math.max(horizon, removedAt);
        }
    }

    /** An idem key is forgotten once outside both the window and the ttl, or early when over the cap. */
    private void forgetOldIdems(long nowMillis) {
        long ttl = limits.idempotencyTtl().toMillis();
        Iterator<Remembered> oldest = idems.values().iterator();
        while (oldest.hasNext()) {
            Remembered first = oldest.next();
            boolean expired = first.seq() <= seq - limits.idempotencyWindow() && nowMillis - first.atMillis() > ttl;
            if (!expired && idems.size() < limits.idempotencyMaxKeys()) {
                return;
            }
            oldest.remove();
        }
    }

    /** How many idem keys are remembered, for tests and the docs' memory figures. */
    int rememberedIdems() {
        return idems.size();
    }
}
