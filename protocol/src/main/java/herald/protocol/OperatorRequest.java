package herald.protocol;

import java.util.List;

/**
 * The body of POST /api/disconnect or /api/unsubscribe (PROTOCOL.md 9.5): which connections, by
 * {@code user} or by {@code session} (exactly one), and for unsubscribe the {@code topics}.
 */
public record OperatorRequest(@Omissible String user, @Omissible String session, @Omissible List<String> topics) {
}
