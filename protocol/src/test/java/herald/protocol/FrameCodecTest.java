package herald.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class FrameCodecTest {
    private final FrameCodec codec = new FrameCodec();

    /** Topics encode a whole snapshot once and put each subscriber's request id in; the result must be the same bytes. */
    @ParameterizedTest
    @ValueSource(strings = {"s", "", "a \"quoted\" \\ id", "tab\there, line\nbreak", "\u0001\u001f control", "é ünicode 🚀", "</script>"})
    void aSnapshotEncodedWithoutIdTakesAnyRequestId(String id) {
        List<Entry> entries = List.of(new Entry("a", 1, null, "{\"x\":1}"), new Entry("b\"", 2, "ev", "null"));
        String unasked = codec.encode(new ServerFrame.Snapshot(null, "t", "e", 2, entries));
        assertTrue(unasked.startsWith(FrameCodec.SNAPSHOT_START), unasked);
        assertEquals(codec.encode(new ServerFrame.Snapshot(id, "t", "e", 2, entries)),
                FrameCodec.SNAPSHOT_START + codec.snapshotIdField(id) + unasked.substring(FrameCodec.SNAPSHOT_START.length()));
    }

    @Test
    void encodesEveryServerFrameAsExactJson() {
        assertEquals("{\"type\":\"welcome\",\"session\":\"s1\",\"user\":null,\"heartbeat\":25000,\"protocol\":1,"
                        + "\"features\":[\"batch\"]}",
                codec.encode(new ServerFrame.Welcome("s1", null, 25000, 1, java.util.List.of("batch"))));
        assertEquals("{\"type\":\"snapshot\",\"id\":\"r\",\"topic\":\"t\",\"epoch\":\"e\",\"seq\":2,\"entries\":"
                        + "[{\"key\":\"a\",\"seq\":1,\"data\":{\"x\":1}},{\"key\":\"b\",\"seq\":2,\"event\":\"ev\",\"data\":null}]}",
                codec.encode(new ServerFrame.Snapshot("r", "t", "e", 2,
                        List.of(new Entry("a", 1, null, "{\"x\":1}"), new Entry("b", 2, "ev", "null")))));
        assertEquals("{\"type\":\"snapshot\",\"topic\":\"t\",\"epoch\":\"e\",\"seq\":0,\"entries\":[]}",
                codec.encode(new ServerFrame.Snapshot(null, "t", "e", 0, List.of())));
        assertEquals("{\"type\":\"event\",\"topic\":\"t\",\"seq\":3,\"op\":\"set\",\"key\":\"k\",\"event\":\"e\",\"data\":[1, 2]}",
                codec.encode(new ServerFrame.Event("t", 3, Op.SET, "k", "e", "[1, 2]")));
        assertEquals("{\"type\":\"event\",\"topic\":\"t\",\"seq\":4,\"op\":\"clear\"}",
                codec.encode(new ServerFrame.Event("t", 4, Op.CLEAR, null, null, null)));
        assertEquals("{\"type\":\"refreshed\",\"id\":\"a\",\"expires\":99}", codec.encode(new ServerFrame.Refreshed("a", 99)));
        assertEquals("{\"type\":\"unsubscribed\",\"id\":\"u\",\"topics\":[\"a\",\"b\"]}",
                codec.encode(new ServerFrame.Unsubscribed("u", List.of("a", "b"))));
        assertEquals("{\"type\":\"published\",\"id\":\"p\",\"topic\":\"t\",\"seq\":5}",
                codec.encode(new ServerFrame.Published("p", "t", 5)));
        assertEquals("{\"type\":\"pong\",\"time\":7}", codec.encode(new ServerFrame.Pong(null, 7)));
        assertEquals("{\"type\":\"error\",\"id\":\"x\",\"topic\":\"t\",\"code\":\"too_many_topics\",\"message\":\"m\"}",
                codec.encode(new ServerFrame.Error("x", "t", ErrorCode.TOO_MANY_TOPICS, "m")));
    }

    @Test
    void readsTheTypeOfAnEncodedFrameFromItsStart() {
        assertEquals("snapshot", FrameCodec.typeOf(codec.encode(new ServerFrame.Snapshot(null, "t", "e", 0, List.of()))));
        assertEquals("event", FrameCodec.typeOf(codec.encode(new ServerFrame.Event("t", 1, Op.CLEAR, null, null, null))));
        assertEquals("error", FrameCodec.typeOf(codec.encode(new ServerFrame.Error(null, null, ErrorCode.INTERNAL, "m"))));
    }

    @Test
    void encodesApiBodies() {
        assertEquals("{\"topics\":[{\"topic\":\"a\",\"seq\":3,\"entries\":2,\"subscribers\":1}],\"next\":\"a\"}",
                codec.encode(new ApiBody.TopicList(List.of(new ApiBody.TopicList.TopicSummary("a", 3, 2, 1)), "a")));
        assertEquals("{\"topics\":[]}", codec.encode(new ApiBody.TopicList(List.of(), null)));
        assertEquals("{\"code\":\"bad_request\",\"message\":\"m\"}", codec.encode(new ApiBody.Error(ErrorCode.BAD_REQUEST, "m")));
        assertEquals("{\"results\":[{\"topic\":\"t\",\"seq\":1},{\"topic\":\"t\",\"seq\":1,\"duplicate\":true},"
                        + "{\"topic\":\"t\",\"key\":\"k\",\"code\":\"conflict\",\"version\":4}]}",
                codec.encode(new ApiBody.PublishResults(List.of(ApiBody.PublishResults.Result.applied("t", 1, false),
                        ApiBody.PublishResults.Result.applied("t", 1, true), ApiBody.PublishResults.Result.conflict("t", "k", 4)))));
        assertEquals("{\"topic\":\"t\",\"epoch\":\"e\",\"seq\":0,\"entries\":[]}",
                codec.encode(new ApiBody.TopicState("t", "e", 0, null, List.of(), null, null)));
        assertEquals("{\"code\":\"conflict\",\"message\":\"m\",\"topic\":\"t\",\"key\":\"k\",\"version\":0}",
                codec.encode(new ApiBody.Error(ErrorCode.CONFLICT, "m", "t", "k", 0L)));
    }

    @Test
    void keepsDataExactlyAsTheSenderWroteIt() throws Exception {
        String data = "{ \"big\": 123456789012345678901234567890.000000000001, \"e\": 1E+400, \"s\": \"\\u00e9\\n\" }";
        ClientFrame frame = codec.decode("{\"type\":\"publish\",\"topic\":\"t\",\"op\":\"set\",\"key\":\"k\",\"data\":" + data + "}");
        assertEquals(data, ((ClientFrame.Publish) frame).change().data());

        ClientFrame scalar = codec.decode("{\"data\":\"a \\\" b\",\"type\":\"publish\",\"topic\":\"t\",\"op\":\"append\"}");
        assertEquals("\"a \\\" b\"", ((ClientFrame.Publish) scalar).change().data());

        ClientFrame number = codec.decode("{\"type\":\"publish\",\"topic\":\"t\",\"op\":\"append\",\"data\":-0.5e-3}");
        assertEquals("-0.5e-3", ((ClientFrame.Publish) number).change().data());
    }

    @Test
    void absentDataIsStoredAsNullForSetAndAppendAndAbsentForDeleteAndClear() throws Exception {
        Change set = ((ClientFrame.Publish) codec.decode("{\"type\":\"publish\",\"topic\":\"t\",\"op\":\"set\",\"key\":\"k\"}")).change();
        assertEquals("null", set.data());
        Change delete = ((ClientFrame.Publish) codec.decode(
                "{\"type\":\"publish\",\"topic\":\"t\",\"op\":\"delete\",\"key\":\"k\",\"data\":null}")).change();
        assertNull(delete.data());
    }

    @Test
    void decodesEveryClientFrame() throws Exception {
        assertEquals(new ClientFrame.Ping("1"), codec.decode("{\"type\":\"ping\",\"id\":\"1\",\"extra\":[1,{}]}"));
        assertEquals(new ClientFrame.Auth(null, "tok"), codec.decode("{\"type\":\"auth\",\"token\":\"tok\"}"));
        assertEquals(new ClientFrame.Subscribe("s", List.of("a", "b")), codec.decode("{\"type\":\"subscribe\",\"id\":\"s\",\"topics\":[\"a\",\"b\"]}"));
        assertEquals(new ClientFrame.Unsubscribe(null, List.of("a")), codec.decode("{\"type\":\"unsubscribe\",\"topics\":[\"a\"],\"id\":null}"));
        assertEquals(new ClientFrame.Publish("p", new Change("t", Op.CLEAR, null, "e", null)),
                codec.decode("{\"type\":\"publish\",\"id\":\"p\",\"topic\":\"t\",\"op\":\"clear\",\"event\":\"e\"}"));
    }

    /** The annotations that shape the generated TypeScript types must describe what decode reads. */
    @Test
    void decodesClientFramesWrittenFromTheirAnnotatedRecords() throws Exception {
        var writer = new com.fasterxml.jackson.databind.ObjectMapper().writerFor(ClientFrame.class);
        List<ClientFrame> frames = List.of(
                new ClientFrame.Auth("a", "token"),
                new ClientFrame.Subscribe(null, List.of("chat:1", "chat:2")),
                new ClientFrame.Unsubscribe("u", List.of("chat:1")),
                new ClientFrame.Publish("p", new Change("chat:1", Op.SET, "k", "typed", "{\"x\":[1,2]}")),
                new ClientFrame.Publish(null, new Change("chat:1", Op.APPEND, null, null, "7")),
                new ClientFrame.Publish("d", new Change("chat:1", Op.DELETE, "k", null, null)),
                new ClientFrame.Publish("c", new Change("chat:1", Op.CLEAR, null, null, null)),
                new ClientFrame.Ping("p2"));
        for (ClientFrame frame : frames) {
            String text = writer.writeValueAsString(frame);
            assertEquals(frame, codec.decode(text), text);
        }
    }

    @Test
    void echoesTheIdInAnErrorWhenItCouldBeRead() {
        InvalidFrameException e = assertThrows(InvalidFrameException.class,
                () -> codec.decode("{\"topics\":5,\"id\":\"late-id\",\"type\":\"subscribe\"}"));
        assertEquals(ErrorCode.BAD_REQUEST, e.code());
        assertEquals("late-id", e.id());
        assertEquals("topics must be an array of topic names", e.getMessage());
    }

    @Test
    void namesTheTopicInAPublishError() {
        InvalidFrameException e = assertThrows(InvalidFrameException.class,
                () -> codec.decode("{\"type\":\"publish\",\"topic\":\"t:1\",\"op\":\"set\"}"));
        assertEquals("t:1", e.topic());
        assertEquals("key is required for set", e.getMessage());
    }

    @Test
    void refusesDeepNestingWithoutExhaustingTheStack() {
        String deep = "{\"type\":\"ping\",\"x\":" + "[".repeat(100_000) + "]".repeat(100_000) + "}";
        InvalidFrameException e = assertThrows(InvalidFrameException.class, () -> codec.decode(deep));
        assertEquals(ErrorCode.BAD_REQUEST, e.code());
    }

    @Test
    void readsABatchAndRefusesItWholeWhenOneChangeIsBad() throws Exception {
        FrameCodec.Changes changes = codec.decodeChanges(
                "{\"changes\":[{\"topic\":\"a\",\"op\":\"append\",\"data\":1},{\"topic\":\"b\",\"op\":\"delete\",\"key\":\"k\"}]}");
        assertEquals(List.of(new Change("a", Op.APPEND, null, null, "1"), new Change("b", Op.DELETE, "k", null, null)),
                changes.changes());
        assertTrue(changes.batch());
        assertFalse(codec.decodeChanges("{\"topic\":\"a\",\"op\":\"clear\"}").batch());

        InvalidFrameException e = assertThrows(InvalidFrameException.class, () -> codec.decodeChanges(
                "{\"changes\":[{\"topic\":\"a\",\"op\":\"append\"},{\"topic\":\"b\",\"op\":\"nope\"}]}"));
        assertEquals("changes[1]: op must be one of set, append, delete, clear; got 'nope'", e.getMessage());
    }

    @Test
    void readsResumePositionsAndIgnoresThoseOfOtherTopicsOnlyLater() throws Exception {
        ClientFrame frame = codec.decode("{\"type\":\"subscribe\",\"id\":\"s\",\"topics\":[\"a\",\"b\"],"
                + "\"since\":{\"a\":{\"epoch\":\"E\",\"seq\":41,\"x\":[1]},\"z\":{\"epoch\":\"F\",\"seq\":0}}}");
        assertEquals(new ClientFrame.Subscribe("s", List.of("a", "b"),
                java.util.Map.of("a", new Position("E", 41), "z", new Position("F", 0))), frame);
        assertEquals(java.util.Map.of(), ((ClientFrame.Subscribe) codec.decode(
                "{\"type\":\"subscribe\",\"topics\":[\"a\"],\"since\":null}")).since());
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "\"since\":[]", "\"since\":\"E:1\"", "\"since\":{\"a\":1}", "\"since\":{\"a\":{\"epoch\":\"E\"}}",
            "\"since\":{\"a\":{\"seq\":1}}", "\"since\":{\"a\":{\"epoch\":1,\"seq\":1}}",
            "\"since\":{\"a\":{\"epoch\":\"E\",\"seq\":-1}}", "\"since\":{\"a\":{\"epoch\":\"E\",\"seq\":1.5}}",
            "\"since\":{\"a\":{\"epoch\":\"E\",\"seq\":\"1\"}}",
            "\"since\":{\"a\":{\"epoch\":\"E\",\"seq\":99999999999999999999}}"})
    void refusesASinceThatIsNotPositions(String since) {
        InvalidFrameException e = assertThrows(InvalidFrameException.class,
                () -> codec.decode("{\"type\":\"subscribe\",\"id\":\"s\",\"topics\":[\"a\"]," + since + "}"));
        assertEquals(ErrorCode.BAD_REQUEST, e.code());
        assertEquals("s", e.id());
    }

    @Test
    void readsConditionsAndIdempotencyKeys() throws Exception {
        assertEquals(new Change("t", Op.SET, "k", null, "1", 0L, "a-1"), ((ClientFrame.Publish) codec.decode(
                "{\"type\":\"publish\",\"topic\":\"t\",\"op\":\"set\",\"key\":\"k\",\"data\":1,\"ifVersion\":0,\"idem\":\"a-1\"}"))
                .change());
        assertEquals(new Change("t", Op.CLEAR, null, null, null, null, "x".repeat(64)), codec.decodeChanges(
                "{\"topic\":\"t\",\"op\":\"clear\",\"idem\":\"" + "x".repeat(64) + "\",\"ifVersion\":null}").changes().get(0));
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "\"op\":\"set\",\"key\":\"k\",\"ifVersion\":-1", "\"op\":\"set\",\"key\":\"k\",\"ifVersion\":1.0",
            "\"op\":\"set\",\"key\":\"k\",\"ifVersion\":\"3\"", "\"op\":\"delete\",\"key\":\"k\",\"ifVersion\":true",
            "\"op\":\"append\",\"ifVersion\":1", "\"op\":\"clear\",\"ifVersion\":0",
            "\"op\":\"set\",\"key\":\"k\",\"ifVersion\":123456789012345678901234567890",
            "\"op\":\"set\",\"key\":\"k\",\"idem\":\"\"", "\"op\":\"set\",\"key\":\"k\",\"idem\":7",
            "\"op\":\"append\",\"idem\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\""})
    void refusesBadConditionsAndIdempotencyKeys(String fields) {
        InvalidFrameException e = assertThrows(InvalidFrameException.class,
                () -> codec.decode("{\"type\":\"publish\",\"id\":\"p\",\"topic\":\"t\"," + fields + "}"));
        assertEquals(ErrorCode.BAD_REQUEST, e.code());
        assertEquals("p", e.id());
        assertThrows(InvalidFrameException.class, () -> codec.decodeChanges("{\"changes\":[{\"topic\":\"t\"," + fields + "}]}"));
    }

    @Test
    void parsesPositionsOfQueryParameters() {
        assertEquals(new Position("lq3k-9x2", 41), Position.parse("lq3k-9x2:41"));
        assertEquals("lq3k-9x2:41", new Position("lq3k-9x2", 41).toString());
        for (String bad : new String[] {"", "E", "E:", ":4", "E:-1", "E:1.5", "E:99999999999999999999", "E:x"}) {
            assertNull(Position.parse(bad), bad);
        }
    }

    @Test
    void countsUtf8BytesWithoutEncoding() {
        for (String s : new String[] {"", "ascii", "é", "€", "😀", "a€😀é"}) {
            assertEquals(s.getBytes(java.nio.charset.StandardCharsets.UTF_8).length, FrameCodec.utf8Length(s), s);
        }
    }

    @Test
    void validatesTopicNames() {
        for (String ok : new String[] {"a", "sessions.state", "chat:42", "agent:opus-1", "u@x/y_z", "t".repeat(200)}) {
            assertEquals(true, TopicNames.isValid(ok), ok);
        }
        for (String bad : new String[] {"", "a b", "a*", "é", "t".repeat(201), "a\u0000b", "a#b"}) {
            assertEquals(false, TopicNames.isValid(bad), bad);
        }
    }
}
