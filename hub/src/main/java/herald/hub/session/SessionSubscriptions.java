package herald.hub.session;

import herald.config.HeraldSettings;
import herald.hub.auth.Hooks;
import herald.hub.auth.Permissions;
import herald.hub.auth.Principal;
import herald.hub.presence.Members;
import herald.hub.topic.Topic;
import herald.hub.topic.Topics;
import herald.protocol.ErrorCode;
import herald.protocol.FrameCodec;
import herald.protocol.Hook;
import herald.protocol.InvalidFrameException;
import herald.protocol.Position;
import herald.protocol.PresenceMember;
import herald.protocol.ServerFrame;
import herald.protocol.TopicNames;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * A session's subscriptions: the topics it holds (each with the topic's actor, watched, and the
 * {@link Subscription} the topic writes through), the ones waiting for a fresh snapshot after their
 * topic's actor died, and the subscribe request being worked through. A request goes one topic at a
 * time, each waiting for its topic's answer, so that the client's snapshots and errors come in the
 * request's order.
 */
final class SessionSubscriptions {

    /** The awaited topic did not answer within the ask timeout. */
    enum SubscribeTimedOut implements Session.Command {
        INSTANCE
    }

    /** The subscribe hook's verdict on the topic asked about. */
    record SubscribeDecided(String topic, Hooks.Verdict verdict) implements Session.Command {
    }

    /** A topic's actor stopped under a subscription. */
    record TopicTerminated(String topic, ActorRef<Topic.Command> ref) implements Session.Command {
    }

    /** {@code member}: the connection's entry in the topic's presence topic, null when it has none. */
    private record Held(ActorRef<Topic.Command> topic, Subscription subscription, Members.Announced member) {
    }

    private final ActorContext<Session.Command> context;
    private final TimerScheduler<Session.Command> timers;
    private final Topics topics;
    private final Outbound outbound;
    private final ActorRef<Topic.Notice> self;
    private final int maxPerConnection;
    private final Duration askTimeout;
    private final HeraldSettings.Presence presence;
    private final FrameCodec codec;
    private final Hooks hooks;
    private final Session.Identity identity;
    /** Where refusals of a request's topics go: the session answers them as errors. */
    private final Consumer<InvalidFrameException> refuse;

    private final Map<String, Held> held = new HashMap<>();
    /** Topics whose relay died under a subscription, subscribed again: the fresh subscription and the member. */
    private final Map<String, Held> resubscribing = new HashMap<>();
    private final ArrayDeque<String> pending = new ArrayDeque<>();
    /** The positions the pending request resumes from, by topic. */
    private Map<String, Position> since = Map.of();
    private String requestId;
    private String awaitedTopic;
    private Subscription awaited;
    private Members.Announced awaitedMember;
    /** The topic the subscribe hook is being asked about, with the member it would have; null when none. */
    private String decidingTopic;
    private Members.Announced decidingMember;

    SessionSubscriptions(ActorContext<Session.Command> context, TimerScheduler<Session.Command> timers, Topics topics,
                         Outbound outbound, HeraldSettings settings, FrameCodec codec, Hooks hooks,
                         Session.Identity identity, Consumer<InvalidFrameException> refuse) {
        this.context = context;
        this.timers = timers;
        this.topics = topics;
        this.outbound = outbound;
        this.self = context.getSelf().narrow();
        this.maxPerConnection = settings.limits().maxSubscriptionsPerConnection();
        this.askTimeout = settings.api().askTimeout();
        this.presence = settings.topics().presence();
        this.codec = codec;
        this.hooks = hooks;
        this.identity = identity;
        this.refuse = refuse;
    }

    /** Queues a request's topics, with the positions to resume them from; {@link #next} works through them. */
    void request(String id, List<String> names, Map<String, Position> positions) {
        requestId = id;
        since = positions;
        pending.addAll(names);
    }

    /**
     * Asks the next pending topic that passes the checks (name, permission, per-connection limit) for
     * its snapshot, refusing the ones that do not; true when the request is done.
     */
    boolean next(Principal principal) {
        Permissions permissions = principal.permissions();
        while (!pending.isEmpty()) {
            String topic = pending.poll();
            boolean presenceTopic = TopicNames.isPresence(topic);
            if (presenceTopic && !presence.keptFor(TopicNames.underlying(topic))) {
                refuse.accept(new InvalidFrameException(ErrorCode.INVALID_TOPIC, requestId, topic,
                        "no presence is kept for " + TopicNames.underlying(topic) + " (herald.presence.topics)"));
            } else if (!presenceTopic && !TopicNames.isValid(topic)) {
                refuse.accept(new InvalidFrameException(ErrorCode.INVALID_TOPIC, requestId, topic,
                        "a topic name is 1 to 200 characters of A-Z a-z 0-9 _ . : @ / -"));
            } else if (!permissions.canSubscribe(presenceTopic ? TopicNames.underlying(topic) : topic)) {
                refuse.accept(new InvalidFrameException(ErrorCode.FORBIDDEN, requestId, topic,
                        "subscribing to this topic is not allowed"));
            } else if (!held.containsKey(topic) && held.size() >= maxPerConnection) {
                refuse.accept(new InvalidFrameException(ErrorCode.TOO_MANY_TOPICS, requestId, topic,
                        "this connection is subscribed to the most topics allowed (" + maxPerConnection + ")"));
            } else {
                Members.Announced member = presence.keptFor(topic) ? new Members.Announced(identity.sessionId(),
                        codec.encode(new PresenceMember(principal.user(), principal.info(), System.currentTimeMillis()))) : null;
                if (hooks.asksSubscribe(topic)) {
                    decidingTopic = topic;
                    decidingMember = member;
                    context.pipeToSelf(hooks.subscribe(new Hook.Subscribe(identity.sessionId(), principal.user(),
                                    identity.remoteAddress(), topic)),
                            (verdict, failed) -> new SubscribeDecided(topic, Hooks.orUnavailable(verdict, failed)));
                } else {
                    ask(topic, member);
                }
                return false;
            }
        }
        requestId = null;
        since = Map.of();
        return true;
    }

    private void ask(String topic, Members.Announced member) {
        awaitedTopic = topic;
        awaited = new Subscription(self, outbound);
        awaitedMember = member;
        topics.tell(topic, new Topic.Subscribe(awaited, requestId, since.get(topic), member));
        timers.startSingleTimer(SubscribeTimedOut.INSTANCE, askTimeout);
    }

    /**
     * The subscribe hook decided: an allowed topic is asked for its snapshot; a refused one is
     * answered forbidden, an undecided one unavailable. True when the request goes on to its next topic.
     */
    boolean onDecided(SubscribeDecided decided) {
        if (!decided.topic().equals(decidingTopic)) {
            return false;
        }
        String topic = decidingTopic;
        decidingTopic = null;
        if (decided.verdict() instanceof Hooks.Allowed) {
            ask(topic, decidingMember);
            return false;
        }
        if (decided.verdict() instanceof Hooks.Refused refused) {
            refuse.accept(new InvalidFrameException(ErrorCode.FORBIDDEN, requestId, topic,
                    refused.message() == null ? "refused by the subscribe hook" : refused.message()));
        } else {
            String why = ((Hooks.Unavailable) decided.verdict()).message();
            Session.LOG.warn("Subscribe hook unavailable for session [{}] topic [{}]: {}", identity.sessionId(), topic, why);
            refuse.accept(new InvalidFrameException(ErrorCode.UNAVAILABLE, requestId, topic, "the subscribe hook did not decide: " + why));
        }
        return true;
    }

    /** A topic's snapshot is in the buffer; true when it answered the awaited step, so the request goes on. */
    boolean onSubscribed(Topic.Subscribed subscribed) {
        String topic = subscribed.topic();
        if (topic.equals(awaitedTopic)) {
            awaitedTopic = null;
            timers.cancel(SubscribeTimedOut.INSTANCE);
            hold(topic, subscribed.topicRef(), awaited, awaitedMember);
            return true;
        }
        Held fresh = resubscribing.remove(topic);
        if (fresh != null) {
            hold(topic, subscribed.topicRef(), fresh.subscription(), fresh.member());
        }
        return false;
    }

    /** The hub could not take the awaited subscribe; true when it was the awaited one, so the request goes on. */
    boolean onRefused(Topic.Refused refused) {
        if (refused.toSubscribe() && refused.topic().equals(awaitedTopic)) {
            awaitedTopic = null;
            awaited.end();
            timers.cancel(SubscribeTimedOut.INSTANCE);
            return true;
        }
        return false;
    }

    /** The error for a topic that did not answer in time, or null when none was awaited; the request then goes on. */
    ServerFrame.Error onTimedOut() {
        if (awaitedTopic == null) {
            return null;
        }
        Session.LOG.warn("Topic [{}] did not answer a subscribe within {}; the client gets an error", awaitedTopic, askTimeout);
        ServerFrame.Error error = new ServerFrame.Error(requestId, awaitedTopic, ErrorCode.INTERNAL, "the topic did not answer in time");
        awaited.end();
        awaitedTopic = null;
        return error;
    }

    /** A subscribe again replaces the topic's handle; the old one is ended. */
    private void hold(String topic, ActorRef<Topic.Command> ref, Subscription subscription, Members.Announced member) {
        Held previous = held.put(topic, new Held(ref, subscription, member));
        if (previous != null && previous.subscription() != subscription) {
            previous.subscription().end();
        }
        if (previous == null || !ref.equals(previous.topic())) {
            context.watchWith(ref, new TopicTerminated(topic, ref));
        }
    }

    /** A topic's actor stopped under a live subscription: subscribe again, so the client gets a fresh snapshot. */
    void onTopicTerminated(TopicTerminated terminated) {
        Held current = held.get(terminated.topic());
        if (current != null && terminated.ref().equals(current.topic())) {
            held.remove(terminated.topic());
            current.subscription().end();
            Subscription fresh = new Subscription(self, outbound);
            resubscribing.put(terminated.topic(), new Held(null, fresh, current.member()));
            topics.tell(terminated.topic(), new Topic.Subscribe(fresh, null, null, current.member()));
        }
    }

    /**
     * Ends the subscription to a topic, if there is one. When this returns no frame of the topic can
     * enter the buffer any more (see {@link Subscription#end}), so the session's answer is the last word.
     */
    void leave(String topic) {
        Held gone = held.remove(topic);
        if (gone != null) {
            gone.subscription().end();
            context.unwatch(gone.topic());
            gone.topic().tell(new Topic.Unsubscribe(self));
        }
        Held waiting = resubscribing.remove(topic);
        if (waiting != null) {
            waiting.subscription().end();
        }
    }

    boolean holds(String topic) {
        return held.containsKey(topic) || resubscribing.containsKey(topic);
    }

    /** The topics held, by name. */
    List<String> topics() {
        return held.keySet().stream().sorted().toList();
    }

    /** The topics held that these permissions no longer allow (a presence topic goes with its topic). */
    List<String> notAllowedBy(Permissions permissions) {
        return held.keySet().stream()
                .filter(topic -> !permissions.canSubscribe(TopicNames.isPresence(topic) ? TopicNames.underlying(topic) : topic))
                .sorted().toList();
    }

    /** Ends every subscription and drops the request being worked through: the connection is closing. */
    void leaveAll() {
        held.forEach((topic, h) -> {
            h.subscription().end();
            h.topic().tell(new Topic.Unsubscribe(self));
        });
        held.clear();
        pending.clear();
        since = Map.of();
        decidingTopic = null;
        resubscribing.values().forEach(waiting -> waiting.subscription().end());
        resubscribing.clear();
        if (awaited != null) {
            awaited.end();
        }
    }
}
