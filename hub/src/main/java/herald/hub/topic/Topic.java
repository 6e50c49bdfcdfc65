package herald.hub.topic;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import herald.config.HeraldSettings.TopicLimits;
import herald.hub.ClusterMessage;
import herald.hub.HubMetrics;
import herald.hub.presence.Members;
import herald.hub.session.Outbound;
import herald.hub.session.OutboundFrame;
import herald.hub.session.Session;
import herald.hub.session.Subscription;
import herald.protocol.ApiBody;
import herald.protocol.Change;
import herald.protocol.ErrorCode;
import herald.protocol.FrameCodec;
import herald.protocol.Position;
import herald.protocol.ServerFrame;
import herald.protocol.TopicNames;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
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
import org.apache.pekko.util.ByteString;

/**
 * One topic's <em>relay</em> on this node: it holds this node's subscribers and a replica of the
 * topic's state, and fans every change out to them. Each change is encoded to JSON once and the same
 * frame written into every subscriber's buffer.
 *
 * <p>The relay numbers nothing: it joins the topic's owner ({@link Owners}: in memory, sharded or
 * durable), receives its state and then each numbered change once for the whole node. When the
 * owner is lost it joins the owner's successor, whose new epoch reaches every subscriber as an
 * unasked snapshot. Publishes and state queries go to the owner, never through the relay.
 *
 * <p>A relay without subscribers asks its registry to stop it: the owner keeps the state.
 */
public final class Topic extends AbstractBehavior<Topic.Command> {

    public sealed interface Command {
    }

    /**
     * Subscribes (again: a fresh snapshot). The topic writes the snapshot into the subscription's
     * outbound buffer, then every event after it, and answers the session with {@link Subscribed}.
     * With {@code since}, the position the client holds, the snapshot is a delta when it can be.
     * {@code member}: the connection's entry in the topic's presence topic, null when it has none.
     */
    public record Subscribe(Subscription subscription, String requestId, Position since, Members.Announced member)
            implements Command {
    }

    /** Idempotent: unsubscribing a stranger does nothing. */
    public record Unsubscribe(ActorRef<Notice> subscriber) implements Command {
    }

    /**
     * A change, routed by the registry to the topic's owner, never to a relay. {@code receivedNanos}:
     * when it entered Herald ({@link System#nanoTime}), for the latency meter.
     */
    public record Publish(Change change, String requestId, long receivedNanos, ActorRef<PublishOutcome> replyTo)
            implements Command {
    }

    /**
     * An HTTP request's changes to this topic, in the request's order, routed to the owner as one
     * message and answered with one {@link Outcomes}: a batch of a hundred changes is one journal
     * write of a durable topic, not one write for the first and one for the rest.
     */
    public record PublishAll(List<Change> changes, long receivedNanos, ActorRef<Outcomes> replyTo) implements Command {
    }

    /** The answer to a {@link PublishAll}: one outcome per change, in order. */
    public record Outcomes(List<PublishOutcome> outcomes) implements ClusterMessage {
    }

    /** The current state for the HTTP API, from the owner, as a delta from {@code since} when it can be (null: whole). */
    public record GetState(Position since, ActorRef<ApiBody.TopicState> replyTo) implements Command {
    }

    /** From the owner, to a relay that joined it: the whole state, after which {@link Replicated} follow. */
    public record Synced(ActorRef<TopicOwner.Command> owner, String epoch, long seq, List<TopicData.Item> entries,
                         TopicData.History history) implements Command, ClusterMessage {
    }

    /** From the owner: the steps of one change, or of one journal write, in seq order, sent once to each node's relay. */
    public record Replicated(String epoch, List<TopicData.Step> steps) implements Command, ClusterMessage {
    }

    private record OwnerLost(ActorRef<TopicOwner.Command> owner) implements Command {
    }

    /** From the owner of the topic's presence topic: it holds this relay's members (watched, to announce them again if it is lost). */
    public record MembersHeld(ActorRef<TopicOwner.Command> owner) implements Command, ClusterMessage {
    }

    private record PresenceOwnerLost(ActorRef<TopicOwner.Command> owner) implements Command {
    }

    /**
     * Members were announced and no presence owner has said it holds them yet: announce them all
     * again. A message to a sharded owner can be lost while the cluster moves it (its node was just
     * lost), as a join can; {@link TopicOwner.MembersOf} is idempotent.
     */
    private enum RetryMembers implements Command {
        INSTANCE
    }

    /**
     * The owner cannot serve now (a durable topic whose database is unreachable, or no more topics
     * may start): waiting subscribes are refused with {@code code}.
     */
    public record OwnerUnavailable(ErrorCode code, String message) implements Command {
    }

    /** A join can be lost while the cluster moves the owner (sent to a node being removed): ask again. */
    private enum RetryJoin implements Command {
        INSTANCE
    }

    private static final Duration JOIN_RETRY = Duration.ofSeconds(2);

    /** Drops the encoded whole snapshot ({@link #whole}). */
    private enum ForgetSnapshot implements Command {
        INSTANCE
    }

    /** Long enough for a reconnect storm's subscribes to share one encoding, short enough not to matter as memory. */
    private static final Duration SNAPSHOT_KEPT = Duration.ofSeconds(1);

    /** A whole snapshot and its bytes after {@link FrameCodec#SNAPSHOT_START}, where a request id goes. */
    private record WholeSnapshot(String epoch, long seq, OutboundFrame unasked, ByteString afterStart) {
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

    /** The answer to a {@link Publish}; named in JSON, so that a list of them ({@link Outcomes}) crosses nodes. */
    @JsonTypeInfo(use = JsonTypeInfo.Id.NAME)
    @JsonSubTypes({@JsonSubTypes.Type(value = Published.class, name = "published"),
            @JsonSubTypes.Type(value = Conflicted.class, name = "conflicted"),
            @JsonSubTypes.Type(value = Refused.class, name = "refused")})
    public sealed interface PublishOutcome extends Notice {
    }

    /**
     * {@code duplicate}: the change's idem had been applied already, at {@code seq}; nothing was
     * applied now. {@code receivedNanos} is the publish's, handed back for the latency meter.
     */
    public record Published(String topic, long seq, String requestId, boolean duplicate, long receivedNanos)
            implements PublishOutcome, ClusterMessage {
    }

    /** A conditional change refused: the key's current version is not the one the change named. */
    public record Conflicted(String topic, String key, long version, String requestId)
            implements PublishOutcome, ClusterMessage {
    }

    /**
     * A subscribe or publish the hub could not take (the topic could not be started), answered
     * instead of {@link Subscribed} or {@link Published}.
     */
    public record Refused(String topic, String requestId, boolean toSubscribe, ErrorCode code, String message)
            implements PublishOutcome, ClusterMessage {
    }

    static Behavior<Command> create(String name, TopicLimits limits, FrameCodec codec, HubMetrics metrics,
                                    TopicStats stats, ActorRef<TopicRegistry.Command> registry, Owners owners) {
        return Behaviors.withTimers(timers -> Behaviors.setup(
                context -> new Topic(context, timers, name, limits, codec, metrics, stats, registry, owners)));
    }

    private final String name;
    private final TopicLimits limits;
    private final FrameCodec codec;
    private final HubMetrics metrics;
    private final TopicStats stats;
    private final ActorRef<TopicRegistry.Command> registry;
    private final Owners owners;
    private final TimerScheduler<Command> timers;
    /** Insertion-ordered for stable iteration; keyed by session so that a resubscribe replaces the old one. */
    private final LinkedHashMap<ActorRef<Notice>, Subscription> subscribers = new LinkedHashMap<>();
    /** The subscribers that are members of the topic's presence topic, with their entries. */
    private final Map<ActorRef<Notice>, Members.Announced> members = new HashMap<>();
    /** The owner of the presence topic holding this relay's members, watched; null before it answered. */
    private ActorRef<TopicOwner.Command> presenceOwner;
    /** Subscribes that arrived before the owner's state; null once synced. */
    private List<Subscribe> waiting;
    private TopicData data;
    /**
     * The whole state at one seq, encoded once without a request id: every subscriber that asks
     * before it changes gets those bytes behind its own id. A reconnect storm of 10,000 clients is
     * then one encoding of a large topic instead of 10,000 (each of which the topic made alone, in
     * turn). Forgotten {@link #SNAPSHOT_KEPT} after it was made, so that a quiet topic does not hold
     * its state twice; null until asked.
     */
    private WholeSnapshot whole;
    /** Set when the owner said it cannot serve before this relay ever had a state: why subscribes are refused. */
    private OwnerUnavailable unavailable;
    private ActorRef<TopicOwner.Command> owner;
    private boolean stopRequested;

    private Topic(ActorContext<Command> context, TimerScheduler<Command> timers, String name, TopicLimits limits,
                  FrameCodec codec, HubMetrics metrics, TopicStats stats, ActorRef<TopicRegistry.Command> registry,
                  Owners owners) {
        super(context);
        this.timers = timers;
        this.name = name;
        this.limits = limits;
        this.codec = codec;
        this.metrics = metrics;
        this.stats = stats;
        this.registry = registry;
        this.owners = owners;
        join();
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Subscribe.class, this::onSubscribe)
                .onMessage(Unsubscribe.class, this::onUnsubscribe)
                .onMessage(Synced.class, this::onSynced)
                .onMessage(Replicated.class, this::onReplicated)
                .onMessage(OwnerLost.class, this::onOwnerLost)
                .onMessage(OwnerUnavailable.class, this::onOwnerUnavailable)
                .onMessageEquals(RetryJoin.INSTANCE, () -> {
                    if (waiting != null) {
                        join();
                    }
                    return this;
                })
                .onMessage(SubscriberTerminated.class, this::onSubscriberTerminated)
                .onMessage(MembersHeld.class, this::onMembersHeld)
                .onMessage(PresenceOwnerLost.class, this::onPresenceOwnerLost)
                .onMessageEquals(RetryMembers.INSTANCE, this::announceMembers)
                .onMessageEquals(ForgetSnapshot.INSTANCE, () -> {
                    whole = null;
                    return this;
                })
                .onMessageEquals(Stop.INSTANCE, this::onStop)
                .onSignal(PostStop.class, stop -> onPostStop())
                .build();
    }

    private Behavior<Command> onSubscribe(Subscribe subscribe) {
        if (unavailable != null) {
            subscribe.subscription().session.tell(
                    new Refused(name, subscribe.requestId(), true, unavailable.code(), unavailable.message()));
            return stopIfIdle();
        }
        if (waiting != null) {
            waiting.add(subscribe);
            return this;
        }
        Subscription subscription = subscribe.subscription();
        if (subscribers.put(subscription.session, subscription) == null) {
            getContext().watchWith(subscription.session, new SubscriberTerminated(subscription.session));
            metrics.subscribed();
            stats.subscribers = subscribers.size();
            Members.Announced member = subscribe.member();
            if (member != null) {
                members.put(subscription.session, member);
                toPresence(new TopicOwner.MemberJoined(getContext().getSelf(), member.session(), member.data()));
                if (presenceOwner == null) {
                    timers.startSingleTimer(RetryMembers.INSTANCE, JOIN_RETRY);
                }
            }
        }
        if (deliver(subscription, snapshot(subscribe.requestId(), subscribe.since()))) {
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
        Outbound.Offer offer = subscription.offer(frame);
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

    /** A relay's first state, or a fresh one after a gap or the owner's loss. */
    private Behavior<Command> onSynced(Synced synced) {
        if (waiting == null) {
            // An answer to a join already answered (a retried one): the changes since came in order.
            return this;
        }
        timers.cancel(RetryJoin.INSTANCE);
        // A durable owner that moved or restarted comes back with the same history: when nothing
        // changed meanwhile, the subscribers hold its state already and are sent nothing.
        boolean resynced = data != null && !(data.epoch.equals(synced.epoch()) && data.seq() == synced.seq());
        data = new TopicData(synced.epoch(), limits, synced.seq(), synced.entries(), synced.history());
        if (!synced.owner().equals(owner)) {
            if (owner != null) {
                getContext().unwatch(owner);
            }
            owner = synced.owner();
            getContext().watchWith(owner, new OwnerLost(owner));
        }
        if (resynced) {
            getContext().getLog().debug("Topic [{}] resynced from its owner: epoch [{}] seq [{}]", name, data.epoch, data.seq());
            writeToAll(snapshot(null, null));
        }
        stats.count(data);
        List<Subscribe> early = waiting;
        waiting = null;
        early.forEach(this::onSubscribe);
        return stopIfIdle();
    }

    private Behavior<Command> onReplicated(Replicated replicated) {
        if (waiting != null) {
            return this;
        }
        if (!replicated.epoch().equals(data.epoch) || replicated.steps().get(0).seq() != data.seq() + 1) {
            getContext().getLog().warn("Topic [{}] missed changes from its owner (at seq [{}], got [{}] of epoch [{}]); resyncing",
                    name, data.seq(), replicated.steps().get(0).seq(), replicated.epoch());
            join();
            return this;
        }
        for (TopicData.Step step : replicated.steps()) {
            data.replay(step);
            broadcast(step);
        }
        stats.count(data);
        return this;
    }

    private Behavior<Command> onOwnerLost(OwnerLost lost) {
        if (lost.owner().equals(owner)) {
            getContext().getLog().debug("Topic [{}] lost its owner [{}]; joining its successor", name, owner.path().address());
            owner = null;
            join();
        }
        return this;
    }

    /**
     * Refuses the subscribes that wait for the owner. A relay that never had a state stops (nothing
     * to keep); one that had goes on asking, for its subscribers.
     */
    private Behavior<Command> onOwnerUnavailable(OwnerUnavailable unavailable) {
        if (waiting == null) {
            return this;
        }
        for (Subscribe subscribe : waiting) {
            subscribe.subscription().session.tell(
                    new Refused(name, subscribe.requestId(), true, unavailable.code(), unavailable.message()));
        }
        waiting.clear();
        if (data == null) {
            // Never had a state: it refuses what comes until it stops, and the next one asks again.
            this.unavailable = unavailable;
            waiting = null;
            timers.cancel(RetryJoin.INSTANCE);
        }
        return stopIfIdle();
    }

    /** Asks the owner (wherever sharding has it, or starts it) for its state; events wait until it comes. */
    private void join() {
        if (waiting == null) {
            waiting = new ArrayList<>();
        }
        owners.join(name, getContext().getSelf());
        timers.startSingleTimer(RetryJoin.INSTANCE, JOIN_RETRY);
    }

    /**
     * The answer to a subscribe: a delta from the client's position when the topic can give one,
     * else the whole state; unasked ({@code requestId} null) after a resync, always whole.
     */
    private OutboundFrame snapshot(String requestId, Position since) {
        TopicData.Delta delta = since == null ? null : data.deltaSince(since);
        if (since != null) {
            metrics.resumed(delta != null);
        }
        if (delta != null) {
            return OutboundFrame.of(codec.encode(
                    new ServerFrame.Snapshot(requestId, name, data.epoch, data.seq(), delta.since(), delta.entries(), delta.deleted())));
        }
        if (whole == null || whole.seq() != data.seq() || !whole.epoch().equals(data.epoch)) {
            OutboundFrame unasked = OutboundFrame.of(codec.encode(new ServerFrame.Snapshot(null, name, data.epoch, data.seq(), data.entries())));
            whole = new WholeSnapshot(data.epoch, data.seq(), unasked, unasked.utf8().drop(FrameCodec.SNAPSHOT_START.length()));
            timers.startSingleTimer(ForgetSnapshot.INSTANCE, SNAPSHOT_KEPT);
        }
        return requestId == null ? whole.unasked()
                : OutboundFrame.sharing(FrameCodec.SNAPSHOT_START + codec.snapshotIdField(requestId), whole.afterStart());
    }

    /** Encodes one step once, for every subscriber. */
    private void broadcast(TopicData.Step step) {
        if (!subscribers.isEmpty()) {
            writeToAll(OutboundFrame.of(codec.encode(
                    new ServerFrame.Event(name, step.seq(), step.op(), step.key(), step.event(), step.data()))));
        }
    }

    /**
     * Writes the same frame into every subscriber's buffer. A subscriber that is gone (or too slow)
     * is dropped here; its session does the rest.
     */
    private void writeToAll(OutboundFrame frame) {
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

    /** What follows a subscriber's removal: no more watching, the counts, and its leaving the presence topic. */
    private void forget(ActorRef<Notice> session) {
        getContext().unwatch(session);
        metrics.unsubscribed();
        stats.subscribers = subscribers.size();
        Members.Announced member = members.remove(session);
        if (member != null) {
            toPresence(new TopicOwner.MemberLeft(getContext().getSelf(), member.session()));
        }
    }

    private Behavior<Command> onMembersHeld(MembersHeld held) {
        timers.cancel(RetryMembers.INSTANCE);
        if (!held.owner().equals(presenceOwner)) {
            if (presenceOwner != null) {
                getContext().unwatch(presenceOwner);
            }
            presenceOwner = held.owner();
            getContext().watchWith(presenceOwner, new PresenceOwnerLost(presenceOwner));
        }
        return this;
    }

    /** The presence topic's owner is gone (its node was lost, or it stopped): its next one hears of every member again. */
    private Behavior<Command> onPresenceOwnerLost(PresenceOwnerLost lost) {
        if (lost.owner().equals(presenceOwner)) {
            presenceOwner = null;
            getContext().getLog().debug("Topic [{}] lost its presence owner; announcing {} members again", name, members.size());
            announceMembers();
        }
        return this;
    }

    private void toPresence(TopicOwner.MemberCommand command) {
        owners.presence(TopicNames.presenceOf(name), command);
    }

    /** Every member, to whichever owner the presence topic has now, until one says it holds them. */
    private Behavior<Command> announceMembers() {
        if (presenceOwner == null && !members.isEmpty()) {
            toPresence(new TopicOwner.MembersOf(getContext().getSelf(), List.copyOf(members.values())));
            timers.startSingleTimer(RetryMembers.INSTANCE, JOIN_RETRY);
        }
        return this;
    }

    /** Whatever the reason for stopping, the subscriptions it held are gone from the gauge. */
    private Behavior<Command> onPostStop() {
        subscribers.forEach((session, subscription) -> metrics.unsubscribed());
        members.values().forEach(member -> toPresence(new TopicOwner.MemberLeft(getContext().getSelf(), member.session())));
        if (owner != null) {
            owner.tell(new TopicOwner.Leave(getContext().getSelf()));
        }
        return this;
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

    /** A relay keeps nothing the owner does not, so it is idle without subscribers. */
    private boolean isIdle() {
        return subscribers.isEmpty() && waiting == null;
    }
}
