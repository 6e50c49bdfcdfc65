package herald.hub;

import org.apache.pekko.actor.typed.ActorRef;

/**
 * Where a topic's owner lives when it is not the topic actor itself: the one that numbers its
 * changes and keeps its state, while each node's {@link Topic} only relays it to subscribers. In a
 * cluster that is a sharded entity ({@link TopicOwners}); on one node, the owner of a durable topic
 * ({@link DurableOwners}). An in-memory topic on one node is its own owner and has none.
 */
public interface Owners {

    /** Asks the owner for its state and every change after it; the answer goes to the relay. */
    void join(String topic, ActorRef<Topic.Command> relay);

    /** A change, numbered and applied by the owner, which answers the publisher. */
    void publish(String topic, Topic.Publish publish);

    /** The state for the HTTP API; no answer in time leaves the caller's ask to time out. */
    void getState(String topic, Topic.GetState get);
}
