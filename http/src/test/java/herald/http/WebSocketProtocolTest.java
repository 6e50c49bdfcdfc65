package herald.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The wire protocol of PROTOCOL.md sections 1, 4 and 5 against a real server and real sockets. */
@ExtendWith(LogCapturingExtension.class)
class WebSocketProtocolTest {
    private static TestServer server;

    @BeforeAll
    static void start() throws Exception {
        server = TestServer.start("""
                herald.websocket.heartbeat = 7s
                herald.topics.retention = [{ pattern = "evict:*", max-entries = 3 }]
                """);
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    private static String subscribe(String id, String... topics) {
        var frame = Json.object().put("type", "subscribe").put("id", id);
        var list = frame.putArray("topics");
        for (String t : topics) {
            list.add(t);
        }
        return frame.toString();
    }

    @Test
    void welcomeComesFirstWithSessionHeartbeatAndProtocol() throws Exception {
        try (WsClient client = server.connect()) {
            JsonNode welcome = client.next();
            assertEquals("welcome", welcome.path("type").asText());
            assertFalse(welcome.path("session").asText().isEmpty());
            assertTrue(welcome.has("user") && welcome.get("user").isNull(), "user is present and null: " + welcome);
            assertEquals(7000, welcome.path("heartbeat").asLong());
            assertEquals(1, welcome.path("protocol").asInt());
        }
    }

    @Test
    void pingIsAnsweredWithPongCarryingTheIdAndServerTime() throws Exception {
        try (WsClient client = WsClient.connectWelcomed(server.ws())) {
            long before = System.currentTimeMillis();
            client.send("{\"type\":\"ping\",\"id\":\"p-1\"}");
            JsonNode pong = client.next();
            assertEquals("pong", pong.path("type").asText());
            assertEquals("p-1", pong.path("id").asText());
            assertTrue(pong.path("time").asLong() >= before - 1000, "server time: " + pong);

            client.send("{\"type\":\"ping\"}");
            assertFalse(client.next().has("id"), "no id asked, none echoed");
        }
    }

    @Test
    void subscribeToAFreshTopicGivesAnEmptySnapshotAtSeqZero() throws Exception {
        try (WsClient client = WsClient.connectWelcomed(server.ws())) {
            client.send(subscribe("s1", "fresh:1"));
            JsonNode snapshot = client.next();
            assertEquals("snapshot", snapshot.path("type").asText());
            assertEquals("s1", snapshot.path("id").asText());
            assertEquals("fresh:1", snapshot.path("topic").asText());
            assertEquals(0, snapshot.path("seq").asLong());
            assertEquals(0, snapshot.path("entries").size());
            assertFalse(snapshot.path("epoch").asText().isEmpty());
        }
    }

    @Test
    void everyOpThroughHttpArrivesAsEventsInSeqOrder() throws Exception {
        try (WsClient client = WsClient.connectWelcomed(server.ws())) {
            client.send(subscribe("s", "ops:http"));
            assertEquals(0, client.next().path("seq").asLong());

            assertEquals(1, server.publish("{\"topic\":\"ops:http\",\"op\":\"set\",\"key\":\"a\",\"event\":\"created\",\"data\":{\"n\":1}}"));
            assertEquals(2, server.publish("{\"topic\":\"ops:http\",\"op\":\"append\",\"data\":\"line\"}"));
            assertEquals(3, server.publish("{\"topic\":\"ops:http\",\"op\":\"delete\",\"key\":\"a\"}"));
            assertEquals(4, server.publish("{\"topic\":\"ops:http\",\"op\":\"delete\",\"key\":\"missing\"}"));
            assertEquals(5, server.publish("{\"topic\":\"ops:http\",\"op\":\"clear\",\"event\":\"reset\"}"));

            assertEquals(Json.parse("{\"type\":\"event\",\"topic\":\"ops:http\",\"seq\":1,\"op\":\"set\",\"key\":\"a\",\"event\":\"created\",\"data\":{\"n\":1}}"), client.next());
            assertEquals(Json.parse("{\"type\":\"event\",\"topic\":\"ops:http\",\"seq\":2,\"op\":\"append\",\"key\":\"2\",\"data\":\"line\"}"), client.next());
            assertEquals(Json.parse("{\"type\":\"event\",\"topic\":\"ops:http\",\"seq\":3,\"op\":\"delete\",\"key\":\"a\"}"), client.next());
            assertEquals(Json.parse("{\"type\":\"event\",\"topic\":\"ops:http\",\"seq\":4,\"op\":\"delete\",\"key\":\"missing\"}"), client.next());
            assertEquals(Json.parse("{\"type\":\"event\",\"topic\":\"ops:http\",\"seq\":5,\"op\":\"clear\",\"event\":\"reset\"}"), client.next());
        }
    }

    @Test
    void everyOpThroughTheSocketIsAcknowledgedAndDeliveredToItsOwnSubscriber() throws Exception {
        try (WsClient publisher = WsClient.connectWelcomed(server.ws());
             WsClient watcher = WsClient.connectWelcomed(server.ws())) {
            publisher.send(subscribe("s", "ops:ws"));
            watcher.send(subscribe("s", "ops:ws"));
            publisher.next();
            watcher.next();

            publisher.send("{\"type\":\"publish\",\"id\":\"p1\",\"topic\":\"ops:ws\",\"op\":\"set\",\"key\":\"k\",\"data\":[1,2,3]}");
            publisher.send("{\"type\":\"publish\",\"id\":\"p2\",\"topic\":\"ops:ws\",\"op\":\"append\",\"data\":null}");
            publisher.send("{\"type\":\"publish\",\"id\":\"p3\",\"topic\":\"ops:ws\",\"op\":\"delete\",\"key\":\"k\"}");
            publisher.send("{\"type\":\"publish\",\"id\":\"p4\",\"topic\":\"ops:ws\",\"op\":\"clear\"}");

            List<JsonNode> publisherEvents = new ArrayList<>();
            List<JsonNode> acks = new ArrayList<>();
            while (acks.size() < 4 || publisherEvents.size() < 4) {
                JsonNode frame = publisher.next();
                (frame.path("type").asText().equals("published") ? acks : publisherEvents).add(frame);
            }
            for (int i = 0; i < 4; i++) {
                assertEquals("p" + (i + 1), acks.get(i).path("id").asText());
                assertEquals(i + 1, acks.get(i).path("seq").asLong());
                assertEquals("ops:ws", acks.get(i).path("topic").asText());
                assertEquals(i + 1, publisherEvents.get(i).path("seq").asLong());
                assertEquals(publisherEvents.get(i), watcher.next(), "every subscriber sees the same event");
            }
            assertEquals("2", publisherEvents.get(1).path("key").asText(), "append keys are the decimal seq");
            assertTrue(publisherEvents.get(1).has("data") && publisherEvents.get(1).get("data").isNull());
            assertFalse(publisherEvents.get(2).has("data"), "delete carries no data");
            assertFalse(publisherEvents.get(3).has("key"), "clear carries no key");
        }
    }

    @Test
    void snapshotListsEntriesInSeqOrderWithAppendKeys() throws Exception {
        server.publish("{\"topic\":\"snap:1\",\"op\":\"set\",\"key\":\"b\",\"data\":1}");
        server.publish("{\"topic\":\"snap:1\",\"op\":\"append\",\"event\":\"line\",\"data\":{\"big\":123456789012345678901234567890}}");
        server.publish("{\"topic\":\"snap:1\",\"op\":\"set\",\"key\":\"b\",\"data\":2}");
        try (WsClient client = WsClient.connectWelcomed(server.ws())) {
            client.send(subscribe("s", "snap:1"));
            JsonNode snapshot = client.next();
            assertEquals(3, snapshot.path("seq").asLong());
            assertEquals(Json.parse("[{\"key\":\"2\",\"seq\":2,\"event\":\"line\",\"data\":{\"big\":123456789012345678901234567890}},"
                    + "{\"key\":\"b\",\"seq\":3,\"data\":2}]"), snapshot.path("entries"));
        }
    }

    @Test
    void retentionEvictsTheOldestEntryAsItsOwnDeleteRightAfterTheCause() throws Exception {
        try (WsClient client = WsClient.connectWelcomed(server.ws())) {
            client.send(subscribe("s", "evict:1"));
            client.next();
            for (int i = 1; i <= 3; i++) {
                server.publish("{\"topic\":\"evict:1\",\"op\":\"set\",\"key\":\"k" + i + "\",\"data\":" + i + "}");
            }
            assertEquals(4, server.publish("{\"topic\":\"evict:1\",\"op\":\"append\",\"data\":4}"));
            assertEquals(6, server.publish("{\"topic\":\"evict:1\",\"op\":\"set\",\"key\":\"k5\",\"data\":5}"),
                    "the eviction took seq 5");
            assertEquals(8, server.publish("{\"topic\":\"evict:1\",\"op\":\"set\",\"key\":\"k5\",\"data\":6}"),
                    "the new key k5 evicted k2 at seq 7; replacing k5 evicts nothing");
            for (int i = 1; i <= 3; i++) {
                client.next();
            }
            assertEquals(4, client.next().path("seq").asLong());
            assertEquals(Json.parse("{\"type\":\"event\",\"topic\":\"evict:1\",\"seq\":5,\"op\":\"delete\",\"key\":\"k1\",\"event\":\"evicted\"}"), client.next());
            assertEquals(6, client.next().path("seq").asLong());
            assertEquals(Json.parse("{\"type\":\"event\",\"topic\":\"evict:1\",\"seq\":7,\"op\":\"delete\",\"key\":\"k2\",\"event\":\"evicted\"}"), client.next());
            assertEquals(Json.parse("{\"type\":\"event\",\"topic\":\"evict:1\",\"seq\":8,\"op\":\"set\",\"key\":\"k5\",\"data\":6}"), client.next());

            JsonNode state = Json.parse(server.get("/api/topics/evict:1").body());
            assertEquals(Json.parse("[\"k3\",\"4\",\"k5\"]"), keys(state.path("entries")));
        }
    }

    private static JsonNode keys(JsonNode entries) {
        var keys = Json.MAPPER.createArrayNode();
        entries.forEach(e -> keys.add(e.path("key").asText()));
        return keys;
    }

    @Test
    void unsubscribeStopsEventsAndIsIdempotent() throws Exception {
        try (WsClient client = WsClient.connectWelcomed(server.ws())) {
            client.send(subscribe("s", "unsub:1", "unsub:2"));
            client.next();
            client.next();
            client.send("{\"type\":\"unsubscribe\",\"id\":\"u1\",\"topics\":[\"unsub:1\",\"never:subscribed\"]}");
            assertEquals(Json.parse("{\"type\":\"unsubscribed\",\"id\":\"u1\",\"topics\":[\"unsub:1\",\"never:subscribed\"]}"), client.next());
            client.send("{\"type\":\"unsubscribe\",\"id\":\"u2\",\"topics\":[\"unsub:1\"]}");
            assertEquals("u2", client.next().path("id").asText());

            server.publish("{\"topic\":\"unsub:1\",\"op\":\"append\",\"data\":1}");
            server.publish("{\"topic\":\"unsub:2\",\"op\":\"append\",\"data\":2}");
            JsonNode next = client.next();
            assertEquals("unsub:2", next.path("topic").asText(), "only the topic still subscribed: " + next);
            client.send("{\"type\":\"ping\",\"id\":\"after\"}");
            assertEquals("after", client.next().path("id").asText(), "no stray event from unsub:1 before the pong");
        }
    }

    @Test
    void subscribingAgainGivesAFreshSnapshotOfTheCurrentState() throws Exception {
        try (WsClient client = WsClient.connectWelcomed(server.ws())) {
            client.send(subscribe("s1", "again:1"));
            JsonNode first = client.next();
            server.publish("{\"topic\":\"again:1\",\"op\":\"set\",\"key\":\"x\",\"data\":true}");
            client.next();
            client.send(subscribe("s2", "again:1"));
            JsonNode second = client.next();
            assertEquals("s2", second.path("id").asText());
            assertEquals(1, second.path("seq").asLong());
            assertEquals(first.path("epoch"), second.path("epoch"), "same history while subscribed");
            assertEquals(1, second.path("entries").size());
        }
    }

    @Test
    void subscribeAnswersEachTopicInTheRequestsOrderWithErrorsInPlace() throws Exception {
        try (WsClient client = WsClient.connectWelcomed(server.ws())) {
            client.send(subscribe("multi", "order:a", "not valid", "order:b", "", "order:c"));
            String[] expected = {"snapshot order:a", "error not valid", "snapshot order:b", "error ", "snapshot order:c"};
            for (String want : expected) {
                JsonNode frame = client.next();
                assertEquals("multi", frame.path("id").asText());
                assertEquals(want, frame.path("type").asText() + " " + frame.path("topic").asText());
                if (frame.path("type").asText().equals("error")) {
                    assertEquals("invalid_topic", frame.path("code").asText());
                }
            }
        }
    }

    @Test
    void httpBatchAppliesInOrderAndAnswersEachSeq() throws Exception {
        try (WsClient client = WsClient.connectWelcomed(server.ws())) {
            client.send(subscribe("s", "batch:a", "batch:b"));
            client.next();
            client.next();
            HttpResponse<String> response = server.post("/api/publish", """
                    {"changes":[
                      {"topic":"batch:a","op":"set","key":"1","data":1},
                      {"topic":"batch:b","op":"append","data":"x"},
                      {"topic":"batch:a","op":"set","key":"2","data":2},
                      {"topic":"batch:a","op":"delete","key":"1"}
                    ]}""");
            assertEquals(200, response.statusCode());
            assertEquals(Json.parse("{\"results\":[{\"topic\":\"batch:a\",\"seq\":1},{\"topic\":\"batch:b\",\"seq\":1},"
                    + "{\"topic\":\"batch:a\",\"seq\":2},{\"topic\":\"batch:a\",\"seq\":3}]}"), Json.parse(response.body()));
            List<Long> seqsOfA = new ArrayList<>();
            while (seqsOfA.size() < 3) {
                JsonNode event = client.next();
                if (event.path("topic").asText().equals("batch:a")) {
                    seqsOfA.add(event.path("seq").asLong());
                }
            }
            assertEquals(List.of(1L, 2L, 3L), seqsOfA);
        }
    }

    @Test
    void aBatchOverTheLimitOrWithOneBadChangeAppliesNothing() throws Exception {
        HttpResponse<String> over = server.post("/api/publish", appendBatch("limit:1", 1001));
        assertEquals(413, over.statusCode());
        assertEquals("payload_too_large", Json.parse(over.body()).path("code").asText());

        HttpResponse<String> oneBad = server.post("/api/publish",
                "{\"changes\":[{\"topic\":\"limit:1\",\"op\":\"append\",\"data\":1},{\"topic\":\"limit:1\",\"op\":\"set\"}]}");
        assertEquals(400, oneBad.statusCode());
        assertTrue(Json.parse(oneBad.body()).path("message").asText().contains("changes[1]"), oneBad.body());

        assertEquals(0, Json.parse(server.get("/api/topics/limit:1").body()).path("seq").asLong(), "nothing was applied");

        HttpResponse<String> exactly = server.post("/api/publish", appendBatch("limit:1", 1000));
        assertEquals(200, exactly.statusCode(), exactly.body());
        JsonNode results = Json.parse(exactly.body()).path("results");
        assertEquals(1000, results.size());
        assertEquals(1000, results.get(999).path("seq").asLong());
    }

    static String appendBatch(String topic, int changes) {
        StringBuilder batch = new StringBuilder("{\"changes\":[");
        for (int i = 0; i < changes; i++) {
            batch.append(i == 0 ? "" : ",").append("{\"topic\":\"").append(topic)
                    .append("\",\"op\":\"append\",\"data\":").append(i).append('}');
        }
        return batch.append("]}").toString();
    }

    @Test
    void topicStateOverHttpIsTheSnapshot() throws Exception {
        server.publish("{\"topic\":\"state/of:it\",\"op\":\"set\",\"key\":\"k\",\"event\":\"e\",\"data\":{\"v\":1}}");
        HttpResponse<String> response = server.get("/api/topics/state/of:it");
        assertEquals(200, response.statusCode());
        JsonNode state = Json.parse(response.body());
        assertEquals("state/of:it", state.path("topic").asText());
        assertEquals(1, state.path("seq").asLong());
        assertEquals(Json.parse("[{\"key\":\"k\",\"seq\":1,\"event\":\"e\",\"data\":{\"v\":1}}]"), state.path("entries"));
        assertFalse(state.path("epoch").asText().isEmpty());
        assertFalse(state.has("type"));
    }

    @Test
    void aTopicWithoutEntriesOrSubscribersStopsAndComesBackWithANewEpoch() throws Exception {
        try (WsClient client = WsClient.connectWelcomed(server.ws())) {
            client.send(subscribe("s", "life:1"));
            String epoch = client.next().path("epoch").asText();
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            String later = epoch;
            while (later.equals(epoch) && System.nanoTime() < deadline) {
                client.send("{\"type\":\"unsubscribe\",\"topics\":[\"life:1\"]}");
                client.next();
                client.send(subscribe("again", "life:1"));
                later = client.next().path("epoch").asText();
            }
            assertNotEquals(epoch, later, "a topic restarted after being idle has a new epoch");
        }
    }

    @Test
    void aTopicThatHoldsEntriesKeepsItsEpochWithoutSubscribers() throws Exception {
        server.publish("{\"topic\":\"keep:1\",\"op\":\"set\",\"key\":\"k\",\"data\":1}");
        String epoch = Json.parse(server.get("/api/topics/keep:1").body()).path("epoch").asText();
        try (WsClient client = WsClient.connectWelcomed(server.ws())) {
            for (int i = 0; i < 20; i++) {
                client.send(subscribe("s", "keep:1"));
                assertEquals(epoch, client.next().path("epoch").asText());
                client.send("{\"type\":\"unsubscribe\",\"topics\":[\"keep:1\"]}");
                client.next();
            }
        }
    }

    @Test
    void aClientWhoseConnectionJustDiesIsForgottenByItsTopicsAndTheGauge() throws Exception {
        server.publish("{\"topic\":\"vanish:1\",\"op\":\"set\",\"key\":\"k\",\"data\":1}");
        double openBefore = OperationsTest.metric(server, "herald_connections_open");
        WsClient client = WsClient.connectWelcomed(server.ws());
        client.send(subscribe("s", "vanish:1"));
        client.next();
        assertEquals(1, subscribersOf("vanish:1"));
        client.socket().abort();
        Eventually.await("the dead connection's subscription is dropped", Duration.ofSeconds(10),
                () -> subscribersOf("vanish:1") == 0);
        Eventually.await("the open-connections gauge is back", Duration.ofSeconds(10),
                () -> OperationsTest.metric(server, "herald_connections_open") == openBefore);
    }

    private static int subscribersOf(String topic) throws Exception {
        for (JsonNode t : Json.parse(server.get("/api/topics?limit=1000").body()).path("topics")) {
            if (t.path("topic").asText().equals(topic)) {
                return t.path("subscribers").asInt();
            }
        }
        return 0;
    }

    @Test
    void aClientThatClosesGetsItsCloseAnsweredAndLeavesItsTopics() throws Exception {
        WsClient client = WsClient.connectWelcomed(server.ws());
        client.send(subscribe("s", "leave:1"));
        client.next();
        client.socket().sendClose(1000, "done").join();
        assertEquals(1000, client.awaitClose().code());
        assertNull(client.poll(Duration.ofMillis(50)));
    }
}
