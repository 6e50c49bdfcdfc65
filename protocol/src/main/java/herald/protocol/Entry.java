package herald.protocol;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;

/** One entry of a topic's state, as a snapshot lists it. {@code data} is raw JSON text. */
@JsonPropertyOrder({"key", "seq", "event", "data"})
public record Entry(
        String key,
        long seq,
        @Omissible String event,
        @JsonSerialize(using = RawJson.class) String data) {
}
