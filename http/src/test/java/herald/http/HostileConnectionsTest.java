package herald.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Connections that never become clients: sockets that send nothing or half a request, keep-alive
 * connections left open, upgrades refused or reset before the 101, and more of them than Pekko's own
 * default cap of 1,024. None of them may lock anyone else out or keep a place for long.
 */
@ExtendWith(LogCapturingExtension.class)
class HostileConnectionsTest {
    /** Well above every deadline the servers here are given, so that only a server that never closes fails. */
    private static final Duration CLOSED_WITHIN = Duration.ofSeconds(20);

    @Test
    void aSocketThatSendsNothingOrHalfARequestIsClosedAtTheRequestDeadline() throws Exception {
        try (TestServer server = TestServer.start("herald.server.request-deadline = 1s");
             Socket silent = RawHttp.open(server.herald.port());
             Socket halfRequest = RawHttp.open(server.herald.port())) {
            RawHttp.send(halfRequest, "GET /health/live HTTP/1.1\r\nHost: localhost\r\nX-Slow: ");
            assertTrue(RawHttp.closedWithin(silent, CLOSED_WITHIN), "a socket that sent nothing is closed");
            assertTrue(RawHttp.closedWithin(halfRequest, CLOSED_WITHIN), "a request never finished is closed");
            Eventually.await("the metric counts both", Duration.ofSeconds(5), () ->
                    metric(server, "herald_http_connections_expired_total{reason=\"request-deadline\"}") >= 2);
        }
    }

    @Test
    void aKeepAliveConnectionWithNoRequestIsClosedAfterTheHttpIdleTimeout() throws Exception {
        try (TestServer server = TestServer.start("herald.server.http-idle-timeout = 1s");
             Socket keepAlive = RawHttp.open(server.herald.port())) {
            for (int i = 0; i < 2; i++) {
                RawHttp.send(keepAlive, "GET /health/live HTTP/1.1\r\nHost: localhost\r\n\r\n");
                RawHttp.Response response = RawHttp.read(keepAlive);
                assertEquals(200, response.status(), "a connection in use is served request after request");
                assertEquals("Herald", response.headers().get("server"), "the Server header names no version");
            }
            assertTrue(RawHttp.closedWithin(keepAlive, CLOSED_WITHIN));
            assertTrue(metric(server, "herald_http_connections_expired_total{reason=\"http-idle\"}") >= 1);
        }
    }

    @Test
    void anSseStreamAndAWebSocketOutliveBothTimeouts() throws Exception {
        try (TestServer server = TestServer.start("""
                herald.server.request-deadline = 1s
                herald.server.http-idle-timeout = 1s
                herald.sse.heartbeat = 300ms
                """);
             Socket sse = RawHttp.open(server.herald.port());
             WsClient ws = WsClient.connectWelcomed(server.ws())) {
            RawHttp.send(sse, "GET /api/sse?topics=kept HTTP/1.1\r\nHost: localhost\r\n\r\n");
            assertEquals(200, RawHttp.read(sse).status());
            assertFalse(RawHttp.closedWithin(sse, Duration.ofSeconds(3)), "an SSE stream is a request in flight");
            ws.send("{\"type\":\"ping\",\"id\":\"still\"}");
            assertEquals("still", ws.next().path("id").asText(), "a WebSocket follows its own idle rule only");
        }
    }

    @Test
    void everyRefusedUpgradeClosesItsConnection() throws Exception {
        try (TestServer server = TestServer.start("""
                herald.auth.mode = jwt
                herald.auth.jwt.hs256-secret = "%s"
                herald.allowed-origins = ["https://app.example"]
                herald.limits.max-connections-per-user = 1
                """.formatted(Tokens.SECRET))) {
            String token = Tokens.hs256("ana", Duration.ofMinutes(5), List.of("**"), List.of());
            try (WsClient first = WsClient.connect(server.ws(), Map.of("Authorization", "Bearer " + token))) {
                first.next();
                assertRefusedAndClosed(server, 401, Map.of("Authorization", "Bearer not-a-token"));
                assertRefusedAndClosed(server, 403, Map.of("Origin", "https://evil.example"));
                assertRefusedAndClosed(server, 429, Map.of("Authorization", "Bearer " + token));
            }
        }
        try (TestServer full = TestServer.start("herald.limits.max-connections = 1");
             WsClient only = WsClient.connectWelcomed(full.ws())) {
            assertRefusedAndClosed(full, 503, Map.of());
        }
    }

    private static void assertRefusedAndClosed(TestServer server, int status, Map<String, String> headers) throws Exception {
        try (Socket socket = RawHttp.open(server.herald.port())) {
            RawHttp.Response response = RawHttp.upgrade(socket, "/ws", headers);
            assertEquals(status, response.status(), response.body());
            assertEquals("close", response.headers().get("connection"));
            assertTrue(RawHttp.closedWithin(socket, CLOSED_WITHIN), status + " closes the connection");
        }
    }

    /**
     * More silent sockets than Pekko's default cap (1,024) do not keep a client out: the cap follows
     * Herald's limits, and the deadline clears them.
     */
    @Test
    void silentSocketsBeyondPekkosDefaultCapLockNoOneOut() throws Exception {
        List<Socket> silent = new ArrayList<>();
        try (TestServer server = TestServer.start("herald.server.request-deadline = 3s")) {
            try {
                for (int i = 0; i < 1_500; i++) {
                    silent.add(RawHttp.open(server.herald.port()));
                }
                Eventually.await("the server counts them as pending", Duration.ofSeconds(10),
                        () -> metric(server, "herald_http_connections_pending") >= 1_500);
                try (WsClient client = WsClient.connectWelcomed(server.ws())) {
                    client.send("{\"type\":\"ping\",\"id\":\"in\"}");
                    assertEquals("in", client.next().path("id").asText());
                }
                assertEquals(200, server.get("/health/live").statusCode());
                for (Socket socket : silent) {
                    assertTrue(RawHttp.closedWithin(socket, CLOSED_WITHIN), "every silent socket is closed by the deadline");
                }
            } finally {
                RawHttp.closeAll(silent);
            }
        }
    }

    /** Upgrades whose client resets before the 101 give their place back; then the full limit still connects. */
    @Test
    void upgradesResetBeforeTheirAnswerLeaveNoSlotBehind() throws Exception {
        int limit = 50;
        try (TestServer server = TestServer.start("""
                herald.limits.max-connections = %d
                herald.server.request-deadline = 2s
                """.formatted(limit))) {
            String upgrade = RawHttp.upgradeRequest("/ws");
            for (int i = 0; i < 5_000; i++) {
                try (Socket socket = RawHttp.open(server.herald.port())) {
                    socket.setSoLinger(true, 0);
                    RawHttp.send(socket, upgrade);
                }
            }
            Eventually.await("every slot is given back", Duration.ofSeconds(30),
                    () -> metric(server, "herald_connections_slots") == 0);
            List<WsClient> clients = new ArrayList<>();
            try {
                for (int i = 0; i < limit; i++) {
                    clients.add(WsClient.connectWelcomed(server.ws()));
                }
                assertEquals(limit, metric(server, "herald_connections_slots"));
            } finally {
                for (WsClient client : clients) {
                    client.close();
                }
            }
            Eventually.await("closed connections give their places back", Duration.ofSeconds(10),
                    () -> metric(server, "herald_connections_slots") == 0);
        }
    }

    /** SSE streams count against Herald's limits like WebSockets, and beyond Pekko's old cap leave health and upgrades served. */
    @Test
    void sseStreamsAreConnectionsUnderTheLimitsAndStarveNothing() throws Exception {
        int streams = 1_100;
        List<Socket> open = new ArrayList<>();
        try (TestServer server = TestServer.start("""
                herald.limits.max-connections = %d
                herald.limits.max-connections-per-address = %d
                """.formatted(streams + 1, streams + 1))) {
            try {
                for (int i = 0; i < streams; i++) {
                    Socket socket = RawHttp.open(server.herald.port());
                    open.add(socket);
                    RawHttp.send(socket, "GET /api/sse?topics=crowd HTTP/1.1\r\nHost: localhost\r\n\r\n");
                    assertEquals(200, RawHttp.read(socket).status(), "stream " + i);
                }
                Eventually.await("every stream is a session", Duration.ofSeconds(10),
                        () -> metric(server, "herald_connections_open") == streams);
                assertEquals(200, server.get("/health/live").statusCode(), "health is served beside them");
                try (WsClient last = WsClient.connectWelcomed(server.ws());
                     Socket overTheLimit = RawHttp.open(server.herald.port())) {
                    RawHttp.send(overTheLimit, "GET /api/sse?topics=crowd HTTP/1.1\r\nHost: localhost\r\n\r\n");
                    assertEquals(503, RawHttp.read(overTheLimit).status(), "the limit counts SSE streams and WebSockets together");
                }
            } finally {
                RawHttp.closeAll(open);
            }
            Eventually.await("closed streams give their places back", Duration.ofSeconds(20),
                    () -> metric(server, "herald_connections_slots") == 0);
        }
    }

    private static double metric(TestServer server, String sample) throws Exception {
        return Metrics.sample(server.get("/metrics").body(), sample);
    }
}
