package herald.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.LoggingTestKit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A client that stops reading is closed with 4008 instead of slowing anyone down; what it had
 * received before the close has no gap, a healthy neighbour gets everything, and a reconnect brings
 * it back to the topic's current state.
 */
@ExtendWith(LogCapturingExtension.class)
class SlowConsumerTest {
    private static final int EVENTS = 400;
    private static final String PAD = "x".repeat(32 * 1024);

    @Test
    void aClientThatNeverReadsAgainIsDroppedAfterCloseGrace() throws Exception {
        try (TestServer server = TestServer.start("""
                herald.websocket.outbound-buffer.frames = 64
                herald.websocket.outbound-buffer.bytes = 256 KiB
                herald.websocket.close-grace = 2s
                herald.topics.retention = [{ pattern = "slow:*", max-entries = 5 }]
                pekko.actor.testkit.typed.filter-leeway = 15s
                """)) {
            WsClient stalled = WsClient.connectWelcomed(server.ws());
            stalled.send("{\"type\":\"subscribe\",\"topics\":[\"slow:1\"]}");
            stalled.next();
            stalled.pause();
            LoggingTestKit.warn("Connection closed").withMessageContains("code [4008]")
                    .expect(server.herald.system(), () ->
                            LoggingTestKit.warn("Slow consumer closed with 4008").expect(server.herald.system(), () -> {
                                publishLargeEvents(server);
                                return null;
                            }));
            stalled.socket().abort();
        }
    }

    private static void publishLargeEvents(TestServer server) {
        try {
            for (int i = 0; i < EVENTS; i++) {
                server.publish("{\"topic\":\"slow:1\",\"op\":\"set\",\"key\":\"k" + (i % 10)
                        + "\",\"data\":{\"i\":" + i + ",\"pad\":\"" + PAD + "\"}}");
            }
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void aStalledClientIsClosedWith4008AndItsNeighbourGetsEverything() throws Exception {
        try (TestServer server = TestServer.start("""
                herald.websocket.outbound-buffer.frames = 64
                herald.websocket.outbound-buffer.bytes = 256 KiB
                herald.topics.retention = [{ pattern = "slow:*", max-entries = 5 }]
                """)) {
            WsClient healthy = WsClient.connectWelcomed(server.ws());
            WsClient slow = WsClient.connectWelcomed(server.ws());
            healthy.send("{\"type\":\"subscribe\",\"topics\":[\"slow:1\"]}");
            slow.send("{\"type\":\"subscribe\",\"topics\":[\"slow:1\"]}");
            long startSeq = healthy.next().path("seq").asLong();
            assertEquals(startSeq, slow.next().path("seq").asLong());
            slow.pause();

            LoggingTestKit.warn("Slow consumer closed with 4008").expect(server.herald.system(), () -> {
                publishLargeEvents(server);
                return null;
            });

            // The healthy client was never held back: every change (evictions included) in order.
            long seq = startSeq;
            long lastSeq = Json.parse(server.get("/api/topics/slow:1").body()).path("seq").asLong();
            while (seq < lastSeq) {
                JsonNode event = healthy.next();
                assertEquals(++seq, event.path("seq").asLong());
            }

            slow.resume();
            long slowSeq = startSeq;
            while (true) {
                JsonNode frame = slow.poll(Duration.ofSeconds(5));
                if (frame == null) {
                    break;
                }
                assertEquals(++slowSeq, frame.path("seq").asLong(), "no frame is skipped before the close");
            }
            WsClient.Closed closed = slow.awaitClose();
            assertEquals(4008, closed.code(), closed.toString());
            assertTrue(slowSeq < lastSeq, "the slow client was cut off before the end (" + slowSeq + ")");

            try (WsClient back = WsClient.connectWelcomed(server.ws())) {
                back.send("{\"type\":\"subscribe\",\"topics\":[\"slow:1\"]}");
                JsonNode snapshot = back.next();
                JsonNode state = Json.parse(server.get("/api/topics/slow:1").body());
                assertEquals(state.path("seq"), snapshot.path("seq"));
                assertEquals(state.path("epoch"), snapshot.path("epoch"));
                assertEquals(state.path("entries"), snapshot.path("entries"));
            }
            healthy.close();
        }
    }
}
