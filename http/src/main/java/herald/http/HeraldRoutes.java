package herald.http;

import herald.config.HeraldSettings;
import herald.hub.Audit;
import herald.hub.Callbacks;
import herald.hub.Hub;
import herald.hub.HubMetrics;
import herald.hub.auth.AuthenticationException;
import herald.hub.auth.Authenticator;
import herald.hub.auth.Hooks;
import herald.hub.auth.Principal;
import herald.hub.session.Connections;
import herald.hub.session.Operator;
import herald.hub.topic.Topic;
import herald.hub.topic.Topics;
import herald.protocol.ApiBody;
import herald.protocol.Change;
import herald.protocol.ErrorCode;
import herald.protocol.FrameCodec;
import herald.protocol.Hook;
import herald.protocol.InvalidFrameException;
import herald.protocol.OperatorRequest;
import herald.protocol.Position;
import herald.protocol.TopicNames;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.InetAddress;
import java.net.URLDecoder;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeoutException;
import java.util.function.BiFunction;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.model.AttributeKeys;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpCharsets;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpMethod;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.RemoteAddress;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.Connection;
import org.apache.pekko.http.javadsl.model.ws.WebSocketUpgrade;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.PathMatcher0;
import org.apache.pekko.http.javadsl.server.PathMatcher1;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.scaladsl.model.EntityStreamSizeException;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.util.ByteString;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Herald's HTTP surface: the WebSocket endpoint, the HTTP API, health and metrics. Every refusal
 * at the door (origin, token, key, limits) is decided here and logged once to the audit trail. It
 * speaks to the hub only through {@link Topics} and never sees a topic's internals.
 */
public final class HeraldRoutes extends AllDirectives {
    private static final Logger log = LoggerFactory.getLogger(HeraldRoutes.class);
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
    private final Authenticator authenticator;
    private final Hooks hooks;
    private final ApiKeys apiKeys;
    private final PrometheusMeterRegistry prometheus;
    private final Readiness readiness;
    private final Materializer materializer;
    private final WebSocketEndpoint webSocket;
    private final SseEndpoint sse;
    private final ActorSystem<?> system;
    private final Operator operator;

    public HeraldRoutes(Hub hub, PrometheusMeterRegistry prometheus, Readiness readiness, ActorSystem<?> system) {
        this.settings = hub.settings();
        this.topics = hub.topics();
        this.connections = hub.connections();
        this.codec = hub.codec();
        this.metrics = hub.metrics();
        this.authenticator = hub.authenticator();
        this.hooks = hub.hooks();
        this.apiKeys = new ApiKeys(settings.apiKeys());
        this.prometheus = prometheus;
        this.readiness = readiness;
        this.materializer = Materializer.matFromSystem(system);
        this.webSocket = new WebSocketEndpoint(hub, system);
        this.sse = new SseEndpoint(hub, system);
        this.system = system;
        this.operator = new Operator(system, settings.api().askTimeout());
    }

    /** Every {@link Endpoint} these settings serve, tried in order; anything else is a 404 (or a 405 for a known path). */
    public Route routes() {
        List<Route> routes = new ArrayList<>();
        for (Endpoint endpoint : Endpoint.served(settings)) {
            routes.add(serve(endpoint.method, endpoint.template(settings), handler(endpoint)));
        }
        return concat(routes.get(0), routes.subList(1, routes.size()).toArray(new Route[0]));
    }

    /** What answers each endpoint; its argument is the template's parameter, null when it has none. */
    private Function<String, Route> handler(Endpoint endpoint) {
        return switch (endpoint) {
            case WEB_SOCKET -> none -> extractRequest(this::webSocket);
            case SSE -> none -> extractRequest(this::sse);
            case PUBLISH -> none -> withApiKey(this::publish);
            case TOPICS -> none -> withApiKey((request, key) -> parameterOptional("after", after ->
                    parameterOptional("limit", limit -> listTopics(after.orElse(null), limit.orElse(null)))));
            case TOPIC -> name -> withApiKey((request, key) ->
                    parameterOptional("since", since -> topicState(name, since.orElse(null))));
            case CONNECTIONS -> none -> withApiKey((request, key) -> asAdmin(request, key, () -> listConnections(request)));
            case DISCONNECT -> none -> withApiKey((request, key) -> asAdmin(request, key, () -> operatorCall(request, false)));
            case UNSUBSCRIBE -> none -> withApiKey((request, key) -> asAdmin(request, key, () -> operatorCall(request, true)));
            case LIVE -> none -> complete(json(StatusCodes.OK, new ApiBody.Health("live")));
            case READY -> none -> readiness.isReady()
                    ? complete(json(StatusCodes.OK, new ApiBody.Health("ready")))
                    : complete(json(StatusCodes.SERVICE_UNAVAILABLE, new ApiBody.Health(readiness.state())));
            case METRICS -> none -> complete(HttpResponse.create().withEntity(HttpEntities.create(PROMETHEUS_TEXT, prometheus.scrape())));
            case ASYNCAPI -> none -> getFromResource(API_ROOT + "/asyncapi.yaml", YAML);
            case OPENAPI -> none -> getFromResource(API_ROOT + "/openapi.yaml", YAML);
            case SCHEMA -> file -> isFileName(file) ? getFromResource(API_ROOT + "/schemas/" + file, ContentTypes.APPLICATION_JSON) : reject();
            case DEMO_PAGE -> none -> getFromResource(WEB_ROOT + "/index.html");
            case WEB_FILE -> file -> isFileName(file) ? getFromResource(WEB_ROOT + "/" + file) : reject();
        };
    }

    /**
     * One endpoint's route: its path, then its method, so that a known path asked with another method
     * is answered 405. A parameter (always last) is one segment, but {topic} takes the rest of the
     * path: topic names may contain '/'.
     */
    private Route serve(String methodName, String template, Function<String, Route> handler) {
        HttpMethod method = HttpMethods.lookup(methodName).orElseThrow();
        if (template.equals("/")) {
            return pathEndOrSingleSlash(() -> method(method, () -> handler.apply(null)));
        }
        String[] segments = template.substring(1).split("/");
        boolean parameter = segments[segments.length - 1].startsWith("{");
        PathMatcher0 literal = PathMatchers.neutral();
        for (int i = 0; i < segments.length - (parameter ? 1 : 0); i++) {
            literal = i == 0 ? PathMatchers.segment(segments[i]) : literal.slash(segments[i]);
        }
        if (!parameter) {
            return path(literal, () -> method(method, () -> handler.apply(null)));
        }
        PathMatcher1<String> value = segments[segments.length - 1].equals("{topic}") ? PathMatchers.remaining() : PathMatchers.segment();
        return path(segments.length == 1 ? value : literal.slash(value), v -> method(method, () -> handler.apply(v)));
    }

    /** A file of the packaged web or API directories: one plain name, so no path leaves them. */
    private static boolean isFileName(String name) {
        return !name.isEmpty() && name.charAt(0) != '.' && name.chars().allMatch(c -> Character.isLetterOrDigit(c) || c == '.' || c == '-' || c == '_');
    }

    /** The demo page and the browser client, built by client-js and packaged under herald/web. */
    private static final String WEB_ROOT = "herald/web";
    /** docs/asyncapi.yaml, docs/openapi.yaml and docs/schemas, packaged under herald/api. */
    private static final String API_ROOT = "herald/api";
    private static final ContentType YAML = ContentTypes.create(MediaTypes.applicationWithFixedCharset("yaml", HttpCharsets.UTF_8));

    private Route webSocket(HttpRequest request) {
        WebSocketUpgrade upgrade = request.getAttribute(AttributeKeys.webSocketUpgrade).orElse(null);
        if (upgrade == null) {
            return complete(error(StatusCodes.BAD_REQUEST, ErrorCode.BAD_REQUEST,
                    "this is Herald's WebSocket endpoint; connect with a WebSocket client"));
        }
        return admit(request, false, (principal, slot) -> webSocket.accept(upgrade, principal, slot, remoteAddress(request)));
    }

    /** GET /api/sse?topics=a,b: needs a valid token up front, since SSE cannot send an auth frame. */
    private Route sse(HttpRequest request) {
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
        String lastEventId = request.getHeader("Last-Event-ID").map(h -> h.value()).orElse(null);
        return admit(request, true, (principal, slot) -> sse.stream(wanted, lastEventId, principal, slot, remoteAddress(request)));
    }

    /**
     * The door for WebSockets and SSE streams, in order: shutting down (503), origin not allowed
     * (403), bad token (401), no token where one is required (401 for SSE; a WebSocket may still send
     * an auth frame), too many connections (503 / 429). The connection then gets its principal.
     */
    private Route admit(HttpRequest request, boolean tokenRequired,
                        BiFunction<Principal, Connections.Slot, HttpResponse> accept) {
        String remote = remoteAddress(request);
        if (connections.draining()) {
            return refuseConnection(request, StatusCodes.SERVICE_UNAVAILABLE, ErrorCode.INTERNAL, "the server is shutting down");
        }
        String origin = request.getHeader("Origin").map(h -> h.value()).orElse(null);
        if (origin != null && !settings.allowedOrigins().isEmpty() && !settings.allowedOrigins().contains(origin)) {
            return refuseConnection(request, StatusCodes.FORBIDDEN, ErrorCode.FORBIDDEN, "origin " + origin + " is not allowed");
        }
        String token = token(request);
        if (authenticator.required() && token == null && tokenRequired) {
            return refuseConnection(request, StatusCodes.UNAUTHORIZED, ErrorCode.AUTH_FAILED,
                    "a token is required (Authorization: Bearer, or the token query parameter)");
        }
        if (hooks.connects() && (token != null || !authenticator.required())) {
            return completeWithFuture(askConnectHook(request, remote, token, tokenRequired ? "sse" : "websocket", accept));
        }
        Principal principal = authenticator.anonymous();
        if (authenticator.required()) {
            try {
                principal = token == null ? null : authenticator.verify(token);
            } catch (AuthenticationException e) {
                return refuseConnection(request, StatusCodes.UNAUTHORIZED, ErrorCode.AUTH_FAILED, e.getMessage());
            }
        }
        return complete(admitted(request, remote, principal, accept));
    }

    /**
     * The connect hook decides who the connection is, in place of a token's verification: refused
     * is 401 or 403 as the backend says, undecided (down, slow, malformed) is 503.
     */
    private CompletionStage<HttpResponse> askConnectHook(HttpRequest request, String remote, String token, String transport,
                                                         BiFunction<Principal, Connections.Slot, HttpResponse> accept) {
        Map<String, String> headers = new LinkedHashMap<>();
        for (String name : settings.hooks().connect().forwardHeaders()) {
            request.getHeader(name).ifPresent(h -> headers.put(name, h.value()));
        }
        return hooks.connect(new Hook.Connect(remote, transport, headers, token)).thenApplyAsync(verdict -> {
            if (verdict instanceof Hooks.Allowed allowed) {
                return admitted(request, remote, allowed.principal(), accept);
            }
            if (verdict instanceof Hooks.Refused refused) {
                StatusCode status = refused.status() == 403 ? StatusCodes.FORBIDDEN : StatusCodes.UNAUTHORIZED;
                return closingRefusal(request, status, refused.status() == 403 ? ErrorCode.FORBIDDEN : ErrorCode.AUTH_FAILED,
                        refused.message() == null ? "refused by the connect hook" : refused.message());
            }
            return closingRefusal(request, StatusCodes.SERVICE_UNAVAILABLE, ErrorCode.UNAVAILABLE,
                    "the connect hook did not decide: " + ((Hooks.Unavailable) verdict).message());
        }, Callbacks.INLINE).exceptionallyAsync(this::failure, Callbacks.INLINE);
    }

    /** A connection whose principal is settled (or waits for an auth frame: null) takes its place, or is refused one. */
    private HttpResponse admitted(HttpRequest request, String remote, Principal principal,
                                  BiFunction<Principal, Connections.Slot, HttpResponse> accept) {
        Connections.Admission admission = connections.reserve(remote, principal == null ? null : principal.user());
        if (admission instanceof Connections.Refusal refusal) {
            return closingRefusal(request, StatusCodes.get(refusal.status()),
                    refusal.status() == 429 ? ErrorCode.RATE_LIMITED : ErrorCode.INTERNAL, refusal.reason());
        }
        Connections.Slot slot = (Connections.Slot) admission;
        // A client that resets before its connection starts never brings a session to claim the slot.
        system.scheduler().scheduleOnce(settings.server().requestDeadline(), slot::abandon, system.executionContext());
        return accept.apply(principal, slot);
    }

    /** The bearer token of the Authorization header, else the token query parameter, else null. */
    private static String token(HttpRequest request) {
        String header = request.getHeader("Authorization").map(h -> h.value()).orElse("");
        if (header.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return header.substring(7).trim();
        }
        return request.getUri().query().get("token").orElse(null);
    }

    private Route refuse(HttpRequest request, StatusCode status, ErrorCode code, String reason) {
        return complete(refusal(request, status, code, reason));
    }

    private HttpResponse refusal(HttpRequest request, StatusCode status, ErrorCode code, String reason) {
        Audit.refused(remoteAddress(request), request.getUri().path(), status.intValue(), reason);
        return error(status, code, reason);
    }

    /**
     * A refused WebSocket upgrade or SSE stream also closes its TCP connection: a client that was
     * refused its connection has nothing more to ask on it, and must not hold a place while it thinks.
     */
    private Route refuseConnection(HttpRequest request, StatusCode status, ErrorCode code, String reason) {
        return complete(closingRefusal(request, status, code, reason));
    }

    private HttpResponse closingRefusal(HttpRequest request, StatusCode status, ErrorCode code, String reason) {
        return refusal(request, status, code, reason).addHeader(Connection.create("close"));
    }

    /** /api/** needs a configured key when authentication is on; in mode none the key is null. */
    private Route withApiKey(BiFunction<HttpRequest, ApiKeys.Key, Route> inner) {
        return extractRequest(request -> {
            if (!authenticator.required()) {
                return inner.apply(request, null);
            }
            String presented = request.getHeader("Authorization").map(h -> h.value()).orElse("");
            ApiKeys.Key key = presented.regionMatches(true, 0, "Bearer ", 0, 7) ? apiKeys.find(presented.substring(7).trim()) : null;
            if (key == null) {
                return refuse(request, StatusCodes.UNAUTHORIZED, ErrorCode.AUTH_FAILED,
                        "the HTTP API needs Authorization: Bearer with a configured API key");
            }
            return inner.apply(request, key);
        });
    }

    /** The operator API needs a key with admin = true; with authentication off anyone may call it, like the rest of /api. */
    private Route asAdmin(HttpRequest request, ApiKeys.Key key, java.util.function.Supplier<Route> inner) {
        if (key != null && !key.admin()) {
            return refuse(request, StatusCodes.FORBIDDEN, ErrorCode.FORBIDDEN,
                    "the operator API needs an API key with admin = true; key " + key.id() + " is not one");
        }
        return inner.get();
    }

    /** GET /api/connections?user=&session=&topic=&limit=: the matching connections of every node, oldest first. */
    private Route listConnections(HttpRequest request) {
        var query = request.getUri().query();
        int limit = pageLimit(query.get("limit").orElse(null));
        if (limit < 0) {
            return badLimit();
        }
        String topic = query.get("topic").orElse(null);
        if (topic != null && !TopicNames.isValid(topic) && !TopicNames.isPresence(topic)) {
            return complete(error(StatusCodes.BAD_REQUEST, ErrorCode.INVALID_TOPIC,
                    "a topic name is 1 to 200 characters of A-Z a-z 0-9 _ . : @ / -"));
        }
        return completeWithFuture(operator.list(query.get("user").orElse(null), query.get("session").orElse(null), topic, limit)
                .thenApplyAsync(found -> json(StatusCodes.OK, found), Callbacks.INLINE)
                .exceptionallyAsync(this::failure, Callbacks.INLINE));
    }

    /** POST /api/disconnect {"user"|"session"} (close 4003) or /api/unsubscribe {"user"|"session", "topics"}, on every node. */
    private Route operatorCall(HttpRequest request, boolean unsubscribe) {
        String remote = remoteAddress(request);
        long maxBody = settings.api().maxBody();
        return completeWithFuture(request.entity().withSizeLimit(maxBody)
                .toStrict(settings.api().askTimeout().toMillis(), maxBody, materializer)
                .thenComposeAsync(entity -> {
                    OperatorRequest call;
                    try {
                        call = codec.decodeOperatorRequest(utf8(entity.getData()), unsubscribe);
                    } catch (CharacterCodingException e) {
                        return done(error(StatusCodes.BAD_REQUEST, ErrorCode.BAD_REQUEST, "the body is not valid UTF-8"));
                    } catch (InvalidFrameException e) {
                        return done(error(StatusCodes.BAD_REQUEST, e.code(), e.getMessage()));
                    }
                    Audit.operator(remote, request.getUri().path(), call.user(), call.session(), call.topics());
                    return (unsubscribe ? operator.unsubscribe(call.user(), call.session(), call.topics())
                            : operator.disconnect(call.user(), call.session()))
                            .thenApplyAsync(affected -> json(StatusCodes.OK, affected), Callbacks.INLINE);
                }, Callbacks.INLINE)
                .exceptionallyAsync(this::failure, Callbacks.INLINE));
    }

    private static String remoteAddress(HttpRequest request) {
        RemoteAddress remote = request.getAttribute(AttributeKeys.remoteAddress).orElse(null);
        if (remote == null) {
            return "unknown";
        }
        return remote.getAddress().map(InetAddress::getHostAddress).orElse("unknown");
    }

    /** A listing's {@code limit}: the default when absent, -1 when not a whole number from 1 to {@link #MAX_PAGE}. */
    private static int pageLimit(String param) {
        try {
            int limit = param == null ? DEFAULT_PAGE : Integer.parseInt(param);
            return limit >= 1 && limit <= MAX_PAGE ? limit : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private Route badLimit() {
        return complete(error(StatusCodes.BAD_REQUEST, ErrorCode.BAD_REQUEST, "limit must be a whole number from 1 to " + MAX_PAGE));
    }

    /** GET /api/topics?after=NAME&limit=N: one page of the running topics in name order. */
    private Route listTopics(String after, String limitParam) {
        int limit = pageLimit(limitParam);
        if (limit < 0) {
            return badLimit();
        }
        return completeWithFuture(topics.list(after, limit, settings.api().askTimeout())
                .thenApplyAsync(page -> json(StatusCodes.OK, page), Callbacks.INLINE)
                .exceptionallyAsync(this::failure, Callbacks.INLINE));
    }

    /** POST /api/publish: the whole batch is validated (and its permissions checked) before any change is applied. */
    private Route publish(HttpRequest request, ApiKeys.Key key) {
        String remote = remoteAddress(request);
        long maxBody = settings.api().maxBody();
        if (request.entity().getContentLengthOption().orElse(0) > maxBody) {
            // Refused before a byte of it is read; Pekko then closes the connection rather than read on.
            return complete(failure(new EntityStreamSizeException(maxBody, scala.Option.empty())));
        }
        CompletionStage<HttpResponse> response = request.entity()
                .withSizeLimit(maxBody)
                // Its own bound too: without one, toStrict applies Pekko's max-to-strict-bytes and fails otherwise.
                .toStrict(settings.api().askTimeout().toMillis(), maxBody, materializer)
                .thenComposeAsync(entity -> {
                    FrameCodec.Changes body;
                    try {
                        body = codec.decodeChanges(utf8(entity.getData()));
                    } catch (CharacterCodingException e) {
                        return done(error(StatusCodes.BAD_REQUEST, ErrorCode.BAD_REQUEST, "the body is not valid UTF-8"));
                    } catch (InvalidFrameException e) {
                        StatusCode status = e.code() == ErrorCode.PAYLOAD_TOO_LARGE ? StatusCodes.PAYLOAD_TOO_LARGE
                                : e.code() == ErrorCode.FORBIDDEN ? StatusCodes.FORBIDDEN : StatusCodes.BAD_REQUEST;
                        return done(error(status, e.code(), e.getMessage()));
                    }
                    List<Change> changes = body.changes();
                    if (key != null) {
                        for (Change change : changes) {
                            if (!key.permissions().canPublish(change.topic())) {
                                Audit.refused(remote, "/api/publish", 403, "key " + key.id() + " may not publish to " + change.topic());
                                return done(error(StatusCodes.FORBIDDEN, ErrorCode.FORBIDDEN,
                                        "this key may not publish to " + change.topic() + "; nothing was applied"));
                            }
                        }
                    }
                    metrics.publishedOverHttp(changes.size());
                    Audit.published(remote, key == null ? null : key.id(), changes.size(), changes.get(0).topic());
                    return apply(body);
                }, Callbacks.INLINE)
                .exceptionallyAsync(this::failure, Callbacks.INLINE);
        return completeWithFuture(response);
    }

    private static CompletionStage<HttpResponse> done(HttpResponse response) {
        return CompletableFuture.completedFuture(response);
    }

    /**
     * Sends each topic's changes, in the batch's order, to that topic as one message, all topics at
     * once, and puts the answers back in the batch's order. A conflict is one result among the
     * others in a batch, and a 409 for a single change.
     */
    private CompletionStage<HttpResponse> apply(FrameCodec.Changes body) {
        List<Change> changes = body.changes();
        long received = System.nanoTime();
        Map<String, List<Change>> byTopic = new LinkedHashMap<>();
        for (Change change : changes) {
            byTopic.computeIfAbsent(change.topic(), topic -> new ArrayList<>()).add(change);
        }
        Map<String, CompletableFuture<Topic.Outcomes>> pending = new HashMap<>();
        byTopic.forEach((topic, ofTopic) -> pending.put(topic, topics.<Topic.Outcomes>ask(topic,
                replyTo -> new Topic.PublishAll(ofTopic, received, replyTo), settings.api().askTimeout()).toCompletableFuture()));
        return CompletableFuture.allOf(pending.values().toArray(CompletableFuture[]::new)).thenApplyAsync(done -> {
            List<ApiBody.PublishResults.Result> results = new ArrayList<>(changes.size());
            Map<String, Integer> answered = new HashMap<>();
            for (Change change : changes) {
                int index = answered.merge(change.topic(), 1, Integer::sum) - 1;
                Topic.PublishOutcome outcome = pending.get(change.topic()).join().outcomes().get(index);
                if (outcome instanceof Topic.Refused refused) {
                    return error(StatusCodes.SERVICE_UNAVAILABLE, refused.code(), body.batch()
                            ? refused.message() + " (the " + results.size() + " changes before it in the batch were applied)"
                            : refused.message());
                }
                metrics.outcome(outcome);
                if (outcome instanceof Topic.Conflicted c) {
                    if (!body.batch()) {
                        return json(StatusCodes.CONFLICT, new ApiBody.Error(ErrorCode.CONFLICT,
                                "the key's version is " + c.version() + ", not the one the change was made on",
                                c.topic(), c.key(), c.version()));
                    }
                    results.add(ApiBody.PublishResults.Result.conflict(c.topic(), c.key(), c.version()));
                } else {
                    Topic.Published p = (Topic.Published) outcome;
                    results.add(ApiBody.PublishResults.Result.applied(p.topic(), p.seq(), p.duplicate()));
                }
            }
            return json(StatusCodes.OK, new ApiBody.PublishResults(results));
        }, Callbacks.INLINE);
    }

    /**
     * GET /api/topics/{topic}: the topic's snapshot (an unknown topic is an empty one at seq 0); with
     * {@code ?since=EPOCH:SEQ} a delta from there when the topic can give one.
     */
    private Route topicState(String encodedName, String sinceParam) {
        String name = URLDecoder.decode(encodedName, StandardCharsets.UTF_8);
        if (!TopicNames.isValid(name) && !TopicNames.isPresence(name)) {
            return complete(error(StatusCodes.BAD_REQUEST, ErrorCode.INVALID_TOPIC,
                    "a topic name is 1 to 200 characters of A-Z a-z 0-9 _ . : @ / -"));
        }
        Position since = sinceParam == null ? null : Position.parse(sinceParam);
        if (sinceParam != null && since == null) {
            return complete(error(StatusCodes.BAD_REQUEST, ErrorCode.BAD_REQUEST,
                    "since must be EPOCH:SEQ, the epoch and seq of a snapshot, e.g. since=lq3k-9x2:41"));
        }
        return completeWithFuture(topics.<ApiBody.TopicState>ask(name, replyTo -> new Topic.GetState(since, replyTo),
                        settings.api().askTimeout())
                .thenApplyAsync(state -> json(StatusCodes.OK, state), Callbacks.INLINE)
                .exceptionallyAsync(this::failure, Callbacks.INLINE));
    }

    /**
     * What a failed call answers: 413 for a body over the limit (however its size was announced), 503
     * when the hub did not answer in time, and otherwise 500 with an id that is also in the log line
     * carrying the stack trace, so that an operator finds the one from the other.
     */
    HttpResponse failure(Throwable error) {
        for (Throwable cause = error; cause != null; cause = cause.getCause()) {
            if (cause instanceof EntityStreamSizeException) {
                return error(StatusCodes.PAYLOAD_TOO_LARGE, ErrorCode.PAYLOAD_TOO_LARGE,
                        "the body is larger than herald.api.max-body (" + settings.api().maxBody() + " bytes)");
            }
            if (cause instanceof TimeoutException) {
                return error(StatusCodes.SERVICE_UNAVAILABLE, ErrorCode.INTERNAL, "the hub did not answer in time");
            }
        }
        String id = Sessions.newId();
        log.error("Internal error [{}] answering an HTTP call", id, error);
        return error(StatusCodes.INTERNAL_SERVER_ERROR, ErrorCode.INTERNAL, "internal error " + id + " (logged by the server)");
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
