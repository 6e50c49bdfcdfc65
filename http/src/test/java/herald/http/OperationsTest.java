package herald.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.LoggingTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Metrics, health, topic listing and the SSE fallback against a real server. */
@ExtendWith(LogCapturingExtension.class)
class OperationsTest {
    private static TestServer server;

    @BeforeAll
    static void start() throws Exception {
        server = TestServer.start("""
                herald.websocket.outbound-buffer.frames = 32
                herald.websocket.outbound-buffer.bytes = 128 KiB
                herald.websocket.close-grace = 2s
                herald.sse.heartbeat = 200ms
                herald.sse.retry = 1500ms
                herald.topics.retention = [{ pattern = "big:*", max-entries = 2 }]
                """);
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    /** The value of one series of the Prometheus scrape, 0 when absent. */
    static double metric(TestServer server, String series) throws Exception {
        for (String line : server.get("/metrics").body().split("\n")) {
            if (line.startsWith(series + " ")) {
                return Double.parseDouble(line.substring(series.length() + 1).trim());
            }
        }
        return 0;
    }

    private static double metric(String series) throws Exception {
        return metric(server, series);
    }

    @Test
    void metricsAreServedInPrometheusTextWithJvmAndProcessMeters() throws Exception {
        HttpResponse<String> response = server.get("/metrics");
        assertEquals(200, response.statusCode());
        assertTrue(response.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"));
        for (String name : new String[] {"herald_connections_open", "herald_topics_alive", "herald_subscriptions",
                "herald_frames_rejected_total{code=\"bad_request\"}", "jvm_memory_used_bytes", "jvm_threads_live_threads",
                "process_cpu_usage", "process_uptime_seconds", "process_files_open_files"}) {
            assertTrue(response.body().contains(name), "scrape has " + name);
        }
    }

    @Test
    void metricsMoveWithConnectionsFramesAndPublishes() throws Exception {
        double opened = metric("herald_connections_opened_total");
        double http = metric("herald_publishes_total{source=\"http\"}");
        double socket = metric("herald_publishes_total{source=\"socket\"}");
        double latency = metric("herald_publish_latency_seconds_count");
        double rejected = metric("herald_frames_rejected_total{code=\"unknown_type\"}");
        double framesIn = metric("herald_frames_in_total");
        double framesOut = metric("herald_frames_out_total");
        double closedNormally = metric("herald_connections_closed_total{code=\"1000\"}");

        try (WsClient client = WsClient.connectWelcomed(server.ws())) {
            assertEquals(opened + 1, metric("herald_connections_opened_total"));
            assertTrue(metric("herald_connections_open") >= 1);
            client.send("{\"type\":\"subscribe\",\"topics\":[\"metrics:1\"]}");
            client.next();
            assertTrue(metric("herald_subscriptions") >= 1);
            assertTrue(metric("herald_topics_alive") >= 1);
            server.publish("{\"topic\":\"metrics:1\",\"op\":\"append\",\"data\":1}");
            client.next();
            client.send("{\"type\":\"publish\",\"topic\":\"metrics:1\",\"op\":\"append\",\"data\":2}");
            client.next();
            client.next();
            client.send("{\"type\":\"shout\"}");
            client.next();

            assertEquals(http + 1, metric("herald_publishes_total{source=\"http\"}"));
            assertEquals(socket + 1, metric("herald_publishes_total{source=\"socket\"}"));
            assertEquals(latency + 2, metric("herald_publish_latency_seconds_count"));
            assertEquals(rejected + 1, metric("herald_frames_rejected_total{code=\"unknown_type\"}"));
            assertEquals(framesIn + 3, metric("herald_frames_in_total"));
            assertTrue(metric("herald_frames_out_total") >= framesOut + 6, "welcome, snapshot, 2 events, ack, error");
            assertTrue(metric("herald_frames_out_bytes_total") > 0);
        }
        Eventually.await("the normal close is counted", Duration.ofSeconds(5),
                () -> metric("herald_connections_closed_total{code=\"1000\"}") == closedNormally + 1);
        assertTrue(metric("herald_connection_duration_seconds_count") >= 1);
    }

    @Test
    void aSlowConsumerCloseIsCountedByItsCode() throws Exception {
        double slowBefore = metric("herald_slow_consumer_closes_total");
        double closed4008 = metric("herald_connections_closed_total{code=\"4008\"}");
        WsClient slow = WsClient.connectWelcomed(server.ws());
        slow.send("{\"type\":\"subscribe\",\"topics\":[\"big:metrics\"]}");
        slow.next();
        slow.pause();
        String pad = "x".repeat(32 * 1024);
        for (int i = 0; i < 400 && metric("herald_slow_consumer_closes_total") == slowBefore; i++) {
            server.publish("{\"topic\":\"big:metrics\",\"op\":\"append\",\"data\":\"" + pad + "\"}");
        }
        assertEquals(slowBefore + 1, metric("herald_slow_consumer_closes_total"));
        slow.resume();
        assertEquals(4008, slow.awaitClose().code());
        Eventually.await("the 4008 close is counted", Duration.ofSeconds(5),
                () -> metric("herald_connections_closed_total{code=\"4008\"}") == closed4008 + 1);
    }

    @Test
    void theAuditTrailRecordsConnectionsAndHttpPublishes() throws Exception {
        LoggingTestKit.info("published over http").withLoggerName("herald.audit").withMessageContains("changes [2]")
                .expect(server.herald.system(), () -> {
                    try {
                        return server.post("/api/publish", "{\"changes\":[{\"topic\":\"audit:1\",\"op\":\"clear\"},"
                                + "{\"topic\":\"audit:2\",\"op\":\"clear\"}]}");
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                });
        LoggingTestKit.info("accepted session").withLoggerName("herald.audit").withMessageContains("via [WebSocket]")
                .expect(server.herald.system(), () -> {
                    try (WsClient client = WsClient.connectWelcomed(server.ws())) {
                        return client;
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                });
    }

    @Test
    void healthIsLiveAndReadyOnceBound() throws Exception {
        HttpResponse<String> live = server.get("/health/live");
        assertEquals(200, live.statusCode());
        assertEquals("live", Json.parse(live.body()).path("status").asText());
        HttpResponse<String> ready = server.get("/health/ready");
        assertEquals(200, ready.statusCode());
        assertEquals("ready", Json.parse(ready.body()).path("status").asText());
    }

    @Test
    void servesTheDemoPageAndTheBrowserClientUnlessTurnedOff() throws Exception {
        HttpResponse<String> page = server.get("/");
        assertEquals(200, page.statusCode());
        assertTrue(page.headers().firstValue("Content-Type").orElse("").startsWith("text/html"));
        assertTrue(page.body().contains("<script type=\"module\" src=\"demo.js\">"), page.body());
        HttpResponse<String> client = server.get("/herald-client.js");
        assertEquals(200, client.statusCode());
        assertTrue(client.headers().firstValue("Content-Type").orElse("").contains("javascript"));
        assertTrue(client.body().contains("HeraldClient = class"), "the bundled client");
        assertEquals(404, server.get("/no-such-file.js").statusCode());
        try (TestServer quiet = TestServer.start("herald.web.enabled = off")) {
            assertEquals(404, quiet.get("/").statusCode());
            assertEquals(404, quiet.get("/herald-client.js").statusCode());
            assertEquals(200, quiet.get("/health/live").statusCode());
        }
    }

    @Test
    void topicListingIsPagedAndCapped() throws Exception {
        StringBuilder batch = new StringBuilder("{\"changes\":[");
        for (int i = 0; i < 250; i++) {
            batch.append(i == 0 ? "" : ",").append(String.format("{\"topic\":\"list:%03d\",\"op\":\"set\",\"key\":\"k\",\"data\":%d}", i, i));
        }
        assertEquals(200, server.post("/api/publish", batch.append("]}").toString()).statusCode());

        JsonNode first = Json.parse(server.get("/api/topics").body());
        assertEquals(100, first.path("topics").size(), "the default page is capped");
        JsonNode entry = first.path("topics").get(0);
        assertTrue(entry.has("topic") && entry.has("seq") && entry.has("entries") && entry.has("subscribers"), entry.toString());

        Set<String> listed = new HashSet<>();
        String after = "list:";
        while (after != null) {
            JsonNode page = Json.parse(server.get("/api/topics?limit=60&after=" + after).body());
            assertTrue(page.path("topics").size() <= 60);
            for (JsonNode t : page.path("topics")) {
                if (t.path("topic").asText().startsWith("list:")) {
                    listed.add(t.path("topic").asText());
                    assertEquals(1, t.path("seq").asLong());
                    assertEquals(1, t.path("entries").asInt());
                }
            }
            after = page.has("next") ? page.path("next").asText() : null;
        }
        assertEquals(250, listed.size(), "paging visits every topic once");

        assertEquals(400, server.get("/api/topics?limit=1001").statusCode());
        assertEquals(400, server.get("/api/topics?limit=zero").statusCode());
    }

    @Test
    void sseSendsTheRetryHintSnapshotsThenEventsInOrderWithHeartbeats() throws Exception {
        server.publish("{\"topic\":\"sse:1\",\"op\":\"set\",\"key\":\"a\",\"data\":{\"multi\":\n\"line\"}}");
        HttpResponse<Stream<String>> response = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(server.http("/api/sse?topics=sse:1,bad%20name,sse:2")).build(),
                HttpResponse.BodyHandlers.ofLines());
        assertEquals(200, response.statusCode());
        assertTrue(response.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));
        Iterator<String> lines = response.body().iterator();
        try {
            assertEquals("retry: 1500", lines.next());
            assertEquals("", lines.next());
            SseEvent snapshot1 = SseEvent.next(lines);
            assertEquals("snapshot", snapshot1.type());
            assertEquals(2, snapshot1.dataLines(), "the publisher's line break continues on a second data line");
            assertEquals("sse:1", snapshot1.json().path("topic").asText());
            assertEquals(1, snapshot1.json().path("entries").size());
            SseEvent invalid = SseEvent.next(lines);
            assertEquals("error", invalid.type());
            assertEquals("invalid_topic", invalid.json().path("code").asText());
            assertEquals("snapshot", SseEvent.next(lines).type());

            for (int i = 0; i < 5; i++) {
                server.publish("{\"topic\":\"sse:2\",\"op\":\"append\",\"data\":" + i + "}");
            }
            int heartbeats = 0;
            for (long seq = 1; seq <= 5; seq++) {
                SseEvent event = SseEvent.next(lines);
                heartbeats += event.heartbeats();
                assertEquals("event", event.type());
                assertEquals(seq, event.json().path("seq").asLong());
            }
            while (heartbeats == 0) {
                String line = lines.next();
                if (line.equals(":")) {
                    heartbeats++;
                }
            }
            assertTrue(heartbeats > 0, "heartbeat comments keep the stream alive");
        } finally {
            response.body().close();
        }
    }

    @Test
    void anSseReaderThatStopsReadingIsDroppedNotBuffered() throws Exception {
        double slowBefore = metric("herald_slow_consumer_closes_total");
        try (Socket socket = new Socket("127.0.0.1", server.herald.port())) {
            socket.setReceiveBufferSize(4096);
            OutputStream out = socket.getOutputStream();
            out.write(("GET /api/sse?topics=big:sse HTTP/1.1\r\nHost: localhost\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
            assertEquals("HTTP/1.1 200 OK", in.readLine());
            String pad = "y".repeat(32 * 1024);
            for (int i = 0; i < 400 && metric("herald_slow_consumer_closes_total") == slowBefore; i++) {
                server.publish("{\"topic\":\"big:sse\",\"op\":\"append\",\"data\":\"" + pad + "\"}");
            }
            assertEquals(slowBefore + 1, metric("herald_slow_consumer_closes_total"), "closed as a slow consumer");
            Eventually.await("the stalled SSE stream is ended and its session gone", Duration.ofSeconds(10),
                    () -> metric("herald_connections_closed_total{code=\"4008\"}") >= 1
                            && topicSubscribers("big:sse") == 0);
        }
    }

    private static int topicSubscribers(String topic) throws Exception {
        for (JsonNode t : Json.parse(server.get("/api/topics?limit=1000").body()).path("topics")) {
            if (t.path("topic").asText().equals(topic)) {
                return t.path("subscribers").asInt();
            }
        }
        return 0;
    }

    /** One Server-Sent Event read from the stream's lines, with the heartbeat comments met before it. */
    record SseEvent(String type, String id, JsonNode json, int dataLines, int heartbeats) {
        static SseEvent next(Iterator<String> lines) {
            String type = null;
            String id = null;
            List<String> data = new ArrayList<>();
            int heartbeats = 0;
            while (true) {
                String line = lines.next();
                if (line.equals(":")) {
                    heartbeats++;
                } else if (line.startsWith("event: ")) {
                    type = line.substring(7);
                } else if (line.startsWith("id: ")) {
                    id = line.substring(4);
                } else if (line.startsWith("data: ")) {
                    data.add(line.substring(6));
                } else if (line.isEmpty() && type != null) {
                    return new SseEvent(type, id, Json.parse(String.join("\n", data)), data.size(), heartbeats);
                }
            }
        }
    }

    @Test
    void sseNeedsTopics() throws Exception {
        HttpResponse<String> none = server.get("/api/sse");
        assertEquals(400, none.statusCode());
        assertFalse(Json.parse(none.body()).path("message").asText().isEmpty());
        String many = String.join(",", java.util.Collections.nCopies(101, "t"));
        assertEquals("too_many_topics", Json.parse(server.get("/api/sse?topics=" + many).body()).path("code").asText());
        assertEquals(URI.create("http://127.0.0.1:" + server.herald.port() + "/api/sse"), server.http("/api/sse"));
    }
}
