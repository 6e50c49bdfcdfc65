package herald.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocketHandshakeException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The packaged server, started as users start it (the shaded jar with the shipped configuration):
 * SIGTERM turns it unready, refuses new connections, closes WebSockets with 1001 and SSE streams,
 * and the process exits with status 0.
 */
class PackagedServerIT {
    private static final Pattern LISTENING = Pattern.compile("Herald listening on http://127\\.0\\.0\\.1:(\\d+)");
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @Test
    void sigtermDrainsEveryConnectionWhileUnreadyAndExitsZero() throws Exception {
        Path jar = Path.of("target", "herald.jar");
        assertTrue(Files.exists(jar), "the packaged jar is built before integration tests");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process process = new ProcessBuilder(java, "-Dherald.server.port=0", "-Dherald.shutdown-grace=4s",
                "-Dconfig.file=../config/application.conf", "-jar", jar.toString())
                .redirectErrorStream(true).start();
        StringBuilder output = new StringBuilder();
        try {
            int port = awaitListening(process, output);
            URI base = URI.create("http://127.0.0.1:" + port);
            URI ws = URI.create("ws://127.0.0.1:" + port + "/ws");

            HttpResponse<String> metrics = get(base.resolve("/metrics"));
            assertEquals(200, metrics.statusCode());
            assertTrue(metrics.body().contains("herald_connections_open"));
            assertEquals(200, get(base.resolve("/health/ready")).statusCode());

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

            // SIGTERM through the handle: Process.destroy() would also close our end of its output.
            process.toHandle().destroy();

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
            assertEquals(0, process.exitValue(), output(output));
            assertTrue(output(output).contains("still open after shutdown-grace"), output(output));
            stalled.close();
        } finally {
            process.destroyForcibly();
        }
        String log = output(output);
        assertTrue(log.contains("Shutting down: not ready, refusing new connections"), log);
        assertTrue(log.contains("code [1001]"), "each close is logged:\n" + log);
        assertFalse(log.contains("ERROR"), log);
    }

    @Test
    void jsonLogsAreOneObjectPerLineWithTheSessionId() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder builder = new ProcessBuilder(java, "-Dherald.server.port=0",
                "-Dconfig.file=../config/application.conf", "-jar", "target/herald.jar").redirectErrorStream(true);
        builder.environment().put("HERALD_LOG_FORMAT", "json");
        Process process = builder.start();
        StringBuilder output = new StringBuilder();
        try {
            int port = awaitListening(process, output);
            try (WsClient client = WsClient.connectWelcomed(URI.create("ws://127.0.0.1:" + port + "/ws"))) {
                client.send("{\"type\":\"ping\"}");
                client.next();
            }
            Eventually.await("the close is logged", Duration.ofSeconds(5), () -> output(output).contains("Connection closed"));
            process.toHandle().destroy();
            assertTrue(process.waitFor(30, TimeUnit.SECONDS));
        } finally {
            process.destroyForcibly();
        }
        boolean sawSession = false;
        for (String line : output(output).split("\n")) {
            com.fasterxml.jackson.databind.JsonNode json = Json.parse(line);
            assertTrue(json.has("@timestamp") && json.has("level") && json.has("message"), line);
            sawSession |= json.path("message").asText().startsWith("Connection opened") && json.has("sessionId");
        }
        assertTrue(sawSession, "connection lines carry the session id as a field:\n" + output(output));
    }

    private static HttpResponse<String> get(URI uri) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static String output(StringBuilder output) {
        synchronized (output) {
            return output.toString();
        }
    }

    /** Reads the process's output in the background and returns the port from its listening line. */
    private static int awaitListening(Process process, StringBuilder output) throws Exception {
        CompletableFuture<Integer> port = new CompletableFuture<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader lines = new BufferedReader(
                    new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = lines.readLine()) != null) {
                    synchronized (output) {
                        output.append(line).append('\n');
                    }
                    Matcher m = LISTENING.matcher(line);
                    if (m.find()) {
                        port.complete(Integer.parseInt(m.group(1)));
                    }
                }
            } catch (java.io.IOException ignored) {
                // The process is gone; what it printed is in output.
            }
            port.completeExceptionally(new AssertionError("Herald exited before listening:\n" + output(output)));
        });
        reader.setDaemon(true);
        reader.start();
        return port.get(60, TimeUnit.SECONDS);
    }
}
