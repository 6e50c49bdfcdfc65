package herald.client;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import herald.protocol.Op;
import herald.protocol.TopicNames;

/**
 * One change to publish (PROTOCOL.md section 1): {@code data} is JSON text, checked before anything
 * is sent; {@code idem} is filled in by the client unless given, so a resend after a reconnect is
 * answered with the original seq rather than applied twice; {@code ifVersion} makes a set or
 * delete conditional (9.3).
 */
public record Change(String topic, String op, String key, String event, String data, Long ifVersion, String idem) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public Change {
        if (!TopicNames.isValid(topic)) {
            throw new IllegalArgumentException("not a topic name (1 to 200 of A-Z a-z 0-9 _ . : @ / -): " + topic);
        }
        Op wire = Op.fromWire(op);
        if (wire == null) {
            throw new IllegalArgumentException("op must be set, append, delete or clear, not " + op);
        }
        if (wire.takesKey() && (key == null || key.isEmpty())) {
            throw new IllegalArgumentException(op + " needs a key");
        }
        if (data != null) {
            try {
                JSON.readTree(data);
            } catch (JsonProcessingException e) {
                throw new IllegalArgumentException("data is not JSON: " + e.getOriginalMessage());
            }
        }
    }

    public static Change set(String topic, String key, String data) {
        return new Change(topic, "set", key, null, data, null, null);
    }

    public static Change append(String topic, String data) {
        return new Change(topic, "append", null, null, data, null, null);
    }

    public static Change delete(String topic, String key) {
        return new Change(topic, "delete", key, null, null, null, null);
    }

    public Change withIdem(String idem) {
        return new Change(topic, op, key, event, data, ifVersion, idem);
    }

    /** This change with an idem of its own unless it has one: every publish is safe to send again. */
    Change withIdemIfMissing() {
        return idem != null ? this : withIdem(java.util.UUID.randomUUID().toString());
    }

    public Change withIfVersion(long version) {
        return new Change(topic, op, key, event, data, version, idem);
    }

    /** The protocol's record of this change, which writes the wire form; {@code data} as Jackson prints it. */
    herald.protocol.Change toWire() {
        String printed;
        try {
            printed = data == null ? null : JSON.readTree(data).toString();
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("data was checked when the change was made", e);
        }
        return new herald.protocol.Change(topic, Op.fromWire(op), key, event, printed, ifVersion, idem);
    }
}
