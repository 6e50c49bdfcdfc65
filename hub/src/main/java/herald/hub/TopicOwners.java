package herald.hub;

import herald.config.HeraldSettings;
import herald.protocol.ApiBody;
import herald.protocol.Change;
import java.time.Duration;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;

/**
 * The way to every topic's {@link TopicOwner} through Cluster Sharding, wherever in the cluster it
 * runs. Only the registry and the relays use it: sessions keep talking to their node's topics.
 */
public final class TopicOwners {
    private final ClusterSharding sharding;
    private final ActorSystem<?> system;
    private final Duration askTimeout;

    private TopicOwners(ActorSystem<?> system, Duration askTimeout) {
        this.system = system;
        this.sharding = ClusterSharding.get(system);
        this.askTimeout = askTimeout;
    }

    /**
     * Starts this node's part of the sharded topics. Shards are never moved to balance load: a moved
     * owner would restart empty, so a topic stays where it started until its node leaves or is lost.
     */
    public static TopicOwners start(ActorSystem<?> system, HeraldSettings settings) {
        TopicOwners owners = new TopicOwners(system, settings.api().askTimeout());
        owners.sharding.init(Entity.of(TopicOwner.KEY,
                        entity -> TopicOwner.create(entity, settings.topics().limitsFor(entity.getEntityId()), owners))
                .withStopMessage(TopicOwner.Stop.INSTANCE)
                .withAllocationStrategy(new NoRebalancing()));
        return owners;
    }

    private EntityRef<TopicOwner.Command> owner(String topic) {
        return sharding.entityRefFor(TopicOwner.KEY, topic);
    }

    /** A message an owner received as it stopped, sent on to its next incarnation. */
    void resend(String topic, TopicOwner.Command command) {
        owner(topic).tell(command);
    }

    void join(String topic, ActorRef<Topic.Command> relay) {
        owner(topic).tell(new TopicOwner.Join(relay));
    }

    void publish(String topic, Topic.Publish publish) {
        Change change = publish.change();
        owner(topic).tell(new TopicOwner.Apply(change.op(), change.key(), change.event(), change.data(),
                change.ifVersion(), change.idem(), publish.requestId(), publish.replyTo()));
    }

    /** Asks the owner and answers in the HTTP API's shape; no answer in time leaves the caller's ask to time out. */
    void getState(String topic, Topic.GetState get) {
        AskPattern.<TopicOwner.Command, TopicOwner.State>ask(owner(topic),
                        replyTo -> new TopicOwner.GetState(get.since(), replyTo), askTimeout, system.scheduler())
                .thenAccept(state -> get.replyTo().tell(new ApiBody.TopicState(topic, state.epoch(), state.seq(),
                        state.since(), state.entries().stream().map(TopicData.Item::toEntry).toList(), state.deleted(),
                        state.node())));
    }
}
