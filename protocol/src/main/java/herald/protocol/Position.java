package herald.protocol;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;

/** Where a client stands in a topic's history: the snapshot's {@code epoch} and the last {@code seq} applied. */
@JsonPropertyOrder({"epoch", "seq"})
public record Position(String epoch, long seq) {

    /** The {@code EPOCH:SEQ} form of query parameters and SSE event ids; null when it is not one. */
    public static Position parse(String text) {
        int colon = text.lastIndexOf(':');
        if (colon <= 0 || colon == text.length() - 1) {
            return null;
        }
        String seq = text.substring(colon + 1);
        for (int i = 0; i < seq.length(); i++) {
            if (seq.charAt(i) < '0' || seq.charAt(i) > '9') {
                return null;
            }
        }
        try {
            return new Position(text.substring(0, colon), Long.parseLong(seq));
        } catch (NumberFormatException e) {
            return null;
        }
    }

    @Override
    public String toString() {
        return epoch + ":" + seq;
    }
}
