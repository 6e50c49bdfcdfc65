package herald.hub.cluster;

import herald.config.HeraldSettings;
import herald.hub.Callbacks;
import herald.hub.HubMetrics;
import herald.hub.persistence.DurableTopicOwner;
import herald.hub.topic.Occupancy;
import herald.hub.topic.Owners;
import herald.hub.topic.Topic;
import herald.hub.topic.TopicOwner;
import herald.hub.topic.TopicStats;
import java.time.Duration;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityContext;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;

/**
 * The way to every topic's {@link TopicOwner} through Cluster Sharding, wherever in the cluster it
 * runs. Only the registry and the relays use it: sessions keep talking to their node's topics.
 */
public final class TopicOwners implements Owners {
    private final ClusterSharding sharding;
    private final ActorSystem<?> system;
    private final Duration askTimeout;

    private final HeraldSettings.Durable durable;

    private TopicOwners(ActorSystem<?> system, Duration askTimeout, HeraldSettings.Durable durable) {
        this.system = system;
        this.sharding = ClusterSharding.get(system);
        this.askTimeout = askTimeout;
        this.durable = durable;
    }

    /**
     * Starts this node's part of the sharded topics. In-memory topics' shards are never moved to
     * balance load: a moved owner would restart empty, so such a topic stays where it started until
     * its node leaves or is lost. Durable topics are an entity type of their own whose shards do
     * move (a moved owner recovers from the journal), so a joining node takes its share of them.
     */
    public static TopicOwners start(ActorSystem<?> system, HeraldSettings settings, HubMetrics metrics, Occupancy occupancy) {
        TopicOwners owners = new TopicOwners(system, settings.api().askTimeout(), settings.durable());
        owners.sharding.init(Entity.of(TopicOwner.KEY, entity -> TopicOwner.create(entity.getEntityId(),
                        settings.topics().limitsFor(entity.getEntityId()), metrics, new TopicStats(), owners.passivation(entity),
                        occupancy, TopicOwner.IDLE_AFTER))
                .withStopMessage(TopicOwner.Stop.INSTANCE)
                .withAllocationStrategy(new NoRebalancing()));
        if (settings.durable().enabled()) {
            owners.sharding.init(Entity.of(DURABLE_KEY, entity -> DurableTopicOwner.create(entity.getEntityId(),
                            settings.topics().limitsFor(entity.getEntityId()), settings.durable(), metrics,
                            new TopicStats(), owners.passivation(entity), occupancy))
                    .withStopMessage(TopicOwner.Stop.INSTANCE));
        }
        return owners;
    }

    /** An owner stops through its shard; what reached it meanwhile goes through sharding to its next incarnation. */
    private TopicOwner.Passivation passivation(EntityContext<TopicOwner.Command> entity) {
        return new TopicOwner.Passivation() {
            @Override
            public void idle(ActorRef<TopicOwner.Command> owner) {
                entity.getShard().tell(new ClusterSharding.Passivate<>(owner));
            }

            @Override
            public void resend(TopicOwner.Command command) {
                owner(entity.getEntityId()).tell(command);
            }
        };
    }

    static final EntityTypeKey<TopicOwner.Command> DURABLE_KEY =
            EntityTypeKey.create(TopicOwner.Command.class, "herald-durable-topic");

    private EntityRef<TopicOwner.Command> owner(String topic) {
        return sharding.entityRefFor(durable.isDurable(topic) ? DURABLE_KEY : TopicOwner.KEY, topic);
    }

    @Override
    public void join(String topic, ActorRef<Topic.Command> relay) {
        owner(topic).tell(new TopicOwner.Join(relay));
    }

    @Override
    public void publish(String topic, Topic.Publish publish) {
        owner(topic).tell(TopicOwner.Apply.of(publish));
    }

    @Override
    public void publishAll(String topic, Topic.PublishAll publish) {
        owner(topic).tell(TopicOwner.ApplyAll.of(publish));
    }

    @Override
    public void presence(String topic, TopicOwner.MemberCommand command) {
        owner(topic).tell(command);
    }

    /** Asks the owner and answers in the HTTP API's shape; no answer in time leaves the caller's ask to time out. */
    @Override
    public void getState(String topic, Topic.GetState get) {
        AskPattern.<TopicOwner.Command, TopicOwner.State>ask(owner(topic),
                        replyTo -> new TopicOwner.GetState(get.since(), replyTo), askTimeout, system.scheduler())
                .thenAcceptAsync(state -> get.replyTo().tell(state.toApi(topic, state.node())), Callbacks.INLINE);
    }
}
