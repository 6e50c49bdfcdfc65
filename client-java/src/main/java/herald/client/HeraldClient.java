package herald.client;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import herald.protocol.ClientFrame;
import herald.protocol.FrameCodec;
import herald.protocol.Position;
import herald.protocol.TopicNames;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * A connection to Herald that stays up, for Java services: it authenticates, keeps a live
 * {@link TopicView} of every topic subscribed across reconnects (resuming with {@code since} where
 * the hub can), queues publishes while offline and resends them with their idem keys, pings, and
 * refreshes its token in-band. It behaves as the TypeScript client does (docs/client.md).
 *
 * <p>Threads: all of its state changes on one thread of its own (no thread per view); the JDK's
 * WebSocket reads on its own, and the next message is asked for only once the last one is handled,
 * so a client whose listeners block is a slow consumer to the hub (closed with 4008, then back with
 * a fresh or resumed state). Listeners run on the listener executor (by default that same thread).
 */
public final class HeraldClient implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(HeraldClient.class.getName());
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Closes after which reconnecting cannot help. */
    private static final Set<Integer> FINAL = Set.of(1000, 1003, 1009);
    /** A new token is needed first. */
    private static final Set<Integer> TOKEN = Set.of(4001, 4002, 4003);
    private static final int MAX_TOPICS_PER_FRAME = 100;

    public enum State {
        CONNECTING,
        OPEN,
        RECONNECTING,
        CLOSED
    }

    /** How to reach Herald and how to behave; {@link #connect()} starts the client. */
    public static final class Builder {
        private final URI url;
        private Supplier<String> token;
        private String apiKey;
        private Duration minBackoff = Duration.ofMillis(500);
        private Duration maxBackoff = Duration.ofSeconds(30);
        private Duration heartbeat;
        private Executor listenerExecutor;
        private int maxQueued = 1000;
        private boolean batch = true;

        private Builder(URI url) {
            this.url = url;
        }

        /** Asked before every connection and before the token expires (in-band refresh); null: no token. */
        public Builder token(Supplier<String> token) {
            this.token = token;
            return this;
        }

        /** The API key for {@link #publishHttp}. */
        public Builder apiKey(String apiKey) {
            this.apiKey = apiKey;
            return this;
        }

        /** Full-jitter backoff between reconnects: a random wait up to min × 2^attempt, at most max. */
        public Builder backoff(Duration min, Duration max) {
            this.minBackoff = min;
            this.maxBackoff = max;
            return this;
        }

        /** How often to ping; default: the server's welcome.heartbeat. */
        public Builder heartbeat(Duration heartbeat) {
            this.heartbeat = heartbeat;
            return this;
        }

        public Builder listenerExecutor(Executor executor) {
            this.listenerExecutor = executor;
            return this;
        }

        /** Publishes that may wait while offline; more fail at once with queue_full. */
        public Builder maxQueued(int maxQueued) {
            this.maxQueued = maxQueued;
            return this;
        }

        /** Ask for batched delivery (herald.v1.batch); on by default. */
        public Builder batch(boolean batch) {
            this.batch = batch;
            return this;
        }

        public HeraldClient connect() {
            HeraldClient client = new HeraldClient(this);
            client.loop.execute(client::open);
            return client;
        }
    }

    /** {@code url}: the WebSocket endpoint, e.g. ws://127.0.0.1:8080/ws. */
    public static Builder builder(URI url) {
        return new Builder(url);
    }

    private record Pending(Change change, String id, CompletableFuture<Published> result) {
    }

    private final Builder options;
    private final ScheduledExecutorService loop;
    /** The client's one thread, where all its state changes. */
    private volatile Thread loopThread;
    private final Executor listeners;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private final Map<String, TopicView> views = new ConcurrentHashMap<>();
    private final List<Consumer<State>> stateListeners = new java.util.concurrent.CopyOnWriteArrayList<>();
    /** Publishes not yet sent, in order; resent ones go first. */
    private final ArrayDeque<Pending> queued = new ArrayDeque<>();
    /** Sent and not answered, by request id. */
    private final LinkedHashMap<String, Pending> inFlight = new LinkedHashMap<>();
    private final Set<String> unknownTypes = new HashSet<>();
    private volatile State state = State.CONNECTING;
    /** Written on the client's thread only; volatile for {@link #subprotocol()}. */
    private volatile WebSocket socket;
    private String session;
    private int attempt;
    private long ids;
    private boolean pongAwaited;
    private ScheduledFuture<?> heartbeatTask;
    private ScheduledFuture<?> refreshTask;
    private String token;

    private HeraldClient(Builder options) {
        this.options = options;
        this.loop = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread thread = new Thread(r, "herald-client");
            thread.setDaemon(true);
            loopThread = thread;
            return thread;
        });
        this.listeners = options.listenerExecutor != null ? options.listenerExecutor : loop;
    }

    public State state() {
        return state;
    }

    /** The server's id for the current connection (a presence topic's key), null while not open. */
    public String session() {
        return session;
    }

    /** The subprotocol the server chose for the current connection: {@code herald.v1.batch} when it batches; null while not open. */
    public String subprotocol() {
        WebSocket current = socket;
        return current == null || current.getSubprotocol().isEmpty() ? null : current.getSubprotocol();
    }

    public void onState(Consumer<State> listener) {
        stateListeners.add(listener);
    }

    /** The live view of a topic (the same one when asked again); subscribed now or at the next connection. */
    public TopicView subscribe(String topic) {
        if (!TopicNames.isValid(topic) && !TopicNames.isPresence(topic)) {
            throw new IllegalArgumentException("not a topic name (1 to 200 of A-Z a-z 0-9 _ . : @ / -): " + topic);
        }
        TopicView view = views.computeIfAbsent(topic, t -> {
            TopicView fresh = new TopicView(t, listeners);
            loop.execute(() -> sendSubscribe(List.of(fresh), true));
            return fresh;
        });
        return view;
    }

    public void unsubscribe(String topic) {
        TopicView view = views.remove(topic);
        if (view != null) {
            loop.execute(() -> {
                send(new ClientFrame.Unsubscribe(null, List.of(topic)));
                view.status(TopicView.Status.CLOSED, null);
            });
        }
    }

    /** Publishes over the socket; queued while offline (at most maxQueued), resent with its idem after a reconnect. */
    public CompletableFuture<Published> publish(Change change) {
        Change once = change.withIdemIfMissing();
        CompletableFuture<Published> result = new CompletableFuture<>();
        loop.execute(() -> {
            if (state == State.CLOSED) {
                result.completeExceptionally(new HeraldException("client_closed", "the client is closed"));
            } else if (state != State.OPEN) {
                if (queued.size() >= options.maxQueued) {
                    result.completeExceptionally(new HeraldException("queue_full", options.maxQueued + " publishes wait already"));
                } else {
                    queued.add(new Pending(once, null, result));
                }
            } else {
                sendPublish(new Pending(once, null, result));
            }
        });
        return result;
    }

    /** Publishes over the HTTP API with the API key (the same change, idem filled in). */
    public CompletableFuture<Published> publishHttp(Change change) {
        Change once = change.withIdemIfMissing();
        String scheme = options.url.getScheme().equals("wss") ? "https" : "http";
        URI uri = URI.create(scheme + "://" + options.url.getRawAuthority() + "/api/publish");
        HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(FrameCodec.json(once.toWire())));
        if (options.apiKey != null) {
            request.header("Authorization", "Bearer " + options.apiKey);
        }
        return http.sendAsync(request.build(), HttpResponse.BodyHandlers.ofString()).thenApply(response -> {
            JsonNode body = parse(response.body());
            if (response.statusCode() != 200 || body == null) {
                throw new HeraldException(body == null ? "http" : body.path("code").asText("http"),
                        "HTTP " + response.statusCode() + (body == null ? "" : ": " + body.path("message").asText()));
            }
            JsonNode result = body.path("results").get(0);
            return new Published(result.path("topic").asText(), result.path("seq").asLong(), result.path("duplicate").asBoolean());
        });
    }

    /** Closes for good; waiting publishes fail with client_closed. */
    @Override
    public void close() {
        Runnable closing = () -> {
            setState(State.CLOSED);
            failAll(new HeraldException("client_closed", "the client is closed"));
            if (socket != null) {
                socket.sendClose(WebSocket.NORMAL_CLOSURE, "bye");
            }
        };
        if (Thread.currentThread() == loopThread) {
            // From a listener on the client's own thread: waiting for that thread would wait for ourselves.
            closing.run();
        } else {
            CompletableFuture.runAsync(closing, loop).orTimeout(5, TimeUnit.SECONDS).exceptionally(e -> null).join();
        }
        loop.shutdown();
    }

    // --- the connection, on the client's thread ---

    private void open() {
        if (state == State.CLOSED) {
            return;
        }
        token = options.token == null ? null : options.token.get();
        WebSocket.Builder builder = http.newWebSocketBuilder().connectTimeout(Duration.ofSeconds(10));
        if (token != null) {
            builder.header("Authorization", "Bearer " + token);
        }
        if (options.batch) {
            builder.subprotocols("herald.v1.batch");
        }
        builder.buildAsync(options.url, new Listener()).whenComplete((ws, failed) -> {
            if (failed != null) {
                // A token refused at the upgrade (401, 403) is what 4001 says after it: a new token is needed.
                int status = upgradeStatus(failed);
                loop.execute(() -> lost(status == 401 || status == 403 ? 4001 : 1006,
                        "could not connect: " + (status > 0 ? "HTTP " + status : String.valueOf(failed.getMessage()))));
            }
        });
    }

    private final class Listener implements WebSocket.Listener {
        private final StringBuilder parts = new StringBuilder();

        /** Before any message of the connection: the client's thread knows the socket before its welcome. */
        @Override
        public void onOpen(WebSocket webSocket) {
            loop.execute(() -> {
                if (state == State.CLOSED) {
                    webSocket.abort();
                } else {
                    socket = webSocket;
                }
            });
            webSocket.request(1);
        }

        @Override
        public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
            parts.append(data);
            if (!last) {
                webSocket.request(1);
                return null;
            }
            String text = parts.toString();
            parts.setLength(0);
            loop.execute(() -> {
                if (webSocket == socket) {
                    received(text);
                }
                // The next message only once this one is handled: a client that cannot keep up is slow to the hub.
                webSocket.request(1);
            });
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket webSocket, int code, String reason) {
            loop.execute(() -> {
                if (webSocket == socket) {
                    lost(code, reason);
                }
            });
            return null;
        }

        @Override
        public void onError(WebSocket webSocket, Throwable error) {
            loop.execute(() -> {
                if (webSocket == socket) {
                    lost(1006, String.valueOf(error));
                }
            });
        }
    }

    private void received(String text) {
        JsonNode message = parse(text);
        if (message == null) {
            warnOnce("unparsable", "a message that is not JSON: " + text.substring(0, Math.min(100, text.length())));
        } else if (message.isArray()) {
            message.forEach(this::frame);
        } else {
            frame(message);
        }
    }

    private void frame(JsonNode frame) {
        String type = frame.path("type").asText();
        switch (type) {
            case "welcome" -> welcome(frame);
            case "snapshot" -> {
                TopicView view = views.get(frame.path("topic").asText());
                if (view != null && !view.snapshot(frame)) {
                    sendSubscribe(List.of(view), false);
                }
            }
            case "event" -> {
                TopicView view = views.get(frame.path("topic").asText());
                if (view != null && !view.event(frame)) {
                    sendSubscribe(List.of(view), true);
                }
            }
            case "published" -> {
                Pending pending = inFlight.remove(frame.path("id").asText());
                if (pending != null) {
                    pending.result().complete(new Published(frame.path("topic").asText(), frame.path("seq").asLong(),
                            frame.path("duplicate").asBoolean()));
                }
            }
            case "error" -> error(frame);
            case "unsubscribed" -> {
                if (!frame.has("id")) {
                    frame.path("topics").forEach(topic -> {
                        TopicView view = views.remove(topic.asText());
                        if (view != null) {
                            view.status(TopicView.Status.CLOSED, new HeraldException("unsubscribed", "the hub ended the subscription"));
                        }
                    });
                }
            }
            case "pong" -> pongAwaited = false;
            case "refreshed" -> scheduleRefresh();
            default -> warnOnce(type, "a frame of a type this client does not know, ignored: " + type);
        }
    }

    private void welcome(JsonNode frame) {
        session = frame.path("session").asText(null);
        attempt = 0;
        setState(State.OPEN);
        long every = options.heartbeat != null ? options.heartbeat.toMillis() : frame.path("heartbeat").asLong(25_000);
        pongAwaited = false;
        heartbeatTask = loop.scheduleWithFixedDelay(this::heartbeat, every, every, TimeUnit.MILLISECONDS);
        scheduleRefresh();
        List<TopicView> all = new ArrayList<>(views.values());
        all.forEach(view -> view.status(TopicView.Status.PENDING, null));
        for (int i = 0; i < all.size(); i += MAX_TOPICS_PER_FRAME) {
            sendSubscribe(all.subList(i, Math.min(all.size(), i + MAX_TOPICS_PER_FRAME)), true);
        }
        while (!queued.isEmpty() && state == State.OPEN) {
            sendPublish(queued.poll());
        }
    }

    private void error(JsonNode frame) {
        String id = frame.path("id").asText(null);
        HeraldException error = new HeraldException(frame.path("code").asText(), frame.path("message").asText());
        Pending pending = id == null ? null : inFlight.remove(id);
        if (pending != null) {
            pending.result().completeExceptionally(error);
            return;
        }
        TopicView view = frame.has("topic") ? views.get(frame.path("topic").asText()) : null;
        if (view != null && view.status() != TopicView.Status.LIVE) {
            view.status(TopicView.Status.FAILED, error);
        } else {
            LOG.log(System.Logger.Level.WARNING, "Herald answered an error: " + frame);
        }
    }

    private void heartbeat() {
        if (pongAwaited && socket != null) {
            // No pong for a whole interval: the connection is dead whatever TCP says.
            WebSocket dead = socket;
            dead.abort();
            lost(1006, "no pong within the heartbeat");
            return;
        }
        pongAwaited = true;
        send(new ClientFrame.Ping(null));
    }

    /** In-band refresh shortly before the token's exp, when a token supplier can give a new one. */
    private void scheduleRefresh() {
        if (refreshTask != null) {
            refreshTask.cancel(false);
        }
        long expires = expiresAt(token);
        if (options.token == null || expires <= 0) {
            return;
        }
        long in = Math.max(1000, expires - System.currentTimeMillis() - 30_000);
        refreshTask = loop.schedule(() -> {
            if (state == State.OPEN) {
                token = options.token.get();
                send(new ClientFrame.Auth(null, token));
            }
        }, in, TimeUnit.MILLISECONDS);
    }

    /** The connection is gone: what was in flight waits for the next one; reconnect unless the close says it cannot help. */
    private void lost(int code, String reason) {
        if (socket == null && state != State.CONNECTING && state != State.RECONNECTING) {
            return;
        }
        socket = null;
        session = null;
        if (heartbeatTask != null) {
            heartbeatTask.cancel(false);
        }
        if (refreshTask != null) {
            refreshTask.cancel(false);
        }
        // Unanswered publishes go first next time; their idem keys make a repeat harmless.
        List<Pending> unanswered = new ArrayList<>(inFlight.values());
        inFlight.clear();
        for (int i = unanswered.size() - 1; i >= 0; i--) {
            queued.addFirst(unanswered.get(i));
        }
        views.values().forEach(view -> {
            if (view.status() == TopicView.Status.LIVE || view.status() == TopicView.Status.RESYNCING) {
                view.status(TopicView.Status.PENDING, null);
            }
        });
        if (state == State.CLOSED) {
            return;
        }
        if (FINAL.contains(code) || (TOKEN.contains(code) && options.token == null)) {
            LOG.log(System.Logger.Level.WARNING, "Herald closed the connection for good (" + code + " " + reason + ")");
            setState(State.CLOSED);
            failAll(new HeraldException("connection_lost", "closed for good (" + code + ")"));
            return;
        }
        attempt++;
        long ceiling = Math.min(options.maxBackoff.toMillis(), options.minBackoff.toMillis() << Math.min(20,
                attempt - 1 + (code == 4029 ? 3 : 0)));
        long delay = ThreadLocalRandom.current().nextLong(Math.max(1, ceiling) + 1);
        LOG.log(System.Logger.Level.INFO, "Connection lost (" + code + " " + reason + "); reconnecting in " + delay + " ms");
        setState(State.RECONNECTING);
        loop.schedule(this::open, delay, TimeUnit.MILLISECONDS);
    }

    private void sendSubscribe(List<TopicView> subscribing, boolean resume) {
        if (state != State.OPEN || subscribing.isEmpty()) {
            return;
        }
        List<String> topics = new ArrayList<>(subscribing.size());
        Map<String, Position> since = new LinkedHashMap<>();
        for (TopicView view : subscribing) {
            topics.add(view.topic());
            Position position = resume ? view.position() : null;
            if (position != null) {
                since.put(view.topic(), position);
            }
        }
        send(new ClientFrame.Subscribe(nextId(), topics, since.isEmpty() ? null : since));
    }

    private void sendPublish(Pending pending) {
        String id = nextId();
        Pending sent = new Pending(pending.change(), id, pending.result());
        inFlight.put(id, sent);
        send(new ClientFrame.Publish(id, pending.change().toWire()));
    }

    /** Written by the protocol's own records, as the server reads them. */
    private void send(ClientFrame frame) {
        if (socket != null) {
            socket.sendText(FrameCodec.json(frame), true);
        }
    }

    private void failAll(HeraldException error) {
        inFlight.values().forEach(p -> p.result().completeExceptionally(error));
        inFlight.clear();
        queued.forEach(p -> p.result().completeExceptionally(error));
        queued.clear();
    }

    private void setState(State next) {
        if (state != next) {
            state = next;
            stateListeners.forEach(listener -> listeners.execute(() -> listener.accept(next)));
        }
    }

    private void warnOnce(String what, String message) {
        if (unknownTypes.add(what)) {
            LOG.log(System.Logger.Level.WARNING, message);
        }
    }

    private String nextId() {
        return "j" + (++ids);
    }

    private static JsonNode parse(String text) {
        try {
            return JSON.readTree(text);
        } catch (JsonProcessingException e) {
            return null;
        }
    }

    private static int upgradeStatus(Throwable failed) {
        for (Throwable cause = failed; cause != null; cause = cause.getCause()) {
            if (cause instanceof java.net.http.WebSocketHandshakeException handshake) {
                return handshake.getResponse().statusCode();
            }
        }
        return 0;
    }

    /** The token's exp in epoch ms, read from its payload without checking it (the hub checks); 0 when unknown. */
    static long expiresAt(String jwt) {
        if (jwt == null) {
            return 0;
        }
        String[] parts = jwt.split("\\.");
        if (parts.length < 2) {
            return 0;
        }
        try {
            JsonNode claims = JSON.readTree(new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8));
            return claims.path("exp").asLong(0) * 1000;
        } catch (Exception e) {
            return 0;
        }
    }
}
