package herald.http;

import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.stream.Materializer;

/**
 * The application's backend as hooks and webhooks meet it: a small Pekko HTTP server in the test
 * JVM, on an ephemeral port. Each path answers as the test says (by default 404), and every request
 * is kept for the test to look at.
 */
final class Backend implements AutoCloseable {

    /** One request as the backend received it; {@code remotePort}: the caller's end of the TCP connection. */
    record Received(String path, Map<String, String> headers, String body, int remotePort) {
    }

    private final ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "backend",
            com.typesafe.config.ConfigFactory.parseString("pekko.http.server.remote-address-attribute = on"));
    private final Map<String, Function<Received, CompletionStage<HttpResponse>>> answers = new ConcurrentHashMap<>();
    final BlockingQueue<Received> received = new LinkedBlockingQueue<>();
    private final ServerBinding binding;

    Backend() throws Exception {
        Materializer materializer = Materializer.matFromSystem(system);
        org.apache.pekko.japi.function.Function<HttpRequest, CompletionStage<HttpResponse>> handler = request -> request.entity()
                .toStrict(5000, materializer)
                .thenCompose(entity -> {
                    Received r = new Received(request.getUri().path(), headers(request), entity.getData().utf8String(),
                            request.getAttribute(org.apache.pekko.http.javadsl.model.AttributeKeys.remoteAddress)
                                    .map(a -> a.getPort()).orElse(-1));
                    received.add(r);
                    return answers.getOrDefault(r.path(), any -> json(404, "{}")).apply(r);
                });
        binding = Http.get(system).newServerAt("127.0.0.1", 0).bind(handler).toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    private static Map<String, String> headers(HttpRequest request) {
        Map<String, String> headers = new ConcurrentHashMap<>();
        request.getHeaders().forEach(h -> headers.put(h.lowercaseName(), h.value()));
        return headers;
    }

    /** The URL of a path on this backend. */
    String url(String path) {
        return "http://127.0.0.1:" + binding.localAddress().getPort() + path;
    }

    /** How the backend answers requests to {@code path} from now on. */
    void answer(String path, Function<Received, CompletionStage<HttpResponse>> answer) {
        answers.put(path, answer);
    }

    /** Always the same JSON with this status. */
    void answer(String path, int status, String json) {
        answer(path, any -> json(status, json));
    }

    static CompletionStage<HttpResponse> json(int status, String json) {
        return CompletableFuture.completedFuture(HttpResponse.create().withStatus(status)
                .withEntity(ContentTypes.APPLICATION_JSON, json));
    }

    /** The next request to {@code path}, skipping others; fails the test when none comes in time. */
    Received next(String path) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            Received r = received.poll(100, TimeUnit.MILLISECONDS);
            if (r != null && r.path().equals(path)) {
                return r;
            }
        }
        throw new AssertionError("no request to " + path + " within 10 s");
    }

    @Override
    public void close() throws Exception {
        binding.unbind().toCompletableFuture().get(10, TimeUnit.SECONDS);
        system.terminate();
        system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
}
