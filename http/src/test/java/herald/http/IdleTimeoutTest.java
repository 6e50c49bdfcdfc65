package herald.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** A connection that sends nothing for idle-timeout is closed with 4000; one that pings is not. */
@ExtendWith(LogCapturingExtension.class)
class IdleTimeoutTest {
    private static TestServer server;

    @BeforeAll
    static void start() throws Exception {
        server = TestServer.start("""
                herald.websocket.heartbeat = 300ms
                herald.websocket.idle-timeout = 1500ms
                """);
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    @Test
    void aSilentClientIsClosedWith4000() throws Exception {
        WsClient client = WsClient.connectWelcomed(server.ws());
        long start = System.nanoTime();
        WsClient.Closed closed = client.awaitClose(Duration.ofSeconds(10));
        assertEquals(4000, closed.code(), closed.toString());
        long waited = Duration.ofNanos(System.nanoTime() - start).toMillis();
        assertEquals(true, waited >= 1400, "closed after about idle-timeout, not before: " + waited + " ms");
    }

    @Test
    void aClientThatPingsAtTheHeartbeatStaysOpenPastTheIdleTimeout() throws Exception {
        try (WsClient client = WsClient.connectWelcomed(server.ws())) {
            long until = System.nanoTime() + Duration.ofMillis(3500).toNanos();
            int pongs = 0;
            while (System.nanoTime() < until) {
                client.send("{\"type\":\"ping\"}");
                assertEquals("pong", client.next().path("type").asText());
                pongs++;
                assertFalse(client.isClosed());
                client.poll(Duration.ofMillis(300));
            }
            assertFalse(client.isClosed(), "still open after " + pongs + " pings over twice the idle-timeout");
        }
    }

    @Test
    void keepAlivePingsGoOutWhileTheServerSendsNothingElseAndNotWhileItDoes() throws Exception {
        try (TestServer pinging = TestServer.start("herald.websocket.keep-alive-ping = 1s");
             WsClient quiet = WsClient.connectWelcomed(pinging.ws());
             WsClient busy = WsClient.connectWelcomed(pinging.ws())) {
            Eventually.await("three keep-alive pings reach a quiet client", Duration.ofSeconds(20),
                    () -> quiet.pings.get() >= 3);
            int before = busy.pings.get();
            // A pong every 100 ms is outbound traffic: no keep-alive ping is due meanwhile.
            for (int i = 0; i < 20; i++) {
                busy.send("{\"type\":\"ping\"}");
                assertEquals("pong", busy.next().path("type").asText());
                busy.poll(Duration.ofMillis(100));
            }
            assertTrue(busy.pings.get() - before <= 1, "pinged " + (busy.pings.get() - before) + " times while busy");
        }
    }

    @Test
    void webSocketPingFramesCountAsActivityToo() throws Exception {
        try (WsClient client = WsClient.connectWelcomed(server.ws())) {
            long until = System.nanoTime() + Duration.ofMillis(3500).toNanos();
            while (System.nanoTime() < until) {
                client.socket().sendPing(java.nio.ByteBuffer.allocate(0)).join();
                assertEquals(null, client.poll(Duration.ofMillis(300)));
            }
            assertFalse(client.isClosed());
        }
    }
}
