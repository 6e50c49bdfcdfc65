package herald.hub.topic;

import herald.config.HeraldSettings;
import herald.hub.Callbacks;
import herald.hub.HubMetrics;
import herald.hub.persistence.DurableStore;
import herald.hub.persistence.DurableTopicOwner;
import herald.protocol.ApiBody;
import herald.protocol.ErrorCode;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Scheduler;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;

/**
 * The topics' owners on a single node: one {@link TopicOwner} (in memory) or
 * {@link DurableTopicOwner} (journaled, for topics matching {@code herald.durable.topics}) per topic
 * in use, started on the first command and stopped when it has nothing to keep. It is where the hub's
 * bound on topics ({@code herald.limits.max-topics}) holds, since owners are what hold state.
 *
 * <p>A topic's next owner starts only once the last one has stopped, so that two never hold (or
 * write the journal of) one topic at once; commands that come in between wait for it. While the
 * database is unreachable, durable topics answer {@code unavailable} here at once.
 */
public final class LocalOwners implements Owners {

    sealed interface Command {
    }

    private record Forward(String topic, TopicOwner.Command command) implements Command {
    }

    private record Idle(String topic, ActorRef<TopicOwner.Command> owner) implements Command {
    }

    private record Stopped(String topic, ActorRef<TopicOwner.Command> owner) implements Command {
    }

    private record ListTopics(String after, int limit, ActorRef<ApiBody.TopicList> replyTo) implements Command {
    }

    private final ActorRef<Command> registry;
    private final Scheduler scheduler;
    private final Duration askTimeout;

    LocalOwners(ActorRef<Command> registry, Scheduler scheduler, Duration askTimeout) {
        this.registry = registry;
        this.scheduler = scheduler;
        this.askTimeout = askTimeout;
    }

    /** Starts the owners' registry as a child of the given actor; {@code store} is null without durable topics. */
    public static LocalOwners start(ActorContext<?> parent, HeraldSettings settings, DurableStore store, HubMetrics metrics,
                                    Occupancy occupancy) {
        return new LocalOwners(parent.spawn(registry(settings, store, metrics, occupancy, TopicOwner.IDLE_AFTER), "owners"),
                parent.getSystem().scheduler(), settings.api().askTimeout());
    }

    /** {@code idleAfter}: how long an in-memory owner with nothing to keep waits before it stops (shorter in tests). */
    static Behavior<Command> registry(HeraldSettings settings, DurableStore store, HubMetrics metrics, Occupancy occupancy,
                                      Duration idleAfter) {
        return Behaviors.setup(context -> new Registry(context, settings, store, metrics, occupancy, idleAfter));
    }

    @Override
    public void join(String topic, ActorRef<Topic.Command> relay) {
        registry.tell(new Forward(topic, new TopicOwner.Join(relay)));
    }

    @Override
    public void publish(String topic, Topic.Publish publish) {
        registry.tell(new Forward(topic, TopicOwner.Apply.of(publish)));
    }

    @Override
    public void publishAll(String topic, Topic.PublishAll publish) {
        registry.tell(new Forward(topic, TopicOwner.ApplyAll.of(publish)));
    }

    @Override
    public void presence(String topic, TopicOwner.MemberCommand command) {
        registry.tell(new Forward(topic, command));
    }

    @Override
    public void getState(String topic, Topic.GetState get) {
        AskPattern.<Command, TopicOwner.State>ask(registry,
                        replyTo -> new Forward(topic, new TopicOwner.GetState(get.since(), replyTo)), askTimeout, scheduler)
                .thenAcceptAsync(state -> get.replyTo().tell(state.toApi(topic, null)), Callbacks.INLINE);
    }

    /** A page of the topics whose owners run, in name order, after {@code after} (null: from the first); no subscriber counts. */
    CompletionStage<ApiBody.TopicList> list(String after, int limit, Duration timeout) {
        return AskPattern.ask(registry, replyTo -> new ListTopics(after, limit, replyTo), timeout, scheduler);
    }

    private record Running(ActorRef<TopicOwner.Command> ref, TopicStats stats) {
    }

    private static final class Registry extends AbstractBehavior<Command> {
        private final HeraldSettings settings;
        private final DurableStore store;
        private final HubMetrics metrics;
        private final Occupancy occupancy;
        private final Duration idleAfter;
        /** Sorted, so that listing pages by name costs a lookup, not a sort of every topic. */
        private final TreeMap<String, Running> running = new TreeMap<>();
        /** Topics whose owner is stopping, with the commands that came meanwhile. */
        private final Map<String, List<TopicOwner.Command>> stopping = new HashMap<>();
        /** Makes every incarnation's actor name unique, so a restart never waits for the old name. */
        private long incarnations;

        Registry(ActorContext<Command> context, HeraldSettings settings, DurableStore store, HubMetrics metrics,
                 Occupancy occupancy, Duration idleAfter) {
            super(context);
            this.occupancy = occupancy;
            this.settings = settings;
            this.store = store;
            this.metrics = metrics;
            this.idleAfter = idleAfter;
        }

        @Override
        public Receive<Command> createReceive() {
            return newReceiveBuilder()
                    .onMessage(Forward.class, this::onForward)
                    .onMessage(Idle.class, this::onIdle)
                    .onMessage(Stopped.class, this::onStopped)
                    .onMessage(ListTopics.class, this::onListTopics)
                    .build();
        }

        private boolean durable(String topic) {
            return store != null && settings.durable().isDurable(topic);
        }

        private Behavior<Command> onForward(Forward forward) {
            String topic = forward.topic();
            if (durable(topic) && !store.available()) {
                refuse(topic, forward.command(), ErrorCode.UNAVAILABLE,
                        "the durable topic's database is unreachable; try again later");
                return this;
            }
            List<TopicOwner.Command> waiting = stopping.get(topic);
            if (waiting != null) {
                waiting.add(forward.command());
                return this;
            }
            Running owner = running.get(topic);
            if (owner == null) {
                if (forward.command() instanceof TopicOwner.GetState get && !durable(topic)) {
                    // An in-memory topic that is not running is empty: no owner is started to say so.
                    get.replyTo().tell(new TopicOwner.State(null, TopicData.newEpoch(), 0, null, List.of(), null));
                    return this;
                }
                if (running.size() + stopping.size() >= settings.limits().maxTopics()) {
                    refuse(topic, forward.command(), ErrorCode.TOO_MANY_TOPICS, "the hub holds the most topics allowed ("
                            + settings.limits().maxTopics() + "); this one cannot start");
                    return this;
                }
                owner = start(topic);
                running.put(topic, owner);
            }
            owner.ref().tell(forward.command());
            return this;
        }

        /** A command no owner can take now; a state query is left to time out into a 503. */
        private void refuse(String topic, TopicOwner.Command command, ErrorCode code, String message) {
            if (command instanceof TopicOwner.Changes changes) {
                changes.refuse(topic, code, message);
            } else if (command instanceof TopicOwner.Join join) {
                join.relay().tell(new Topic.OwnerUnavailable(code, message));
            }
        }

        private Running start(String topic) {
            ActorRef<Command> self = getContext().getSelf();
            TopicStats stats = new TopicStats();
            TopicOwner.Passivation passivation = new TopicOwner.Passivation() {
                @Override
                public void idle(ActorRef<TopicOwner.Command> owner) {
                    self.tell(new Idle(topic, owner));
                }

                @Override
                public void resend(TopicOwner.Command command) {
                    self.tell(new Forward(topic, command));
                }
            };
            Behavior<TopicOwner.Command> behavior = durable(topic)
                    ? DurableTopicOwner.create(topic, settings.topics().limitsFor(topic), settings.durable(), metrics, stats,
                            passivation, occupancy)
                    : TopicOwner.create(topic, settings.topics().limitsFor(topic), metrics, stats, passivation, occupancy, idleAfter);
            ActorRef<TopicOwner.Command> owner = getContext().spawn(behavior,
                    "owner-" + (++incarnations) + "-" + URLEncoder.encode(topic, StandardCharsets.UTF_8));
            getContext().watchWith(owner, new Stopped(topic, owner));
            return new Running(owner, stats);
        }

        private Behavior<Command> onIdle(Idle idle) {
            Running owner = running.get(idle.topic());
            if (owner != null && idle.owner().equals(owner.ref())) {
                running.remove(idle.topic());
                stopping.put(idle.topic(), new ArrayList<>());
                idle.owner().tell(TopicOwner.Stop.INSTANCE);
            }
            return this;
        }

        private Behavior<Command> onStopped(Stopped stopped) {
            List<TopicOwner.Command> waiting = stopping.remove(stopped.topic());
            if (waiting == null) {
                Running owner = running.get(stopped.topic());
                if (owner != null && owner.ref().equals(stopped.owner())) {
                    running.remove(stopped.topic());
                }
            } else if (!waiting.isEmpty()) {
                Running next = start(stopped.topic());
                running.put(stopped.topic(), next);
                waiting.forEach(next.ref()::tell);
            }
            return this;
        }

        private Behavior<Command> onListTopics(ListTopics list) {
            list.replyTo().tell(TopicStats.page(running, Running::stats, list.after(), list.limit()));
            return this;
        }
    }
}
