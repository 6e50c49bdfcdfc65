package herald.client;

/** A change the hub applied: its topic and seq; {@code duplicate} when its idem had been applied already (a resend). */
public record Published(String topic, long seq, boolean duplicate) {
}
