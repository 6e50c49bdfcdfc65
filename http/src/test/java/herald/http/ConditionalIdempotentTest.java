package herald.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Conditional ({@code ifVersion}) and idempotent ({@code idem}) changes, PROTOCOL.md 9.3, over real sockets and HTTP. */
@ExtendWith(LogCapturingExtension.class)
class ConditionalIdempotentTest {
    private static TestServer server;

    @BeforeAll
    static void start() throws Exception {
        server = TestServer.start("");
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    private static JsonNode reply(WsClient client, String id) throws InterruptedException {
        return client.nextMatching(f -> f.path("id").asText().equals(id));
    }

    /**
     * Publishers doing read-modify-write on one counter with ifVersion, half over the socket and half
     * over HTTP: every increment that was acknowledged is in the final value, and every other attempt
     * was answered with a conflict.
     */
    @Test
    void readModifyWriteWithIfVersionLosesNoIncrementUnderConcurrency() throws Exception {
        String topic = "cas:counter";
        int publishers = 6;
        int increments = 15;
        AtomicInteger conflicts = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(publishers);
        try {
            List<Future<Integer>> done = new ArrayList<>();
            for (int p = 0; p < publishers; p++) {
                boolean overSocket = p % 2 == 0;
                int publisher = p;
                done.add(pool.submit((Callable<Integer>) () -> {
                    int landed = 0;
                    try (WsClient client = overSocket ? WsClient.connectWelcomed(server.ws()) : null) {
                        int attempt = 0;
                        while (landed < increments) {
                            JsonNode state = Json.parse(server.get("/api/topics/" + topic).body());
                            long version = 0;
                            long value = 0;
                            for (JsonNode entry : state.path("entries")) {
                                version = entry.path("seq").asLong();
                                value = entry.path("data").asLong();
                            }
                            String change = "\"topic\":\"" + topic + "\",\"op\":\"set\",\"key\":\"n\",\"data\":" + (value + 1)
                                    + ",\"ifVersion\":" + version;
                            boolean applied;
                            if (overSocket) {
                                String id = publisher + "-" + (attempt++);
                                client.send("{\"type\":\"publish\",\"id\":\"" + id + "\"," + change + "}");
                                JsonNode answer = reply(client, id);
                                applied = answer.path("type").asText().equals("published");
                                if (!applied) {
                                    assertEquals("conflict", answer.path("code").asText(), answer.toString());
                                    assertEquals("n", answer.path("key").asText());
                                    assertTrue(answer.path("version").asLong() > version, answer.toString());
                                }
                            } else {
                                HttpResponse<String> answer = server.post("/api/publish", "{" + change + "}");
                                applied = answer.statusCode() == 200;
                                if (!applied) {
                                    assertEquals(409, answer.statusCode(), answer.body());
                                    JsonNode body = Json.parse(answer.body());
                                    assertEquals("conflict", body.path("code").asText());
                                    assertEquals("n", body.path("key").asText());
                                    assertEquals(topic, body.path("topic").asText());
                                }
                            }
                            if (applied) {
                                landed++;
                            } else {
                                conflicts.incrementAndGet();
                            }
                        }
                    }
                    return landed;
                }));
            }
            int landed = 0;
            for (Future<Integer> f : done) {
                landed += f.get();
            }
            JsonNode state = Json.parse(server.get("/api/topics/" + topic).body());
            assertEquals(publishers * increments, landed);
            assertEquals(landed, state.path("entries").get(0).path("data").asLong(), "every acknowledged increment landed");
            assertEquals(landed, state.path("seq").asLong(), "a conflict takes no seq");
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void ifVersionZeroMeansMustNotExistAndABatchReportsEachConflictInItsPlace() throws Exception {
        String topic = "cas:batch";
        HttpResponse<String> created = server.post("/api/publish",
                "{\"topic\":\"" + topic + "\",\"op\":\"set\",\"key\":\"a\",\"data\":1,\"ifVersion\":0}");
        assertEquals(200, created.statusCode());
        HttpResponse<String> again = server.post("/api/publish",
                "{\"topic\":\"" + topic + "\",\"op\":\"set\",\"key\":\"a\",\"data\":2,\"ifVersion\":0}");
        assertEquals(409, again.statusCode());
        assertEquals(1, Json.parse(again.body()).path("version").asLong());

        HttpResponse<String> batch = server.post("/api/publish", "{\"changes\":["
                + "{\"topic\":\"" + topic + "\",\"op\":\"set\",\"key\":\"b\",\"data\":1},"
                + "{\"topic\":\"" + topic + "\",\"op\":\"delete\",\"key\":\"a\",\"ifVersion\":7},"
                + "{\"topic\":\"" + topic + "\",\"op\":\"delete\",\"key\":\"a\",\"ifVersion\":1}]}");
        assertEquals(200, batch.statusCode(), batch.body());
        assertEquals("{\"results\":[{\"topic\":\"cas:batch\",\"seq\":2},"
                + "{\"topic\":\"cas:batch\",\"key\":\"a\",\"code\":\"conflict\",\"version\":1},"
                + "{\"topic\":\"cas:batch\",\"seq\":3}]}", batch.body());
    }

    @Test
    void theSameIdemTwiceOverTheSocketIsOneSeqAndOneEvent() throws Exception {
        String topic = "idem:socket";
        try (WsClient publisher = WsClient.connectWelcomed(server.ws()); WsClient watcher = WsClient.connectWelcomed(server.ws())) {
            watcher.send("{\"type\":\"subscribe\",\"id\":\"s\",\"topics\":[\"" + topic + "\"]}");
            assertEquals("snapshot", reply(watcher, "s").path("type").asText());
            String change = "\"topic\":\"" + topic + "\",\"op\":\"append\",\"data\":\"once\",\"idem\":\"order-17\"";
            publisher.send("{\"type\":\"publish\",\"id\":\"p1\"," + change + "}");
            JsonNode first = reply(publisher, "p1");
            assertEquals(1, first.path("seq").asLong());
            assertFalse(first.has("duplicate"));
            publisher.send("{\"type\":\"publish\",\"id\":\"p2\"," + change + "}");
            JsonNode second = reply(publisher, "p2");
            assertEquals("published", second.path("type").asText());
            assertEquals(1, second.path("seq").asLong());
            assertTrue(second.path("duplicate").asBoolean(), second.toString());

            // Over HTTP the same key is the same change of the same topic.
            HttpResponse<String> overHttp = server.post("/api/publish", "{" + change + "}");
            assertEquals("{\"results\":[{\"topic\":\"idem:socket\",\"seq\":1,\"duplicate\":true}]}", overHttp.body());

            publisher.send("{\"type\":\"publish\",\"id\":\"p3\",\"topic\":\"" + topic + "\",\"op\":\"append\",\"data\":\"next\"}");
            assertEquals(2, reply(publisher, "p3").path("seq").asLong(), "the repeats took no seq");
            JsonNode event1 = watcher.nextMatching(f -> f.path("type").asText().equals("event"));
            JsonNode event2 = watcher.nextMatching(f -> f.path("type").asText().equals("event"));
            assertEquals(1, event1.path("seq").asLong());
            assertEquals(2, event2.path("seq").asLong(), "one event for the change sent three times");
            assertEquals(2, Json.parse(server.get("/api/topics/" + topic).body()).path("entries").size());
        }
    }

    @Test
    void theSameIdemTwiceInAnHttpBatchAppliesOnce() throws Exception {
        String change = "{\"topic\":\"idem:http\",\"op\":\"set\",\"key\":\"k\",\"data\":1,\"idem\":\"batch-1\"}";
        HttpResponse<String> batch = server.post("/api/publish", "{\"changes\":[" + change + "," + change + "]}");
        assertEquals("{\"results\":[{\"topic\":\"idem:http\",\"seq\":1},{\"topic\":\"idem:http\",\"seq\":1,\"duplicate\":true}]}",
                batch.body());
    }

    @Test
    void badConditionsAndIdemKeysAreRefusedAndApplyNothing() throws Exception {
        String topic = "idem:bad";
        String[] bad = {
                "\"op\":\"append\",\"ifVersion\":0", "\"op\":\"clear\",\"ifVersion\":1",
                "\"op\":\"set\",\"key\":\"k\",\"ifVersion\":-1", "\"op\":\"set\",\"key\":\"k\",\"ifVersion\":\"1\"",
                "\"op\":\"set\",\"key\":\"k\",\"idem\":\"\"", "\"op\":\"set\",\"key\":\"k\",\"idem\":\"" + "x".repeat(65) + "\"",
                "\"op\":\"set\",\"key\":\"k\",\"idem\":{}"};
        try (WsClient client = WsClient.connectWelcomed(server.ws())) {
            for (String fields : bad) {
                client.send("{\"type\":\"publish\",\"id\":\"b\",\"topic\":\"" + topic + "\"," + fields + "}");
                JsonNode error = reply(client, "b");
                assertEquals("bad_request", error.path("code").asText(), fields + " -> " + error);
                HttpResponse<String> overHttp = server.post("/api/publish", "{\"changes\":[{\"topic\":\"" + topic
                        + "\",\"op\":\"append\"},{\"topic\":\"" + topic + "\"," + fields + "}]}");
                assertEquals(400, overHttp.statusCode(), fields);
            }
        }
        assertEquals(0, Json.parse(server.get("/api/topics/" + topic).body()).path("seq").asLong(), "nothing was applied");
    }
}
