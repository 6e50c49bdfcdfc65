package herald.hub.persistence;

import herald.config.HeraldSettings.TopicLimits;
import herald.hub.ClusterMessage;
import herald.hub.HubMetrics;
import herald.hub.topic.Occupancy;
import herald.hub.topic.Relays;
import herald.hub.topic.Topic;
import herald.hub.topic.TopicData;
import herald.hub.topic.TopicOwner;
import herald.hub.topic.TopicStats;
import herald.protocol.ErrorCode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
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
 * A durable topic's journaled state (Pekko Persistence, event sourcing), behind its
 * {@link DurableTopicOwner}: every accepted change is journaled before it is numbered out to the
 * relays and acknowledged, and the epoch is part of the journaled state, so a restart or a move to
 * another node recovers the same history. A snapshot every {@code snapshot-every} writes lets the
 * journal before it be deleted.
 *
 * <p>Changes come in batches ({@link TopicOwner.WriteBatch}), one write and one event ({@link Batch})
 * each. A batch is planned and applied to the state as it is read, change after change (each sees
 * the ones before it), and written in one go; the event handler then finds it applied already. If the write
 * fails, the journal restarts and recovers its state from what was written, so the batch's changes
 * are gone from it as they are from the database; their publishers are told {@code unavailable}.
 *
 * <p>Relays are not part of the state: they join again when their owner is gone, as with the
 * in-memory owner.
 */
public final class TopicJournal extends EventSourcedBehavior<TopicOwner.Command, TopicJournal.Event, TopicJournal.State> {

    /** What the journal holds. Its classes and fields are a storage format: rename them only with a migration. */
    sealed interface Event extends ClusterMessage {
    }

    /** The topic's first event: the epoch it keeps for as long as the journal has it. */
    public record Began(String epoch) implements Event {
    }

    /**
     * One accepted change, as numbered steps (evictions included), with its idem key and when it came
     * (epoch ms). Written inside a {@link Batch}; journals of the first durable release hold it alone.
     */
    public record Changed(List<TopicData.Step> steps, String idem, long atMillis) implements Event {
    }

    /**
     * The changes of one write, in seq order: one row however many changes the write holds, since a
     * row's cost (serializing it, inserting it, indexing it, deleting it after a snapshot) is what
     * limits a journal, not its size.
     */
    public record Batch(List<Changed> changes) implements Event {
    }

    /** The state as a snapshot stores it. */
    public record Snapshot(TopicData.Image image) implements ClusterMessage {
    }

    /**
     * The journaled state: null data until the first event gives the topic its epoch. Mutable, and
     * changed by the command handler ahead of the write (see the class comment); a restart empties it.
     */
    static final class State {
        TopicData data;
    }

    static final String PERSISTENCE_TYPE = "herald-topic";

    /** {@code idle} is told when no relay has listened for a while; {@code owner} hears when each batch is done. */
    static Behavior<TopicOwner.Command> create(String name, TopicLimits limits, int snapshotEvery, HubMetrics metrics,
                                               TopicStats stats, Runnable idle, ActorRef<TopicOwner.Command> owner,
                                               Occupancy occupancy) {
        return Behaviors.withTimers(timers -> Behaviors.setup(
                context -> new TopicJournal(context, timers, name, limits, snapshotEvery, metrics, stats, idle, owner, occupancy)));
    }

    private final ActorContext<TopicOwner.Command> context;
    private final TimerScheduler<TopicOwner.Command> timers;
    private final String name;
    private final TopicLimits limits;
    private final int snapshotEvery;
    private final HubMetrics metrics;
    private final TopicStats stats;
    private final Runnable idle;
    private final ActorRef<TopicOwner.Command> owner;
    private final Relays relays;
    /** Changes whose events are being written: told {@code unavailable} if the write fails. */
    private final List<TopicOwner.Changes> writing = new ArrayList<>();

    private TopicJournal(ActorContext<TopicOwner.Command> context, TimerScheduler<TopicOwner.Command> timers, String name,
                         TopicLimits limits, int snapshotEvery, HubMetrics metrics, TopicStats stats, Runnable idle,
                         ActorRef<TopicOwner.Command> owner, Occupancy occupancy) {
        super(PersistenceId.of(PERSISTENCE_TYPE, name),
                SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.2));
        this.context = context;
        this.timers = timers;
        this.name = name;
        this.limits = limits;
        this.snapshotEvery = snapshotEvery;
        this.metrics = metrics;
        this.stats = stats;
        this.idle = idle;
        this.owner = owner;
        this.relays = new Relays(name, occupancy, context);
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
                .onCommand(TopicOwner.WriteBatch.class, this::onWriteBatch)
                .onCommand(TopicOwner.GetState.class, this::onGetState)
                .onCommand(TopicOwner.IdleCheck.class, (state, check) -> {
                    if (relays.isEmpty()) {
                        idle.run();
                    }
                    return Effect().none();
                })
                .onCommand(TopicOwner.Stop.class, (state, stop) -> Effect().stop())
                .build();
    }

    private Effect<Event, State> onJoin(State state, TopicOwner.Join join) {
        relays.add(join.relay());
        watchIdleness();
        if (state.data == null) {
            Began began = new Began(TopicData.newEpoch());
            state.data = new TopicData(began.epoch(), limits);
            return Effect().persist(began).thenRun(begun -> sync(begun.data, join.relay()));
        }
        sync(state.data, join.relay());
        return Effect().none();
    }

    private void sync(TopicData data, ActorRef<Topic.Command> relay) {
        relay.tell(new Topic.Synced(context.getSelf(), data.epoch, data.seq(), data.items(), data.history()));
    }

    /**
     * Applies the batch's changes one after the other on the state, writes their events in one go,
     * and only then numbers them out and answers every publisher (repeats and conflicts too, since a
     * repeat may name a change of this very batch).
     */
    private Effect<Event, State> onWriteBatch(State state, TopicOwner.WriteBatch batch) {
        // A topic written to is in use, listened to or not: stopping it would cost a recovery at the next change.
        watchIdleness();
        long now = System.currentTimeMillis();
        List<Event> events = new ArrayList<>(2);
        if (state.data == null) {
            Began began = new Began(TopicData.newEpoch());
            events.add(began);
            state.data = new TopicData(began.epoch(), limits);
        }
        List<List<Topic.PublishOutcome>> answers = new ArrayList<>(batch.changes().size());
        List<Changed> changes = new ArrayList<>();
        List<TopicData.Step> steps = new ArrayList<>();
        for (TopicOwner.Changes request : batch.changes()) {
            answers.add(request.applyTo(state.data, name, now, (apply, applied) -> {
                changes.add(new Changed(applied, apply.idem(), now));
                steps.addAll(applied);
            }));
        }
        if (!changes.isEmpty()) {
            events.add(new Batch(changes));
        }
        // One message to each relay for the whole write: its steps follow on in seq order.
        Topic.Replicated replicated = steps.isEmpty() ? null : new Topic.Replicated(state.data.epoch, steps);
        Runnable answer = () -> {
            countEntries(state.data);
            if (replicated != null) {
                relays.tell(replicated);
            }
            for (int i = 0; i < answers.size(); i++) {
                batch.changes().get(i).answer(answers.get(i));
            }
            owner.tell(TopicOwner.BatchWritten.INSTANCE);
        };
        if (events.isEmpty()) {
            answer.run();
            return Effect().none();
        }
        writing.addAll(batch.changes());
        long started = System.nanoTime();
        return Effect().persist(events).thenRun(after -> {
            metrics.journalWrite.record(System.nanoTime() - started, TimeUnit.NANOSECONDS);
            writing.clear();
            answer.run();
        });
    }

    private Effect<Event, State> onGetState(State state, TopicOwner.GetState get) {
        TopicData data = state.data != null ? state.data : new TopicData(TopicData.newEpoch(), limits);
        get.replyTo().tell(TopicOwner.State.of(data, get.since(), context.getSystem().address().toString()));
        return Effect().none();
    }

    private Effect<Event, State> forget(ActorRef<Topic.Command> relay) {
        relays.remove(relay);
        watchIdleness();
        return Effect().none();
    }

    /**
     * An owner nobody listens to and nobody writes to may stop after a while: its state is in the
     * journal, not lost. Each write starts the wait again.
     */
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
                // Live, the command handler applied these already; in recovery they are new.
                .onEvent(Began.class, (state, began) -> {
                    if (state.data == null) {
                        state.data = new TopicData(began.epoch(), limits);
                    }
                    return state;
                })
                .onEvent(Changed.class, TopicJournal::replay)
                .onEvent(Batch.class, (state, batch) -> {
                    batch.changes().forEach(changed -> replay(state, changed));
                    return state;
                })
                .build();
    }

    private static State replay(State state, Changed changed) {
        if (state.data == null) {
            throw new IllegalStateException("a change before the topic's first event: not a journal Herald wrote");
        }
        if (changed.steps().get(0).seq() > state.data.seq()) {
            state.data.commit(changed.steps(), changed.idem(), changed.atMillis());
        }
        return state;
    }

    /**
     * A snapshot every {@code snapshot-every} events, that is writes (each of one to
     * {@link DurableTopicOwner#MAX_BATCH} changes), and the events and snapshots before the one ahead
     * of it deleted: a journal holds at most about twice that many writes, and a recovery replays at
     * most that many. Counting changes instead would need snapshots Pekko does not delete; with
     * batches of 100 they piled up to 100 MB over 100 topics in a few minutes of the bench.
     */
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
                .onSignal(RecoveryCompleted.instance(), state -> {
                    context.getLog().debug("Topic [{}] recovered from the journal at seq [{}]", name,
                            state.data == null ? 0 : state.data.seq());
                    countEntries(state.data);
                    owner.tell(TopicOwner.JournalReady.INSTANCE);
                })
                .onSignal(RecoveryFailed.class, (state, failed) -> {
                    metrics.journalFailures.increment();
                    if (unreadable(failed.getFailure())) {
                        owner.tell(new TopicOwner.JournalUnreadable(rootCause(failed.getFailure()).toString()));
                    } else {
                        // The database is away: DurableStore says so once; the journal tries again with backoff.
                        context.getLog().debug("Topic [{}] could not recover from the journal yet: {}", name, failed.getFailure().toString());
                        owner.tell(TopicOwner.JournalFailed.INSTANCE);
                    }
                })
                .onSignal(PreRestart.instance(), state -> {
                    // Pekko keeps the one empty state it was given and recovers into it again: what the
                    // failed write had applied must go, so that recovery starts from nothing.
                    state.data = null;
                    refuseWriting();
                    owner.tell(TopicOwner.JournalFailed.INSTANCE);
                })
                .onSignal(PostStop.instance(), state -> refuseWriting())
                .build();
    }

    private void countEntries(TopicData data) {
        if (data != null) {
            stats.count(data);
        }
    }

    /** A failure that trying again cannot mend: rows that are not events of this version of Herald. */
    static boolean unreadable(Throwable failure) {
        for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
            if (cause instanceof java.io.NotSerializableException || cause instanceof ClassCastException
                    || cause instanceof com.fasterxml.jackson.core.JacksonException) {
                return true;
            }
        }
        return false;
    }

    static Throwable rootCause(Throwable failure) {
        Throwable cause = failure;
        while (cause.getCause() != null && cause.getCause() != cause) {
            cause = cause.getCause();
        }
        return cause;
    }

    /** A write failed (the actor restarts) or the owner stops: whoever waits for one is told, nothing is delivered. */
    private void refuseWriting() {
        if (!writing.isEmpty()) {
            metrics.journalFailures.increment();
            context.getLog().warn("Topic [{}] could not journal {} changes; their publishers are told unavailable",
                    name, writing.stream().mapToInt(changes -> changes.applies().size()).sum());
        }
        for (TopicOwner.Changes changes : writing) {
            changes.refuse(name, ErrorCode.UNAVAILABLE, "the topic's journal could not write the change; it was not applied");
        }
        if (!writing.isEmpty()) {
            owner.tell(TopicOwner.BatchWritten.INSTANCE);
        }
        writing.clear();
    }
}
