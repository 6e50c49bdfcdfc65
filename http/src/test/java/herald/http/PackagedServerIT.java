package herald.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocketHandshakeException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The packaged server, started as users start it (the shaded jar with the shipped configuration):
 * SIGTERM turns it unready, refuses new connections, closes WebSockets with 1001 and SSE streams,
 * and the process exits with status 0.
 */
class PackagedServerIT {
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @Test
    void sigtermDrainsEveryConnectionWhileUnreadyAndExitsZero() throws Exception {
        String log;
        try (HeraldProcess herald = HeraldProcess.start("-Dherald.shutdown-grace=4s", "-Dconfig.file=../config/application.conf")) {
            Process process = herald.process;
            int port = herald.port;
            URI base = herald.http("");
            URI ws = herald.ws();

            HttpResponse<String> metrics = get(base.resolve("/metrics"));
            assertEquals(200, metrics.statusCode());
            assertTrue(metrics.body().contains("herald_connections_open"));
            assertEquals(200, get(base.resolve("/health/ready")).statusCode());
            // The jar carries the API descriptions and the schemas they refer to.
            assertTrue(get(base.resolve("/openapi.yaml")).body().startsWith("openapi: 3.1"));
            assertTrue(get(base.resolve("/asyncapi.yaml")).body().startsWith("asyncapi: 3.0"));
            assertEquals(200, get(base.resolve("/schemas/server-frame.json")).statusCode());

            WsClient healthy = WsClient.connectWelcomed(ws);
            healthy.send("{\"type\":\"subscribe\",\"topics\":[\"bye:1\"]}");
            healthy.next();
            // A client that never reads (not even the close) holds the drain open for the whole shutdown-grace.
            Socket stalled = new Socket("127.0.0.1", port);
            stalled.getOutputStream().write(("GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
                    + "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                    + "Sec-WebSocket-Version: 13\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            HttpResponse<Stream<String>> sse = HTTP.send(
                    HttpRequest.newBuilder(base.resolve("/api/sse?topics=bye:1")).build(),
                    HttpResponse.BodyHandlers.ofLines());
            Iterator<String> sseLines = sse.body().iterator();
            assertEquals("retry: 3000", sseLines.next());

            herald.terminate();

            assertEquals(1001, healthy.awaitClose().code());
            List<String> rest = new ArrayList<>();
            sseLines.forEachRemaining(rest::add);
            assertTrue(rest.contains(": closed 1001 server shutting down"), "SSE ends with its reason: " + rest);

            Eventually.await("readiness turns 503 while draining", Duration.ofSeconds(3),
                    () -> get(base.resolve("/health/ready")).statusCode() == 503);
            assertEquals(200, get(base.resolve("/health/live")).statusCode(), "still alive while draining");
            CompletionException refused = org.junit.jupiter.api.Assertions.assertThrows(CompletionException.class,
                    () -> HTTP.newWebSocketBuilder().buildAsync(ws, new java.net.http.WebSocket.Listener() { }).join());
            assertEquals(503, ((WebSocketHandshakeException) refused.getCause()).getResponse().statusCode());

            assertTrue(process.waitFor(30, TimeUnit.SECONDS), "exited after SIGTERM");
            assertEquals(0, process.exitValue(), herald.output());
            assertTrue(herald.output().contains("still open after shutdown-grace"), herald.output());
            stalled.close();
            log = herald.output();
        }
        assertTrue(log.contains("Shutting down: not ready, refusing new connections"), log);
        assertTrue(log.contains("code [1001]"), "each close is logged:\n" + log);
        assertFalse(log.contains("ERROR"), log);
    }

    @Test
    void jsonLogsAreOneObjectPerLineWithTheSessionId() throws Exception {
        String output;
        try (HeraldProcess herald = HeraldProcess.start(List.of("-Dconfig.file=../config/application.conf"),
                Map.of("HERALD_LOG_FORMAT", "json"))) {
            try (WsClient client = WsClient.connectWelcomed(herald.ws())) {
                client.send("{\"type\":\"ping\"}");
                client.next();
            }
            Eventually.await("the close is logged", Duration.ofSeconds(5), () -> herald.output().contains("Connection closed"));
            herald.terminate();
            assertTrue(herald.process.waitFor(30, TimeUnit.SECONDS));
            output = herald.output();
        }
        boolean sawSession = false;
        for (String line : output.split("\n")) {
            com.fasterxml.jackson.databind.JsonNode json = Json.parse(line);
            assertTrue(json.has("@timestamp") && json.has("level") && json.has("message"), line);
            sawSession |= json.path("message").asText().startsWith("Connection opened") && json.has("sessionId");
        }
        assertTrue(sawSession, "connection lines carry the session id as a field:\n" + output);
    }

    private static HttpResponse<String> get(URI uri) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
