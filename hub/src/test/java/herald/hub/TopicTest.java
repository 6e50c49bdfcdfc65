package herald.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import herald.config.HeraldSettings;
import herald.config.HeraldSettings.TopicLimits;
import herald.protocol.ApiBody;
import herald.protocol.Change;
import herald.protocol.FrameCodec;
import herald.protocol.Op;
import java.time.Duration;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The topic actor's rules, without any network. */
@ExtendWith(LogCapturingExtension.class)
class TopicTest {
    static final ActorTestKit testKit = ActorTestKit.create();
    private static final FrameCodec codec = new FrameCodec();
    private static int names;

    @AfterAll
    static void cleanup() {
        testKit.shutdownTestKit();
    }

    private final HubMetrics metrics = HubMetrics.unregistered();

    static TopicLimits limits(int maxEntries) {
        return new TopicLimits(maxEntries, 1000, 10_000, Duration.ofMinutes(10), 100_000);
    }

    private ActorRef<Topic.Command> topic(int maxEntries, TestProbe<TopicRegistry.Command> registry) {
        return testKit.spawn(Topic.create("t", limits(maxEntries), codec, metrics, new TopicStats(), registry.getRef(), null),
                "topic-" + (++names));
    }

    private static Topic.Publish publish(Op op, String key, String data, ActorRef<Topic.PublishOutcome> replyTo) {
        return new Topic.Publish(new Change("t", op, key, null, data), "r", System.nanoTime(), replyTo);
    }

    private double gauge(String name) {
        return metrics.registry().get(name).gauge().value();
    }

    @Test
    void numbersChangesAndEncodesEachOnceForAllSubscribers() {
        TestProbe<TopicRegistry.Command> registry = testKit.createTestProbe();
        ActorRef<Topic.Command> topic = topic(10, registry);
        TestSubscriber a = new TestSubscriber(testKit, metrics);
        TestSubscriber b = new TestSubscriber(testKit, metrics);
        TestProbe<Topic.PublishOutcome> acks = testKit.createTestProbe();
        topic.tell(a.subscribe("s"));
        topic.tell(b.subscribe(null));
        a.notices.expectMessageClass(Topic.Subscribed.class);
        b.notices.expectMessageClass(Topic.Subscribed.class);
        String snapshot = a.frames.receiveMessage();
        assertEquals("{\"type\":\"snapshot\",\"id\":\"s\",\"topic\":\"t\",\"epoch\":\"" + epochOf(snapshot)
                + "\",\"seq\":0,\"entries\":[]}", snapshot);
        b.frames.receiveMessage();

        topic.tell(publish(Op.SET, "k", "{\"v\":1}", acks.getRef()));
        assertEquals(new Topic.Published("t", 1, "r", false), acks.receiveMessage());
        String toA = a.frames.receiveMessage();
        String toB = b.frames.receiveMessage();
        assertSame(toA, toB, "one encoded frame shared by every subscriber");
        assertEquals(2, gauge("herald.subscriptions"));
        assertEquals(1, metrics.publishLatency.count());
        assertEquals("{\"type\":\"event\",\"topic\":\"t\",\"seq\":1,\"op\":\"set\",\"key\":\"k\",\"data\":{\"v\":1}}", toA);
    }

    @Test
    void evictsTheOldestOverMaxEntriesAsDeletesNumberedAfterTheCause() {
        TestProbe<TopicRegistry.Command> registry = testKit.createTestProbe();
        ActorRef<Topic.Command> topic = topic(2, registry);
        TestSubscriber sub = new TestSubscriber(testKit, metrics);
        TestProbe<Topic.PublishOutcome> acks = testKit.createTestProbe();
        topic.tell(sub.subscribe(null));
        sub.notices.expectMessageClass(Topic.Subscribed.class);
        sub.frames.receiveMessage();

        topic.tell(publish(Op.APPEND, null, "1", acks.getRef()));
        topic.tell(publish(Op.SET, "a", "2", acks.getRef()));
        topic.tell(publish(Op.SET, "b", "3", acks.getRef()));
        topic.tell(publish(Op.SET, "a", "4", acks.getRef()));
        assertEquals(List.of(1L, 2L, 3L, 5L), acks.receiveSeveralMessages(4).stream().map(o -> ((Topic.Published) o).seq()).toList());
        List<String> frames = sub.frames.receiveSeveralMessages(5);
        assertEquals("{\"type\":\"event\",\"topic\":\"t\",\"seq\":4,\"op\":\"delete\",\"key\":\"1\",\"event\":\"evicted\"}",
                frames.get(3));

        TestProbe<ApiBody.TopicState> state = testKit.createTestProbe();
        topic.tell(new Topic.GetState(null, state.getRef()));
        ApiBody.TopicState s = state.receiveMessage();
        assertEquals(5, s.seq());
        assertEquals(List.of("b", "a"), s.entries().stream().map(herald.protocol.Entry::key).toList());
    }

    @Test
    void forgetsASubscriberThatDiesAndAsksToStopWhenIdle() {
        TestProbe<TopicRegistry.Command> registry = testKit.createTestProbe();
        ActorRef<Topic.Command> topic = topic(10, registry);
        TestSubscriber sub = new TestSubscriber(testKit, metrics);
        topic.tell(sub.subscribe(null));
        sub.notices.expectMessageClass(Topic.Subscribed.class);
        registry.expectNoMessage(Duration.ofMillis(50));

        assertEquals(1, gauge("herald.subscriptions"));
        sub.notices.stop();
        TopicRegistry.Idle idle = registry.expectMessageClass(TopicRegistry.Idle.class);
        assertEquals(0, gauge("herald.subscriptions"), "a dead subscriber is forgotten");
        assertEquals(topic, idle.ref());
        topic.tell(Topic.Stop.INSTANCE);
        registry.expectTerminated(topic);
    }

    @Test
    void aSubscriberWhoseBufferOverflowsIsToldAndDroppedWhileTheOthersGetEverything() {
        TestProbe<TopicRegistry.Command> registry = testKit.createTestProbe();
        ActorRef<Topic.Command> topic = topic(100, registry);
        TestSubscriber stalled = new TestSubscriber(testKit, metrics, 3, false);
        TestSubscriber healthy = new TestSubscriber(testKit, metrics);
        TestProbe<Topic.PublishOutcome> acks = testKit.createTestProbe();
        topic.tell(stalled.subscribe(null));
        topic.tell(healthy.subscribe(null));
        stalled.notices.expectMessageClass(Topic.Subscribed.class);
        healthy.notices.expectMessageClass(Topic.Subscribed.class);
        for (int i = 0; i < 5; i++) {
            topic.tell(publish(Op.APPEND, null, String.valueOf(i), acks.getRef()));
        }
        acks.receiveSeveralMessages(5);
        assertEquals(new Topic.Overflowed("t"), stalled.notices.expectMessageClass(Topic.Overflowed.class));
        stalled.notices.expectNoMessage(Duration.ofMillis(50));
        assertEquals(6, healthy.frames.receiveSeveralMessages(6).size(), "snapshot and every event");
        assertEquals(1, gauge("herald.subscriptions"), "the overflowed subscriber is dropped");
    }

    @Test
    void staysWhenSomethingArrivedBetweenIdleAndStop() {
        TestProbe<TopicRegistry.Command> registry = testKit.createTestProbe();
        ActorRef<Topic.Command> topic = topic(10, registry);
        TestProbe<Topic.PublishOutcome> acks = testKit.createTestProbe();
        topic.tell(publish(Op.DELETE, "nothing", null, acks.getRef()));
        acks.receiveMessage();
        registry.expectMessageClass(TopicRegistry.Idle.class);

        topic.tell(publish(Op.SET, "k", "1", acks.getRef()));
        topic.tell(Topic.Stop.INSTANCE);
        assertEquals(new TopicRegistry.StillActive("t"), registry.expectMessageClass(TopicRegistry.StillActive.class));
        registry.expectNoMessage(Duration.ofMillis(50));
    }

    static String epochOf(String text) {
        int start = text.indexOf("\"epoch\":\"") + 9;
        return text.substring(start, text.indexOf('"', start));
    }

    @Test
    void theRegistryRestartsAStoppedTopicWithANewEpochAndLosesNoMessage() {
        HeraldSettings.Topics settings = new HeraldSettings.Topics(limits(10), List.of());
        ActorRef<TopicRegistry.Command> registry = testKit.spawn(TopicRegistry.create(settings, 100, codec, metrics, TopicRegistry.OwnerChoice.NONE),
                "registry-" + (++names));
        Topics topics = new LocalTopics(registry, testKit.system().scheduler());
        TestSubscriber sub = new TestSubscriber(testKit, metrics, 1000, true);

        String lastEpoch = null;
        int epochs = 0;
        for (int i = 0; i < 200; i++) {
            topics.tell("cycle", sub.subscribe("s" + i));
            Topic.Subscribed subscribed = sub.notices.expectMessageClass(Topic.Subscribed.class);
            assertEquals("s" + i, subscribed.requestId(), "every subscribe is answered, even during a stop");
            String snapshot = sub.frames.receiveMessage();
            if (!epochOf(snapshot).equals(lastEpoch)) {
                epochs++;
                lastEpoch = epochOf(snapshot);
            }
            topics.tell("cycle", new Topic.Unsubscribe(sub.notices.getRef()));
        }
        assertNotEquals(1, epochs, "idle topics were stopped and started again with new epochs");
    }

    @Test
    void theRegistryListsRunningTopicsInPagesByName() throws Exception {
        HeraldSettings.Topics settings = new HeraldSettings.Topics(limits(10), List.of());
        ActorRef<TopicRegistry.Command> registry = testKit.spawn(TopicRegistry.create(settings, 100, codec, metrics, TopicRegistry.OwnerChoice.NONE),
                "registry-" + (++names));
        Topics topics = new LocalTopics(registry, testKit.system().scheduler());
        TestProbe<Topic.PublishOutcome> acks = testKit.createTestProbe();
        for (String name : new String[] {"c", "a", "e", "b", "d"}) {
            topics.tell(name, new Topic.Publish(new Change(name, Op.SET, "k", null, "1"), null, System.nanoTime(),
                    acks.getRef()));
        }
        acks.receiveSeveralMessages(5);
        assertEquals(5, gauge("herald.topics.alive"));

        Duration timeout = Duration.ofSeconds(3);
        ApiBody.TopicList first = topics.list(null, 2, timeout).toCompletableFuture().get();
        assertEquals(List.of("a", "b"), first.topics().stream().map(ApiBody.TopicList.TopicSummary::topic).toList());
        assertEquals(new ApiBody.TopicList.TopicSummary("a", 1, 1, 0), first.topics().get(0));
        ApiBody.TopicList second = topics.list(first.next(), 2, timeout).toCompletableFuture().get();
        assertEquals(List.of("c", "d"), second.topics().stream().map(ApiBody.TopicList.TopicSummary::topic).toList());
        ApiBody.TopicList last = topics.list(second.next(), 2, timeout).toCompletableFuture().get();
        assertEquals(List.of("e"), last.topics().stream().map(ApiBody.TopicList.TopicSummary::topic).toList());
        assertEquals(null, last.next());
    }

    @Test
    void theRegistryRefusesANewTopicOverMaxTopicsAndKeepsTheOthers() {
        HeraldSettings.Topics settings = new HeraldSettings.Topics(limits(10), List.of());
        ActorRef<TopicRegistry.Command> registry = testKit.spawn(TopicRegistry.create(settings, 2, codec, metrics, TopicRegistry.OwnerChoice.NONE),
                "registry-" + (++names));
        Topics topics = new LocalTopics(registry, testKit.system().scheduler());
        TestProbe<Topic.PublishOutcome> acks = testKit.createTestProbe();
        TestSubscriber sub = new TestSubscriber(testKit, metrics);
        for (String name : new String[] {"one", "two"}) {
            topics.tell(name, new Topic.Publish(new Change(name, Op.SET, "k", null, "1"), null, System.nanoTime(),
                    acks.getRef()));
            acks.expectMessageClass(Topic.Published.class);
        }
        topics.tell("three", new Topic.Publish(new Change("three", Op.CLEAR, null, null, null), "p", System.nanoTime(),
                acks.getRef()));
        Topic.Refused refused = acks.expectMessageClass(Topic.Refused.class);
        assertEquals(herald.protocol.ErrorCode.TOO_MANY_TOPICS, refused.code());
        assertEquals("p", refused.requestId());
        topics.tell("three", sub.subscribe("s"));
        assertEquals(true, sub.notices.expectMessageClass(Topic.Refused.class).toSubscribe());

        topics.tell("one", new Topic.Publish(new Change("one", Op.SET, "k", null, "2"), null, System.nanoTime(),
                acks.getRef()));
        assertEquals(2, ((Topic.Published) acks.receiveMessage()).seq(), "existing topics are unaffected");
    }

    @Test
    void theRegistryAnswersStateOfAnUnknownTopicWithoutStartingIt() throws Exception {
        HeraldSettings.Topics settings = new HeraldSettings.Topics(limits(10), List.of());
        HubMetrics own = HubMetrics.unregistered();
        ActorRef<TopicRegistry.Command> registry = testKit.spawn(TopicRegistry.create(settings, 2, codec, own, TopicRegistry.OwnerChoice.NONE),
                "registry-" + (++names));
        Topics topics = new LocalTopics(registry, testKit.system().scheduler());
        ApiBody.TopicState state = topics.<ApiBody.TopicState>ask("ghost", replyTo -> new Topic.GetState(null, replyTo), Duration.ofSeconds(3))
                .toCompletableFuture().get();
        assertEquals(0, state.seq());
        assertEquals(0, own.registry().get("herald.topics.alive").gauge().value());
    }
}
