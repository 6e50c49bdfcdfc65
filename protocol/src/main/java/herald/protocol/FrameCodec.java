package herald.protocol;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The JSON codec: client frames and API bodies in, server frames and API answers out.
 *
 * <p>Decoding walks Jackson's streaming parser instead of binding to classes, for two reasons: the
 * error for a bad frame must name the field and still echo the request id, and {@code data} must be
 * kept as the exact JSON text the sender wrote (the hub never interprets it, so a huge number or a
 * deep object is forwarded as it came rather than re-printed).
 */
public final class FrameCodec {
    public static final int MAX_ID_LENGTH = 64;
    public static final int MAX_IDEM_LENGTH = 64;
    public static final int MAX_TOPICS_PER_REQUEST = 100;
    public static final int MAX_KEY_LENGTH = 1024;
    public static final int MAX_EVENT_LENGTH = 200;
    public static final int MAX_BATCH = 1000;
    /** Deep enough for any sane document; a hostile one fails fast instead of using the stack. */
    public static final int MAX_NESTING_DEPTH = 256;

    private final JsonFactory factory;
    private final ObjectWriter frameWriter;
    private final ObjectMapper mapper;

    public FrameCodec() {
        factory = JsonFactory.builder()
                .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(MAX_NESTING_DEPTH).build())
                .build();
        mapper = new ObjectMapper(factory);
        frameWriter = mapper.writerFor(ServerFrame.class);
    }

    private static final ObjectMapper PLAIN = new ObjectMapper();

    /** Any plain value (maps, lists, strings, numbers) as JSON: a token's claim kept verbatim. */
    public static String json(Object value) {
        try {
            return PLAIN.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not a plain JSON value: " + e.getOriginalMessage(), e);
        }
    }

    /** The text of one WebSocket message carrying this frame. */
    public String encode(ServerFrame frame) {
        try {
            return frameWriter.writeValueAsString(frame);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * How every encoded snapshot starts: its type, then ({@link ServerFrame.Snapshot}'s first
     * property) the request id when there is one. A snapshot encoded once without an id becomes
     * the answer to any request by putting {@link #snapshotIdField} after this start, so a topic
     * need not encode its whole state again for each of a reconnect storm's subscribers.
     */
    public static final String SNAPSHOT_START = "{\"type\":\"snapshot\",";

    /** A snapshot's {@code "id":"..."} property with its comma, escaped exactly as in an encoded frame. */
    public String snapshotIdField(String requestId) {
        try {
            return "\"id\":" + mapper.writeValueAsString(requestId) + ",";
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The {@code type} of a frame this codec encoded, read from its start: {@link ServerFrame}'s type
     * id is written as the first property, so no parsing is needed.
     */
    public static String typeOf(String encodedFrame) {
        int start = TYPE_PREFIX.length();
        if (!encodedFrame.startsWith(TYPE_PREFIX)) {
            throw new IllegalArgumentException("not a frame encoded by FrameCodec: " + encodedFrame);
        }
        return encodedFrame.substring(start, encodedFrame.indexOf('"', start));
    }

    private static final String TYPE_PREFIX = "{\"type\":\"";

    /** Where a snapshot or event frame leaves its topic: {@code epoch} is null for an event, which does not carry it. */
    public record FramePosition(String topic, String epoch, long seq) {
    }

    /**
     * The topic, epoch and seq of a snapshot or event frame this codec encoded, null for other
     * frames. It reads only the leading fields (they come before entries and data), so it costs
     * little even for a large snapshot.
     */
    public FramePosition positionOf(String encodedFrame) {
        String type = typeOf(encodedFrame);
        if (!type.equals("snapshot") && !type.equals("event")) {
            return null;
        }
        try (JsonParser p = factory.createParser(encodedFrame)) {
            p.nextToken();
            String topic = null;
            String epoch = null;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                p.nextToken();
                switch (name) {
                    case "topic" -> topic = p.getText();
                    case "epoch" -> epoch = p.getText();
                    case "seq" -> {
                        return new FramePosition(topic, epoch, p.getLongValue());
                    }
                    default -> p.skipChildren();
                }
            }
            throw new IllegalArgumentException("a " + type + " frame without seq: " + encodedFrame);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The JSON body of an HTTP API answer. */
    public String encode(ApiBody body) {
        return write(body);
    }

    /** Herald's own records as JSON: nothing of them can fail to write but a bug. */
    private String write(Object value) {
        try {
            return mapper.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A JSON object from outside (a backend's answer, an operator's body), or bad_request saying what it is not. */
    private JsonNode readObject(String text, String what) throws InvalidFrameException {
        JsonNode root;
        try {
            root = mapper.readTree(text);
        } catch (JsonProcessingException e) {
            throw badRequest(null, what + " is not JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw badRequest(null, what + " must be a JSON object");
        }
        return root;
    }

    /** The body of a webhook. */
    public String encode(Hook.Webhook webhook) {
        return write(webhook);
    }

    /** The body of a call to a backend hook. */
    public String encode(Hook.Call call) {
        return write(call);
    }

    /**
     * Reads a hook's answer. Anything but the documented JSON (not an object, no boolean
     * {@code allow}, a field of the wrong type, a pattern that is not one) is an
     * {@link InvalidFrameException} saying what is wrong, and counts as the hook failing.
     */
    public Hook.Answer decodeHookAnswer(String body, boolean connect) throws InvalidFrameException {
        JsonNode root = readObject(body, "the answer");
        JsonNode allow = root.get("allow");
        if (allow == null || !allow.isBoolean()) {
            throw badRequest(null, "the answer needs \"allow\": true or false");
        }
        String message = optionalText(root, "message");
        JsonNode statusNode = root.get("status");
        int status = 0;
        if (statusNode != null && !statusNode.isNull()) {
            if (!statusNode.isInt() || (statusNode.asInt() != 401 && statusNode.asInt() != 403)) {
                throw badRequest(null, "status must be 401 or 403");
            }
            status = statusNode.asInt();
        }
        if (!allow.asBoolean()) {
            return new Hook.Answer(false, message, status, null, List.of(), List.of(), null, 0, null);
        }
        String user = optionalText(root, "user");
        if (connect && user == null) {
            throw badRequest(null, "an allowed connect needs \"user\", a non-empty string");
        }
        List<String> subscribe = patterns(root, "subscribe");
        List<String> publish = patterns(root, "publish");
        JsonNode expiresNode = root.get("expires");
        long expires = 0;
        if (expiresNode != null && !expiresNode.isNull()) {
            if (!expiresNode.canConvertToLong() || !expiresNode.isIntegralNumber() || expiresNode.asLong() < 0) {
                throw badRequest(null, "expires must be epoch milliseconds");
            }
            expires = expiresNode.asLong();
        }
        return new Hook.Answer(true, message, 0, user, subscribe, publish, rawOrNull(root, "info"), expires,
                rawOrNull(root, "data"));
    }

    private static String rawOrNull(JsonNode root, String field) {
        JsonNode node = root.get(field);
        return node == null || node.isMissingNode() ? null : node.toString();
    }

    private static List<String> patterns(JsonNode root, String field)
            throws InvalidFrameException {
        JsonNode node = root.get(field);
        if (node == null || node.isNull()) {
            return List.of();
        }
        if (!node.isArray()) {
            throw badRequest(null, field + " must be an array of topic patterns");
        }
        List<String> patterns = new ArrayList<>(node.size());
        for (JsonNode p : node) {
            if (!p.isTextual()) {
                throw badRequest(null, field + " must be an array of topic patterns");
            }
            try {
                TopicPattern.compile(p.asText());
            } catch (IllegalArgumentException e) {
                throw badRequest(null, field + ": " + e.getMessage());
            }
            patterns.add(p.asText());
        }
        return patterns;
    }

    /** A presence entry's data. */
    public String encode(PresenceMember member) {
        return write(member);
    }

    /** The size of this text in UTF-8, without encoding it. */
    public static int utf8Length(String s) {
        int bytes = s.length();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c >= 0x80) {
                // Two bytes below U+0800, three above; a surrogate pair's two chars make four.
                bytes += c < 0x800 ? 1 : Character.isSurrogate(c) ? 1 : 2;
            }
        }
        return bytes;
    }

    /**
     * Reads the body of an operator call: {@code user} or {@code session}, a string, and when
     * {@code withTopics} a {@code topics} list of 1 to 100 names (presence topics included).
     */
    public OperatorRequest decodeOperatorRequest(String body, boolean withTopics) throws InvalidFrameException {
        JsonNode root = readObject(body, "the body");
        String user = optionalText(root, "user");
        String session = optionalText(root, "session");
        if ((user == null) == (session == null)) {
            throw badRequest(null, "name the connections by exactly one of user or session");
        }
        if (!withTopics) {
            return new OperatorRequest(user, session, null);
        }
        JsonNode topics = root.get("topics");
        if (topics == null || !topics.isArray() || topics.isEmpty()) {
            throw badRequest(null, "topics must be an array of 1 to " + MAX_TOPICS_PER_REQUEST + " topic names");
        }
        if (topics.size() > MAX_TOPICS_PER_REQUEST) {
            throw new InvalidFrameException(ErrorCode.TOO_MANY_TOPICS, null, null,
                    "at most " + MAX_TOPICS_PER_REQUEST + " topics per request, got " + topics.size());
        }
        List<String> names = new ArrayList<>(topics.size());
        for (JsonNode topic : topics) {
            if (!topic.isTextual() || !(TopicNames.isValid(topic.asText()) || TopicNames.isPresence(topic.asText()))) {
                throw new InvalidFrameException(ErrorCode.INVALID_TOPIC, null, topic.isTextual() ? topic.asText() : null,
                        "topics must be topic names: 1 to 200 characters of A-Z a-z 0-9 _ . : @ / -");
            }
            names.add(topic.asText());
        }
        return new OperatorRequest(user, session, names);
    }

    private static String optionalText(JsonNode root, String field)
            throws InvalidFrameException {
        JsonNode node = root.get(field);
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isTextual() || node.asText().isEmpty()) {
            throw badRequest(null, field + " must be a non-empty string");
        }
        return node.asText();
    }

    /** Reads and validates one client frame. */
    public ClientFrame decode(String text) throws InvalidFrameException {
        Fields f = parseDocument(text, false);
        String id = f.string("id", null, null);
        if (id != null && id.length() > MAX_ID_LENGTH) {
            throw badRequest(null, "id is longer than " + MAX_ID_LENGTH + " characters");
        }
        if (f.absent("type")) {
            throw badRequest(id, "type is required");
        }
        String type = f.string("type", id, null);
        return switch (type) {
            case "auth" -> new ClientFrame.Auth(id, f.required("token", id, null));
            case "subscribe" -> new ClientFrame.Subscribe(id, f.topicList(id), f.since(id));
            case "unsubscribe" -> new ClientFrame.Unsubscribe(id, f.topicList(id));
            case "publish" -> new ClientFrame.Publish(id, f.change(id, ""));
            case "ping" -> new ClientFrame.Ping(id);
            default -> throw new InvalidFrameException(ErrorCode.UNKNOWN_TYPE, id, null,
                    "unknown frame type '" + clip(type) + "'");
        };
    }

    /** An HTTP publish body: its changes, and whether it was a batch ({@code {"changes":[...]}}) or one change. */
    public record Changes(List<Change> changes, boolean batch) {
    }

    /**
     * Reads an HTTP publish body: one change, or {@code {"changes":[...]}}. The whole batch is
     * validated before anything is applied.
     */
    public Changes decodeChanges(String body) throws InvalidFrameException {
        Fields f = parseDocument(body, true);
        if (f.changes == null) {
            if (f.mistyped("changes")) {
                throw badRequest(null, "changes must be an array of changes");
            }
            return new Changes(List.of(f.change(null, "")), false);
        }
        if (f.changes.isEmpty()) {
            throw badRequest(null, "changes is empty");
        }
        if (f.changes.size() > MAX_BATCH) {
            throw new InvalidFrameException(ErrorCode.PAYLOAD_TOO_LARGE, null, null,
                    "a batch holds at most " + MAX_BATCH + " changes, this one has " + f.changes.size());
        }
        List<Change> changes = new ArrayList<>(f.changes.size());
        for (int i = 0; i < f.changes.size(); i++) {
            Fields change = f.changes.get(i);
            if (change == null) {
                throw badRequest(null, "changes[" + i + "]: must be an object");
            }
            changes.add(change.change(null, "changes[" + i + "]: "));
        }
        return new Changes(changes, true);
    }

    private Fields parseDocument(String text, boolean allowBatch) throws InvalidFrameException {
        try (JsonParser p = factory.createParser(text)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw badRequest(null, "a frame must be a JSON object");
            }
            Fields fields = parseObject(p, text, allowBatch);
            if (p.nextToken() != null) {
                throw badRequest(null, "unexpected content after the JSON object");
            }
            return fields;
        } catch (JsonProcessingException e) {
            throw badRequest(null, "malformed JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Reads the fields of the object whose START_OBJECT the parser is on; unknown fields are skipped. */
    private Fields parseObject(JsonParser p, String text, boolean allowBatch) throws IOException {
        Fields f = new Fields();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            JsonToken value = p.nextToken();
            switch (name) {
                case "type", "id", "token", "topic", "op", "key", "event", "idem" -> {
                    if (value == JsonToken.VALUE_STRING) {
                        f.put(name, p.getText());
                    } else {
                        f.putNonString(name, value == JsonToken.VALUE_NULL);
                        p.skipChildren();
                    }
                }
                case "topics" -> {
                    if (value == JsonToken.START_ARRAY) {
                        f.topics = readStrings(p);
                        f.present.add("topics");
                        if (f.topics == null) {
                            f.putNonString("topics", false);
                        }
                    } else {
                        f.putNonString("topics", value == JsonToken.VALUE_NULL);
                        p.skipChildren();
                    }
                }
                case "ifVersion" -> {
                    long version = wholeNumber(p, value);
                    if (version >= 0) {
                        f.ifVersion = version;
                        f.present.add(name);
                    } else {
                        f.putNonString(name, value == JsonToken.VALUE_NULL);
                        p.skipChildren();
                    }
                }
                case "since" -> {
                    if (value == JsonToken.START_OBJECT) {
                        f.since = readPositions(p);
                        f.present.add(name);
                        if (f.since == null) {
                            f.putNonString(name, false);
                        }
                    } else {
                        f.putNonString(name, value == JsonToken.VALUE_NULL);
                        p.skipChildren();
                    }
                }
                case "data" -> {
                    int start = (int) p.currentTokenLocation().getCharOffset();
                    p.skipChildren();
                    p.finishToken();
                    int end = (int) p.currentLocation().getCharOffset();
                    f.data = text.substring(start, end);
                    f.present.add("data");
                }
                case "changes" -> {
                    if (allowBatch && value == JsonToken.START_ARRAY) {
                        f.changes = new ArrayList<>();
                        JsonToken t;
                        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
                            if (t == JsonToken.START_OBJECT) {
                                f.changes.add(parseObject(p, text, false));
                            } else {
                                f.changes.add(null);
                                p.skipChildren();
                            }
                        }
                    } else {
                        f.putNonString("changes", value == JsonToken.VALUE_NULL);
                        p.skipChildren();
                    }
                }
                default -> p.skipChildren();
            }
        }
        return f;
    }

    /** The array's strings, or null when an element is not a string (the array is consumed either way). */
    private static List<String> readStrings(JsonParser p) throws IOException {
        List<String> strings = new ArrayList<>();
        boolean allStrings = true;
        JsonToken t;
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
            if (t == JsonToken.VALUE_STRING) {
                strings.add(p.getText());
            } else {
                allStrings = false;
                p.skipChildren();
            }
        }
        return allStrings ? strings : null;
    }

    /**
     * A {@code since} object, topic name to {@code {epoch, seq}}; null when any value is not one
     * (the object is consumed either way). Unknown fields inside a position are ignored.
     */
    private static Map<String, Position> readPositions(JsonParser p) throws IOException {
        Map<String, Position> positions = new LinkedHashMap<>();
        boolean valid = true;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String topic = p.currentName();
            if (p.nextToken() != JsonToken.START_OBJECT) {
                valid = false;
                p.skipChildren();
                continue;
            }
            String epoch = null;
            long seq = -1;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken value = p.nextToken();
                if (field.equals("epoch") && value == JsonToken.VALUE_STRING) {
                    epoch = p.getText();
                } else if (field.equals("seq") && wholeNumber(p, value) >= 0) {
                    seq = p.getLongValue();
                } else if (field.equals("epoch") || field.equals("seq")) {
                    valid = false;
                }
                p.skipChildren();
            }
            if (epoch == null || seq < 0) {
                valid = false;
            } else {
                positions.put(topic, new Position(epoch, seq));
            }
        }
        return valid ? positions : null;
    }

    /** The value the parser is on as a whole number from 0 to Long.MAX_VALUE, or -1 when it is not one. */
    private static long wholeNumber(JsonParser p, JsonToken value) throws IOException {
        if (value != JsonToken.VALUE_NUMBER_INT || p.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
            return -1;
        }
        return Math.max(-1, p.getLongValue());
    }

    private static InvalidFrameException badRequest(String id, String message) {
        return new InvalidFrameException(ErrorCode.BAD_REQUEST, id, null, message);
    }

    /** Keeps client text quoted in an error short. */
    private static String clip(String s) {
        return s.length() <= 64 ? s : s.substring(0, 64) + "...";
    }

    /** The fields of one object as they came, checked only when the frame's type says which it needs. */
    private static final class Fields {
        final java.util.Map<String, String> strings = new java.util.HashMap<>(8);
        final java.util.Set<String> present = new java.util.HashSet<>(8);
        final java.util.Set<String> mistyped = new java.util.HashSet<>(2);
        List<String> topics;
        List<Fields> changes;
        String data;
        Long ifVersion;
        Map<String, Position> since;

        void put(String name, String value) {
            strings.put(name, value);
            present.add(name);
        }

        /** A value that is not a string: null counts as absent, anything else as the wrong type. */
        void putNonString(String name, boolean isNull) {
            if (!isNull) {
                mistyped.add(name);
                present.add(name);
            }
        }

        boolean absent(String name) {
            return !present.contains(name);
        }

        boolean mistyped(String name) {
            return mistyped.contains(name);
        }

        /** An optional string field: its value, or null when absent. */
        String string(String name, String id, String topic) throws InvalidFrameException {
            if (mistyped(name)) {
                throw new InvalidFrameException(ErrorCode.BAD_REQUEST, id, topic, name + " must be a string");
            }
            return strings.get(name);
        }

        String required(String name, String id, String topic) throws InvalidFrameException {
            String value = string(name, id, topic);
            if (value == null) {
                throw new InvalidFrameException(ErrorCode.BAD_REQUEST, id, topic, name + " is required");
            }
            return value;
        }

        List<String> topicList(String id) throws InvalidFrameException {
            if (mistyped("topics")) {
                throw badRequest(id, "topics must be an array of topic names");
            }
            if (topics == null || topics.isEmpty()) {
                throw badRequest(id, "topics must name at least one topic");
            }
            if (topics.size() > MAX_TOPICS_PER_REQUEST) {
                throw new InvalidFrameException(ErrorCode.TOO_MANY_TOPICS, id, null,
                        "at most " + MAX_TOPICS_PER_REQUEST + " topics per request, got " + topics.size());
            }
            return topics;
        }

        Map<String, Position> since(String id) throws InvalidFrameException {
            if (mistyped("since")) {
                throw badRequest(id, "since must be an object of topic name to {epoch: string, seq: non-negative integer}");
            }
            return since == null ? Map.of() : since;
        }

        Change change(String id, String where) throws InvalidFrameException {
            String topic = strings.get("topic");
            if (mistyped("topic") || topic == null) {
                throw badRequest(id, where + "topic is required and must be a string");
            }
            if (TopicNames.isPresence(topic)) {
                throw new InvalidFrameException(ErrorCode.FORBIDDEN, id, topic, where
                        + "a presence topic is read-only: the hub keeps it from the topic's subscriptions");
            }
            if (!TopicNames.isValid(topic)) {
                throw new InvalidFrameException(ErrorCode.INVALID_TOPIC, id, topic, where
                        + "a topic name is 1 to 200 characters of A-Z a-z 0-9 _ . : @ / -");
            }
            String opName = required("op", id, topic);
            Op op = Op.fromWire(opName);
            if (op == null) {
                throw new InvalidFrameException(ErrorCode.BAD_REQUEST, id, topic,
                        where + "op must be one of set, append, delete, clear; got '" + clip(opName) + "'");
            }
            String key = string("key", id, topic);
            if (op.takesKey() && key == null) {
                throw new InvalidFrameException(ErrorCode.BAD_REQUEST, id, topic,
                        where + "key is required for " + op.wireName());
            }
            if (!op.takesKey() && key != null) {
                throw new InvalidFrameException(ErrorCode.BAD_REQUEST, id, topic,
                        where + op.wireName() + " takes no key" + (op == Op.APPEND ? " (the hub assigns it)" : ""));
            }
            if (key != null && (key.isEmpty() || key.length() > MAX_KEY_LENGTH)) {
                throw new InvalidFrameException(ErrorCode.BAD_REQUEST, id, topic,
                        where + "key must be 1 to " + MAX_KEY_LENGTH + " characters");
            }
            String event = string("event", id, topic);
            if (event != null && event.length() > MAX_EVENT_LENGTH) {
                throw new InvalidFrameException(ErrorCode.BAD_REQUEST, id, topic,
                        where + "event must be at most " + MAX_EVENT_LENGTH + " characters");
            }
            boolean hasData = data != null && !data.equals("null");
            if (!op.takesData() && hasData) {
                throw new InvalidFrameException(ErrorCode.BAD_REQUEST, id, topic,
                        where + op.wireName() + " takes no data");
            }
            String storedData = op.takesData() ? (data == null ? "null" : data) : null;
            if (mistyped("ifVersion")) {
                throw new InvalidFrameException(ErrorCode.BAD_REQUEST, id, topic,
                        where + "ifVersion must be a non-negative integer");
            }
            if (ifVersion != null && !op.takesKey()) {
                throw new InvalidFrameException(ErrorCode.BAD_REQUEST, id, topic,
                        where + "ifVersion is only for set and delete");
            }
            String idem = string("idem", id, topic);
            if (idem != null && (idem.isEmpty() || idem.length() > MAX_IDEM_LENGTH)) {
                throw new InvalidFrameException(ErrorCode.BAD_REQUEST, id, topic,
                        where + "idem must be 1 to " + MAX_IDEM_LENGTH + " characters");
            }
            return new Change(topic, op, key, event, storedData, ifVersion, idem);
        }
    }
}
