package herald.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Resume with a delta snapshot (PROTOCOL.md 9.2) over real sockets, SSE and the HTTP API. */
@ExtendWith(LogCapturingExtension.class)
class ResumeTest {
    private static TestServer server;

    @BeforeAll
    static void start() throws Exception {
        server = TestServer.start("""
                herald.topics.retention = [{ pattern = "prop:*", max-entries = 12, resume-window = 15 },
                                           { pattern = "window:*", resume-window = 5 }]
                """);
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    /** A client's copy of one topic, kept by the rules a client follows: snapshots, deltas, events and the gap rule. */
    static final class View {
        String epoch;
        long seq;
        final Map<String, JsonNode> entries = new HashMap<>();

        /** Applies a snapshot; true when it was a delta. */
        boolean snapshot(JsonNode frame) {
            boolean delta = frame.has("since");
            if (delta) {
                assertEquals(epoch, frame.path("epoch").asText());
                assertEquals(seq, frame.path("since").asLong(), "a delta starts where the client stands");
                frame.path("deleted").forEach(key -> entries.remove(key.asText()));
            } else {
                entries.clear();
                assertFalse(frame.has("deleted"), "a full snapshot has no deleted keys");
            }
            frame.path("entries").forEach(entry -> entries.put(entry.path("key").asText(), entry));
            epoch = frame.path("epoch").asText();
            seq = frame.path("seq").asLong();
            return delta;
        }

        void event(JsonNode frame) {
            assertEquals(seq + 1, frame.path("seq").asLong(), "the gap rule");
            seq = frame.path("seq").asLong();
            String key = frame.path("key").asText();
            switch (frame.path("op").asText()) {
                case "set", "append" -> {
                    ObjectNode entry = Json.object().put("key", key).put("seq", (int) seq);
                    if (frame.has("event")) {
                        entry.set("event", frame.get("event"));
                    }
                    entry.set("data", frame.get("data"));
                    entries.put(key, entry);
                }
                case "delete" -> entries.remove(key);
                case "clear" -> entries.clear();
                default -> throw new AssertionError(frame.toString());
            }
        }

        ObjectNode since(String topic) {
            ObjectNode since = Json.object();
            since.putObject(topic).put("epoch", epoch).put("seq", seq);
            return since;
        }

        void assertEquals(Object expected, Object actual) {
            org.junit.jupiter.api.Assertions.assertEquals(expected, actual);
        }

        void assertEquals(Object expected, Object actual, String message) {
            org.junit.jupiter.api.Assertions.assertEquals(expected, actual, message);
        }
    }

    private static ObjectNode subscribe(String id, String topic, ObjectNode since) {
        ObjectNode frame = Json.object().put("type", "subscribe").put("id", id);
        frame.putArray("topics").add(topic);
        if (since != null) {
            frame.set("since", since);
        }
        return frame;
    }

    private static JsonNode snapshotOf(WsClient client, String id) throws InterruptedException {
        return client.nextMatching(f -> f.path("type").asText().equals("snapshot") && f.path("id").asText().equals(id));
    }

    private static Map<String, JsonNode> stateOverHttp(String topic) throws Exception {
        JsonNode state = Json.parse(server.get("/api/topics/" + topic).body());
        Map<String, JsonNode> entries = new HashMap<>();
        state.path("entries").forEach(entry -> entries.put(entry.path("key").asText(), entry));
        return entries;
    }

    /** One connected client following a topic, or one that is away (client null) holding its last view. */
    private static final class Follower {
        final View view = new View();
        WsClient client;
    }

    /**
     * Random sets, appends, deletes, clears and evictions, with clients that drop their connection at
     * random points and resume: after each resume the client's state equals the topic's over HTTP,
     * and a delta is never larger than the full snapshot a fresh subscriber gets at the same moment.
     */
    @Test
    void clientsThatDropAndResumeAtRandomAlwaysHoldTheTopicsState() throws Exception {
        Random random = new Random(7);
        String topic = "prop:" + random.nextInt(1_000_000);
        List<Follower> followers = new ArrayList<>();
        int deltas = 0;
        int fulls = 0;
        try {
            for (int i = 0; i < 4; i++) {
                Follower f = new Follower();
                f.client = WsClient.connectWelcomed(server.ws());
                f.client.send(subscribe("s", topic, null));
                f.view.snapshot(snapshotOf(f.client, "s"));
                followers.add(f);
            }
            for (int step = 0; step < 250; step++) {
                int dice = random.nextInt(100);
                String key = "k" + random.nextInt(20);
                String change = dice < 55 ? "{\"topic\":\"" + topic + "\",\"op\":\"set\",\"key\":\"" + key + "\",\"data\":{\"n\":" + step + "}}"
                        : dice < 70 ? "{\"topic\":\"" + topic + "\",\"op\":\"append\",\"event\":\"added\",\"data\":" + step + "}"
                        : dice < 98 ? "{\"topic\":\"" + topic + "\",\"op\":\"delete\",\"key\":\"" + key + "\"}"
                        : "{\"topic\":\"" + topic + "\",\"op\":\"clear\"}";
                long seq = server.publish(change);
                for (Follower f : followers) {
                    if (f.client != null) {
                        while (f.view.seq < seq) {
                            f.view.event(f.client.nextMatching(m -> m.path("type").asText().equals("event")));
                        }
                    }
                }
                Follower f = followers.get(random.nextInt(followers.size()));
                if (f.client != null && random.nextInt(3) == 0) {
                    f.client.close();
                    f.client = null;
                } else if (f.client == null && random.nextInt(2) == 0) {
                    f.client = WsClient.connectWelcomed(server.ws());
                    f.client.send(subscribe("r", topic, f.view.since(topic)));
                    JsonNode resumed = snapshotOf(f.client, "r");
                    try (WsClient fresh = WsClient.connectWelcomed(server.ws())) {
                        fresh.send(subscribe("full", topic, null));
                        JsonNode full = snapshotOf(fresh, "full");
                        assertTrue(resumed.toString().length() <= full.toString().length(),
                                "delta " + resumed + " beside full " + full);
                    }
                    if (f.view.snapshot(resumed)) {
                        deltas++;
                    } else {
                        fulls++;
                    }
                    assertEquals(stateOverHttp(topic), f.view.entries, "after resuming at step " + step);
                }
            }
            long last = Json.parse(server.get("/api/topics/" + topic).body()).path("seq").asLong();
            for (Follower f : followers) {
                if (f.client != null) {
                    while (f.view.seq < last) {
                        f.view.event(f.client.nextMatching(m -> m.path("type").asText().equals("event")));
                    }
                    assertEquals(stateOverHttp(topic), f.view.entries, "a client that stayed");
                }
            }
            assertTrue(deltas >= 5 && fulls >= 1, deltas + " deltas and " + fulls + " full snapshots: both paths taken");
        } finally {
            followers.stream().filter(f -> f.client != null).forEach(f -> f.client.close());
        }
    }

    @Test
    void anotherEpochAClearOrAPositionOutsideTheWindowGetAFullSnapshot() throws Exception {
        String topic = "window:full";
        for (int i = 0; i < 10; i++) {
            server.publish("{\"topic\":\"" + topic + "\",\"op\":\"set\",\"key\":\"k" + i + "\",\"data\":\"some value\"}");
        }
        try (WsClient client = WsClient.connectWelcomed(server.ws())) {
            client.send(subscribe("a", topic, null));
            View view = new View();
            view.snapshot(snapshotOf(client, "a"));
            for (int i = 0; i < 6; i++) {
                server.publish("{\"topic\":\"" + topic + "\",\"op\":\"delete\",\"key\":\"k" + i + "\"}");
            }
            client.send(subscribe("old", topic, view.since(topic)));
            JsonNode outside = snapshotOf(client, "old");
            assertFalse(outside.has("since"), "6 changes ago is beyond the window of 5: " + outside);
            assertEquals(4, outside.path("entries").size());

            client.send(subscribe("epoch", topic, Json.object().set(topic, Json.object().put("epoch", "elsewhere").put("seq", 16))));
            assertFalse(snapshotOf(client, "epoch").has("since"));

            client.send(subscribe("ahead", topic, Json.object().set(topic, Json.object().put("epoch", view.epoch).put("seq", 99))));
            assertFalse(snapshotOf(client, "ahead").has("since"), "a seq the topic never reached");

            client.send(subscribe("near", topic, Json.object().set(topic, Json.object().put("epoch", view.epoch).put("seq", 15))));
            JsonNode near = snapshotOf(client, "near");
            assertEquals(15, near.path("since").asLong());
            assertEquals("[\"k5\"]", near.path("deleted").toString());

            server.publish("{\"topic\":\"" + topic + "\",\"op\":\"clear\"}");
            server.publish("{\"topic\":\"" + topic + "\",\"op\":\"set\",\"key\":\"x\",\"data\":1}");
            client.send(subscribe("cleared", topic, Json.object().set(topic, Json.object().put("epoch", view.epoch).put("seq", 16))));
            JsonNode cleared = snapshotOf(client, "cleared");
            assertFalse(cleared.has("since"), "a clear after the position: " + cleared);
            assertEquals(18, cleared.path("seq").asLong());
        }
    }

    @Test
    void sinceForATopicNotAskedForIsIgnoredAndAMalformedOneAppliesNothing() throws Exception {
        try (WsClient client = WsClient.connectWelcomed(server.ws())) {
            client.send(subscribe("s", "ignored:a", Json.object().set("ignored:b", Json.object().put("epoch", "e").put("seq", 1))));
            JsonNode snapshot = snapshotOf(client, "s");
            assertFalse(snapshot.has("since"));

            client.send("{\"type\":\"subscribe\",\"id\":\"bad\",\"topics\":[\"ignored:c\"],\"since\":{\"ignored:c\":{\"epoch\":\"e\",\"seq\":-4}}}");
            JsonNode error = client.next();
            assertEquals("error", error.path("type").asText());
            assertEquals("bad_request", error.path("code").asText());
            assertEquals("bad", error.path("id").asText());
            client.send("{\"type\":\"ping\",\"id\":\"after\"}");
            assertEquals("pong", client.next().path("type").asText(), "no snapshot of ignored:c came before the pong");
        }
    }

    @Test
    void theHttpApiAnswersTheDeltaFormAndRefusesABadSince() throws Exception {
        String topic = "window:http";
        for (int i = 0; i < 4; i++) {
            server.publish("{\"topic\":\"" + topic + "\",\"op\":\"set\",\"key\":\"k" + i + "\",\"data\":\"some value\"}");
        }
        JsonNode full = Json.parse(server.get("/api/topics/" + topic).body());
        String epoch = full.path("epoch").asText();
        server.publish("{\"topic\":\"" + topic + "\",\"op\":\"delete\",\"key\":\"k0\"}");
        server.publish("{\"topic\":\"" + topic + "\",\"op\":\"set\",\"key\":\"k1\",\"data\":2}");

        JsonNode delta = Json.parse(server.get("/api/topics/" + topic + "?since=" + epoch + ":4").body());
        assertEquals(4, delta.path("since").asLong());
        assertEquals(6, delta.path("seq").asLong());
        assertEquals("[\"k0\"]", delta.path("deleted").toString());
        assertEquals(1, delta.path("entries").size());
        assertEquals("k1", delta.path("entries").get(0).path("key").asText());

        assertFalse(Json.parse(server.get("/api/topics/" + topic + "?since=other:4").body()).has("since"));
        for (String bad : new String[] {"4", "e:", "e:x", "e:-1"}) {
            HttpResponse<String> answer = server.get("/api/topics/" + topic + "?since=" + bad);
            assertEquals(400, answer.statusCode(), bad);
            assertEquals("bad_request", Json.parse(answer.body()).path("code").asText());
        }
    }

    /** An EventSource that reconnects with Last-Event-ID resumes every topic of its stream. */
    @Test
    void sseEventIdsCarryThePositionsAndLastEventIdResumes() throws Exception {
        for (int i = 0; i < 4; i++) {
            server.publish("{\"topic\":\"sse:r1\",\"op\":\"set\",\"key\":\"k" + i + "\",\"data\":\"some value\"}");
        }
        server.publish("{\"topic\":\"sse:r2\",\"op\":\"set\",\"key\":\"x\",\"data\":\"some value\"}");
        HttpClient http = HttpClient.newHttpClient();
        String lastId;
        HttpResponse<Stream<String>> first = http.send(HttpRequest.newBuilder(server.http("/api/sse?topics=sse:r1,sse:r2")).build(),
                HttpResponse.BodyHandlers.ofLines());
        Iterator<String> lines = first.body().iterator();
        try {
            OperationsTest.SseEvent s1 = OperationsTest.SseEvent.next(lines);
            String epoch1 = s1.json().path("epoch").asText();
            assertEquals(epoch1 + ":4,", s1.id());
            OperationsTest.SseEvent s2 = OperationsTest.SseEvent.next(lines);
            String epoch2 = s2.json().path("epoch").asText();
            assertEquals(epoch1 + ":4," + epoch2 + ":1", s2.id());
            server.publish("{\"topic\":\"sse:r1\",\"op\":\"set\",\"key\":\"k0\",\"data\":\"changed\"}");
            OperationsTest.SseEvent event = OperationsTest.SseEvent.next(lines);
            assertEquals("event", event.type());
            lastId = event.id();
            assertEquals(epoch1 + ":5," + epoch2 + ":1", lastId);
        } finally {
            first.body().close();
        }
        server.publish("{\"topic\":\"sse:r1\",\"op\":\"delete\",\"key\":\"k1\"}");

        HttpResponse<Stream<String>> again = http.send(HttpRequest.newBuilder(server.http("/api/sse?topics=sse:r1,sse:r2"))
                .header("Last-Event-ID", lastId).build(), HttpResponse.BodyHandlers.ofLines());
        lines = again.body().iterator();
        try {
            JsonNode r1 = OperationsTest.SseEvent.next(lines).json();
            assertEquals(5, r1.path("since").asLong(), r1.toString());
            assertEquals("[\"k1\"]", r1.path("deleted").toString());
            assertEquals(0, r1.path("entries").size());
            JsonNode r2 = OperationsTest.SseEvent.next(lines).json();
            assertEquals(1, r2.path("since").asLong(), "nothing changed: an empty delta " + r2);
        } finally {
            again.body().close();
        }

        HttpResponse<Stream<String>> foreign = http.send(HttpRequest.newBuilder(server.http("/api/sse?topics=sse:r1"))
                .header("Last-Event-ID", lastId).build(), HttpResponse.BodyHandlers.ofLines());
        try {
            JsonNode full = OperationsTest.SseEvent.next(foreign.body().iterator()).json();
            assertFalse(full.has("since"), "an id of a stream of two topics resumes nothing in a stream of one");
        } finally {
            foreign.body().close();
        }
    }

    @Test
    void welcomeOffersResumeConditionalAndIdempotent() throws Exception {
        try (WsClient client = server.connect()) {
            JsonNode welcome = client.next();
            assertEquals("[\"batch\",\"resume\",\"conditional\",\"idempotent\"]", welcome.path("features").toString());
            assertNotEquals(0, welcome.path("heartbeat").asLong());
        }
    }
}
