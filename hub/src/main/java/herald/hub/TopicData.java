package herald.hub;

import herald.protocol.Change;
import herald.protocol.Entry;
import herald.protocol.Op;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;

/**
 * A topic's state: its entries in seq order, its seq and its epoch. The topic that owns it turns a
 * {@link Change} into numbered steps ({@link #apply(Change, int)}); a replica applies the same steps
 * as the owner sent them ({@link #replay(Step)}), so both hold the same entries.
 */
final class TopicData {

    /** One numbered change as applied, evictions included: what subscribers receive as an event. */
    record Step(long seq, Op op, String key, String event, String data) {
    }

    /** An entry as it travels between nodes; {@link Entry} carries its data as raw JSON for clients. */
    record Item(String key, long seq, String event, String data) {
        static Item of(Entry entry) {
            return new Item(entry.key(), entry.seq(), entry.event(), entry.data());
        }

        Entry toEntry() {
            return new Entry(key, seq, event, data);
        }
    }

    final String epoch;
    private long seq;
    /** Insertion order is seq order: a key that changes is removed and put back at the end. */
    private final LinkedHashMap<String, Entry> entries = new LinkedHashMap<>();

    TopicData(String epoch) {
        this.epoch = epoch;
    }

    TopicData(String epoch, long seq, List<Item> items) {
        this.epoch = epoch;
        this.seq = seq;
        items.forEach(item -> entries.put(item.key(), item.toEntry()));
    }

    long seq() {
        return seq;
    }

    int size() {
        return entries.size();
    }

    boolean isEmpty() {
        return entries.isEmpty();
    }

    List<Entry> entries() {
        return new ArrayList<>(entries.values());
    }

    List<Item> items() {
        return entries.values().stream().map(Item::of).toList();
    }

    /**
     * Numbers and applies a change; the first step is the change itself, then one delete with event
     * "evicted" per entry pushed out by the retention limit, each numbered right after the last.
     */
    List<Step> apply(Change change, int maxEntries) {
        List<Step> steps = new ArrayList<>(1);
        long changeSeq = ++seq;
        boolean mayEvict = true;
        Step step = switch (change.op()) {
            case SET -> {
                mayEvict = !entries.containsKey(change.key());
                yield new Step(changeSeq, Op.SET, change.key(), change.event(), change.data());
            }
            case APPEND -> new Step(changeSeq, Op.APPEND, Long.toString(changeSeq), change.event(), change.data());
            case DELETE -> new Step(changeSeq, Op.DELETE, change.key(), change.event(), null);
            case CLEAR -> new Step(changeSeq, Op.CLEAR, null, change.event(), null);
        };
        replay(step);
        steps.add(step);
        if (mayEvict) {
            Iterator<Entry> oldest = entries.values().iterator();
            while (entries.size() > maxEntries) {
                Entry evicted = oldest.next();
                oldest.remove();
                steps.add(new Step(++seq, Op.DELETE, evicted.key(), "evicted", null));
            }
        }
        return steps;
    }

    /** Applies a step numbered elsewhere (or just now by {@link #apply}). */
    void replay(Step step) {
        switch (step.op()) {
            case SET, APPEND -> {
                entries.remove(step.key());
                entries.put(step.key(), new Entry(step.key(), step.seq(), step.event(), step.data()));
            }
            case DELETE -> entries.remove(step.key());
            case CLEAR -> entries.clear();
        }
        seq = step.seq();
    }
}
