package herald.protocol;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;
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
public sealed interface ServerFrame {

    /**
     * The first frame of every authenticated connection. {@code user} is written even when null;
     * {@code features} lists what of protocol 1.1 the server offers (PROTOCOL.md section 9).
     */
    @JsonPropertyOrder({"session", "user", "heartbeat", "protocol", "features"})
    record Welcome(
            String session,
            @Nullable String user,
            long heartbeat,
            int protocol,
            List<String> features) implements ServerFrame {
    }

    /** A topic's whole state; {@code id} is null when the hub sends it unasked. */
    @JsonPropertyOrder({"id", "topic", "epoch", "seq", "entries"})
    record Snapshot(@Omissible String id, String topic, String epoch, long seq, List<Entry> entries) implements ServerFrame {
    }

    /** One change of a topic; {@code data} is raw JSON text, null for delete and clear. */
    @JsonPropertyOrder({"topic", "seq", "op", "key", "event", "data"})
    record Event(
            String topic,
            long seq,
            Op op,
            @Omissible String key,
            @Omissible String event,
            @Omissible @JsonSerialize(using = RawJson.class) String data)
            implements ServerFrame {
    }

    @JsonPropertyOrder({"id", "expires"})
    record Refreshed(@Omissible String id, long expires) implements ServerFrame {
    }

    @JsonPropertyOrder({"id", "topics"})
    record Unsubscribed(@Omissible String id, List<String> topics) implements ServerFrame {
    }

    @JsonPropertyOrder({"id", "topic", "seq"})
    record Published(@Omissible String id, String topic, long seq) implements ServerFrame {
    }

    @JsonPropertyOrder({"id", "time"})
    record Pong(@Omissible String id, long time) implements ServerFrame {
    }

    @JsonPropertyOrder({"id", "topic", "code", "message"})
    record Error(@Omissible String id, @Omissible String topic, ErrorCode code, String message) implements ServerFrame {
    }
}
