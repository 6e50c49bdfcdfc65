package herald.hub.session;

import java.nio.charset.StandardCharsets;
import org.apache.pekko.util.ByteString;

/**
 * One encoded server frame on its way to clients: its text, and its UTF-8 bytes encoded once. A
 * topic makes one per change and every subscriber's buffer holds that same object, so the bytes
 * are never encoded again per subscriber.
 */
public record OutboundFrame(String text, ByteString utf8) {
    public static OutboundFrame of(String text) {
        return new OutboundFrame(text, ByteString.fromString(text, StandardCharsets.UTF_8));
    }

    public int bytes() {
        return utf8.size();
    }
}
