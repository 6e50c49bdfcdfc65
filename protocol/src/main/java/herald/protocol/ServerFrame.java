package herald.protocol;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.annotation.JsonRawValue;
import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import java.util.List;

/** A frame Herald sends; {@link FrameCodec#encode} turns it into the text of one WebSocket message. */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, include = JsonTypeInfo.As.PROPERTY, property = "type")
@JsonSubTypes({
        @JsonSubTypes.Type(value = ServerFrame.Welcome.class, name = "welcome"),
        @JsonSubTypes.Type(value = ServerFrame.Snapshot.class, name = "snapshot"),
        @JsonSubTypes.Type(value = ServerFrame.Event.class, name = "event"),
        @JsonSubTypes.Type(value = ServerFrame.Refreshed.class, name = "refreshed"),
        @JsonSubTypes.Type(value = ServerFrame.Unsubscribed.class, name = "unsubscribed"),
        @JsonSubTypes.Type(value = ServerFrame.Published.class, name = "published"),
        @JsonSubTypes.Type(value = ServerFrame.Pong.class, name = "pong"),
        @JsonSubTypes.Type(value = ServerFrame.Error.class, name = "error")
})
@JsonInclude(JsonInclude.Include.NON_NULL)
public sealed interface ServerFrame {

    /** The first frame of every authenticated connection. {@code user} is written even when null. */
    @JsonPropertyOrder({"session", "user", "heartbeat", "protocol"})
    record Welcome(
            String session,
            @JsonInclude(JsonInclude.Include.ALWAYS) String user,
            long heartbeat,
            int protocol) implements ServerFrame {
    }

    /** A topic's whole state; {@code id} is null when the hub sends it unasked. */
    @JsonPropertyOrder({"id", "topic", "epoch", "seq", "entries"})
    record Snapshot(String id, String topic, String epoch, long seq, List<Entry> entries) implements ServerFrame {
    }

    /** One change of a topic; {@code data} is raw JSON text, null for delete and clear. */
    @JsonPropertyOrder({"topic", "seq", "op", "key", "event", "data"})
    record Event(String topic, long seq, Op op, String key, String event, @JsonRawValue String data)
            implements ServerFrame {
    }

    @JsonPropertyOrder({"id", "expires"})
    record Refreshed(String id, long expires) implements ServerFrame {
    }

    @JsonPropertyOrder({"id", "topics"})
    record Unsubscribed(String id, List<String> topics) implements ServerFrame {
    }

    @JsonPropertyOrder({"id", "topic", "seq"})
    record Published(String id, String topic, long seq) implements ServerFrame {
    }

    @JsonPropertyOrder({"id", "time"})
    record Pong(String id, long time) implements ServerFrame {
    }

    @JsonPropertyOrder({"id", "topic", "code", "message"})
    record Error(String id, String topic, ErrorCode code, String message) implements ServerFrame {
    }
}
