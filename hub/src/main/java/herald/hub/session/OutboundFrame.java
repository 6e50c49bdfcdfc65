package herald.hub.session;

import java.nio.charset.StandardCharsets;
import org.apache.pekko.util.ByteString;

/**
 * One encoded server frame on its way to clients: its text, and its UTF-8 bytes encoded once. A
 * topic makes one per change and every subscriber's buffer holds that same object, so the bytes
 * are never encoded again per subscriber. {@code bytes} is their count, read on every offer and
 * poll of every subscriber's buffer: kept as a field rather than asked of the ByteString, whose
 * {@code size} goes through Scala's collection interfaces each time.
 */
public record OutboundFrame(String text, ByteString utf8, int bytes) {
    public static OutboundFrame of(String text) {
        ByteString utf8 = ByteString.fromString(text, StandardCharsets.UTF_8);
        return new OutboundFrame(text, utf8, utf8.length());
    }
}
