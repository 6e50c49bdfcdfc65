package herald.protocol;

/**
 * One validated change to a topic, as a client or a backend asked for it.
 *
 * @param key   the entry's key for set and delete, null otherwise
 * @param event a free-text label, or null
 * @param data  the JSON value as the sender wrote it, for set and append ("null" when absent); null otherwise
 */
public record Change(String topic, Op op, String key, String event, String data) {
}
