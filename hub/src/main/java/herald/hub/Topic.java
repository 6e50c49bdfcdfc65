package herald.hub;

import herald.protocol.ApiBody;
import herald.protocol.Change;
import herald.protocol.Entry;
import herald.protocol.ErrorCode;
import herald.protocol.FrameCodec;
import herald.protocol.Op;
import herald.protocol.ServerFrame;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;

/**
 * One topic: its entries in seq order, its seq and epoch, and its subscribers. Every change is
 * applied here, numbered, encoded to JSON once and the same frame sent to every subscriber.
 *
 * <p>A topic with neither entries nor subscribers asks its registry to stop it, so an unused topic
 * costs nothing; the next start is a new history with a new epoch.
 */
public final class Topic extends AbstractBehavior<Topic.Command> {

    public sealed interface Command {
    }

    /**
     * Subscribes (again: a fresh snapshot). The topic writes the snapshot into the subscription's
     * outbound buffer, then every event after it, and answers the session with {@link Subscribed}.
     */
    public record Subscribe(Subscription subscription, String requestId) implements Command {
    }

    /** Idempotent: unsubscribing a stranger does nothing. */
    public record Unsubscribe(ActorRef<Notice> subscriber) implements Command {
    }

    /** {@code receivedNanos}: when the change entered Herald ({@link System#nanoTime}), for the latency meter. */
    public record Publish(Change change, String requestId, long receivedNanos, ActorRef<PublishOutcome> replyTo)
            implements Command {
    }

    /** The current state, for the HTTP API. */
    public record GetState(ActorRef<ApiBody.TopicState> replyTo) implements Command {
    }

    /** From the registry after {@link TopicRegistry.Idle}: stop if still idle. */
    enum Stop implements Command {
        INSTANCE
    }

    private record SubscriberTerminated(ActorRef<Notice> subscriber) implements Command {
    }

    /** What a topic sends to its subscribers; the same object goes to each of them. */
    public sealed interface Notice extends Session.Command {
        String topic();
    }

    /** The snapshot is in the session's outbound buffer; here is the topic's ref, for watching it. */
    public record Subscribed(String topic, String requestId, ActorRef<Command> topicRef) implements Notice {
    }

    /** The subscriber's outbound buffer overflowed while the topic wrote to it: the session is too slow. */
    public record Overflowed(String topic) implements Notice {
    }

    /** The answer to a {@link Publish}. */
    public sealed interface PublishOutcome extends Notice {
    }

    public record Published(String topic, long seq, String requestId) implements PublishOutcome {
    }

    /**
     * A subscribe or publish the hub could not take (the topic could not be started), answered
     * instead of {@link Subscribed} or {@link Published}.
     */
    public record Refused(String topic, String requestId, boolean toSubscribe, ErrorCode code, String message)
            implements PublishOutcome {
    }

    static Behavior<Command> create(String name, int maxEntries, FrameCodec codec, HubMetrics metrics,
                                    TopicStats stats, ActorRef<TopicRegistry.Command> registry) {
        return Behaviors.setup(context -> new Topic(context, name, maxEntries, codec, metrics, stats, registry));
    }

    private final String name;
    private final String epoch;
    private final int maxEntries;
    private final FrameCodec codec;
    private final HubMetrics metrics;
    private final TopicStats stats;
    private final ActorRef<TopicRegistry.Command> registry;
    /** Insertion order is seq order: a key that changes is removed and put back at the end. */
    private final LinkedHashMap<String, Entry> entries = new LinkedHashMap<>();
    /** Insertion-ordered for stable iteration; keyed by session so that a resubscribe replaces the old one. */
    private final LinkedHashMap<ActorRef<Notice>, Subscription> subscribers = new LinkedHashMap<>();
    private long seq;
    private boolean stopRequested;

    private Topic(ActorContext<Command> context, String name, int maxEntries, FrameCodec codec, HubMetrics metrics,
                  TopicStats stats, ActorRef<TopicRegistry.Command> registry) {
        super(context);
        this.name = name;
        this.maxEntries = maxEntries;
        this.codec = codec;
        this.metrics = metrics;
        this.stats = stats;
        this.registry = registry;
        this.epoch = newEpoch();
        context.getLog().debug("Topic [{}] started with epoch [{}]", name, epoch);
    }

    /** Unique across restarts of the topic and of the server: a time part and a random part. */
    static String newEpoch() {
        return Long.toString(System.currentTimeMillis(), 36) + "-"
                + Long.toString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE, 36);
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Subscribe.class, this::onSubscribe)
                .onMessage(Unsubscribe.class, this::onUnsubscribe)
                .onMessage(Publish.class, this::onPublish)
                .onMessage(GetState.class, this::onGetState)
                .onMessage(SubscriberTerminated.class, this::onSubscriberTerminated)
                .onMessageEquals(Stop.INSTANCE, this::onStop)
                .onSignal(PostStop.class, stop -> onPostStop())
                .build();
    }

    private Behavior<Command> onSubscribe(Subscribe subscribe) {
        Subscription subscription = subscribe.subscription();
        if (subscribers.put(subscription.session, subscription) == null) {
            getContext().watchWith(subscription.session, new SubscriberTerminated(subscription.session));
            metrics.subscribed();
            stats.subscribers = subscribers.size();
        }
        OutboundFrame snapshot = OutboundFrame.of(codec.encode(
                new ServerFrame.Snapshot(subscribe.requestId(), name, epoch, seq, List.copyOf(entries.values()))));
        if (deliver(subscription, snapshot)) {
            subscription.session.tell(new Subscribed(name, subscribe.requestId(), getContext().getSelf()));
        } else {
            drop(subscription.session);
        }
        return stopIfIdle();
    }

    /**
     * Writes a frame into one subscriber's buffer. False when the subscriber is gone from this topic:
     * it unsubscribed, its connection ended, or it overflowed (then its session is told, to close it).
     */
    private boolean deliver(Subscription subscription, OutboundFrame frame) {
        if (!subscription.active()) {
            return false;
        }
        Outbound.Offer offer = subscription.outbound.offer(frame);
        if (offer == Outbound.Offer.QUEUED) {
            return true;
        }
        if (offer == Outbound.Offer.OVERFLOW) {
            subscription.session.tell(new Overflowed(name));
        }
        subscription.end();
        return false;
    }

    private Behavior<Command> onUnsubscribe(Unsubscribe unsubscribe) {
        drop(unsubscribe.subscriber());
        return stopIfIdle();
    }

    private Behavior<Command> onSubscriberTerminated(SubscriberTerminated terminated) {
        drop(terminated.subscriber());
        return stopIfIdle();
    }

    private Behavior<Command> onPublish(Publish publish) {
        Change change = publish.change();
        long changeSeq = ++seq;
        switch (change.op()) {
            case SET -> {
                boolean replaced = entries.remove(change.key()) != null;
                entries.put(change.key(), new Entry(change.key(), changeSeq, change.event(), change.data()));
                broadcast(change.op(), change.key(), change.event(), change.data());
                if (!replaced) {
                    evictOverLimit();
                }
            }
            case APPEND -> {
                String key = Long.toString(changeSeq);
                entries.put(key, new Entry(key, changeSeq, change.event(), change.data()));
                broadcast(change.op(), key, change.event(), change.data());
                evictOverLimit();
            }
            case DELETE -> {
                entries.remove(change.key());
                broadcast(change.op(), change.key(), change.event(), null);
            }
            case CLEAR -> {
                entries.clear();
                broadcast(change.op(), null, change.event(), null);
            }
        }
        metrics.publishLatency.record(System.nanoTime() - publish.receivedNanos(), TimeUnit.NANOSECONDS);
        stats.seq = seq;
        stats.entries = entries.size();
        publish.replyTo().tell(new Published(name, changeSeq, publish.requestId()));
        return stopIfIdle();
    }

    /** Each eviction is a change of its own, numbered right after the one that caused it. */
    private void evictOverLimit() {
        Iterator<Entry> oldest = entries.values().iterator();
        while (entries.size() > maxEntries) {
            Entry evicted = oldest.next();
            oldest.remove();
            ++seq;
            broadcast(Op.DELETE, evicted.key(), "evicted", null);
        }
    }

    /**
     * Encodes the change at the current seq once and writes the same frame into every subscriber's
     * buffer. A subscriber that is gone (or too slow) is dropped here; its session does the rest.
     */
    private void broadcast(Op op, String key, String event, String data) {
        if (subscribers.isEmpty()) {
            return;
        }
        OutboundFrame frame = OutboundFrame.of(codec.encode(new ServerFrame.Event(name, seq, op, key, event, data)));
        Iterator<Subscription> each = subscribers.values().iterator();
        while (each.hasNext()) {
            Subscription subscription = each.next();
            if (!deliver(subscription, frame)) {
                each.remove();
                forget(subscription.session);
            }
        }
    }

    /** Removes a subscriber, if it is one. */
    private void drop(ActorRef<Notice> session) {
        if (subscribers.remove(session) != null) {
            forget(session);
        }
    }

    /** What follows a subscriber's removal: no more watching, and the counts. */
    private void forget(ActorRef<Notice> session) {
        getContext().unwatch(session);
        metrics.unsubscribed();
        stats.subscribers = subscribers.size();
    }

    /** Whatever the reason for stopping, the subscriptions it held are gone from the gauge. */
    private Behavior<Command> onPostStop() {
        subscribers.forEach((session, subscription) -> metrics.unsubscribed());
        return this;
    }

    private Behavior<Command> onGetState(GetState get) {
        get.replyTo().tell(new ApiBody.TopicState(name, epoch, seq, new ArrayList<>(entries.values())));
        return stopIfIdle();
    }

    private Behavior<Command> stopIfIdle() {
        if (isIdle() && !stopRequested) {
            stopRequested = true;
            registry.tell(new TopicRegistry.Idle(name, getContext().getSelf()));
        }
        return this;
    }

    private Behavior<Command> onStop() {
        stopRequested = false;
        if (isIdle()) {
            getContext().getLog().debug("Topic [{}] stopped: no entries and no subscribers", name);
            return Behaviors.stopped();
        }
        registry.tell(new TopicRegistry.StillActive(name));
        return this;
    }

    private boolean isIdle() {
        return subscribers.isEmpty() && entries.isEmpty();
    }
}
