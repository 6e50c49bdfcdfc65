package herald.hub.topic;

import herald.hub.Callbacks;
import herald.protocol.ApiBody;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Scheduler;
import org.apache.pekko.actor.typed.javadsl.AskPattern;

/** {@link Topics} on this node: every command goes through the {@link TopicRegistry}. */
public final class LocalTopics implements Topics {
    private final ActorRef<TopicRegistry.Command> registry;
    private final Scheduler scheduler;
    private final LocalOwners owners;

    /**
     * {@code owners}: the single node's owners, which list every topic that holds state; null in a
     * cluster, where a node lists the topics subscribed to on it.
     */
    public LocalTopics(ActorRef<TopicRegistry.Command> registry, Scheduler scheduler, LocalOwners owners) {
        this.registry = registry;
        this.scheduler = scheduler;
        this.owners = owners;
    }

    @Override
    public void tell(String topic, Topic.Command command) {
        registry.tell(new TopicRegistry.Forward(topic, command));
    }

    @Override
    public <R> CompletionStage<R> ask(String topic, Function<ActorRef<R>, Topic.Command> command, Duration timeout) {
        return AskPattern.ask(registry,
                (ActorRef<R> replyTo) -> new TopicRegistry.Forward(topic, command.apply(replyTo)),
                timeout, scheduler);
    }

    @Override
    public CompletionStage<ApiBody.TopicList> list(String after, int limit, Duration timeout) {
        if (owners == null) {
            return AskPattern.ask(registry, replyTo -> new TopicRegistry.ListTopics(after, limit, replyTo), timeout, scheduler);
        }
        return owners.list(after, limit, timeout).thenComposeAsync(page -> AskPattern.ask(registry,
                replyTo -> new TopicRegistry.CountSubscribers(page, replyTo), timeout, scheduler), Callbacks.INLINE);
    }
}
