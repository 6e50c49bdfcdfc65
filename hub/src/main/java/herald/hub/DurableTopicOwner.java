package herald.hub;

import herald.config.HeraldSettings.TopicLimits;
import herald.protocol.ApiBody;
import herald.protocol.Change;
import herald.protocol.ErrorCode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.PreRestart;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.RecoveryFailed;
import org.apache.pekko.persistence.typed.SnapshotAdapter;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.Effect;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

/**
 * The owner of a durable topic: the same commands as {@link TopicOwner}, but every accepted change
 * is journaled (Pekko Persistence, event sourcing) before it is numbered out to the relays and
 * acknowledged, and the epoch is part of the journaled state, so a restart or a move to another node
 * recovers the same history. A snapshot every {@code snapshot-every} changes lets the journal before
 * it be deleted.
 *
 * <p>Relays are not part of the state: they join again when their owner is gone, as with the
 * in-memory owner.
 */
final class DurableTopicOwner extends EventSourcedBehavior<TopicOwner.Command, DurableTopicOwner.Event, DurableTopicOwner.State> {

    /** What the journal holds. Its classes and fields are a storage format: rename them only with a migration. */
    sealed interface Event extends ClusterMessage {
    }

    /** The topic's first event: the epoch it keeps for as long as the journal has it. */
    record Began(String epoch) implements Event {
    }

    /** One accepted change, as numbered steps (evictions included), with its idem key and when it came (epoch ms). */
    record Changed(List<TopicData.Step> steps, String idem, long atMillis) implements Event {
    }

    /** The state as a snapshot stores it. */
    record Snapshot(TopicData.Image image) implements ClusterMessage {
    }

    /** The journaled state: null data until the first event gives the topic its epoch. */
    static final class State {
        TopicData data;
    }

    /** Who tells the owner it may stop: the local registry of durable owners, or the shard in a cluster. */
    interface Passivation {
        void idle(ActorRef<TopicOwner.Command> owner);
    }

    static final String PERSISTENCE_TYPE = "herald-topic";

    static Behavior<TopicOwner.Command> create(String name, TopicLimits limits, int snapshotEvery, HubMetrics metrics,
                                               Passivation passivation) {
        return Behaviors.withTimers(timers -> Behaviors.setup(
                context -> new DurableTopicOwner(context, timers, name, limits, snapshotEvery, metrics, passivation)));
    }

    private final ActorContext<TopicOwner.Command> context;
    private final TimerScheduler<TopicOwner.Command> timers;
    private final String name;
    private final TopicLimits limits;
    private final int snapshotEvery;
    private final HubMetrics metrics;
    private final Passivation passivation;
    private final Set<ActorRef<Topic.Command>> relays = new HashSet<>();
    /** Applies whose events are being written: told {@code unavailable} if the write fails. */
    private final List<TopicOwner.Apply> writing = new ArrayList<>();

    private DurableTopicOwner(ActorContext<TopicOwner.Command> context, TimerScheduler<TopicOwner.Command> timers, String name,
                              TopicLimits limits, int snapshotEvery, HubMetrics metrics, Passivation passivation) {
        super(PersistenceId.of(PERSISTENCE_TYPE, name),
                SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.2));
        this.context = context;
        this.timers = timers;
        this.name = name;
        this.limits = limits;
        this.snapshotEvery = snapshotEvery;
        this.metrics = metrics;
        this.passivation = passivation;
        watchIdleness();
    }

    @Override
    public State emptyState() {
        return new State();
    }

    @Override
    public CommandHandler<TopicOwner.Command, Event, State> commandHandler() {
        return newCommandHandlerBuilder().forAnyState()
                .onCommand(TopicOwner.Join.class, this::onJoin)
                .onCommand(TopicOwner.Leave.class, (state, leave) -> forget(leave.relay()))
                .onCommand(TopicOwner.RelayTerminated.class, (state, terminated) -> forget(terminated.relay()))
                .onCommand(TopicOwner.Apply.class, this::onApply)
                .onCommand(TopicOwner.GetState.class, this::onGetState)
                .onCommand(TopicOwner.IdleCheck.class, (state, check) -> {
                    if (relays.isEmpty()) {
                        passivation.idle(context.getSelf());
                    }
                    return Effect().none();
                })
                .onCommand(TopicOwner.Stop.class, (state, stop) -> Effect().stop())
                .build();
    }

    private Effect<Event, State> onJoin(State state, TopicOwner.Join join) {
        if (relays.add(join.relay())) {
            context.watchWith(join.relay(), new TopicOwner.RelayTerminated(join.relay()));
        }
        watchIdleness();
        if (state.data == null) {
            return Effect().persist(new Began(Topic.newEpoch())).thenRun(begun -> sync(begun.data, join.relay()));
        }
        sync(state.data, join.relay());
        return Effect().none();
    }

    private void sync(TopicData data, ActorRef<Topic.Command> relay) {
        relay.tell(new Topic.Synced(context.getSelf(), data.epoch, data.seq(), data.items(), data.history()));
    }

    private Effect<Event, State> onApply(State state, TopicOwner.Apply apply) {
        Change change = new Change(name, apply.op(), apply.key(), apply.event(), apply.data(), apply.ifVersion(), apply.idem());
        long now = System.currentTimeMillis();
        List<Event> events = new ArrayList<>(2);
        TopicData data = state.data;
        if (data == null) {
            Began began = new Began(Topic.newEpoch());
            events.add(began);
            data = new TopicData(began.epoch(), limits);
        }
        TopicData.Outcome outcome = data.plan(change, now);
        if (!(outcome instanceof TopicData.Applied applied)) {
            apply.replyTo().tell(Topic.outcomeOf(name, apply.key(), apply.requestId(), outcome));
            return Effect().none();
        }
        events.add(new Changed(applied.steps(), apply.idem(), now));
        writing.add(apply);
        long started = System.nanoTime();
        return Effect().persist(events).thenRun(after -> {
            metrics.journalWrite.record(System.nanoTime() - started, TimeUnit.NANOSECONDS);
            writing.remove(apply);
            Topic.Replicated replicated = new Topic.Replicated(after.data.epoch, applied.steps());
            relays.forEach(relay -> relay.tell(replicated));
            apply.replyTo().tell(Topic.outcomeOf(name, apply.key(), apply.requestId(), outcome));
        });
    }

    private Effect<Event, State> onGetState(State state, TopicOwner.GetState get) {
        TopicData data = state.data != null ? state.data : new TopicData(Topic.newEpoch(), limits);
        ApiBody.TopicState answer = Topic.state(name, data, get.since(), context.getSystem().address().toString());
        get.replyTo().tell(new TopicOwner.State(answer.node(), answer.epoch(), answer.seq(), answer.since(),
                answer.entries().stream().map(TopicData.Item::of).toList(), answer.deleted()));
        return Effect().none();
    }

    private Effect<Event, State> forget(ActorRef<Topic.Command> relay) {
        if (relays.remove(relay)) {
            context.unwatch(relay);
        }
        watchIdleness();
        return Effect().none();
    }

    /** An owner nobody listens to may stop after a while: its state is in the journal, not lost. */
    private void watchIdleness() {
        if (relays.isEmpty()) {
            timers.startSingleTimer(TopicOwner.IdleCheck.INSTANCE, TopicOwner.IDLE_AFTER);
        } else {
            timers.cancel(TopicOwner.IdleCheck.INSTANCE);
        }
    }

    @Override
    public EventHandler<State, Event> eventHandler() {
        return newEventHandlerBuilder().forAnyState()
                .onEvent(Began.class, (state, began) -> {
                    state.data = new TopicData(began.epoch(), limits);
                    return state;
                })
                .onEvent(Changed.class, (state, changed) -> {
                    state.data.commit(changed.steps(), changed.idem(), changed.atMillis());
                    return state;
                })
                .build();
    }

    @Override
    public RetentionCriteria retentionCriteria() {
        return RetentionCriteria.snapshotEvery(snapshotEvery, 2).withDeleteEventsOnSnapshot();
    }

    /** The snapshot is an immutable copy, made on the actor's thread; the state itself goes on changing. */
    @Override
    public SnapshotAdapter<State> snapshotAdapter() {
        return new SnapshotAdapter<>() {
            @Override
            public Object toJournal(State state) {
                return new Snapshot(state.data == null ? null : state.data.image());
            }

            @Override
            public State fromJournal(Object from) {
                State state = new State();
                TopicData.Image image = ((Snapshot) from).image();
                state.data = image == null ? null : TopicData.of(image, limits);
                return state;
            }
        };
    }

    @Override
    public SignalHandler<State> signalHandler() {
        return newSignalHandlerBuilder()
                .onSignal(RecoveryCompleted.instance(), state -> context.getLog().debug(
                        "Topic [{}] recovered from the journal at seq [{}]", name, state.data == null ? 0 : state.data.seq()))
                .onSignal(RecoveryFailed.class, (state, failed) -> {
                    metrics.journalFailures.increment();
                    context.getLog().error("Topic [{}] could not recover from the journal and is not served: {}",
                            name, failed.getFailure().toString());
                })
                .onSignal(PreRestart.instance(), state -> refuseWriting())
                .onSignal(PostStop.instance(), state -> refuseWriting())
                .build();
    }

    /** A write failed (the actor restarts) or the owner stops: whoever waits for one is told, nothing is delivered. */
    private void refuseWriting() {
        if (!writing.isEmpty()) {
            metrics.journalFailures.increment();
            context.getLog().warn("Topic [{}] could not journal {} changes; their publishers are told unavailable",
                    name, writing.size());
        }
        for (TopicOwner.Apply apply : writing) {
            apply.replyTo().tell(new Topic.Refused(name, apply.requestId(), false, ErrorCode.UNAVAILABLE,
                    "the topic's journal could not write the change; it was not applied"));
        }
        writing.clear();
    }
}
