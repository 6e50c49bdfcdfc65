package herald.hub;

import herald.config.HeraldSettings;
import herald.protocol.ClientFrame;
import herald.protocol.CloseCode;
import herald.protocol.ErrorCode;
import herald.protocol.FrameCodec;
import herald.protocol.InvalidFrameException;
import herald.protocol.ServerFrame;
import herald.protocol.TopicNames;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * One client connection: reads its frames, answers them, keeps its subscriptions and feeds its
 * bounded {@link Outbound}. It knows nothing of HTTP: the WebSocket layer hands it the text of
 * each inbound message and tells it when the connection has ended.
 *
 * <p>Client frames are handled one at a time (the inbound stream waits for an {@link Ack}), so the
 * replies to a subscribe come in the request's order and a later frame never overtakes it.
 */
public final class Session extends AbstractBehavior<Session.Command> {

    public sealed interface Command permits Inbound, InboundStarted, InboundEnded, ConnectionEnded,
            Close, StartSubscriptions, Topic.Notice, SubscribeTimedOut, TopicTerminated, AuthTimedOut, TokenExpired {
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
    public record StartSubscriptions(List<String> topics) implements Command {
    }

    /** Closes the connection from the server side, for example with 1001 on shutdown. */
    public record Close(CloseCode code, String reason) implements Command {
    }

    private enum SubscribeTimedOut implements Command {
        INSTANCE
    }

    private record TopicTerminated(String topic, ActorRef<Topic.Command> ref) implements Command {
    }

    private record Held(ActorRef<Topic.Command> topic, Subscription subscription) {
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
    }

    /** Bad frames logged per connection before the rest are only counted, so a flood cannot flood the log. */
    private static final int LOGGED_REJECTIONS = 5;

    /**
     * @param principal who the client is when that was settled at the upgrade (a valid token, or
     *                  authentication off); null when the client must still send an {@code auth} frame
     */
    public static Behavior<Command> create(Identity identity, Principal principal, Hub hub, Outbound outbound) {
        return Behaviors.withMdc(Command.class, Map.of("sessionId", identity.sessionId()),
                Behaviors.setup(context -> Behaviors.withTimers(timers ->
                        new Session(context, timers, identity, principal, hub, outbound))));
    }

    private final TimerScheduler<Command> timers;
    private final Identity identity;
    private final HeraldSettings settings;
    private final FrameCodec codec;
    private final Topics topics;
    private final Outbound outbound;
    private final Connections connections;
    private final HubMetrics metrics;
    private final Authenticator authenticator;
    private final RateLimiter rateLimiter;
    private final ActorRef<Topic.Notice> self;
    /** Null until the client has authenticated. */
    private Principal principal;
    private final long openedAt = System.nanoTime();
    /** Topics this connection is subscribed to, with the topic's actor and the handle the topic writes through. */
    private final Map<String, Held> subscriptions = new HashMap<>();
    /** Topics whose actor died under a subscription, waiting for their unasked fresh snapshot. */
    private final Map<String, Subscription> resubscribing = new HashMap<>();
    private Subscription awaitedSubscription;

    /** The subscribe request being worked through, one topic at a time. */
    private final ArrayDeque<String> pendingTopics = new ArrayDeque<>();
    private String pendingId;
    private String awaitedTopic;
    private ActorRef<Ack> pendingAck;

    private boolean closing;
    private long rejectedFrames;

    private Session(ActorContext<Command> context, TimerScheduler<Command> timers, Identity identity,
                    Principal principal, Hub hub, Outbound outbound) {
        super(context);
        this.principal = principal;
        this.authenticator = hub.authenticator();
        this.rateLimiter = new RateLimiter(hub.settings().rateLimit(), System.nanoTime());
        this.timers = timers;
        this.identity = identity;
        this.settings = hub.settings();
        this.codec = hub.codec();
        this.topics = hub.topics();
        this.connections = hub.connections();
        this.metrics = hub.metrics();
        this.outbound = outbound;
        this.self = context.getSelf().narrow();
        connections.add(identity.sessionId(), context.getSelf(), outbound, identity.remoteAddress(), user());
        metrics.connectionOpened();
        context.getLog().info("Connection opened: session [{}] user [{}] remote [{}] via [{}]",
                identity.sessionId(), user(), identity.remoteAddress(), identity.transport());
        if (principal != null) {
            welcome();
        } else {
            timers.startSingleTimer(AuthTimedOut.INSTANCE, settings.auth().jwt().authTimeout());
        }
    }

    private String user() {
        return principal == null ? null : principal.user();
    }

    private void welcome() {
        if (identity.transport() == Transport.WEBSOCKET) {
            send(new ServerFrame.Welcome(identity.sessionId(), user(), settings.websocket().heartbeat().toMillis(), 1));
        }
        expireAtTokenExpiry();
    }

    /**
     * A timer, not a check on the next frame: a silent client is closed the moment its token expires,
     * with the clock skew that verification allows, so a token just accepted is not closed at once.
     */
    private void expireAtTokenExpiry() {
        if (principal.expiresAt() > 0) {
            long millis = principal.expiresAt() + settings.auth().jwt().clockSkew().toMillis() - System.currentTimeMillis();
            timers.startSingleTimer(TokenExpired.INSTANCE, Duration.ofMillis(Math.max(0, millis)));
        }
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(InboundStarted.class, started -> ack(started.ack()))
                .onMessage(Inbound.class, this::onInbound)
                .onMessage(Topic.Subscribed.class, this::onSubscribed)
                .onMessage(Topic.Overflowed.class, overflowed -> {
                    slowConsumer();
                    return this;
                })
                .onMessage(Topic.Published.class, this::onPublished)
                .onMessage(Topic.Refused.class, this::onRefused)
                .onMessageEquals(AuthTimedOut.INSTANCE, () -> deny(CloseCode.UNAUTHENTICATED, "not authenticated in time"))
                .onMessageEquals(TokenExpired.INSTANCE, () -> deny(CloseCode.TOKEN_EXPIRED, "token expired"))
                .onMessageEquals(SubscribeTimedOut.INSTANCE, this::onSubscribeTimedOut)
                .onMessage(TopicTerminated.class, this::onTopicTerminated)
                .onMessageEquals(InboundEnded.INSTANCE, this::onInboundEnded)
                .onMessage(ConnectionEnded.class, this::onConnectionEnded)
                .onMessage(Close.class, this::onClose)
                .onMessage(StartSubscriptions.class, this::onStartSubscriptions)
                .onSignal(PostStop.class, stop -> {
                    connections.remove(identity.sessionId());
                    return this;
                })
                .build();
    }

    private Behavior<Command> onStartSubscriptions(StartSubscriptions start) {
        pendingTopics.addAll(start.topics());
        subscribeNext();
        return this;
    }

    private Behavior<Command> onClose(Close close) {
        if (!closing) {
            closeWith(close.code(), close.reason());
        }
        return this;
    }

    private Behavior<Command> ack(ActorRef<Ack> ack) {
        ack.tell(Ack.INSTANCE);
        return this;
    }

    private Behavior<Command> onInbound(Inbound inbound) {
        if (closing) {
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
        if (principal == null) {
            if (frame instanceof ClientFrame.Auth auth) {
                authenticate(auth);
            } else {
                reject(new InvalidFrameException(ErrorCode.UNAUTHENTICATED, frame.id(), null,
                        "send an auth frame with a token first"));
            }
            return ack(inbound.ack());
        }
        if (frame instanceof ClientFrame.Subscribe subscribe) {
            pendingId = subscribe.id();
            pendingTopics.addAll(subscribe.topics());
            pendingAck = inbound.ack();
            subscribeNext();
            return this;
        } else if (frame instanceof ClientFrame.Publish publish) {
            String topic = publish.change().topic();
            if (!principal.permissions().canPublish(topic)) {
                forbidden(publish.id(), topic, "publishing to this topic is not allowed");
            } else {
                metrics.publishesSocket.increment();
                topics.tell(topic, new Topic.Publish(publish.change(), publish.id(), now, self.narrow()));
            }
        } else if (frame instanceof ClientFrame.Unsubscribe unsubscribe) {
            unsubscribe(unsubscribe);
        } else if (frame instanceof ClientFrame.Ping ping) {
            send(new ServerFrame.Pong(ping.id(), System.currentTimeMillis()));
        } else if (frame instanceof ClientFrame.Auth auth) {
            if (authenticator.required()) {
                refresh(auth);
            } else {
                reject(new InvalidFrameException(ErrorCode.BAD_REQUEST, auth.id(), null,
                        "authentication is off on this server; no auth frame is needed"));
            }
        }
        return ack(inbound.ack());
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

    /** The first auth frame of a connection that opened without a token. */
    private void authenticate(ClientFrame.Auth auth) {
        Principal verified = verifiedOrClosed(auth);
        if (verified == null) {
            return;
        }
        if (!connections.authenticated(identity.sessionId(), verified.user())) {
            authFailed(auth.id(), "too many connections for this user (" + settings.limits().maxConnectionsPerUser() + ")");
            return;
        }
        principal = verified;
        timers.cancel(AuthTimedOut.INSTANCE);
        getContext().getLog().info("Authenticated: session [{}] user [{}] remote [{}]",
                identity.sessionId(), user(), identity.remoteAddress());
        welcome();
    }

    /**
     * A new token on an authenticated connection: same user, new expiry and permissions, applied at
     * once; subscriptions the new token no longer allows are ended.
     */
    private void refresh(ClientFrame.Auth auth) {
        Principal verified = verifiedOrClosed(auth);
        if (verified == null) {
            return;
        }
        if (!verified.user().equals(principal.user())) {
            authFailed(auth.id(), "a refreshed token must be for the same user");
            return;
        }
        principal = verified;
        send(new ServerFrame.Refreshed(auth.id(), verified.expiresAt()));
        expireAtTokenExpiry();
        for (String topic : List.copyOf(subscriptions.keySet())) {
            if (!verified.permissions().canSubscribe(topic)) {
                leave(topic);
                send(new ServerFrame.Unsubscribed(null, List.of(topic)));
                forbidden(null, topic, "the refreshed token does not allow this topic");
            }
        }
    }

    /** The auth frame's principal, or null after answering auth_failed and closing with 4001. */
    private Principal verifiedOrClosed(ClientFrame.Auth auth) {
        try {
            return authenticator.verify(auth.token());
        } catch (AuthenticationException e) {
            authFailed(auth.id(), e.getMessage());
            return null;
        }
    }

    private void authFailed(String id, String reason) {
        reject(new InvalidFrameException(ErrorCode.AUTH_FAILED, id, null, reason));
        deny(CloseCode.UNAUTHENTICATED, "authentication failed");
    }

    private void forbidden(String id, String topic, String message) {
        Audit.denied(identity.sessionId(), user(), identity.remoteAddress(), "forbidden " + topic);
        reject(new InvalidFrameException(ErrorCode.FORBIDDEN, id, topic, message));
    }

    /** Closes for a reason the audit trail keeps: failed or expired authentication, abuse. */
    private Behavior<Command> deny(CloseCode code, String reason) {
        if (!closing) {
            Audit.denied(identity.sessionId(), user(), identity.remoteAddress(), reason + " (close " + code.code() + ")");
            closeWith(code, reason);
        }
        return this;
    }

    private Behavior<Command> onRefused(Topic.Refused refused) {
        send(new ServerFrame.Error(refused.requestId(), refused.topic(), refused.code(), refused.message()));
        if (refused.toSubscribe() && refused.topic().equals(awaitedTopic)) {
            awaitedTopic = null;
            awaitedSubscription.end();
            timers.cancel(SubscribeTimedOut.INSTANCE);
            subscribeNext();
        }
        return this;
    }

    private void unsubscribe(ClientFrame.Unsubscribe unsubscribe) {
        unsubscribe.topics().forEach(this::leave);
        send(new ServerFrame.Unsubscribed(unsubscribe.id(), unsubscribe.topics()));
    }

    /** Stops the topic's frames at once (the handle), then tells the topic. */
    private void leave(String topic) {
        Held held = subscriptions.remove(topic);
        if (held != null) {
            held.subscription().end();
            getContext().unwatch(held.topic());
            held.topic().tell(new Topic.Unsubscribe(self));
        }
        Subscription waiting = resubscribing.remove(topic);
        if (waiting != null) {
            waiting.end();
        }
    }

    /** Sends the next topic of the pending subscribe to its topic, or finishes the request. */
    private void subscribeNext() {
        while (!pendingTopics.isEmpty()) {
            String topic = pendingTopics.poll();
            if (!TopicNames.isValid(topic)) {
                reject(new InvalidFrameException(ErrorCode.INVALID_TOPIC, pendingId, topic,
                        "a topic name is 1 to 200 characters of A-Z a-z 0-9 _ . : @ / -"));
            } else if (!principal.permissions().canSubscribe(topic)) {
                forbidden(pendingId, topic, "subscribing to this topic is not allowed");
            } else if (!subscriptions.containsKey(topic)
                    && subscriptions.size() >= settings.limits().maxSubscriptionsPerConnection()) {
                reject(new InvalidFrameException(ErrorCode.TOO_MANY_TOPICS, pendingId, topic,
                        "this connection is subscribed to the most topics allowed ("
                                + settings.limits().maxSubscriptionsPerConnection() + ")"));
            } else {
                awaitedTopic = topic;
                awaitedSubscription = new Subscription(self, outbound);
                topics.tell(topic, new Topic.Subscribe(awaitedSubscription, pendingId));
                timers.startSingleTimer(SubscribeTimedOut.INSTANCE, settings.api().askTimeout());
                return;
            }
        }
        pendingId = null;
        if (pendingAck != null) {
            pendingAck.tell(Ack.INSTANCE);
            pendingAck = null;
        }
    }

    private Behavior<Command> onSubscribed(Topic.Subscribed subscribed) {
        String topic = subscribed.topic();
        if (topic.equals(awaitedTopic)) {
            awaitedTopic = null;
            timers.cancel(SubscribeTimedOut.INSTANCE);
            addSubscription(topic, subscribed.topicRef(), awaitedSubscription);
            if (!closing) {
                subscribeNext();
            }
        } else if (resubscribing.containsKey(topic)) {
            addSubscription(topic, subscribed.topicRef(), resubscribing.remove(topic));
        }
        return this;
    }

    /** A subscribe again replaces the topic's handle for this session; the old one is ended. */
    private void addSubscription(String topic, ActorRef<Topic.Command> ref, Subscription subscription) {
        Held previous = subscriptions.put(topic, new Held(ref, subscription));
        if (previous != null && previous.subscription() != subscription) {
            previous.subscription().end();
        }
        if (previous == null || !ref.equals(previous.topic())) {
            getContext().watchWith(ref, new TopicTerminated(topic, ref));
        }
    }

    private Behavior<Command> onSubscribeTimedOut() {
        if (awaitedTopic != null) {
            getContext().getLog().warn("Topic [{}] did not answer a subscribe within {}; session [{}] gets an error",
                    awaitedTopic, settings.api().askTimeout(), identity.sessionId());
            send(new ServerFrame.Error(pendingId, awaitedTopic, ErrorCode.INTERNAL, "the topic did not answer in time"));
            awaitedSubscription.end();
            awaitedTopic = null;
            subscribeNext();
        }
        return this;
    }

    /** A topic stopped under a live subscription: subscribe again so the client gets a fresh snapshot. */
    private Behavior<Command> onTopicTerminated(TopicTerminated terminated) {
        Held held = subscriptions.get(terminated.topic());
        if (held != null && terminated.ref().equals(held.topic())) {
            subscriptions.remove(terminated.topic());
            held.subscription().end();
            Subscription fresh = new Subscription(self, outbound);
            resubscribing.put(terminated.topic(), fresh);
            topics.tell(terminated.topic(), new Topic.Subscribe(fresh, null));
        }
        return this;
    }

    private Behavior<Command> onPublished(Topic.Published published) {
        send(new ServerFrame.Published(published.requestId(), published.topic(), published.seq()));
        return this;
    }

    private void send(ServerFrame frame) {
        enqueue(OutboundFrame.of(codec.encode(frame)));
    }

    private void enqueue(OutboundFrame frame) {
        if (closing) {
            return;
        }
        Outbound.Offer offer = outbound.offer(frame);
        if (offer == Outbound.Offer.CLOSED) {
            closing = true;
            leaveTopics();
        } else if (offer == Outbound.Offer.OVERFLOW) {
            slowConsumer();
        }
    }

    /** The outbound buffer overflowed, on a frame of this session's or of a topic's: close with 4008. */
    private void slowConsumer() {
        if (closing) {
            return;
        }
        metrics.slowConsumerCloses.increment();
        getContext().getLog().warn(
                "Slow consumer closed with 4008: session [{}] user [{}] remote [{}] queued [{}] frames [{}] bytes",
                identity.sessionId(), user(), identity.remoteAddress(), outbound.queuedFrames(), outbound.queuedBytes());
        closeWith(CloseCode.SLOW_CONSUMER, "slow consumer: outbound buffer overflowed");
    }

    private void reject(InvalidFrameException e) {
        rejectedFrames++;
        metrics.rejected(e.code());
        if (rejectedFrames <= LOGGED_REJECTIONS) {
            getContext().getLog().warn("Rejected frame from session [{}] user [{}] remote [{}]: {} {}{}",
                    identity.sessionId(), user(), identity.remoteAddress(), e.code().wireName(),
                    e.getMessage(), rejectedFrames == LOGGED_REJECTIONS ? " (further rejections are only counted)" : "");
        }
        send(e.toFrame());
    }

    /**
     * Stops all deliveries at once and has the close frame sent: for a slow consumer right away,
     * discarding its backlog; otherwise after what is queued, so the frame explaining the close arrives.
     */
    private void closeWith(CloseCode code, String reason) {
        closing = true;
        if (code == CloseCode.SLOW_CONSUMER) {
            outbound.close(code, reason);
        } else {
            outbound.closeAfterQueued(code, reason);
        }
        leaveTopics();
        if (pendingAck != null) {
            pendingAck.tell(Ack.INSTANCE);
            pendingAck = null;
        }
    }

    private void leaveTopics() {
        subscriptions.forEach((topic, held) -> {
            held.subscription().end();
            held.topic().tell(new Topic.Unsubscribe(self));
        });
        subscriptions.clear();
        pendingTopics.clear();
        resubscribing.values().forEach(Subscription::end);
        resubscribing.clear();
        if (awaitedSubscription != null) {
            awaitedSubscription.end();
        }
    }

    /** The client closed: answer with the normal close once what is queued has been written. */
    private Behavior<Command> onInboundEnded() {
        if (!closing) {
            closing = true;
            outbound.complete();
            leaveTopics();
        }
        return this;
    }

    private Behavior<Command> onConnectionEnded(ConnectionEnded ended) {
        leaveTopics();
        long nanosOpen = System.nanoTime() - openedAt;
        metrics.connectionClosed(ended.code(), nanosOpen);
        long millis = Duration.ofNanos(nanosOpen).toMillis();
        String line = "Connection closed: session [{}] user [{}] remote [{}] duration [{}ms] code [{}] reason [{}] by [{}]"
                + (rejectedFrames > 0 ? " rejected frames [" + rejectedFrames + "]" : "");
        Object[] args = {identity.sessionId(), user(), identity.remoteAddress(), millis, ended.code(),
                ended.reason(), ended.byClient() ? "client" : "server"};
        if (isClientFault(ended.code()) && !ended.byClient()) {
            getContext().getLog().warn(line, args);
        } else {
            getContext().getLog().info(line, args);
        }
        return Behaviors.stopped();
    }

    /** Closes that mean the client did something wrong or could not keep up: worth a warning. */
    private static boolean isClientFault(int code) {
        return code == CloseCode.UNSUPPORTED_DATA.code() || code == CloseCode.MESSAGE_TOO_BIG.code()
                || code == CloseCode.SLOW_CONSUMER.code();
    }
}
