package herald.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Webhooks against a receiver in the test JVM: signed, in order per topic, sent again after a failure. */
class WebhooksTest {
    private static final String SECRET = "webhook-secret-of-at-least-32-bytes!";
    private static Backend receiver;
    private static TestServer server;

    @BeforeAll
    static void start() throws Exception {
        receiver = new Backend();
        receiver.answer("/hooks", 204, "");
        server = TestServer.start("""
                herald.webhooks { url = "%s", secret = "%s", topics = ["watched:*"], min-backoff = 50ms, max-backoff = 200ms }
                """.formatted(receiver.url("/hooks"), SECRET));
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
        receiver.close();
    }

    /** The receiver's check: the signature is the HMAC-SHA256 of the body under the shared secret. */
    private static JsonNode verified(Backend.Received request) throws Exception {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(SECRET.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
        String expected = "sha256=" + HexFormat.of().formatHex(mac.doFinal(request.body().getBytes(StandardCharsets.UTF_8)));
        assertEquals(expected, request.headers().get("x-herald-signature"), "signed with the shared secret");
        JsonNode body = Json.parse(request.body());
        assertEquals(body.path("id").asText(), request.headers().get("x-herald-delivery"));
        return body;
    }

    /** The next webhook for this topic, verified; others are skipped. */
    private static JsonNode next(String topic) throws Exception {
        while (true) {
            JsonNode body = verified(receiver.next("/hooks"));
            if (body.path("topic").asText().equals(topic)) {
                return body;
            }
        }
    }

    @Test
    void aTopicIsOccupiedByItsFirstSubscriberAndVacatedByItsLastInOrder() throws Exception {
        String topic = "watched:order";
        WsClient a = WsClient.connectWelcomed(server.ws());
        WsClient b = WsClient.connectWelcomed(server.ws());
        a.send("{\"type\":\"subscribe\",\"topics\":[\"" + topic + "\",\"unwatched\"]}");
        b.send("{\"type\":\"subscribe\",\"topics\":[\"" + topic + "\"]}");
        a.next();
        b.next();
        JsonNode occupied = next(topic);
        assertEquals("topic.occupied", occupied.path("event").asText());
        assertTrue(occupied.path("time").asLong() > 0);
        a.close();
        b.send("{\"type\":\"unsubscribe\",\"topics\":[\"" + topic + "\"]}");
        assertEquals("topic.vacated", next(topic).path("event").asText(), "once, when the last one left");
        WsClient c = WsClient.connectWelcomed(server.ws());
        c.send("{\"type\":\"subscribe\",\"topics\":[\"" + topic + "\"]}");
        c.next();
        assertEquals("topic.occupied", next(topic).path("event").asText());
        c.close();
        assertEquals("topic.vacated", next(topic).path("event").asText());
        b.close();
    }

    @Test
    void aFailedWebhookIsSentAgainWithTheSameIdBeforeTheTopicsNextOne() throws Exception {
        String topic = "watched:retry";
        AtomicInteger calls = new AtomicInteger();
        receiver.answer("/hooks", request -> Backend.json(calls.incrementAndGet() <= 2 ? 503 : 200, "{}"));
        try {
            WsClient client = WsClient.connectWelcomed(server.ws());
            client.send("{\"type\":\"subscribe\",\"topics\":[\"" + topic + "\"]}");
            client.next();
            client.close();
            List<JsonNode> seen = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                seen.add(next(topic));
            }
            String firstId = seen.get(0).path("id").asText();
            for (int i = 0; i < 3; i++) {
                assertEquals("topic.occupied", seen.get(i).path("event").asText(), "attempt " + (i + 1));
                assertEquals(firstId, seen.get(i).path("id").asText(), "the same notice each time");
            }
            assertEquals("topic.vacated", seen.get(3).path("event").asText(), "the next notice waited for the first");
            String failed = server.get("/metrics").body().lines()
                    .filter(line -> line.startsWith("herald_webhooks_total{outcome=\"failed\"}")).findFirst().orElse("none 0");
            assertTrue(Double.parseDouble(failed.substring(failed.lastIndexOf(' ') + 1)) >= 2, failed);
        } finally {
            receiver.answer("/hooks", 204, "");
        }
    }
}
