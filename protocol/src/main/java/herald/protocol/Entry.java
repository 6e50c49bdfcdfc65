package herald.protocol;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.annotation.JsonRawValue;

/** One entry of a topic's state, as a snapshot lists it. {@code data} is raw JSON text. */
@JsonPropertyOrder({"key", "seq", "event", "data"})
public record Entry(
        String key,
        long seq,
        @JsonInclude(JsonInclude.Include.NON_NULL) String event,
        @JsonRawValue String data) {
}
