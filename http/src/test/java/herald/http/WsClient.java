package herald.http;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A real WebSocket client (the JDK's) that queues every text message and can stop reading: while
 * paused it requests nothing, so the JDK stops reading the socket and the server sees a stalled client.
 */
final class WsClient implements AutoCloseable {
    static final Duration TIMEOUT = Duration.ofSeconds(10);
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    record Closed(int code, String reason) {
    }

    private final BlockingQueue<String> messages = new LinkedBlockingQueue<>();
    private final CompletableFuture<Closed> closed = new CompletableFuture<>();
    private final Listener listener = new Listener();
    /** WebSocket ping frames received from the server (the JDK answers each with a pong). */
    final java.util.concurrent.atomic.AtomicInteger pings = new java.util.concurrent.atomic.AtomicInteger();
    private WebSocket socket;

    static WsClient connect(URI uri) throws Exception {
        return connect(uri, java.util.Map.of());
    }

    /** Connects with extra upgrade headers (Authorization, Origin). */
    static WsClient connect(URI uri, java.util.Map<String, String> headers) throws Exception {
        return connect(uri, headers, List.of());
    }

    /** Connects offering these subprotocols, most wanted first. */
    static WsClient connect(URI uri, java.util.Map<String, String> headers, List<String> subprotocols) throws Exception {
        WsClient client = new WsClient();
        WebSocket.Builder builder = HTTP.newWebSocketBuilder().connectTimeout(TIMEOUT);
        if (!subprotocols.isEmpty()) {
            builder.subprotocols(subprotocols.get(0), subprotocols.subList(1, subprotocols.size()).toArray(String[]::new));
        }
        headers.forEach(builder::header);
        client.socket = builder.buildAsync(uri, client.listener).get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        return client;
    }

    /** Connects and reads the welcome frame. */
    static WsClient connectWelcomed(URI uri) throws Exception {
        WsClient client = connect(uri);
        JsonNode welcome = client.next();
        if (!welcome.path("type").asText().equals("welcome")) {
            throw new AssertionError("expected welcome, got " + welcome);
        }
        return client;
    }

    void send(String text) {
        socket.sendText(text, true).join();
    }

    void send(JsonNode frame) {
        send(frame.toString());
    }

    WebSocket socket() {
        return socket;
    }

    /** The next message as JSON, failing the test when none arrives in time. */
    JsonNode next() throws InterruptedException {
        return next(TIMEOUT);
    }

    JsonNode next(Duration wait) throws InterruptedException {
        String text = messages.poll(wait.toMillis(), TimeUnit.MILLISECONDS);
        if (text == null) {
            throw new AssertionError("no message within " + wait + (closed.isDone() ? "; closed " + closed.join() : ""));
        }
        return Json.parse(text);
    }

    /** Messages until one matches, returning that one; the skipped ones are returned through {@code skipped}. */
    JsonNode nextMatching(Predicate<JsonNode> wanted, List<JsonNode> skipped) throws InterruptedException {
        while (true) {
            JsonNode frame = next();
            if (wanted.test(frame)) {
                return frame;
            }
            skipped.add(frame);
        }
    }

    JsonNode nextMatching(Predicate<JsonNode> wanted) throws InterruptedException {
        return nextMatching(wanted, new ArrayList<>());
    }

    /** The next message, or null when none arrives within the wait. */
    JsonNode poll(Duration wait) throws InterruptedException {
        String text = messages.poll(wait.toMillis(), TimeUnit.MILLISECONDS);
        return text == null ? null : Json.parse(text);
    }

    /** Stops requesting messages; the JDK then stops reading from the socket. */
    void pause() {
        listener.paused = true;
    }

    /** Reads again, everything that is waiting. */
    void resume() {
        listener.paused = false;
        socket.request(Long.MAX_VALUE);
    }

    /** How the server closed the connection, waiting up to the timeout. */
    Closed awaitClose(Duration timeout) throws Exception {
        return closed.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    Closed awaitClose() throws Exception {
        return awaitClose(TIMEOUT);
    }

    boolean isClosed() {
        return closed.isDone();
    }

    int pending() {
        return messages.size();
    }

    @Override
    public void close() {
        if (!socket.isOutputClosed()) {
            socket.sendClose(WebSocket.NORMAL_CLOSURE, "bye");
        }
        socket.abort();
    }

    private final class Listener implements WebSocket.Listener {
        private final StringBuilder partial = new StringBuilder();
        volatile boolean paused;

        @Override
        public void onOpen(WebSocket webSocket) {
            webSocket.request(1);
        }

        @Override
        public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
            partial.append(data);
            if (last) {
                messages.add(partial.toString());
                partial.setLength(0);
            }
            if (!paused) {
                webSocket.request(1);
            }
            return null;
        }

        @Override
        public CompletionStage<?> onPing(WebSocket webSocket, ByteBuffer message) {
            pings.incrementAndGet();
            return WebSocket.Listener.super.onPing(webSocket, message);
        }

        @Override
        public CompletionStage<?> onBinary(WebSocket webSocket, ByteBuffer data, boolean last) {
            messages.add("{\"type\":\"unexpected binary\"}");
            webSocket.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
            closed.complete(new Closed(statusCode, reason));
            return null;
        }

        @Override
        public void onError(WebSocket webSocket, Throwable error) {
            closed.complete(new Closed(1006, String.valueOf(error)));
        }
    }
}
