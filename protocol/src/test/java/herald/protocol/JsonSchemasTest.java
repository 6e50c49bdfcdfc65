package herald.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.InputFormat;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The JSON Schemas in docs/schemas are generated from the records ({@link JsonSchemas}) and committed,
 * like the TypeScript types. This fails when the committed files are not what the records generate,
 * and proves the schemas right the other way round: what the codec writes fits them (with no field
 * they do not declare), what it accepts fits them, and what it refuses for its shape does not.
 */
class JsonSchemasTest {
    private static final Path GENERATED = Path.of("target/schemas");
    private static final Path COMMITTED = Path.of("../docs/schemas");
    private static final JsonSchemas SCHEMAS = new JsonSchemas();
    private static final JsonSchemaFactory VALIDATORS = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012);

    private final FrameCodec codec = new FrameCodec();

    @Test
    void committedSchemasMatchTheRecords() throws Exception {
        Files.createDirectories(GENERATED);
        for (String file : JsonSchemas.FILES.keySet()) {
            Files.writeString(GENERATED.resolve(file), JsonSchemas.text(SCHEMAS.schema(file)));
        }
        String fix = "; run `mvn -pl protocol test -Dtest=JsonSchemasTest; cp protocol/target/schemas/*.json docs/schemas/`"
                + " and commit the result";
        assertEquals(JsonSchemas.FILES.keySet(), filesIn(COMMITTED), "docs/schemas holds other files than the records generate" + fix);
        for (String file : JsonSchemas.FILES.keySet()) {
            assertEquals(Files.readString(GENERATED.resolve(file)), Files.readString(COMMITTED.resolve(file)),
                    "docs/schemas/" + file + " is out of date with the protocol records" + fix);
        }
    }

    @Test
    void everyServerFrameTheCodecWritesFitsTheSchema() {
        List<ServerFrame> frames = List.of(
                new ServerFrame.Welcome("s1", null, 25_000, 1, List.of("batch", "resume")),
                new ServerFrame.Welcome("s1", "ada", 25_000, 1, List.of()),
                new ServerFrame.Snapshot("s", "chat:1", "E1", 7, List.of(new Entry("k", 7, "joined", "{\"n\":1}"))),
                new ServerFrame.Snapshot(null, "chat:1", "E1", 9, 7L, List.of(new Entry("k", 9, null, "null")), List.of("gone")),
                new ServerFrame.Event("chat:1", 8, Op.SET, "k", "typed", "[1,\"two\",{\"x\":null}]"),
                new ServerFrame.Event("chat:1", 9, Op.CLEAR, null, null, null),
                new ServerFrame.Refreshed("r", 1_800_000_000_000L),
                new ServerFrame.Unsubscribed(null, List.of("chat:1")),
                new ServerFrame.Published("p", "chat:1", 10, true),
                new ServerFrame.Published(null, "chat:1", 11),
                new ServerFrame.Pong("x", 1_700_000_000_000L),
                new ServerFrame.Error("p", "chat:1", "k", ErrorCode.CONFLICT, "version 3, not 2", 3L),
                new ServerFrame.Error(null, null, ErrorCode.RATE_LIMITED, "slow down"));
        for (ServerFrame frame : frames) {
            assertFits("server-frame.json", codec.encode(frame));
        }
        assertFits("presence-member.json", codec.encode(new PresenceMember("ada", "{\"color\":\"red\"}", 1L)));
        assertFits("presence-member.json", codec.encode(new PresenceMember("ada", null, 1L)));
    }

    @Test
    void clientFramesTheCodecAcceptsFitTheSchemaAndMalformedOnesDoNot() throws Exception {
        List<String> accepted = List.of(
                "{\"type\":\"auth\",\"id\":\"a\",\"token\":\"t\"}",
                "{\"type\":\"subscribe\",\"id\":\"s\",\"topics\":[\"a\",\"b\"],\"since\":{\"a\":{\"epoch\":\"E\",\"seq\":41}}}",
                "{\"type\":\"unsubscribe\",\"topics\":[\"a\"]}",
                "{\"type\":\"publish\",\"id\":\"p\",\"topic\":\"a\",\"op\":\"set\",\"key\":\"k\",\"data\":{\"x\":[1]},\"ifVersion\":0,\"idem\":\"i-1\"}",
                "{\"type\":\"publish\",\"topic\":\"a\",\"op\":\"append\",\"event\":\"e\",\"data\":\"text\"}",
                "{\"type\":\"publish\",\"topic\":\"a\",\"op\":\"clear\"}",
                "{\"type\":\"ping\",\"later\":\"fields unknown to the receiver are ignored\"}");
        for (String text : accepted) {
            codec.decode(text);
            Set<ValidationMessage> errors = errors("client-frame.json", text, false);
            assertTrue(errors.isEmpty(), "client-frame.json refuses what the codec accepts: " + text + ": " + errors);
        }
        List<String> refused = List.of(
                "{\"id\":\"no type\"}",
                "{\"type\":\"shout\"}",
                "{\"type\":\"subscribe\",\"topics\":\"a\"}",
                "{\"type\":\"auth\"}",
                "{\"type\":\"publish\",\"topic\":\"a\",\"op\":\"upsert\",\"key\":\"k\"}",
                "{\"type\":\"publish\",\"topic\":\"a\",\"op\":\"set\",\"key\":\"k\",\"idem\":\"\"}",
                "{\"type\":\"subscribe\",\"topics\":[\"a\"],\"since\":{\"a\":{\"epoch\":\"E\"}}}");
        for (String text : refused) {
            assertThrows(InvalidFrameException.class, () -> codec.decode(text), text);
            assertFalse(errors("client-frame.json", text, false).isEmpty(), "the schema takes what the codec refuses: " + text);
        }
    }

    @Test
    void httpBodiesFitTheirSchemas() throws Exception {
        String one = "{\"topic\":\"a\",\"op\":\"set\",\"key\":\"k\",\"data\":1,\"idem\":\"x\"}";
        codec.decodeChanges(one);
        assertFits("change.json", one);
        String batch = "{\"changes\":[" + one + ",{\"topic\":\"b\",\"op\":\"delete\",\"key\":\"k\",\"ifVersion\":4}]}";
        codec.decodeChanges(batch);
        assertFits("change-batch.json", batch);
        assertThrows(InvalidFrameException.class, () -> codec.decodeChanges("{\"changes\":[]}"));
        assertFalse(errors("change-batch.json", "{\"changes\":[]}", false).isEmpty());

        for (String body : List.of("{\"user\":\"ada\"}", "{\"session\":\"s1\",\"topics\":[\"a\"]}")) {
            codec.decodeOperatorRequest(body, body.contains("topics"));
            assertFits("operator-request.json", body);
        }

        Map<String, ApiBody> bodies = Map.of(
                "publish-results.json", new ApiBody.PublishResults(List.of(
                        ApiBody.PublishResults.Result.applied("a", 3, false),
                        ApiBody.PublishResults.Result.applied("a", 2, true),
                        ApiBody.PublishResults.Result.conflict("a", "k", 5))),
                "topic-list.json", new ApiBody.TopicList(List.of(new ApiBody.TopicList.TopicSummary("a", 3, 1, 2)), "a"),
                "topic-state.json", new ApiBody.TopicState("a", "E", 3, 1L, List.of(new Entry("k", 3, null, "true")),
                        List.of("j"), "pekko://herald@10.0.0.1:2552"),
                "connections.json", new ApiBody.Connections(List.of(new ApiBody.Connections.Connection("s1", "ada",
                        "10.0.0.9:5000", "websocket", 1L, List.of("a"), new ApiBody.Connections.Queued(2, 300))), 1),
                "affected.json", new ApiBody.Affected(2, null),
                "health.json", new ApiBody.Health("ready"),
                "error.json", new ApiBody.Error(ErrorCode.CONFLICT, "version", "a", "k", 5L));
        bodies.forEach((file, body) -> assertFits(file, codec.encode(body)));
        assertFits("error.json", codec.encode(new ApiBody.Error(ErrorCode.NOT_FOUND, "no such topic")));
    }

    @Test
    void hookBodiesFitTheirSchemas() throws Exception {
        assertFits("hook-connect.json", codec.encode(new Hook.Connect("10.0.0.9:5000", "websocket", Map.of("cookie", "c=1"), "t")));
        assertFits("hook-connect.json", codec.encode(new Hook.Connect("10.0.0.9:5000", "sse", Map.of(), null)));
        assertFits("hook-subscribe.json", codec.encode(new Hook.Subscribe("s1", "ada", "10.0.0.9:5000", "a")));
        assertFits("hook-publish.json", codec.encode(new Hook.Publish("s1", "ada", "10.0.0.9:5000",
                new Change("a", Op.SET, "k", null, "{\"n\":1}"))));
        assertFits("webhook.json", codec.encode(new Hook.Webhook("w1", "topic.occupied", "a", 1L)));

        List<String> answers = List.of(
                "{\"allow\":true,\"user\":\"ada\",\"subscribe\":[\"chat:*\"],\"publish\":[],\"info\":{\"n\":1},\"expires\":1800000000000}",
                "{\"allow\":false,\"message\":\"no\",\"status\":403}",
                "{\"allow\":true,\"data\":[1,2]}");
        for (String answer : answers) {
            codec.decodeHookAnswer(answer, answer.contains("user"));
            assertFits("hook-answer.json", answer);
        }
        assertThrows(InvalidFrameException.class, () -> codec.decodeHookAnswer("{\"allow\":\"yes\"}", false));
        assertFalse(errors("hook-answer.json", "{\"allow\":\"yes\"}", false).isEmpty());
    }

    /** Fits the schema, and declares every field it carries: a field the schema misses fails too. */
    private static void assertFits(String file, String json) {
        Set<ValidationMessage> errors = errors(file, json, true);
        assertTrue(errors.isEmpty(), file + " does not describe " + json + ": " + errors);
    }

    private static Set<ValidationMessage> errors(String file, String json, boolean closed) {
        ObjectNode schema = SCHEMAS.schema(file);
        if (closed) {
            close(schema);
        }
        JsonSchema validator = VALIDATORS.getSchema(schema);
        return validator.validate(json, InputFormat.JSON);
    }

    /** Every object schema with properties refuses others, so a field written but not described shows. */
    private static void close(JsonNode node) {
        if (node instanceof ObjectNode object && object.has("properties")) {
            object.put("additionalProperties", false);
        }
        node.forEach(JsonSchemasTest::close);
    }

    private static Set<String> filesIn(Path directory) throws Exception {
        if (!Files.isDirectory(directory)) {
            return Set.of();
        }
        try (Stream<Path> files = Files.list(directory)) {
            return files.map(p -> p.getFileName().toString()).collect(Collectors.toCollection(TreeSet::new));
        }
    }
}
