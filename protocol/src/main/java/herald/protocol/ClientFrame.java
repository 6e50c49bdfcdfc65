package herald.protocol;

import java.util.List;

/** A frame a client sends, after {@link FrameCodec#decode} has validated it. */
public sealed interface ClientFrame {
    /** The request id, echoed in every reply; null when the client sent none. */
    String id();

    record Auth(String id, String token) implements ClientFrame {
    }

    record Subscribe(String id, List<String> topics) implements ClientFrame {
    }

    record Unsubscribe(String id, List<String> topics) implements ClientFrame {
    }

    record Publish(String id, Change change) implements ClientFrame {
    }

    record Ping(String id) implements ClientFrame {
    }
}
