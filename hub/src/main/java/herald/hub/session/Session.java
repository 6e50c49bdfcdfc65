package herald.hub.session;

import herald.config.HeraldSettings;
import herald.hub.Audit;
import herald.hub.Hub;
import herald.hub.HubMetrics;
import herald.hub.auth.Hooks;
import herald.hub.auth.Principal;
import herald.hub.topic.Topic;
import herald.hub.topic.Topics;
import herald.protocol.ApiBody;
import herald.protocol.Change;
import herald.protocol.ClientFrame;
import herald.protocol.CloseCode;
import herald.protocol.ErrorCode;
import herald.protocol.FrameCodec;
import herald.protocol.Hook;
import herald.protocol.InvalidFrameException;
import herald.protocol.Position;
import herald.protocol.ServerFrame;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client connection: reads its frames one at a time and dispatches them. What it does with them
 * lives in one class a job: {@link SessionAuth} (who the client is, refreshes, expiry),
 * {@link RateLimiter}, {@link SessionSubscriptions} (the subscribe state machine and the topics held)
 * and {@link SessionClose} (how the connection ends and the line that says so). Where the backend's
 * hooks have a say ({@link Hooks}: an auth frame, a subscribe, a publish), the session asks and takes
 * the client's next frame only once the verdict is in, so each connection waits alone and its frames
 * keep their order. The operator API reaches it with {@link Describe}, {@link EndSubscriptions} and
 * {@link Close}. It feeds the connection's bounded {@link Outbound} and knows nothing of HTTP: the
 * WebSocket layer hands it the text of each inbound message and tells it when the connection has ended.
 *
 * <p>Client frames are handled one at a time (the inbound stream waits for an {@link Ack}), so the
 * replies to a subscribe come in the request's order and a later frame never overtakes it.
 */
public final class Session extends AbstractBehavior<Session.Command> {
    /**
     * One logger for all sessions: an actor's own ({@code getLog()}) is built per actor, by walking
     * the stack for its class, which a reconnect storm pays on every connection. The session id
     * still reaches each line through the MDC that {@link Behaviors#withMdc} sets. The session's
     * helpers ({@link SessionSubscriptions}) log through it too.
     */
    static final Logger LOG = LoggerFactory.getLogger(Session.class);

    /**
     * Not sealed: the topics' notices ({@link Topic.Notice}) are session commands too, and outside a
     * named module Java seals an interface only within its package. The session's own commands are
     * the records and enums below, and those of {@link SessionSubscriptions}.
     */
    public interface Command {
    }

    /** The inbound stream's acknowledgement: the session is ready for the next message. */
    public enum Ack {
        INSTANCE
    }

    /** The text of one client message. */
    public record Inbound(String text, ActorRef<Ack> ack) implements Command {
    }

    public record InboundStarted(ActorRef<Ack> ack) implements Command {
    }

    /** The client sent its close or the inbound side broke; the connection is ending. */
    public enum InboundEnded implements Command {
        INSTANCE
    }

    /** The connection is gone; {@code byClient} tells who sent the first close frame. */
    public record ConnectionEnded(int code, String reason, boolean byClient) implements Command {
    }

    /** Subscribes as if the client had asked, for connections that cannot send frames (SSE). */
    public record StartSubscriptions(List<String> topics, Map<String, Position> since) implements Command {
    }

    /** Closes the connection from the server side, for example with 1001 on shutdown. */
    public record Close(CloseCode code, String reason) implements Command {
    }

    /** The operator API asks who this connection is and what it holds. */
    public record Describe(ActorRef<Described> replyTo) implements Command {
    }

    public record Described(ApiBody.Connections.Connection connection) {
    }

    /** The operator API ends these subscriptions; the client is told with an unasked {@code unsubscribed}. */
    public record EndSubscriptions(List<String> topics) implements Command {
    }

    /** The connect hook's verdict on an auth frame: the first one ({@code refresh} false) or a refresh. */
    private record AuthDecided(ClientFrame.Auth frame, boolean refresh, Hooks.Verdict verdict) implements Command {
    }

    /** The publish hook's verdict on a publish. */
    private record PublishDecided(ClientFrame.Publish publish, long receivedNanos, Hooks.Verdict verdict) implements Command {
    }

    private enum AuthTimedOut implements Command {
        INSTANCE
    }

    private enum TokenExpired implements Command {
        INSTANCE
    }

    /** How the client is connected: a WebSocket speaks both ways; SSE only receives. */
    public enum Transport {
        WEBSOCKET,
        SSE
    }

    /** Which connection, how and from where: fixed for the connection's life, logged with every lifecycle line. */
    public record Identity(String sessionId, String remoteAddress, Transport transport) {
        /** As the operator API and the connect hook name it: {@code websocket} or {@code sse}. */
        public String transportName() {
            return transport.name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** What of protocol 1.1 (PROTOCOL.md section 9) this server offers, as welcome lists it. */
    private static final List<String> FEATURES = List.of("batch", "resume", "conditional", "idempotent");
    private static final List<String> FEATURES_WITH_PRESENCE = List.of("batch", "resume", "conditional", "idempotent", "presence");

    /** Bad frames logged per connection before the rest are only counted, so a flood cannot flood the log. */
    private static final int LOGGED_REJECTIONS = 5;

    /**
     * @param principal who the client is when that was settled at the upgrade (a valid token, or
     *                  authentication off); null when the client must still send an {@code auth} frame
     * @param slot      the connection's place, taken at the door; the session gives it back when it stops
     */
    public static Behavior<Command> create(Identity identity, Principal principal, Hub hub, Outbound outbound,
                                           Connections.Slot slot) {
        return Behaviors.withMdc(Command.class, Map.of("sessionId", identity.sessionId()),
                Behaviors.setup(context -> Behaviors.withTimers(timers ->
                        new Session(context, timers, identity, principal, hub, outbound, slot))));
    }

    private final TimerScheduler<Command> timers;
    private final Identity identity;
    private final HeraldSettings settings;
    private final FrameCodec codec;
    private final Topics topics;
    private final Outbound outbound;
    private final Connections connections;
    private final HubMetrics metrics;
    private final RateLimiter rateLimiter;
    private final SessionAuth auth;
    private final SessionSubscriptions subscriptions;
    private final SessionClose close;
    private final Hooks hooks;
    private final ActorRef<Topic.Notice> self;
    /** The inbound stream's next acknowledgement, held back while a subscribe request is worked through. */
    private ActorRef<Ack> pendingAck;
    private long rejectedFrames;
    private final long openedAt = System.currentTimeMillis();

    private Session(ActorContext<Command> context, TimerScheduler<Command> timers, Identity identity,
                    Principal principal, Hub hub, Outbound outbound, Connections.Slot slot) {
        super(context);
        this.timers = timers;
        this.identity = identity;
        this.settings = hub.settings();
        this.codec = hub.codec();
        this.topics = hub.topics();
        this.connections = hub.connections();
        this.metrics = hub.metrics();
        this.outbound = outbound;
        this.self = context.getSelf().narrow();
        this.rateLimiter = new RateLimiter(settings.rateLimit(), System.nanoTime());
        this.hooks = hub.hooks();
        this.auth = new SessionAuth(principal, hub.authenticator(), hooks.connects(), connections, slot, settings);
        this.subscriptions = new SessionSubscriptions(context, timers, topics, outbound, settings, codec, hooks, identity,
                this::refuse);
        this.close = new SessionClose(identity, outbound, metrics);
        metrics.connectionOpened();
        LOG.info("Connection opened: session [{}] user [{}] remote [{}] via [{}]",
                identity.sessionId(), auth.user(), identity.remoteAddress(), identity.transport());
        if (!connections.add(identity.sessionId(), context.getSelf(), outbound, slot)) {
            // Its place was given back: the connection took longer than the request deadline to start.
            closeWith(CloseCode.INTERNAL_ERROR, "the connection started too late; reconnect");
        } else if (principal != null) {
            welcome();
        } else {
            timers.startSingleTimer(AuthTimedOut.INSTANCE, settings.auth().jwt().authTimeout());
        }
    }

    private void welcome() {
        if (identity.transport() == Transport.WEBSOCKET) {
            send(new ServerFrame.Welcome(identity.sessionId(), auth.user(), settings.websocket().heartbeat().toMillis(), 1,
                    settings.topics().presence().topics().isEmpty() ? FEATURES : FEATURES_WITH_PRESENCE));
        }
        expireAtTokenExpiry();
    }

    /** A timer, not a check on the next frame: a silent client is closed the moment its token expires. */
    private void expireAtTokenExpiry() {
        Duration left = auth.untilExpiry(System.currentTimeMillis());
        if (left != null) {
            timers.startSingleTimer(TokenExpired.INSTANCE, left);
        }
    }

    /**
     * One handler for every message rather than a case per message type: a receive builder's cases
     * (and a lambda for each) are built per session, about 1 KiB on every connection.
     */
    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onAnyMessage(this::dispatch)
                .onSignal(PostStop.class, stop -> onPostStop())
                .build();
    }

    /** Where each message goes; the frames of the connection come first, as the most frequent. */
    private Behavior<Command> dispatch(Command message) {
        if (message instanceof Inbound inbound) {
            return onInbound(inbound);
        } else if (message instanceof Topic.Published published) {
            return onPublished(published);
        } else if (message instanceof Topic.Subscribed subscribed) {
            return onSubscribed(subscribed);
        } else if (message instanceof Topic.Overflowed) {
            return slowConsumer();
        } else if (message instanceof Topic.Conflicted conflicted) {
            return onConflicted(conflicted);
        } else if (message instanceof Topic.Refused refused) {
            return onRefused(refused);
        } else if (message instanceof InboundStarted started) {
            return ack(started.ack());
        } else if (message == AuthTimedOut.INSTANCE) {
            return deny(CloseCode.UNAUTHENTICATED, "not authenticated in time");
        } else if (message == TokenExpired.INSTANCE) {
            return deny(CloseCode.TOKEN_EXPIRED, "token expired");
        } else if (message == SessionSubscriptions.SubscribeTimedOut.INSTANCE) {
            return onSubscribeTimedOut();
        } else if (message instanceof SessionSubscriptions.TopicTerminated terminated) {
            return onTopicTerminated(terminated);
        } else if (message == InboundEnded.INSTANCE) {
            return onInboundEnded();
        } else if (message instanceof ConnectionEnded ended) {
            return onConnectionEnded(ended);
        } else if (message instanceof Close c) {
            closeWith(c.code(), c.reason());
            return this;
        } else if (message instanceof StartSubscriptions start) {
            return onStartSubscriptions(start);
        } else if (message instanceof Describe describe) {
            return onDescribe(describe);
        } else if (message instanceof AuthDecided decided) {
            return onAuthDecided(decided);
        } else if (message instanceof PublishDecided decided) {
            return onPublishDecided(decided);
        } else if (message instanceof SessionSubscriptions.SubscribeDecided decided) {
            return onSubscribeDecided(decided);
        } else if (message instanceof EndSubscriptions end) {
            return onEndSubscriptions(end);
        }
        return Behaviors.unhandled();
    }

    private Behavior<Command> ack(ActorRef<Ack> ack) {
        ack.tell(Ack.INSTANCE);
        return this;
    }

    /** Where a frame is dispatched: rate limit, parse, authentication, then one handler per frame type. */
    private Behavior<Command> onInbound(Inbound inbound) {
        if (close.closing()) {
            return ack(inbound.ack());
        }
        metrics.framesIn.increment();
        metrics.bytesIn.increment(FrameCodec.utf8Length(inbound.text()));
        long now = System.nanoTime();
        if (!rateLimiter.tryAcquire(now)) {
            rateLimited(inbound.text(), now);
            return ack(inbound.ack());
        }
        ClientFrame frame;
        try {
            frame = codec.decode(inbound.text());
        } catch (InvalidFrameException e) {
            reject(e);
            return ack(inbound.ack());
        }
        if (auth.principal() == null) {
            if (frame instanceof ClientFrame.Auth first) {
                if (hooks.connects()) {
                    return askConnectHook(first, false, inbound.ack());
                }
                authenticate(first);
            } else {
                reject(new InvalidFrameException(ErrorCode.UNAUTHENTICATED, frame.id(), null,
                        "send an auth frame with a token first"));
            }
            return ack(inbound.ack());
        }
        if (frame instanceof ClientFrame.Subscribe subscribe) {
            pendingAck = inbound.ack();
            subscriptions.request(subscribe.id(), subscribe.topics(), subscribe.since());
            subscribeNext();
            return this;
        } else if (frame instanceof ClientFrame.Publish publish) {
            if (hooks.asksPublish(publish.change().topic()) && publishAllowed(publish)) {
                return askPublishHook(publish, now, inbound.ack());
            }
            publish(publish, now);
        } else if (frame instanceof ClientFrame.Unsubscribe unsubscribe) {
            unsubscribe.topics().forEach(subscriptions::leave);
            send(new ServerFrame.Unsubscribed(unsubscribe.id(), unsubscribe.topics()));
        } else if (frame instanceof ClientFrame.Ping ping) {
            send(new ServerFrame.Pong(ping.id(), System.currentTimeMillis()));
        } else if (frame instanceof ClientFrame.Auth refresh) {
            if (hooks.connects()) {
                return askConnectHook(refresh, true, inbound.ack());
            }
            refresh(refresh);
        }
        return ack(inbound.ack());
    }

    /**
     * Shows an auth frame's token to the connect hook; the client's next frame waits for the verdict,
     * so nothing it sends is taken before the hook decided who it is.
     */
    private Behavior<Command> askConnectHook(ClientFrame.Auth frame, boolean refresh, ActorRef<Ack> ack) {
        pendingAck = ack;
        getContext().pipeToSelf(hooks.connect(new Hook.Connect(identity.remoteAddress(),
                        identity.transportName(), Map.of(), frame.token())),
                (verdict, failed) -> new AuthDecided(frame, refresh, Hooks.orUnavailable(verdict, failed)));
        return this;
    }

    private Behavior<Command> onAuthDecided(AuthDecided decided) {
        releaseAck();
        if (close.closing()) {
            return this;
        }
        Hooks.Verdict verdict = decided.verdict();
        String id = decided.frame().id();
        if (verdict instanceof Hooks.Unavailable unavailable) {
            Audit.denied(identity.sessionId(), auth.user(), identity.remoteAddress(), "connect hook unavailable: " + unavailable.message());
            reject(new InvalidFrameException(ErrorCode.UNAVAILABLE, id, null, "the connect hook did not decide: " + unavailable.message()));
            if (!decided.refresh()) {
                closeWith(CloseCode.INTERNAL_ERROR, "the connect hook is unavailable");
            }
        } else if (verdict instanceof Hooks.Refused refused) {
            authFailed(id, refused.message() == null ? "refused by the connect hook" : refused.message());
        } else {
            Principal principal = ((Hooks.Allowed) verdict).principal();
            if (decided.refresh()) {
                refreshed(id, auth.replace(principal));
            } else {
                authenticated(id, auth.admit(principal));
            }
        }
        return this;
    }

    /** Asks the publish hook; the client's next frame waits for the verdict, so its publishes keep their order. */
    private Behavior<Command> askPublishHook(ClientFrame.Publish publish, long now, ActorRef<Ack> ack) {
        pendingAck = ack;
        getContext().pipeToSelf(hooks.publish(new Hook.Publish(identity.sessionId(), auth.user(), identity.remoteAddress(),
                        publish.change())),
                (verdict, failed) -> new PublishDecided(publish, now, Hooks.orUnavailable(verdict, failed)));
        return this;
    }

    private Behavior<Command> onPublishDecided(PublishDecided decided) {
        releaseAck();
        if (close.closing()) {
            return this;
        }
        ClientFrame.Publish publish = decided.publish();
        String topic = publish.change().topic();
        if (decided.verdict() instanceof Hooks.Unavailable unavailable) {
            LOG.warn("Publish hook unavailable for session [{}] user [{}] topic [{}]: {}",
                    identity.sessionId(), auth.user(), topic, unavailable.message());
            reject(new InvalidFrameException(ErrorCode.UNAVAILABLE, publish.id(), topic,
                    "the publish hook did not decide: " + unavailable.message()));
        } else if (decided.verdict() instanceof Hooks.Refused refused) {
            refuse(new InvalidFrameException(ErrorCode.FORBIDDEN, publish.id(), topic,
                    refused.message() == null ? "refused by the publish hook" : refused.message()));
        } else {
            String data = ((Hooks.Allowed) decided.verdict()).data();
            Change change = publish.change();
            if (data != null && change.op().takesData()) {
                change = new Change(change.topic(), change.op(), change.key(), change.event(), data, change.ifVersion(), change.idem());
            }
            forward(change, publish.id(), decided.receivedNanos());
        }
        return this;
    }

    private void releaseAck() {
        if (pendingAck != null) {
            pendingAck.tell(Ack.INSTANCE);
            pendingAck = null;
        }
    }

    /** Answers a frame over the rate limit without processing it (its id is read for the reply). */
    private void rateLimited(String text, long now) {
        String id;
        try {
            id = codec.decode(text).id();
        } catch (InvalidFrameException e) {
            id = e.id();
        }
        reject(new InvalidFrameException(ErrorCode.RATE_LIMITED, id, null,
                "over " + settings.rateLimit().framesPerSecond() + " frames per second; this frame was not processed"));
        if (rateLimiter.refusedTooOften(now)) {
            deny(CloseCode.RATE_LIMITED, "rate limit exceeded persistently");
        }
    }

    private boolean publishAllowed(ClientFrame.Publish publish) {
        return auth.principal().permissions().canPublish(publish.change().topic());
    }

    private void publish(ClientFrame.Publish publish, long now) {
        String topic = publish.change().topic();
        if (!publishAllowed(publish)) {
            refuse(new InvalidFrameException(ErrorCode.FORBIDDEN, publish.id(), topic, "publishing to this topic is not allowed"));
        } else {
            forward(publish.change(), publish.id(), now);
        }
    }

    /** A change the connection may make, on its way to the topic's owner, which answers this session. */
    private void forward(Change change, String requestId, long receivedNanos) {
        metrics.publishesSocket.increment();
        topics.tell(change.topic(), new Topic.Publish(change, requestId, receivedNanos, self.narrow()));
    }

    /** The first auth frame of a connection that opened without a token. */
    private void authenticate(ClientFrame.Auth frame) {
        authenticated(frame.id(), auth.authenticate(frame));
    }

    private void authenticated(String id, SessionAuth.Outcome outcome) {
        if (outcome instanceof SessionAuth.Failed failed) {
            authFailed(id, failed.reason());
            return;
        }
        timers.cancel(AuthTimedOut.INSTANCE);
        LOG.info("Authenticated: session [{}] user [{}] remote [{}]",
                identity.sessionId(), auth.user(), identity.remoteAddress());
        welcome();
    }

    /**
     * A new token on an authenticated connection, applied at once; subscriptions the new token no
     * longer allows are ended, each with its unsubscribed and forbidden.
     */
    private void refresh(ClientFrame.Auth frame) {
        if (!auth.required()) {
            reject(new InvalidFrameException(ErrorCode.BAD_REQUEST, frame.id(), null,
                    "authentication is off on this server; no auth frame is needed"));
            return;
        }
        refreshed(frame.id(), auth.refresh(frame));
    }

    private void refreshed(String id, SessionAuth.Outcome outcome) {
        if (outcome instanceof SessionAuth.Failed failed) {
            authFailed(id, failed.reason());
            return;
        }
        send(new ServerFrame.Refreshed(id, auth.principal().expiresAt()));
        expireAtTokenExpiry();
        for (String topic : subscriptions.notAllowedBy(auth.principal().permissions())) {
            subscriptions.leave(topic);
            send(new ServerFrame.Unsubscribed(null, List.of(topic)));
            refuse(new InvalidFrameException(ErrorCode.FORBIDDEN, null, topic, "the refreshed token does not allow this topic"));
        }
    }

    private void authFailed(String id, String reason) {
        reject(new InvalidFrameException(ErrorCode.AUTH_FAILED, id, null, reason));
        deny(CloseCode.UNAUTHENTICATED, "authentication failed");
    }

    /** Answers a refused request; a forbidden one also goes to the audit trail. */
    private void refuse(InvalidFrameException e) {
        if (e.code() == ErrorCode.FORBIDDEN) {
            Audit.denied(identity.sessionId(), auth.user(), identity.remoteAddress(), "forbidden " + e.topic());
        }
        reject(e);
    }

    /** Closes for a reason the audit trail keeps: failed or expired authentication, abuse. */
    private Behavior<Command> deny(CloseCode code, String reason) {
        if (!close.closing()) {
            Audit.denied(identity.sessionId(), auth.user(), identity.remoteAddress(), reason + " (close " + code.code() + ")");
            closeWith(code, reason);
        }
        return this;
    }

    private Behavior<Command> onDescribe(Describe describe) {
        describe.replyTo().tell(new Described(new ApiBody.Connections.Connection(identity.sessionId(), auth.user(),
                identity.remoteAddress(), identity.transportName(), openedAt,
                subscriptions.topics(), new ApiBody.Connections.Queued(outbound.queuedFrames(), outbound.queuedBytes()))));
        return this;
    }

    /** Ends the subscriptions an operator named, of those this connection holds; the client hears which. */
    private Behavior<Command> onEndSubscriptions(EndSubscriptions end) {
        List<String> ended = end.topics().stream().filter(subscriptions::holds).toList();
        if (!ended.isEmpty()) {
            ended.forEach(subscriptions::leave);
            LOG.info("Operator unsubscribed session [{}] user [{}] remote [{}] from {}",
                    identity.sessionId(), auth.user(), identity.remoteAddress(), ended);
            send(new ServerFrame.Unsubscribed(null, ended));
        }
        return this;
    }

    private Behavior<Command> onStartSubscriptions(StartSubscriptions start) {
        subscriptions.request(null, start.topics(), start.since());
        subscribeNext();
        return this;
    }

    /** Asks the next topic of the pending subscribe, or finishes the request and takes the next frame. */
    private void subscribeNext() {
        if (subscriptions.next(auth.principal()) && pendingAck != null) {
            pendingAck.tell(Ack.INSTANCE);
            pendingAck = null;
        }
    }

    private Behavior<Command> onSubscribeDecided(SessionSubscriptions.SubscribeDecided decided) {
        if (subscriptions.onDecided(decided) && !close.closing()) {
            subscribeNext();
        }
        return this;
    }

    private Behavior<Command> onSubscribed(Topic.Subscribed subscribed) {
        if (subscriptions.onSubscribed(subscribed) && !close.closing()) {
            subscribeNext();
        }
        return this;
    }

    private Behavior<Command> onRefused(Topic.Refused refused) {
        send(new ServerFrame.Error(refused.requestId(), refused.topic(), refused.code(), refused.message()));
        if (subscriptions.onRefused(refused)) {
            subscribeNext();
        }
        return this;
    }

    private Behavior<Command> onSubscribeTimedOut() {
        ServerFrame.Error error = subscriptions.onTimedOut();
        if (error != null) {
            send(error);
            subscribeNext();
        }
        return this;
    }

    private Behavior<Command> onTopicTerminated(SessionSubscriptions.TopicTerminated terminated) {
        subscriptions.onTopicTerminated(terminated);
        return this;
    }

    private Behavior<Command> onPublished(Topic.Published published) {
        metrics.outcome(published);
        send(new ServerFrame.Published(published.requestId(), published.topic(), published.seq(),
                published.duplicate() ? Boolean.TRUE : null));
        return this;
    }

    private Behavior<Command> onConflicted(Topic.Conflicted conflict) {
        metrics.outcome(conflict);
        send(new ServerFrame.Error(conflict.requestId(), conflict.topic(), conflict.key(), ErrorCode.CONFLICT,
                "the key's version is " + conflict.version() + ", not the one the change was made on", conflict.version()));
        return this;
    }

    private void send(ServerFrame frame) {
        if (close.closing()) {
            return;
        }
        Outbound.Offer offer = outbound.offer(OutboundFrame.of(codec.encode(frame)));
        if (offer == Outbound.Offer.CLOSED) {
            close.streamEnded();
            subscriptions.leaveAll();
        } else if (offer == Outbound.Offer.OVERFLOW) {
            slowConsumer();
        }
    }

    /** The outbound buffer overflowed, on a frame of this session's or of a topic's: close with 4008. */
    private Behavior<Command> slowConsumer() {
        if (!close.closing()) {
            metrics.slowConsumerCloses.increment();
            LOG.warn(
                    "Slow consumer closed with 4008: session [{}] user [{}] remote [{}] queued [{}] frames [{}] bytes",
                    identity.sessionId(), auth.user(), identity.remoteAddress(), outbound.queuedFrames(), outbound.queuedBytes());
            closeWith(CloseCode.SLOW_CONSUMER, "slow consumer: outbound buffer overflowed");
        }
        return this;
    }

    private void reject(InvalidFrameException e) {
        rejectedFrames++;
        metrics.rejected(e.code());
        if (rejectedFrames <= LOGGED_REJECTIONS) {
            LOG.warn("Rejected frame from session [{}] user [{}] remote [{}]: {} {}{}",
                    identity.sessionId(), auth.user(), identity.remoteAddress(), e.code().wireName(),
                    e.getMessage(), rejectedFrames == LOGGED_REJECTIONS ? " (further rejections are only counted)" : "");
        }
        send(e.toFrame());
    }

    /** Stops all deliveries at once and has the close frame sent (see {@link SessionClose}). */
    private void closeWith(CloseCode code, String reason) {
        if (close.close(code, reason)) {
            stopWork();
        }
    }

    /** The client closed: answer with the normal close once what is queued has been written. */
    private Behavior<Command> onInboundEnded() {
        if (close.clientClosed()) {
            stopWork();
        }
        return this;
    }

    /** A closing connection takes no new work: its topics stop writing and the inbound stream is released. */
    private void stopWork() {
        subscriptions.leaveAll();
        if (pendingAck != null) {
            pendingAck.tell(Ack.INSTANCE);
            pendingAck = null;
        }
    }

    private Behavior<Command> onConnectionEnded(ConnectionEnded ended) {
        subscriptions.leaveAll();
        close.record(ended, auth.user(), rejectedFrames, LOG);
        return Behaviors.stopped();
    }

    /**
     * However the session stops, its place is given back and its topics forgotten. One that stops
     * before its connection ended was either stopped with the server (a client that did not close
     * within shutdown-grace) or failed (an exception in a handler): then its socket is closed with
     * 1011 rather than left open with no one behind it.
     */
    private Behavior<Command> onPostStop() {
        if (!close.recorded()) {
            subscriptions.leaveAll();
            ConnectionEnded ended;
            if (CoordinatedShutdown.get(getContext().getSystem()).getShutdownReason().isPresent()) {
                outbound.close(CloseCode.GOING_AWAY, "server shutting down");
                ended = new ConnectionEnded(CloseCode.GOING_AWAY.code(), "dropped at shutdown", false);
            } else {
                outbound.close(CloseCode.INTERNAL_ERROR, "internal error");
                ended = new ConnectionEnded(CloseCode.INTERNAL_ERROR.code(), "internal error: the session failed", false);
            }
            close.record(ended, auth.user(), rejectedFrames, LOG);
        }
        connections.remove(identity.sessionId());
        return this;
    }
}
