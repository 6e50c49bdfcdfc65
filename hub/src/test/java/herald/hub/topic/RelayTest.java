package herald.hub.topic;

import herald.hub.HubMetrics;
import herald.hub.cluster.TopicOwners;
import herald.hub.persistence.TopicJournal;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import herald.config.HeraldConfig;
import herald.config.HeraldSettings;
import herald.protocol.ApiBody;
import herald.protocol.Change;
import herald.protocol.ErrorCode;
import herald.protocol.FrameCodec;
import herald.protocol.Op;
import herald.protocol.Position;
import java.time.Duration;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializer;
import org.apache.pekko.serialization.Serializers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A topic's relay and its sharded owner on a one-node cluster in this JVM: the relay's rules
 * without processes (ClusterIT runs three real nodes).
 */
@ExtendWith(LogCapturingExtension.class)
class RelayTest {
    private static ActorTestKit testKit;
    private static HeraldSettings settings;
    private static ActorRef<TopicRegistry.Command> registry;
    private static final FrameCodec codec = new FrameCodec();
    private static final HubMetrics metrics = HubMetrics.unregistered();

    @BeforeAll
    static void joinItself() throws Exception {
        var config = HeraldConfig.load(ConfigFactory.parseString("""
                pekko.actor.provider = cluster
                pekko.remote.artery.canonical.hostname = "127.0.0.1"
                pekko.remote.artery.canonical.port = 0
                """));
        testKit = ActorTestKit.create("herald", config);
        Cluster cluster = Cluster.get(testKit.system());
        cluster.manager().tell(Join.create(cluster.selfMember().address()));
        TestProbe<Object> waiter = testKit.createTestProbe();
        waiter.awaitAssert(Duration.ofSeconds(20), () -> {
            assertEquals(MemberStatus.up(), cluster.selfMember().status());
            return null;
        });
        settings = HeraldSettings.fromConfig(config);
        TopicOwners owners = TopicOwners.start(testKit.system(), settings, metrics, Occupancy.NONE);
        registry = testKit.spawn(TopicRegistry.create(settings.topics(), 100, codec, metrics, owners), "topics");
    }

    /** Leaving the cluster (sharding hands off, the member exits) takes longer than the testkit's default wait. */
    @AfterAll
    static void cleanup() {
        ActorTestKit.shutdown(testKit.system(), Duration.ofSeconds(30), true);
    }

    private static long publish(String topic, String key, TestProbe<Topic.PublishOutcome> acks) {
        registry.tell(new TopicRegistry.Forward(topic, new Topic.Publish(new Change(topic, Op.SET, key, null, "1"), "p",
                System.nanoTime(), acks.getRef())));
        return ((Topic.Published) acks.receiveMessage(Duration.ofSeconds(10))).seq();
    }

    @Test
    void aRelayThatSeesAGapResyncsFromItsOwnerAndPushesNothingWhenItMissedNothing() {
        TestSubscriber sub = new TestSubscriber(testKit, metrics);
        TestProbe<Topic.PublishOutcome> acks = testKit.createTestProbe();
        registry.tell(new TopicRegistry.Forward("gap", sub.subscribe("s")));
        Topic.Subscribed subscribed = sub.notices.expectMessageClass(Topic.Subscribed.class, Duration.ofSeconds(10));
        String snapshot = sub.frames.receiveMessage(Duration.ofSeconds(10));
        String epoch = TopicTest.epochOf(snapshot);
        assertEquals(1, publish("gap", "a", acks));
        assertEquals("{\"type\":\"event\",\"topic\":\"gap\",\"seq\":1,\"op\":\"set\",\"key\":\"a\",\"data\":1}",
                sub.frames.receiveMessage(Duration.ofSeconds(10)));

        // As if changes 2 to 4 had been lost between the nodes: the relay asks its owner again, which
        // is at seq 1 like the relay, so the subscriber holds its state already and is sent nothing.
        subscribed.topicRef().tell(new Topic.Replicated(epoch, List.of(new TopicData.Step(5, Op.SET, "z", null, "9"))));
        // A second subscriber's snapshot waits for the relay's new state: once it is here, so is that.
        TestSubscriber second = new TestSubscriber(testKit, metrics);
        registry.tell(new TopicRegistry.Forward("gap", second.subscribe("t")));
        assertTrue(second.frames.receiveMessage(Duration.ofSeconds(10)).contains("\"seq\":1"));
        assertEquals(2, publish("gap", "b", acks));
        assertEquals("{\"type\":\"event\",\"topic\":\"gap\",\"seq\":2,\"op\":\"set\",\"key\":\"b\",\"data\":1}",
                sub.frames.receiveMessage(Duration.ofSeconds(10)), "no unasked snapshot, and events go on in order");
    }

    @Test
    void theOwnerAnswersTheStateAndNamesItsNode() {
        TestProbe<Topic.PublishOutcome> acks = testKit.createTestProbe();
        publish("state", "k", acks);
        TestProbe<ApiBody.TopicState> state = testKit.createTestProbe();
        registry.tell(new TopicRegistry.Forward("state", new Topic.GetState(null, state.getRef())));
        ApiBody.TopicState answer = state.receiveMessage(Duration.ofSeconds(10));
        assertEquals(1, answer.seq());
        assertEquals("k", answer.entries().get(0).key());
        assertEquals(testKit.system().address().toString(), answer.node());
    }

    /**
     * A relay started after removals answers a delta as the owner would (the history comes with the
     * owner's state), and the owner applies conditions and idem keys.
     */
    @Test
    void aRelayResumesFromTheOwnersHistoryAndTheOwnerKeepsConditionsAndIdemKeys() {
        TestProbe<Topic.PublishOutcome> acks = testKit.createTestProbe();
        for (String key : List.of("a", "b", "c", "d")) {
            publish("hist", key, acks);
        }
        Topic.Publish delete = new Topic.Publish(new Change("hist", Op.DELETE, "a", null, null, 1L, "del-a"), "p", 42L, acks.getRef());
        registry.tell(new TopicRegistry.Forward("hist", delete));
        assertEquals(new Topic.Published("hist", 5, "p", false, 42L), acks.receiveMessage(Duration.ofSeconds(10)));
        registry.tell(new TopicRegistry.Forward("hist", delete));
        assertEquals(new Topic.Published("hist", 5, "p", true, 42L), acks.receiveMessage(Duration.ofSeconds(10)), "a repeat");
        registry.tell(new TopicRegistry.Forward("hist", new Topic.Publish(new Change("hist", Op.SET, "b", null, "2", 1L, null),
                "q", System.nanoTime(), acks.getRef())));
        assertEquals(new Topic.Conflicted("hist", "b", 2, "q"), acks.receiveMessage(Duration.ofSeconds(10)));

        TestProbe<ApiBody.TopicState> state = testKit.createTestProbe();
        registry.tell(new TopicRegistry.Forward("hist", new Topic.GetState(null, state.getRef())));
        String epoch = state.receiveMessage(Duration.ofSeconds(10)).epoch();
        registry.tell(new TopicRegistry.Forward("hist", new Topic.GetState(new Position(epoch, 4), state.getRef())));
        ApiBody.TopicState delta = state.receiveMessage(Duration.ofSeconds(10));
        assertEquals(List.of("a"), delta.deleted(), "the owner's delta over the HTTP API");

        TestSubscriber sub = new TestSubscriber(testKit, metrics);
        registry.tell(new TopicRegistry.Forward("hist", sub.subscribe("s", new Position(epoch, 4))));
        sub.notices.expectMessageClass(Topic.Subscribed.class, Duration.ofSeconds(10));
        assertEquals("{\"type\":\"snapshot\",\"id\":\"s\",\"topic\":\"hist\",\"epoch\":\"" + epoch
                        + "\",\"seq\":5,\"since\":4,\"entries\":[],\"deleted\":[\"a\"]}",
                sub.frames.receiveMessage(Duration.ofSeconds(10)), "the relay's delta");
    }

    /**
     * Everything that crosses nodes or goes into a durable topic's journal goes through Jackson (CBOR)
     * and comes back equal, actor refs included.
     */
    @Test
    void clusterMessagesSurviveTheirSerializer() throws Exception {
        Serialization serialization = SerializationExtension.get(testKit.system().classicSystem());
        TestProbe<Topic.Command> relay = testKit.createTestProbe();
        TestProbe<TopicOwner.Command> owner = testKit.createTestProbe();
        TestProbe<Topic.PublishOutcome> session = testKit.createTestProbe();
        TestProbe<TopicOwner.State> asker = testKit.createTestProbe();
        TestProbe<Topic.Outcomes> outcomes = testKit.createTestProbe();
        List<Object> messages = List.of(
                new TopicOwner.Join(relay.getRef()),
                new TopicOwner.Leave(relay.getRef()),
                new TopicOwner.Apply(Op.SET, "k", "ev", "{\"deep\":[1,2,{\"x\":null}]}", 2L, "i-1", "r1", 12345L, session.getRef()),
                new TopicOwner.Apply(Op.APPEND, null, null, "1", null, null, null, -7L, session.getRef()),
                new TopicOwner.GetState(new Position("e", 2), asker.getRef()),
                new TopicOwner.GetState(null, asker.getRef()),
                new TopicOwner.State("pekko://herald@10.0.0.1:25520", "e", 3, null, List.of(new TopicData.Item("k", 3, null, "\"v\"")), null),
                new TopicOwner.State("n", "e", 3, 2L, List.of(), List.of("gone")),
                new Topic.Synced(owner.getRef(), "e", 3, List.of(new TopicData.Item("k", 3, "ev", "[1]")),
                        new TopicData.History(1, List.of(new TopicData.Tombstone("gone", 2)))),
                new Topic.Replicated("e", List.of(new TopicData.Step(4, Op.CLEAR, null, null, null))),
                new TopicOwner.ApplyAll(List.of(new TopicOwner.Apply(Op.SET, "k", null, "{\"a\":1}", 3L, "i-2", null, 99L, null),
                        new TopicOwner.Apply(Op.CLEAR, null, null, null, null, null, null, 99L, null)), outcomes.getRef()),
                new Topic.Outcomes(List.of(new Topic.Published("t", 4, null, false, 99L), new Topic.Conflicted("t", "k", 3, null),
                        new Topic.Refused("t", null, false, ErrorCode.UNAVAILABLE, "away"))),
                new Topic.Published("t", 4, "r1", false, 12345L),
                new Topic.Published("t", 4, "r1", true, -7L),
                new Topic.Conflicted("t", "k", 3, "r1"),
                new TopicJournal.Began("e"),
                new TopicJournal.Batch(List.of(new TopicJournal.Changed(List.of(new TopicData.Step(9, Op.APPEND, "9", null, "2")), null, 5L),
                        new TopicJournal.Changed(List.of(new TopicData.Step(10, Op.CLEAR, null, null, null)), "i", 6L))),
                new TopicJournal.Changed(List.of(new TopicData.Step(7, Op.SET, "k", "ev", "{\"a\":[1]}"),
                        new TopicData.Step(8, Op.DELETE, "old", "evicted", null)), "idem-1", 1_700_000_000_000L),
                new TopicJournal.Snapshot(new TopicData.Image("e", 8, List.of(new TopicData.Item("k", 7, null, "1")),
                        new TopicData.History(3, List.of(new TopicData.Tombstone("old", 8))),
                        List.of(new TopicData.IdemKey("idem-1", 7, 1_700_000_000_000L)))),
                new TopicJournal.Snapshot(null),
                new Topic.Refused("t", "r2", false, ErrorCode.TOO_MANY_TOPICS, "full"));
        for (Object message : messages) {
            Serializer serializer = serialization.findSerializerFor(message);
            assertEquals("JacksonCborSerializer", serializer.getClass().getSimpleName(), message.toString());
            byte[] bytes = serialization.serialize(message).get();
            Object back = serialization.deserialize(bytes, serializer.identifier(), Serializers.manifestFor(serializer, message)).get();
            assertEquals(message, back);
        }
    }

    /** Journals written before the journal's classes moved name them by their former names, and are read as today's. */
    @Test
    void journalRowsOfTheFormerClassNamesAreRead() throws Exception {
        Serialization serialization = SerializationExtension.get(testKit.system().classicSystem());
        List<Object> events = List.of(new TopicJournal.Began("e"),
                new TopicJournal.Changed(List.of(new TopicData.Step(7, Op.SET, "k", null, "1")), "idem-1", 5L),
                new TopicJournal.Snapshot(new TopicData.Image("e", 7, List.of(new TopicData.Item("k", 7, null, "1")),
                        new TopicData.History(0, List.of()), List.of())));
        for (Object event : events) {
            Serializer serializer = serialization.findSerializerFor(event);
            byte[] bytes = serialization.serialize(event).get();
            String former = "herald.hub.TopicJournal$" + event.getClass().getSimpleName();
            assertEquals(event, serialization.deserialize(bytes, serializer.identifier(), former).get(), former);
        }
    }
}
