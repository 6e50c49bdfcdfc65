package herald.hub.topic;

import herald.config.HeraldSettings.TopicLimits;
import herald.hub.ClusterMessage;
import herald.hub.HubMetrics;
import herald.hub.presence.Members;
import herald.protocol.ApiBody;
import herald.protocol.Change;
import herald.protocol.ErrorCode;
import herald.protocol.Op;
import herald.protocol.Position;
import herald.protocol.TopicNames;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;

/**
 * The owner of an in-memory topic: the one place where its changes are applied and numbered. It
 * keeps the entries and sends each numbered change once to every node's relay ({@link Topic}), which
 * fans it out to that node's subscribers. {@link DurableTopicOwner} is the journaled form; both speak
 * these commands, so that relays and registries need not know which they talk to.
 *
 * <p>On one node, {@link LocalOwners} runs it; in a cluster it is a Cluster Sharding entity, so
 * exactly one node runs it ({@link TopicOwners}). Its state lives in memory only: when it stops, or
 * its node is lost, the next one starts empty with a new epoch; the relays rejoin it and push that
 * state to their subscribers as an unasked snapshot, so no client goes on believing the lost state.
 */
public final class TopicOwner extends AbstractBehavior<TopicOwner.Command> {

    public static final EntityTypeKey<Command> KEY = EntityTypeKey.create(Command.class, "herald-topic");

    public sealed interface Command extends ClusterMessage {
    }

    /** A node's relay asks for the state and every change after it. */
    public record Join(ActorRef<Topic.Command> relay) implements Command {
    }

    public record Leave(ActorRef<Topic.Command> relay) implements Command {
    }

    /**
     * Changes to apply in order, and how their publisher is answered: one {@link Apply} from a
     * socket, or an {@link ApplyAll} of an HTTP request's changes to this topic, answered together.
     */
    public sealed interface Changes extends Command {
        List<Apply> applies();

        /** One outcome per change, in order. */
        void answer(List<Topic.PublishOutcome> outcomes);

        /**
         * Applies and numbers the changes on {@code data} in order, each seeing the ones before it:
         * the one rule for every form of owner. {@code applied} hears each change that was applied,
         * with its steps; the result is one answer per change.
         */
        default List<Topic.PublishOutcome> applyTo(TopicData data, String topic, long nowMillis,
                                                   BiConsumer<Apply, List<TopicData.Step>> applied) {
            List<Topic.PublishOutcome> outcomes = new ArrayList<>(applies().size());
            for (Apply apply : applies()) {
                TopicData.Outcome outcome = data.apply(apply.change(topic), nowMillis);
                if (outcome instanceof TopicData.Applied done) {
                    applied.accept(apply, done.steps());
                }
                outcomes.add(apply.outcome(topic, outcome));
            }
            return outcomes;
        }

        /** None of the changes can be applied now: each is answered with the same refusal. */
        default void refuse(String topic, ErrorCode code, String message) {
            List<Topic.PublishOutcome> refusals = new ArrayList<>(applies().size());
            for (Apply apply : applies()) {
                refusals.add(new Topic.Refused(topic, apply.requestId(), false, code, message));
            }
            answer(refusals);
        }
    }

    /**
     * One change to number and apply; {@code replyTo} gets {@link Topic.Published}. The change's
     * fields rather than a {@link Change}, whose data Jackson writes as raw JSON for clients.
     * {@code receivedNanos} is the publisher's node's clock, only handed back in the answer.
     * Within an {@link ApplyAll} its {@code replyTo} is null: the whole is answered at once.
     */
    public record Apply(Op op, String key, String event, String data, Long ifVersion, String idem, String requestId,
                        long receivedNanos, ActorRef<Topic.PublishOutcome> replyTo) implements Changes {
        public static Apply of(Topic.Publish publish) {
            return of(publish.change(), publish.requestId(), publish.receivedNanos(), publish.replyTo());
        }

        static Apply of(Change change, String requestId, long receivedNanos, ActorRef<Topic.PublishOutcome> replyTo) {
            return new Apply(change.op(), change.key(), change.event(), change.data(), change.ifVersion(), change.idem(),
                    requestId, receivedNanos, replyTo);
        }

        @Override
        public List<Apply> applies() {
            return List.of(this);
        }

        @Override
        public void answer(List<Topic.PublishOutcome> outcomes) {
            replyTo.tell(outcomes.get(0));
        }

        /** The answer to this change's publisher, the same from every form of owner. */
        public Topic.PublishOutcome outcome(String topic, TopicData.Outcome outcome) {
            if (outcome instanceof TopicData.Applied applied) {
                return new Topic.Published(topic, applied.steps().get(0).seq(), requestId, false, receivedNanos);
            }
            if (outcome instanceof TopicData.Duplicate duplicate) {
                return new Topic.Published(topic, duplicate.seq(), requestId, true, receivedNanos);
            }
            return new Topic.Conflicted(topic, key, ((TopicData.Conflict) outcome).version(), requestId);
        }

        public Change change(String topic) {
            return new Change(topic, op, key, event, data, ifVersion, idem);
        }
    }

    /** An HTTP request's changes to this topic, in order; {@code replyTo} gets one {@link Topic.Outcomes} for all. */
    public record ApplyAll(List<Apply> applies, ActorRef<Topic.Outcomes> replyTo) implements Changes {
        public static ApplyAll of(Topic.PublishAll publish) {
            List<Apply> applies = new ArrayList<>(publish.changes().size());
            for (Change change : publish.changes()) {
                applies.add(Apply.of(change, null, publish.receivedNanos(), null));
            }
            return new ApplyAll(applies, publish.replyTo());
        }

        @Override
        public void answer(List<Topic.PublishOutcome> outcomes) {
            replyTo.tell(new Topic.Outcomes(outcomes));
        }
    }

    /** The state for the HTTP API, a delta from {@code since} when it can be (null: whole). */
    public record GetState(Position since, ActorRef<State> replyTo) implements Command {
    }

    /** The answer to {@link GetState}; {@code node} is the owner's address; {@code since} and {@code deleted} for a delta. */
    public record State(String node, String epoch, long seq, Long since, List<TopicData.Item> entries, List<String> deleted)
            implements ClusterMessage {
        /** The answer for the HTTP API's shape, a delta when {@code since} allows one. */
        public static State of(TopicData data, Position since, String node) {
            TopicData.Delta delta = since == null ? null : data.deltaSince(since);
            return delta == null
                    ? new State(node, data.epoch, data.seq(), null, data.items(), null)
                    : new State(node, data.epoch, data.seq(), delta.since(),
                            delta.entries().stream().map(TopicData.Item::of).toList(), delta.deleted());
        }

        /** In the HTTP API's shape; {@code node} as the answer should name it (null on a single node). */
        public ApiBody.TopicState toApi(String topic, String node) {
            return new ApiBody.TopicState(topic, epoch, seq, since, entries.stream().map(TopicData.Item::toEntry).toList(),
                    deleted, node);
        }
    }

    /** A relay's node or actor is gone (an owner watches its relays with this). */
    public record RelayTerminated(ActorRef<Topic.Command> relay) implements Command {
    }

    /**
     * What a topic's relay tells the owner of the topic's presence topic (PROTOCOL.md 9.4) about the
     * connections it holds; the relay is the {@code holder}, watched, whose loss removes its members.
     */
    public sealed interface MemberCommand extends Command {
        ActorRef<Topic.Command> holder();
    }

    /** A connection subscribed on the holder's node; {@code data} is its entry's JSON. */
    public record MemberJoined(ActorRef<Topic.Command> holder, String session, String data) implements MemberCommand {
    }

    public record MemberLeft(ActorRef<Topic.Command> holder, String session) implements MemberCommand {
    }

    /** Every member the holder has, announced again to an owner that is new. */
    public record MembersOf(ActorRef<Topic.Command> holder, List<Members.Announced> members) implements MemberCommand {
    }

    private record HolderTerminated(ActorRef<Topic.Command> holder) implements Command {
    }

    /** Sharding's stop message when it hands the entity off or after passivation. */
    public enum Stop implements Command {
        INSTANCE
    }

    /** From a durable topic's owner to its journal: changes to journal together, in one write. */
    public record WriteBatch(List<Changes> changes) implements Command {
    }

    /** From a durable topic's journal to its owner: what it holds cannot be read (a corrupted or foreign row). */
    public record JournalUnreadable(String reason) implements Command {
    }

    /** From a durable topic's journal to its owner: it holds its state (recovered) and takes writes. */
    public enum JournalReady implements Command {
        INSTANCE
    }

    /** From a durable topic's journal to its owner: a write or recovery failed; it tries again after a backoff. */
    public enum JournalFailed implements Command {
        INSTANCE
    }

    /** From a durable topic's owner to itself: the changes that came meanwhile are in; write them. */
    public enum WriteWaiting implements Command {
        INSTANCE
    }

    /** From a durable topic's journal to its owner: the batch is written (or failed) and answered. */
    public enum BatchWritten implements Command {
        INSTANCE
    }

    /** Timer: nothing to keep and nobody listening for {@link #IDLE_AFTER}. */
    public enum IdleCheck implements Command {
        INSTANCE
    }

    /** How long an owner with neither entries nor relays waits before it stops. */
    public static final Duration IDLE_AFTER = Duration.ofSeconds(30);

    /**
     * How an owner with nothing to keep stops, and where what reached it meanwhile goes: through its
     * shard in a cluster ({@link TopicOwners}), through {@link LocalOwners} on one node.
     */
    public interface Passivation {
        /** The owner would stop: it is sent {@link Stop} when nothing can reach it any more. */
        void idle(ActorRef<Command> owner);

        /** A command that reached the owner after it asked to stop, for its next incarnation. */
        void resend(Command command);
    }

    /** {@code idleAfter}: {@link #IDLE_AFTER}, shorter in tests. */
    public static Behavior<Command> create(String name, TopicLimits limits, HubMetrics metrics, TopicStats stats,
                                           Passivation passivation, Occupancy occupancy, Duration idleAfter) {
        return Behaviors.withTimers(timers -> Behaviors.setup(
                context -> new TopicOwner(context, timers, name, limits, metrics, stats, passivation, occupancy, idleAfter)));
    }

    private final String name;
    private final TimerScheduler<Command> timers;
    private final HubMetrics metrics;
    /** Read by {@link LocalOwners} to list topics without asking each. */
    private final TopicStats stats;
    private final Passivation passivation;
    private final Duration idleAfter;
    private final TopicData data;
    private final Relays relays;
    /** Who is in the topic, when this is a presence topic; null for any other. */
    private final Members<ActorRef<Topic.Command>> members;
    /** Changes and joins that arrived after this owner asked to passivate; non-null while it waits for Stop. */
    private List<Command> deferred;

    private TopicOwner(ActorContext<Command> context, TimerScheduler<Command> timers, String name, TopicLimits limits,
                       HubMetrics metrics, TopicStats stats, Passivation passivation, Occupancy occupancy, Duration idleAfter) {
        super(context);
        this.name = name;
        this.timers = timers;
        this.metrics = metrics;
        this.stats = stats;
        this.passivation = passivation;
        this.idleAfter = idleAfter;
        this.relays = new Relays(name, occupancy, context);
        this.data = new TopicData(TopicData.newEpoch(), limits);
        this.members = TopicNames.isPresence(name) ? new Members<>(name, limits.maxEntries()) : null;
        metrics.topicStarted();
        context.getLog().debug("Topic [{}] owned here from now on, epoch [{}]", name, data.epoch);
        watchIdleness();
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Join.class, join -> deferred != null ? defer(join) : onJoin(join))
                .onMessage(Leave.class, leave -> forget(leave.relay()))
                .onMessage(RelayTerminated.class, terminated -> forget(terminated.relay()))
                .onMessage(Changes.class, changes -> deferred != null ? defer(changes) : onChanges(changes))
                .onMessage(MemberCommand.class, member -> deferred != null ? defer(member) : onMember(member))
                .onMessage(HolderTerminated.class, gone -> applyOwn(members.holderGone(gone.holder())))
                .onMessage(GetState.class, this::onGetState)
                .onMessageEquals(IdleCheck.INSTANCE, this::onIdleCheck)
                .onMessageEquals(Stop.INSTANCE, this::onStop)
                .onSignal(PostStop.class, stop -> {
                    metrics.topicStopped();
                    return this;
                })
                .build();
    }

    private Behavior<Command> onJoin(Join join) {
        relays.add(join.relay());
        watchIdleness();
        join.relay().tell(new Topic.Synced(getContext().getSelf(), data.epoch, data.seq(), data.items(), data.history()));
        return this;
    }

    /** Numbers and applies the changes in order, and sends each relay their steps in one message. */
    private Behavior<Command> onChanges(Changes changes) {
        if (members != null) {
            changes.refuse(name, ErrorCode.FORBIDDEN, "a presence topic is read-only: the hub keeps it from the topic's subscriptions");
            return this;
        }
        List<TopicData.Step> steps = new ArrayList<>(changes.applies().size());
        List<Topic.PublishOutcome> outcomes = changes.applyTo(data, name, System.currentTimeMillis(),
                (apply, applied) -> steps.addAll(applied));
        replicate(steps);
        changes.answer(outcomes);
        watchIdleness();
        return this;
    }

    private void replicate(List<TopicData.Step> steps) {
        if (!steps.isEmpty()) {
            Topic.Replicated replicated = new Topic.Replicated(data.epoch, steps);
            relays.tell(replicated);
            stats.count(data);
        }
        if (members != null) {
            stats.entries = members.count();
        }
    }

    /** A presence topic's member came, changed or left; a holder heard from the first time is watched and told who holds its members. */
    private Behavior<Command> onMember(MemberCommand command) {
        if (members == null) {
            return this;
        }
        ActorRef<Topic.Command> holder = command.holder();
        boolean known = members.holds(holder);
        List<Change> changes;
        if (command instanceof MemberJoined joined) {
            changes = members.joined(holder, joined.session(), joined.data());
        } else if (command instanceof MemberLeft left) {
            changes = members.left(holder, left.session());
        } else {
            changes = members.replaced(holder, ((MembersOf) command).members());
        }
        if (!known && members.holds(holder)) {
            getContext().watchWith(holder, new HolderTerminated(holder));
        }
        if (!known || command instanceof MembersOf) {
            holder.tell(new Topic.MembersHeld(getContext().getSelf()));
        }
        if (known && !members.holds(holder)) {
            getContext().unwatch(holder);
        }
        return applyOwn(changes);
    }

    /** Changes the hub makes itself (a presence topic's), numbered like any other. */
    private Behavior<Command> applyOwn(List<Change> changes) {
        long now = System.currentTimeMillis();
        List<TopicData.Step> steps = new ArrayList<>(changes.size());
        for (Change change : changes) {
            if (data.apply(change, now) instanceof TopicData.Applied applied) {
                steps.addAll(applied.steps());
            }
        }
        replicate(steps);
        watchIdleness();
        return this;
    }

    private Behavior<Command> onGetState(GetState get) {
        get.replyTo().tell(State.of(data, get.since(), getContext().getSystem().address().toString()));
        return this;
    }

    private Behavior<Command> forget(ActorRef<Topic.Command> relay) {
        relays.remove(relay);
        watchIdleness();
        return this;
    }

    /**
     * With nothing to keep and nobody listening, an owner stops after {@link #IDLE_AFTER} (the next
     * start is a new epoch). The wait keeps busy topics that are momentarily empty from stopping and
     * starting over and over.
     */
    private void watchIdleness() {
        if (idle()) {
            timers.startSingleTimer(IdleCheck.INSTANCE, idleAfter);
        } else {
            timers.cancel(IdleCheck.INSTANCE);
        }
    }

    private boolean idle() {
        return relays.isEmpty() && data.isEmpty() && (members == null || members.isEmpty());
    }

    private Behavior<Command> onIdleCheck() {
        if (idle() && deferred == null) {
            deferred = new ArrayList<>();
            passivation.idle(getContext().getSelf());
        }
        return this;
    }

    /**
     * Between asking to passivate and the Stop, a change or join may still arrive (the shard or the
     * registry had delivered it before it saw the request). Applying it here would lose it with this
     * incarnation, so it is kept and, at the Stop, sent again to the next one.
     */
    private Behavior<Command> defer(Command command) {
        deferred.add(command);
        return this;
    }

    private Behavior<Command> onStop() {
        if (deferred != null) {
            deferred.forEach(passivation::resend);
        }
        return Behaviors.stopped();
    }
}
