package herald.http;

import herald.config.HeraldSettings;
import herald.hub.auth.Permissions;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * The HTTP API's keys. Only their SHA-256 is configured; a presented key is hashed and compared
 * with every configured hash in constant time, so neither the keys nor how much of one matched
 * can be learnt from the server's answers or timing.
 */
final class ApiKeys {
    record Key(String id, Permissions permissions, boolean admin) {
    }

    private record Stored(Key key, byte[] sha256) {
    }

    private final List<Stored> keys;

    ApiKeys(List<HeraldSettings.ApiKey> configured) {
        this.keys = configured.stream()
                .map(k -> new Stored(new Key(k.id(), Permissions.of(List.of(), k.publish()), k.admin()), HexFormat.of().parseHex(k.sha256())))
                .toList();
    }

    /** The key whose hash matches, or null. Every stored hash is compared, matched or not. */
    Key find(String presented) {
        byte[] digest = sha256(presented);
        Key found = null;
        for (Stored stored : keys) {
            if (MessageDigest.isEqual(digest, stored.sha256())) {
                found = stored.key();
            }
        }
        return found;
    }

    static byte[] sha256(String text) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }
}
