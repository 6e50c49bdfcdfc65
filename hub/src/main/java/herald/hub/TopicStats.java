package herald.hub;

/**
 * A topic's counts, written only by its actor and read by the registry when it lists topics, so
 * a listing of many topics needs no message to each of them.
 */
final class TopicStats {
    volatile long seq;
    volatile int entries;
    volatile int subscribers;
}
