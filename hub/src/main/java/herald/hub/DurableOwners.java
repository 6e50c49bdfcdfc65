package herald.hub;

import herald.config.HeraldSettings;
import herald.protocol.ErrorCode;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Scheduler;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;

/**
 * The owners of durable topics on a single node: one {@link DurableTopicOwner} per topic in use,
 * started on the first command and stopped when no relay has listened for a while. A topic's next
 * owner starts only once the last one has stopped, so that two never write one journal at once;
 * commands that come in between wait for it. While the database is unreachable, durable topics
 * answer {@code unavailable} here at once.
 */
public final class DurableOwners implements Owners {

    sealed interface Command {
    }

    private record Forward(String topic, TopicOwner.Command command) implements Command {
    }

    private record Idle(String topic, ActorRef<TopicOwner.Command> owner) implements Command {
    }

    private record Stopped(String topic, ActorRef<TopicOwner.Command> owner) implements Command {
    }

    private final ActorRef<Command> registry;
    private final Scheduler scheduler;
    private final Duration askTimeout;

    private DurableOwners(ActorRef<Command> registry, Scheduler scheduler, Duration askTimeout) {
        this.registry = registry;
        this.scheduler = scheduler;
        this.askTimeout = askTimeout;
    }

    /** Starts the registry of durable owners as a child of the given actor. */
    public static DurableOwners start(ActorContext<?> parent, HeraldSettings settings, DurableStore store, HubMetrics metrics) {
        ActorRef<Command> registry = parent.spawn(Behaviors.setup(context -> new Registry(context, settings, store, metrics)),
                "durable-topics");
        return new DurableOwners(registry, parent.getSystem().scheduler(), settings.api().askTimeout());
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
    public void getState(String topic, Topic.GetState get) {
        AskPattern.<Command, TopicOwner.State>ask(registry,
                        replyTo -> new Forward(topic, new TopicOwner.GetState(get.since(), replyTo)), askTimeout, scheduler)
                .thenAcceptAsync(state -> get.replyTo().tell(state.toApi(topic, null)), Callbacks.INLINE);
    }

    private static final class Registry extends AbstractBehavior<Command> {
        private final HeraldSettings settings;
        private final DurableStore store;
        private final HubMetrics metrics;
        private final Map<String, ActorRef<TopicOwner.Command>> running = new HashMap<>();
        /** Topics whose owner is stopping, with the commands that came meanwhile. */
        private final Map<String, List<TopicOwner.Command>> stopping = new HashMap<>();
        private long incarnations;

        Registry(ActorContext<Command> context, HeraldSettings settings, DurableStore store, HubMetrics metrics) {
            super(context);
            this.settings = settings;
            this.store = store;
            this.metrics = metrics;
        }

        @Override
        public Receive<Command> createReceive() {
            return newReceiveBuilder()
                    .onMessage(Forward.class, this::onForward)
                    .onMessage(Idle.class, this::onIdle)
                    .onMessage(Stopped.class, this::onStopped)
                    .build();
        }

        private Behavior<Command> onForward(Forward forward) {
            if (!store.available()) {
                refuse(forward.topic(), forward.command());
                return this;
            }
            List<TopicOwner.Command> waiting = stopping.get(forward.topic());
            if (waiting != null) {
                waiting.add(forward.command());
                return this;
            }
            running.computeIfAbsent(forward.topic(), this::start).tell(forward.command());
            return this;
        }

        /** What a durable topic answers while its database is unreachable. */
        private void refuse(String topic, TopicOwner.Command command) {
            String message = "the durable topic's database is unreachable; try again later";
            if (command instanceof TopicOwner.Apply apply) {
                apply.replyTo().tell(new Topic.Refused(topic, apply.requestId(), false, ErrorCode.UNAVAILABLE, message));
            } else if (command instanceof TopicOwner.Join join) {
                join.relay().tell(new Topic.OwnerUnavailable(message));
            }
            // GetState: the HTTP call's ask times out into a 503.
        }

        private ActorRef<TopicOwner.Command> start(String topic) {
            ActorRef<Command> self = getContext().getSelf();
            ActorRef<TopicOwner.Command> owner = getContext().spawn(
                    DurableTopicOwner.create(topic, settings.topics().limitsFor(topic), settings.durable().snapshotEvery(), metrics,
                            idle -> self.tell(new Idle(topic, idle))),
                    "durable-" + (++incarnations) + "-" + URLEncoder.encode(topic, StandardCharsets.UTF_8));
            getContext().watchWith(owner, new Stopped(topic, owner));
            return owner;
        }

        private Behavior<Command> onIdle(Idle idle) {
            if (idle.owner().equals(running.get(idle.topic()))) {
                running.remove(idle.topic());
                stopping.put(idle.topic(), new ArrayList<>());
                idle.owner().tell(TopicOwner.Stop.INSTANCE);
            }
            return this;
        }

        private Behavior<Command> onStopped(Stopped stopped) {
            List<TopicOwner.Command> waiting = stopping.remove(stopped.topic());
            if (waiting == null) {
                running.remove(stopped.topic(), stopped.owner());
            } else if (!waiting.isEmpty()) {
                ActorRef<TopicOwner.Command> next = start(stopped.topic());
                running.put(stopped.topic(), next);
                waiting.forEach(next::tell);
            }
            return this;
        }
    }
}
