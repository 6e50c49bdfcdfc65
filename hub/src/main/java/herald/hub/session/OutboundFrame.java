package herald.hub.session;

import java.nio.charset.StandardCharsets;
import org.apache.pekko.util.ByteString;

/**
 * One encoded server frame on its way to clients, as UTF-8 bytes encoded once. A topic makes one
 * per change and every subscriber's buffer holds that same object, so the bytes are never encoded
 * again per subscriber; the answers to a storm of subscribes share one encoding of the topic's state
 * too (see {@link #sharing}). {@code bytes} is their count, read on every offer and poll of every
 * subscriber's buffer: kept as a field rather than asked of the ByteString, whose {@code size} goes
 * through Scala's collection interfaces each time.
 */
public record OutboundFrame(ByteString utf8, int bytes) {
    public static OutboundFrame of(String text) {
        ByteString utf8 = ByteString.fromString(text, StandardCharsets.UTF_8);
        return new OutboundFrame(utf8, utf8.length());
    }

    /** {@code start}, then {@code rest}'s bytes without a copy: the rest may be shared by thousands of frames. */
    public static OutboundFrame sharing(String start, ByteString rest) {
        ByteString utf8 = ByteString.fromString(start, StandardCharsets.UTF_8).concat(rest);
        return new OutboundFrame(utf8, utf8.length());
    }

    /** The frame as text, decoded again: for the few who need text (SSE, Pekko's message API), not for WebSockets. */
    public String text() {
        return utf8.utf8String();
    }
}
