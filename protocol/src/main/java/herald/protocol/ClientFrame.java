package herald.protocol;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import com.fasterxml.jackson.annotation.JsonUnwrapped;
import java.util.List;
import java.util.Map;

/**
 * A frame a client sends, after {@link FrameCodec#decode} has validated it.
 *
 * <p>The codec decodes these by hand (see {@link FrameCodec}); the Jackson annotations describe
 * their wire shape for the TypeScript client's generated types and for tests that write frames.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, include = JsonTypeInfo.As.PROPERTY, property = "type")
@JsonSubTypes({
        @JsonSubTypes.Type(value = ClientFrame.Auth.class, name = "auth"),
        @JsonSubTypes.Type(value = ClientFrame.Subscribe.class, name = "subscribe"),
        @JsonSubTypes.Type(value = ClientFrame.Unsubscribe.class, name = "unsubscribe"),
        @JsonSubTypes.Type(value = ClientFrame.Publish.class, name = "publish"),
        @JsonSubTypes.Type(value = ClientFrame.Ping.class, name = "ping")
})
public sealed interface ClientFrame {
    /** The request id, echoed in every reply; null when the client sent none. */
    String id();

    @JsonPropertyOrder({"id", "token"})
    record Auth(@Omissible String id, String token) implements ClientFrame {
    }

    /** {@code since}: the position the client holds of some of the topics, to resume them (9.2); may be empty. */
    @JsonPropertyOrder({"id", "topics", "since"})
    record Subscribe(@Omissible String id, List<String> topics, @Omissible Map<String, Position> since)
            implements ClientFrame {
        public Subscribe(String id, List<String> topics) {
            this(id, topics, Map.of());
        }
    }

    @JsonPropertyOrder({"id", "topics"})
    record Unsubscribe(@Omissible String id, List<String> topics) implements ClientFrame {
    }

    /** On the wire the change's fields sit beside {@code type} and {@code id}. */
    record Publish(@Omissible String id, @JsonUnwrapped Change change) implements ClientFrame {
    }

    record Ping(@Omissible String id) implements ClientFrame {
    }
}
