package herald.protocol;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;

/**
 * One validated change to a topic, as a client or a backend asked for it.
 *
 * @param key   the entry's key for set and delete, null otherwise
 * @param event a free-text label, or null
 * @param data  the JSON value as the sender wrote it, for set and append ("null" when absent); null otherwise
 */
@JsonPropertyOrder({"topic", "op", "key", "event", "data"})
public record Change(
        String topic,
        Op op,
        @Omissible String key,
        @Omissible String event,
        @Omissible @JsonSerialize(using = RawJson.class) String data) {
}
