package herald.hub.auth;

/**
 * Who a connection acts as and until when.
 *
 * @param user      the token's {@code sub} (or the connect hook's user), null when authentication is off
 * @param expiresAt epoch ms of the token's {@code exp}, 0 when nothing expires
 * @param info      what presence lists beside the user (the token's {@code presence} claim or the
 *                  connect hook's {@code info}) as JSON, or null
 */
public record Principal(String user, long expiresAt, Permissions permissions, String info) {
    public Principal(String user, long expiresAt, Permissions permissions) {
        this(user, expiresAt, permissions, null);
    }
}
