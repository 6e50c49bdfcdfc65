package herald.http;

import herald.config.HeraldSettings;
import herald.hub.Connections;
import herald.hub.Hub;
import herald.hub.HubMetrics;
import herald.hub.Topic;
import herald.hub.Topics;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import herald.protocol.ApiBody;
import herald.protocol.Change;
import herald.protocol.ErrorCode;
import herald.protocol.FrameCodec;
import herald.protocol.InvalidFrameException;
import herald.protocol.TopicNames;
import java.net.InetAddress;
import java.net.URLDecoder;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.model.AttributeKeys;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.RemoteAddress;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.ws.WebSocketUpgrade;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.scaladsl.model.EntityStreamSizeException;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.util.ByteString;

/**
 * Herald's HTTP surface: the WebSocket endpoint, the HTTP API, health and metrics. It speaks to the
 * hub only through {@link Topics} and never sees a topic's internals.
 */
public final class HeraldRoutes extends AllDirectives {
    /** Topics one listing page holds unless the caller asks for fewer. */
    static final int DEFAULT_PAGE = 100;
    /** The most one page may hold, so that 100,000 topics never make one huge answer. */
    static final int MAX_PAGE = 1000;
    private static final ContentType.NonBinary PROMETHEUS_TEXT = (ContentType.NonBinary)
            ContentTypes.parse("text/plain; version=0.0.4; charset=utf-8");

    private final HeraldSettings settings;
    private final Topics topics;
    private final Connections connections;
    private final FrameCodec codec;
    private final HubMetrics metrics;
    private final PrometheusMeterRegistry prometheus;
    private final Readiness readiness;
    private final Materializer materializer;
    private final WebSocketEndpoint webSocket;
    private final SseEndpoint sse;

    public HeraldRoutes(Hub hub, PrometheusMeterRegistry prometheus, Readiness readiness, ActorSystem<?> system) {
        this.settings = hub.settings();
        this.topics = hub.topics();
        this.connections = hub.connections();
        this.codec = hub.codec();
        this.metrics = hub.metrics();
        this.prometheus = prometheus;
        this.readiness = readiness;
        this.materializer = Materializer.matFromSystem(system);
        this.webSocket = new WebSocketEndpoint(hub, system);
        this.sse = new SseEndpoint(hub, system);
    }

    public Route routes() {
        return concat(
                extractRequest(request -> request.getUri().path().equals(settings.websocket().path())
                        ? webSocket(request) : reject()),
                pathPrefix("api", () -> concat(
                        path("publish", () -> post(() -> extractRequest(this::publish))),
                        path("sse", () -> get(() -> extractRequest(this::sse))),
                        path("topics", () -> get(() -> parameterOptional("after", after ->
                                parameterOptional("limit", limit -> listTopics(after.orElse(null), limit.orElse(null)))))),
                        pathPrefix("topics", () -> path(PathMatchers.remaining(), name -> get(() -> topicState(name)))))),
                path(PathMatchers.segment("health").slash("live"), () -> get(() ->
                        complete(json(StatusCodes.OK, new ApiBody.Health("live"))))),
                path(PathMatchers.segment("health").slash("ready"), () -> get(() -> readiness.isReady()
                        ? complete(json(StatusCodes.OK, new ApiBody.Health("ready")))
                        : complete(json(StatusCodes.SERVICE_UNAVAILABLE, new ApiBody.Health(readiness.state()))))),
                path("metrics", () -> get(() ->
                        complete(HttpResponse.create().withEntity(HttpEntities.create(PROMETHEUS_TEXT, prometheus.scrape()))))));
    }

    private Route webSocket(HttpRequest request) {
        WebSocketUpgrade upgrade = request.getAttribute(AttributeKeys.webSocketUpgrade).orElse(null);
        if (upgrade == null) {
            return complete(error(StatusCodes.BAD_REQUEST, ErrorCode.BAD_REQUEST,
                    "this is Herald's WebSocket endpoint; connect with a WebSocket client"));
        }
        if (connections.draining()) {
            return refuseWhileDraining(request);
        }
        return complete(webSocket.accept(upgrade, null, remoteAddress(request)));
    }

    private Route refuseWhileDraining(HttpRequest request) {
        Audit.refused(remoteAddress(request), request.getUri().path(), 503, "shutting down");
        return complete(error(StatusCodes.SERVICE_UNAVAILABLE, ErrorCode.INTERNAL, "the server is shutting down"));
    }

    /** GET /api/sse?topics=a,b */
    private Route sse(HttpRequest request) {
        if (connections.draining()) {
            return refuseWhileDraining(request);
        }
        String names = request.getUri().query().get("topics").orElse("");
        List<String> wanted = names.isEmpty() ? List.of() : List.of(names.split(",", -1));
        if (wanted.isEmpty()) {
            return complete(error(StatusCodes.BAD_REQUEST, ErrorCode.BAD_REQUEST,
                    "name the topics to stream: /api/sse?topics=a,b"));
        }
        if (wanted.size() > FrameCodec.MAX_TOPICS_PER_REQUEST) {
            return complete(error(StatusCodes.BAD_REQUEST, ErrorCode.TOO_MANY_TOPICS,
                    "at most " + FrameCodec.MAX_TOPICS_PER_REQUEST + " topics per stream, got " + wanted.size()));
        }
        return complete(sse.stream(wanted, null, remoteAddress(request)));
    }

    /** GET /api/topics?after=NAME&limit=N: one page of the running topics in name order. */
    private Route listTopics(String after, String limitParam) {
        int limit;
        try {
            limit = limitParam == null ? DEFAULT_PAGE : Integer.parseInt(limitParam);
        } catch (NumberFormatException e) {
            limit = -1;
        }
        if (limit < 1 || limit > MAX_PAGE) {
            return complete(error(StatusCodes.BAD_REQUEST, ErrorCode.BAD_REQUEST,
                    "limit must be a whole number from 1 to " + MAX_PAGE));
        }
        return completeWithFuture(topics.list(after, limit, settings.api().askTimeout())
                .thenApply(page -> json(StatusCodes.OK, page))
                .exceptionally(this::failure));
    }

    private static String remoteAddress(HttpRequest request) {
        RemoteAddress remote = request.getAttribute(AttributeKeys.remoteAddress).orElse(null);
        if (remote == null) {
            return "unknown";
        }
        String host = remote.getAddress().map(InetAddress::getHostAddress).orElse("unknown");
        return remote.getPort() > 0 ? host + ":" + remote.getPort() : host;
    }

    /** POST /api/publish: the whole batch is validated before any change is applied. */
    private Route publish(HttpRequest request) {
        CompletionStage<HttpResponse> response = request.entity()
                .withSizeLimit(settings.api().maxBody())
                .toStrict(settings.api().askTimeout().toMillis(), materializer)
                .thenCompose(entity -> {
                    List<Change> changes;
                    try {
                        changes = codec.decodeChanges(utf8(entity.getData()));
                        metrics.publishedOverHttp(changes.size());
                        Audit.published(remoteAddress(request), changes.size(), changes.get(0).topic());
                    } catch (CharacterCodingException e) {
                        return CompletableFuture.completedFuture(
                                error(StatusCodes.BAD_REQUEST, ErrorCode.BAD_REQUEST, "the body is not valid UTF-8"));
                    } catch (InvalidFrameException e) {
                        StatusCode status = e.code() == ErrorCode.PAYLOAD_TOO_LARGE
                                ? StatusCodes.PAYLOAD_TOO_LARGE : StatusCodes.BAD_REQUEST;
                        return CompletableFuture.completedFuture(error(status, e.code(), e.getMessage()));
                    }
                    return apply(changes);
                })
                .exceptionally(this::failure);
        return completeWithFuture(response);
    }

    /**
     * Sends every change at once, in order: all go through one sender, so each topic receives its
     * changes in the batch's order, and the answers are collected in that order too.
     */
    private CompletionStage<HttpResponse> apply(List<Change> changes) {
        long received = System.nanoTime();
        List<CompletableFuture<Topic.Published>> pending = new ArrayList<>(changes.size());
        for (Change change : changes) {
            pending.add(topics.<Topic.Published>ask(change.topic(),
                    replyTo -> new Topic.Publish(change, null, received, replyTo), settings.api().askTimeout())
                    .toCompletableFuture());
        }
        return CompletableFuture.allOf(pending.toArray(CompletableFuture[]::new)).thenApply(done -> {
            List<ApiBody.PublishResults.Result> results = new ArrayList<>(pending.size());
            for (CompletableFuture<Topic.Published> published : pending) {
                Topic.Published p = published.join();
                results.add(new ApiBody.PublishResults.Result(p.topic(), p.seq()));
            }
            return json(StatusCodes.OK, new ApiBody.PublishResults(results));
        });
    }

    /** GET /api/topics/{topic}: the topic's snapshot (an unknown topic is an empty one at seq 0). */
    private Route topicState(String encodedName) {
        String name = URLDecoder.decode(encodedName, StandardCharsets.UTF_8);
        if (!TopicNames.isValid(name)) {
            return complete(error(StatusCodes.BAD_REQUEST, ErrorCode.INVALID_TOPIC,
                    "a topic name is 1 to 200 characters of A-Z a-z 0-9 _ . : @ / -"));
        }
        return completeWithFuture(topics.<ApiBody.TopicState>ask(name, Topic.GetState::new, settings.api().askTimeout())
                .thenApply(state -> json(StatusCodes.OK, state))
                .exceptionally(this::failure));
    }

    private HttpResponse failure(Throwable error) {
        Throwable cause = error;
        while (cause.getCause() != null && !(cause instanceof EntityStreamSizeException)) {
            cause = cause.getCause();
        }
        if (cause instanceof EntityStreamSizeException) {
            return error(StatusCodes.PAYLOAD_TOO_LARGE, ErrorCode.PAYLOAD_TOO_LARGE,
                    "the body is larger than herald.api.max-body (" + settings.api().maxBody() + " bytes)");
        }
        return error(StatusCodes.SERVICE_UNAVAILABLE, ErrorCode.INTERNAL, "the hub did not answer in time");
    }

    private static String utf8(ByteString bytes) throws CharacterCodingException {
        ByteBuffer buffer = bytes.asByteBuffer();
        return StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT)
                .decode(buffer).toString();
    }

    private HttpResponse error(StatusCode status, ErrorCode code, String message) {
        return json(status, new ApiBody.Error(code, message));
    }

    private HttpResponse json(StatusCode status, ApiBody body) {
        return HttpResponse.create().withStatus(status)
                .withEntity(ContentTypes.APPLICATION_JSON, codec.encode(body));
    }
}
