package herald.hub.topic;

/**
 * Hears when a topic gets its first listening node and loses its last one: its owner's relays,
 * which a node has exactly while connections there are subscribed (the webhooks
 * {@code topic.occupied} and {@code topic.vacated}). Called by the owner, in the topic's order.
 */
public interface Occupancy {
    void occupied(String topic);

    void vacated(String topic);

    Occupancy NONE = new Occupancy() {
        @Override
        public void occupied(String topic) {
        }

        @Override
        public void vacated(String topic) {
        }
    };
}
