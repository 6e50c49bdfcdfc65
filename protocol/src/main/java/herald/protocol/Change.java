package herald.protocol;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;

/**
 * One validated change to a topic, as a client or a backend asked for it.
 *
 * @param key       the entry's key for set and delete, null otherwise
 * @param event     a free-text label, or null
 * @param data      the JSON value as the sender wrote it, for set and append ("null" when absent); null otherwise
 * @param ifVersion for set and delete: apply only if the key's seq is this (0: only if absent); null for always
 * @param idem      an idempotency key: a change whose idem the topic already applied is not applied again
 */
@JsonPropertyOrder({"topic", "op", "key", "event", "data", "ifVersion", "idem"})
public record Change(
        String topic,
        Op op,
        @Omissible String key,
        @Omissible String event,
        @Omissible @JsonSerialize(using = RawJson.class) String data,
        @Omissible Long ifVersion,
        @Omissible String idem) {

    public Change(String topic, Op op, String key, String event, String data) {
        this(topic, op, key, event, data, null, null);
    }
}
