package herald.hub.auth;

/**
 * Who a connection acts as and until when.
 *
 * @param user      the token's {@code sub}, null when authentication is off
 * @param expiresAt epoch ms of the token's {@code exp}, 0 when nothing expires
 */
public record Principal(String user, long expiresAt, Permissions permissions) {
}
