package herald.hub;

import herald.protocol.FrameCodec;

/**
 * One encoded server frame on its way to a client, with its size counted once. A topic makes one
 * per change and every subscriber queues that same object.
 */
public record OutboundFrame(String text, int bytes) {
    public static OutboundFrame of(String text) {
        return new OutboundFrame(text, FrameCodec.utf8Length(text));
    }
}
