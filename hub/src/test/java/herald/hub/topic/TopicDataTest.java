package herald.hub.topic;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import herald.config.HeraldSettings.TopicLimits;
import herald.protocol.Change;
import herald.protocol.Entry;
import herald.protocol.FrameCodec;
import herald.protocol.Op;
import herald.protocol.Position;
import herald.protocol.ServerFrame;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The state rules behind resume, conditional and idempotent changes, checked against a model. */
class TopicDataTest {
    private static final FrameCodec codec = new FrameCodec();
    private static final long MINUTE = Duration.ofMinutes(1).toMillis();

    private static TopicLimits limits(int maxEntries, int resumeWindow) {
        return new TopicLimits(maxEntries, resumeWindow, 50, Duration.ofMinutes(10), 200);
    }

    private static Change change(Op op, String key, String data) {
        return new Change("t", op, key, null, data);
    }

    /** A client's copy of the topic: what it holds after applying snapshots and events the way PROTOCOL.md 9.2 says. */
    private static final class Copy {
        String epoch;
        long seq;
        final Map<String, Entry> entries = new HashMap<>();

        void full(TopicData data) {
            epoch = data.epoch;
            seq = data.seq();
            entries.clear();
            data.entries().forEach(e -> entries.put(e.key(), e));
        }

        void delta(TopicData data, TopicData.Delta delta) {
            assertEquals(seq, delta.since());
            delta.deleted().forEach(entries::remove);
            delta.entries().forEach(e -> entries.put(e.key(), e));
            seq = data.seq();
        }
    }

    /**
     * Random changes (evictions included), with copies that stop following at random points and
     * resume later: after every resume the copy equals the topic, and a delta is never larger on the
     * wire than the full snapshot it replaces.
     */
    @Test
    void aResumedCopyEqualsTheTopicAndItsDeltaIsNeverLargerThanTheFullSnapshot() {
        Random random = new Random(42);
        int deltas = 0;
        int fulls = 0;
        for (int run = 0; run < 200; run++) {
            int maxEntries = 1 + random.nextInt(30);
            int window = 1 + random.nextInt(40);
            TopicData data = new TopicData("e" + run, limits(maxEntries, window));
            List<Copy> copies = new ArrayList<>();
            for (int c = 0; c < 5; c++) {
                Copy copy = new Copy();
                copy.full(data);
                copies.add(copy);
            }
            for (int step = 0; step < 300; step++) {
                int dice = random.nextInt(100);
                String key = "k" + random.nextInt(40);
                Change change = dice < 55 ? change(Op.SET, key, Integer.toString(random.nextInt(1000)))
                        : dice < 70 ? change(Op.APPEND, null, "\"x\"")
                        : dice < 98 ? change(Op.DELETE, key, null)
                        : change(Op.CLEAR, null, null);
                data.apply(change, 0);
                Copy copy = copies.get(random.nextInt(copies.size()));
                if (random.nextInt(4) == 0) {
                    TopicData.Delta delta = data.deltaSince(new Position(copy.epoch, copy.seq));
                    if (delta == null) {
                        copy.full(data);
                        fulls++;
                    } else {
                        int full = codec.encode(new ServerFrame.Snapshot("s", "t", data.epoch, data.seq(), data.entries())).length();
                        int sent = codec.encode(new ServerFrame.Snapshot("s", "t", data.epoch, data.seq(), delta.since(),
                                delta.entries(), delta.deleted())).length();
                        assertTrue(sent <= full, "delta of " + sent + " characters beside a full snapshot of " + full);
                        copy.delta(data, delta);
                        deltas++;
                    }
                    assertEquals(new HashMap<>(asMap(data.entries())), copy.entries, "run " + run + " step " + step);
                    assertEquals(data.seq(), copy.seq);
                }
            }
        }
        assertTrue(deltas > 1000 && fulls > 100, deltas + " deltas and " + fulls + " full snapshots: both paths exercised");
    }

    private static Map<String, Entry> asMap(List<Entry> entries) {
        Map<String, Entry> map = new LinkedHashMap<>();
        entries.forEach(e -> map.put(e.key(), e));
        return map;
    }

    @Test
    void aPositionWithinTheWindowGetsADeltaOfWhatChangedAfterIt() {
        TopicData data = new TopicData("e", limits(100, 10));
        for (int i = 0; i < 20; i++) {
            data.apply(change(Op.SET, "k" + i, "{\"value\":" + i + "}"), 0);
        }
        data.apply(change(Op.DELETE, "k3", null), 0);
        data.apply(change(Op.SET, "k5", "\"new\""), 0);
        data.apply(change(Op.DELETE, "k9", null), 0);
        data.apply(change(Op.SET, "k9", "\"back\""), 0);

        TopicData.Delta delta = data.deltaSince(new Position("e", 20));
        assertNotNull(delta);
        assertEquals(20, delta.since());
        assertEquals(List.of("k5", "k9"), delta.entries().stream().map(Entry::key).toList());
        assertEquals(List.of("k3"), delta.deleted(), "a key removed and set again is an entry, not a deletion");
        assertEquals(List.of(), data.deltaSince(new Position("e", 24)).entries(), "nothing changed: an empty delta");
    }

    @Test
    void anotherEpochAFutureSeqAClearOrAPositionOlderThanTheWindowGetAFullSnapshot() {
        TopicData data = new TopicData("e", limits(100, 5));
        for (int i = 0; i < 30; i++) {
            data.apply(change(Op.SET, "k" + i, "1"), 0);
        }
        for (int i = 0; i < 8; i++) {
            data.apply(change(Op.DELETE, "k" + i, null), 0);
        }
        assertNull(data.deltaSince(new Position("other", 30)), "another epoch");
        assertNull(data.deltaSince(new Position("e", 39)), "a seq the topic never reached");
        assertNull(data.deltaSince(new Position("e", 31)), "the deletes of seq 31 to 33 are forgotten beyond the window of 5");
        assertNotNull(data.deltaSince(new Position("e", 33)), "within the last 5 changes");

        data.apply(change(Op.CLEAR, null, null), 0);
        data.apply(change(Op.SET, "after", "{\"kept\":\"as it was\"}"), 0);
        data.apply(change(Op.SET, "later", "1"), 0);
        assertNull(data.deltaSince(new Position("e", 38)), "a clear after the position");
        assertEquals(List.of("later"), data.deltaSince(new Position("e", 40)).entries().stream().map(Entry::key).toList(),
                "a position after the clear");
    }

    @Test
    void evictionsAreRemovalsLikeDeletes() {
        TopicData data = new TopicData("e", limits(3, 100));
        for (int i = 0; i < 20; i++) {
            data.apply(change(Op.SET, "k" + i, "{\"long enough to make a delta worth it\":" + i + "}"), 0);
        }
        // Past the third key every set is followed by the eviction of the oldest: k19 at 36, k16 out at 37.
        TopicData.Delta delta = data.deltaSince(new Position("e", 35));
        assertNotNull(delta);
        assertEquals(List.of("k16"), delta.deleted());
        assertEquals(List.of("k19"), delta.entries().stream().map(Entry::key).toList());
    }

    @Test
    void aConditionalChangeAppliesOnlyOnTheVersionItNames() {
        TopicData data = new TopicData("e", limits(100, 100));
        assertInstanceOf(TopicData.Applied.class, data.apply(new Change("t", Op.SET, "k", null, "1", 0L, null), 0),
                "0: must not exist");
        assertEquals(new TopicData.Conflict(1), data.apply(new Change("t", Op.SET, "k", null, "2", 0L, null), 0));
        assertInstanceOf(TopicData.Applied.class, data.apply(new Change("t", Op.SET, "k", null, "2", 1L, null), 0));
        assertEquals(new TopicData.Conflict(2), data.apply(new Change("t", Op.DELETE, "k", null, null, 1L, null), 0));
        assertEquals(2, data.seq(), "a conflict takes no seq");
        assertInstanceOf(TopicData.Applied.class, data.apply(new Change("t", Op.DELETE, "k", null, null, 2L, null), 0));
        assertEquals(new TopicData.Conflict(0), data.apply(new Change("t", Op.DELETE, "k", null, null, 2L, null), 0),
                "a missing key is at version 0");
    }

    @Test
    void aRepeatedIdemIsAnsweredWithTheOriginalSeqAndNotApplied() {
        TopicData data = new TopicData("e", limits(100, 100));
        Change append = new Change("t", Op.APPEND, null, null, "1", null, "once");
        assertInstanceOf(TopicData.Applied.class, data.apply(append, 0));
        data.apply(change(Op.SET, "other", "1"), 0);
        assertEquals(new TopicData.Duplicate(1), data.apply(append, 0));
        assertEquals(2, data.seq());
        assertEquals(2, data.size());
        Change conditional = new Change("t", Op.SET, "other", null, "2", 2L, "cas");
        assertInstanceOf(TopicData.Applied.class, data.apply(conditional, 0));
        assertEquals(new TopicData.Duplicate(3), data.apply(conditional, 0),
                "the repeat of an applied conditional change is a duplicate, not a conflict");
    }

    @Test
    void idemKeysAreKeptForTheWindowAndTheTtlAndNeverBeyondTheCap() {
        TopicData data = new TopicData("e", limits(1000, 100));
        for (int i = 0; i < 120; i++) {
            data.apply(new Change("t", Op.APPEND, null, null, "1", null, "i" + i), 0);
        }
        assertEquals(120, data.rememberedIdems(), "beyond the window of 50, but younger than the ttl");
        assertEquals(new TopicData.Duplicate(1), data.apply(new Change("t", Op.APPEND, null, null, "1", null, "i0"), 5 * MINUTE));

        data.apply(change(Op.SET, "k", "1"), 11 * MINUTE);
        assertEquals(50, data.rememberedIdems(), "past the ttl only the window's last 50 changes are kept");
        assertInstanceOf(TopicData.Applied.class, data.apply(new Change("t", Op.APPEND, null, null, "1", null, "i0"), 11 * MINUTE));

        for (int i = 0; i < 500; i++) {
            data.apply(new Change("t", Op.APPEND, null, null, "1", null, "j" + i), 12 * MINUTE);
        }
        assertEquals(200, data.rememberedIdems(), "the cap bounds memory whatever the ttl");
    }
}
