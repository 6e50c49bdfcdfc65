package herald.hub.topic;

import java.util.HashSet;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.ActorContext;

/**
 * The relays an owner sends a topic's changes to ({@link TopicOwner} in memory, the durable topic's
 * journal): each watched, so that a lost node's relay is forgotten, and the topic's
 * {@link Occupancy} told when the first one joins and the last one goes.
 */
public final class Relays {
    private final String topic;
    private final Occupancy occupancy;
    private final ActorContext<TopicOwner.Command> context;
    private final Set<ActorRef<Topic.Command>> relays = new HashSet<>();

    public Relays(String topic, Occupancy occupancy, ActorContext<TopicOwner.Command> context) {
        this.topic = topic;
        this.occupancy = occupancy;
        this.context = context;
    }

    public void add(ActorRef<Topic.Command> relay) {
        if (relays.add(relay)) {
            context.watchWith(relay, new TopicOwner.RelayTerminated(relay));
            if (relays.size() == 1) {
                occupancy.occupied(topic);
            }
        }
    }

    public void remove(ActorRef<Topic.Command> relay) {
        if (relays.remove(relay)) {
            context.unwatch(relay);
            if (relays.isEmpty()) {
                occupancy.vacated(topic);
            }
        }
    }

    public boolean isEmpty() {
        return relays.isEmpty();
    }

    public void tell(Topic.Command command) {
        relays.forEach(relay -> relay.tell(command));
    }
}
