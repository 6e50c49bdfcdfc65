package herald.http;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.settings.ClientConnectionSettings;
import org.apache.pekko.http.javadsl.settings.ConnectionPoolSettings;
import org.apache.pekko.stream.Materializer;

/**
 * One kind of POST to the application's backend (a hook, the webhooks): JSON in, status and body
 * out, through Pekko HTTP's pooled client, so calls reuse connections rather than open one each.
 * It bounds the calls under way ({@code maxInFlight}; one more fails at once rather than queues)
 * and gives every call its deadline, after which it fails whatever the backend does. A connection
 * to a backend that hangs is dropped after it has been silent a little longer than the deadline,
 * so a hung call frees its place.
 */
final class BackendCall {

    /** What the backend answered. */
    record Response(int status, String body) {
    }

    /** Why a call has no answer: the message says it for an operator (connection refused, no answer in 2 s, ...). */
    static final class Failed extends RuntimeException {
        Failed(String message) {
            super(message, null, false, false);
        }
    }

    /** The most of an answer that is read; a larger one is a failure. */
    private static final int MAX_ANSWER = 64 * 1024;

    private final String name;
    private final String url;
    private final Duration deadline;
    private final int maxInFlight;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final Http http;
    private final ConnectionPoolSettings pool;
    private final ActorSystem<?> system;
    private final Materializer materializer;

    BackendCall(String name, String url, Duration deadline, int maxInFlight, ActorSystem<?> system) {
        this.name = name;
        this.url = url;
        this.deadline = deadline;
        this.maxInFlight = maxInFlight;
        this.system = system;
        this.http = Http.get(system);
        this.materializer = Materializer.matFromSystem(system);
        ConnectionPoolSettings defaults = ConnectionPoolSettings.create(Adapter.toClassic(system));
        this.pool = defaults
                .withMaxConnections(Math.min(maxInFlight, 32))
                .withMaxOpenRequests(Integer.highestOneBit(Math.max(maxInFlight, 2) - 1) << 1)
                .withMaxRetries(0)
                .withConnectionSettings(ClientConnectionSettings.create(Adapter.toClassic(system))
                        .withIdleTimeout(deadline.plusSeconds(1))
                        .withConnectingTimeout(deadline));
    }

    /** POSTs the JSON; completes with the answer of any status, or fails with {@link Failed} saying why. */
    CompletionStage<Response> post(String json, List<HttpHeader> headers) {
        if (inFlight.incrementAndGet() > maxInFlight) {
            inFlight.decrementAndGet();
            return CompletableFuture.failedFuture(new Failed(maxInFlight + " calls to the " + name + " are under way already"));
        }
        HttpRequest request = HttpRequest.POST(url).withEntity(ContentTypes.APPLICATION_JSON, json).addHeaders(headers);
        CompletableFuture<Response> call = http.singleRequest(request, http.defaultClientHttpsContext(), pool, system.classicSystem().log())
                .thenCompose(response -> {
                    if (response.entity().getContentLengthOption().orElse(0) > MAX_ANSWER) {
                        response.discardEntityBytes(materializer);
                        return CompletableFuture.failedFuture(new Failed(tooLarge()));
                    }
                    return response.entity().toStrict(deadline.toMillis(), MAX_ANSWER, materializer)
                            .thenApply(entity -> new Response(response.status().intValue(), entity.getData().utf8String()));
                })
                .toCompletableFuture();
        call.whenComplete((response, failure) -> inFlight.decrementAndGet());
        return call.copy().orTimeout(deadline.toMillis(), TimeUnit.MILLISECONDS).exceptionallyCompose(failure ->
                CompletableFuture.failedFuture(new Failed(describe(failure))));
    }

    private String tooLarge() {
        return "the " + name + " answered more than " + MAX_ANSWER + " bytes";
    }

    /** What a failed {@link #post} says, however the failure reached the caller (wrapped or not). */
    static String why(Throwable failure) {
        for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
            if (cause instanceof Failed) {
                return cause.getMessage();
            }
        }
        return String.valueOf(failure);
    }

    private String describe(Throwable failure) {
        for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
            if (cause instanceof TimeoutException) {
                return "the " + name + " did not answer within " + deadline.toMillis() + " ms";
            }
            if (cause instanceof java.net.ConnectException || cause instanceof org.apache.pekko.stream.StreamTcpException) {
                return "the " + name + " at " + url + " cannot be reached: " + cause.getMessage();
            }
            if (cause instanceof Failed) {
                return cause.getMessage();
            }
            if (cause instanceof org.apache.pekko.http.scaladsl.model.EntityStreamSizeException) {
                return tooLarge();
            }
        }
        return "the " + name + " call failed: " + failure;
    }
}
