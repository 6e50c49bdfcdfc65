package herald.protocol;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;

/**
 * The {@code data} of one entry of a presence topic (PROTOCOL.md 9.4): who the connection is,
 * what the token or the connect hook said of it ({@code info}, raw JSON) and since when it is
 * subscribed (epoch ms).
 */
@JsonPropertyOrder({"user", "info", "since"})
public record PresenceMember(String user, @Omissible @JsonSerialize(using = RawJson.class) String info, long since) {
}
