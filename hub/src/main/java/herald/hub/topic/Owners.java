package herald.hub.topic;

import org.apache.pekko.actor.typed.ActorRef;

/**
 * Where topics' owners live: the one place a topic's changes are applied and numbered and its state
 * kept, while each node's {@link Topic} only relays it to subscribers. On one node that is
 * {@link LocalOwners} (a {@link TopicOwner} in memory or a {@link DurableTopicOwner} per topic); in a
 * cluster, {@link TopicOwners} (the same two, as sharded entities).
 */
public interface Owners {

    /** Asks the owner for its state and every change after it; the answer goes to the relay. */
    void join(String topic, ActorRef<Topic.Command> relay);

    /** A change, numbered and applied by the owner, which answers the publisher. */
    void publish(String topic, Topic.Publish publish);

    /** Changes of one request, applied in order and answered together. */
    void publishAll(String topic, Topic.PublishAll publish);

    /** What a relay says of its members to the owner of the presence topic {@code topic}. */
    void presence(String topic, TopicOwner.MemberCommand command);

    /** The state for the HTTP API; no answer in time leaves the caller's ask to time out. */
    void getState(String topic, Topic.GetState get);
}
