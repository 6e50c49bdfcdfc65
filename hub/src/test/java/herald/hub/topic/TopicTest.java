package herald.hub.topic;

import herald.hub.HubMetrics;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import herald.config.HeraldConfig;
import herald.config.HeraldSettings;
import herald.config.HeraldSettings.TopicLimits;
import herald.protocol.ApiBody;
import herald.protocol.Change;
import herald.protocol.Entry;
import herald.protocol.FrameCodec;
import herald.protocol.Op;
import herald.protocol.ServerFrame;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A single node's topics without any network: the relay's fan-out rules, the in-memory owner's
 * numbering, and the registries of relays ({@link TopicRegistry}) and owners ({@link LocalOwners}).
 */
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
    /** What the owners said of their topics' occupancy, in order: "+t" occupied, "-t" vacated. */
    private final java.util.concurrent.BlockingQueue<String> occupancyHeard = new java.util.concurrent.LinkedBlockingQueue<>();
    private final Occupancy occupancy = new Occupancy() {
        @Override
        public void occupied(String topic) {
            occupancyHeard.add("+" + topic);
        }

        @Override
        public void vacated(String topic) {
            occupancyHeard.add("-" + topic);
        }
    };

    static TopicLimits limits(int maxEntries) {
        return new TopicLimits(maxEntries, 1000, 10_000, Duration.ofMinutes(10), 100_000);
    }

    private static HeraldSettings settings(int maxEntries, int maxTopics) {
        return HeraldSettings.fromConfig(HeraldConfig.load(ConfigFactory.parseString(
                "herald.topics.max-entries = " + maxEntries + "\nherald.limits.max-topics = " + maxTopics
                        + "\nherald.presence.topics = [t]\nherald.presence.max-members = 2")));
    }

    /** The owners of a single node, as HttpServer starts them. */
    private LocalOwners owners(HeraldSettings settings) {
        return owners(settings, TopicOwner.IDLE_AFTER);
    }

    private LocalOwners owners(HeraldSettings settings, Duration idleAfter) {
        return new LocalOwners(testKit.spawn(LocalOwners.registry(settings, null, metrics, occupancy, idleAfter), "owners-" + (++names)),
                testKit.system().scheduler(), Duration.ofSeconds(3));
    }

    /** A relay of topic "t" with a probe for its registry, and real owners behind it. */
    private ActorRef<Topic.Command> relay(LocalOwners owners, TestProbe<TopicRegistry.Command> registry) {
        return testKit.spawn(Topic.create("t", limits(100), codec, metrics, new TopicStats(), registry.getRef(), owners),
                "topic-" + (++names));
    }

    /** A single node's whole topic side: relays, owners, and the way sessions reach them. */
    private Topics topics(int maxEntries, int maxTopics) {
        HeraldSettings settings = settings(maxEntries, maxTopics);
        LocalOwners owners = owners(settings);
        ActorRef<TopicRegistry.Command> registry = testKit.spawn(
                TopicRegistry.create(settings.topics(), maxTopics, codec, metrics, owners), "registry-" + (++names));
        return new LocalTopics(registry, testKit.system().scheduler(), owners);
    }

    private static Topic.Publish publish(Op op, String key, String data, ActorRef<Topic.PublishOutcome> replyTo) {
        return new Topic.Publish(new Change("t", op, key, null, data), "r", System.nanoTime(), replyTo);
    }

    private double gauge(String name) {
        return metrics.registry().get(name).gauge().value();
    }

    @Test
    void numbersChangesAndEncodesEachOnceForAllSubscribers() {
        Topics topics = topics(10, 100);
        TestSubscriber a = new TestSubscriber(testKit, metrics);
        TestSubscriber b = new TestSubscriber(testKit, metrics);
        TestProbe<Topic.PublishOutcome> acks = testKit.createTestProbe();
        topics.tell("t", a.subscribe("s"));
        topics.tell("t", b.subscribe(null));
        a.notices.expectMessageClass(Topic.Subscribed.class);
        b.notices.expectMessageClass(Topic.Subscribed.class);
        String snapshot = a.frames.receiveMessage();
        assertEquals("{\"type\":\"snapshot\",\"id\":\"s\",\"topic\":\"t\",\"epoch\":\"" + epochOf(snapshot)
                + "\",\"seq\":0,\"entries\":[]}", snapshot);
        b.frames.receiveMessage();

        Topic.Publish publish = publish(Op.SET, "k", "{\"v\":1}", acks.getRef());
        topics.tell("t", publish);
        Topic.Published published = (Topic.Published) acks.receiveMessage();
        assertEquals(new Topic.Published("t", 1, "r", false, publish.receivedNanos()), published);
        metrics.outcome(published);
        String toA = a.frames.receiveMessage();
        b.frames.receiveMessage();
        assertSame(a.encoded.receiveSeveralMessages(2).get(1), b.encoded.receiveSeveralMessages(2).get(1),
                "one encoded frame shared by every subscriber");
        assertEquals(2, gauge("herald.subscriptions"));
        assertEquals(1, metrics.publishLatency.count());
        assertEquals("{\"type\":\"event\",\"topic\":\"t\",\"seq\":1,\"op\":\"set\",\"key\":\"k\",\"data\":{\"v\":1}}", toA);
    }

    /**
     * Subscribers asking for the same state get one encoding of it behind each one's own request id
     * (a reconnect storm's thousands of subscribes); a change makes the next subscriber's snapshot new.
     */
    @Test
    void subscribersOfTheSameStateGetItEncodedOnceWithTheirOwnRequestIds() {
        Topics topics = topics(10, 100);
        TestProbe<Topic.PublishOutcome> acks = testKit.createTestProbe();
        topics.tell("t", publish(Op.SET, "k1", "{\"v\":1}", acks.getRef()));
        topics.tell("t", publish(Op.SET, "k2", "2", acks.getRef()));
        acks.receiveSeveralMessages(2);
        List<Entry> entries = List.of(new Entry("k1", 1, null, "{\"v\":1}"),
                new Entry("k2", 2, null, "2"));
        String epoch = null;
        for (String id : new String[] {"s", "an \"escaped\" id\n", "é", null}) {
            TestSubscriber subscriber = new TestSubscriber(testKit, metrics);
            topics.tell("t", subscriber.subscribe(id));
            String snapshot = subscriber.frames.receiveMessage();
            epoch = epochOf(snapshot);
            assertEquals(codec.encode(new ServerFrame.Snapshot(id, "t", epoch, 2, entries)), snapshot);
        }
        topics.tell("t", publish(Op.DELETE, "k1", null, acks.getRef()));
        acks.receiveMessage();
        TestSubscriber later = new TestSubscriber(testKit, metrics);
        topics.tell("t", later.subscribe("s"));
        assertEquals(codec.encode(new ServerFrame.Snapshot("s", "t", epoch, 3, entries.subList(1, 2))),
                later.frames.receiveMessage(), "the state after the change, not the one encoded before it");
    }

    /** An HTTP request's changes to one topic: applied in order, each answered in its place, delivered in seq order. */
    @Test
    void changesPublishedTogetherAreAppliedInOrderAndAnsweredTogether() {
        Topics topics = topics(10, 100);
        TestSubscriber sub = new TestSubscriber(testKit, metrics);
        topics.tell("t", sub.subscribe("s"));
        sub.notices.expectMessageClass(Topic.Subscribed.class);
        sub.frames.receiveMessage();
        TestProbe<Topic.Outcomes> answers = testKit.createTestProbe();
        topics.tell("t", new Topic.PublishAll(List.of(
                new Change("t", Op.SET, "a", null, "1"),
                new Change("t", Op.SET, "a", null, "2", 5L, null),
                new Change("t", Op.SET, "b", null, "3", null, "once"),
                new Change("t", Op.SET, "b", null, "4", null, "once")), 7L, answers.getRef()));
        List<Topic.PublishOutcome> outcomes = answers.receiveMessage().outcomes();
        assertEquals(List.of(new Topic.Published("t", 1, null, false, 7L), new Topic.Conflicted("t", "a", 1, null),
                new Topic.Published("t", 2, null, false, 7L), new Topic.Published("t", 2, null, true, 7L)), outcomes);
        List<String> events = sub.frames.receiveSeveralMessages(2);
        assertTrue(events.get(0).contains("\"seq\":1,") && events.get(1).contains("\"seq\":2,"), events.toString());
        sub.frames.expectNoMessage(Duration.ofMillis(50));
    }

    @Test
    void evictsTheOldestOverMaxEntriesAsDeletesNumberedAfterTheCause() {
        Topics topics = topics(2, 100);
        TestSubscriber sub = new TestSubscriber(testKit, metrics);
        TestProbe<Topic.PublishOutcome> acks = testKit.createTestProbe();
        topics.tell("t", sub.subscribe(null));
        sub.notices.expectMessageClass(Topic.Subscribed.class);
        sub.frames.receiveMessage();

        topics.tell("t", publish(Op.APPEND, null, "1", acks.getRef()));
        topics.tell("t", publish(Op.SET, "a", "2", acks.getRef()));
        topics.tell("t", publish(Op.SET, "b", "3", acks.getRef()));
        topics.tell("t", publish(Op.SET, "a", "4", acks.getRef()));
        assertEquals(List.of(1L, 2L, 3L, 5L), acks.receiveSeveralMessages(4).stream().map(o -> ((Topic.Published) o).seq()).toList());
        List<String> frames = sub.frames.receiveSeveralMessages(5);
        assertEquals("{\"type\":\"event\",\"topic\":\"t\",\"seq\":4,\"op\":\"delete\",\"key\":\"1\",\"event\":\"evicted\"}",
                frames.get(3));

        ApiBody.TopicState s = topics.<ApiBody.TopicState>ask("t", replyTo -> new Topic.GetState(null, replyTo),
                Duration.ofSeconds(3)).toCompletableFuture().join();
        assertEquals(5, s.seq());
        assertEquals(List.of("b", "a"), s.entries().stream().map(herald.protocol.Entry::key).toList());
    }

    @Test
    void forgetsASubscriberThatDiesAndAsksToStopWhenIdle() {
        TestProbe<TopicRegistry.Command> registry = testKit.createTestProbe();
        ActorRef<Topic.Command> topic = relay(owners(settings(10, 100)), registry);
        TestSubscriber sub = new TestSubscriber(testKit, metrics);
        topic.tell(sub.subscribe(null));
        sub.notices.expectMessageClass(Topic.Subscribed.class);
        // The owner's state may have come before the subscribe, and the relay asked to stop then: the
        // registry's Stop finds it active either way.
        topic.tell(Topic.Stop.INSTANCE);
        registry.fishForMessage(Duration.ofSeconds(3), message -> message instanceof TopicRegistry.StillActive
                ? FishingOutcomes.complete() : FishingOutcomes.continueAndIgnore());

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
        LocalOwners owners = owners(settings(100, 100));
        TestProbe<TopicRegistry.Command> registry = testKit.createTestProbe();
        ActorRef<Topic.Command> topic = relay(owners, registry);
        TestSubscriber stalled = new TestSubscriber(testKit, metrics, 3, false);
        TestSubscriber healthy = new TestSubscriber(testKit, metrics);
        TestProbe<Topic.PublishOutcome> acks = testKit.createTestProbe();
        topic.tell(stalled.subscribe(null));
        topic.tell(healthy.subscribe(null));
        stalled.notices.expectMessageClass(Topic.Subscribed.class);
        healthy.notices.expectMessageClass(Topic.Subscribed.class);
        for (int i = 0; i < 5; i++) {
            owners.publish("t", publish(Op.APPEND, null, String.valueOf(i), acks.getRef()));
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
        ActorRef<Topic.Command> topic = relay(owners(settings(10, 100)), registry);
        TestSubscriber sub = new TestSubscriber(testKit, metrics);
        topic.tell(sub.subscribe("s1"));
        sub.notices.expectMessageClass(Topic.Subscribed.class);
        topic.tell(new Topic.Unsubscribe(sub.notices.getRef()));
        registry.expectMessageClass(TopicRegistry.Idle.class);

        topic.tell(sub.subscribe("s2"));
        topic.tell(Topic.Stop.INSTANCE);
        assertEquals(new TopicRegistry.StillActive("t"), registry.expectMessageClass(TopicRegistry.StillActive.class));
        registry.expectNoMessage(Duration.ofMillis(50));
    }

    static String epochOf(String text) {
        int start = text.indexOf("\"epoch\":\"") + 9;
        return text.substring(start, text.indexOf('"', start));
    }

    @Test
    void theRegistryRestartsAStoppedRelayAndLosesNoMessage() {
        Topics topics = topics(10, 100);
        TestSubscriber sub = new TestSubscriber(testKit, metrics, 1000, true);

        Set<String> epochs = new HashSet<>();
        Set<ActorRef<Topic.Command>> relays = new HashSet<>();
        for (int i = 0; i < 200; i++) {
            topics.tell("cycle", sub.subscribe("s" + i));
            Topic.Subscribed subscribed = sub.notices.expectMessageClass(Topic.Subscribed.class);
            assertEquals("s" + i, subscribed.requestId(), "every subscribe is answered, even during a stop");
            relays.add(subscribed.topicRef());
            epochs.add(epochOf(sub.frames.receiveMessage()));
            topics.tell("cycle", new Topic.Unsubscribe(sub.notices.getRef()));
        }
        assertNotEquals(1, relays.size(), "relays without subscribers were stopped and started again");
        assertEquals(1, epochs.size(), "the owner, which waits a while before it stops, kept the topic's epoch");
    }

    @Test
    void theRegistryListsRunningTopicsInPagesByName() throws Exception {
        Topics topics = topics(10, 100);
        TestProbe<Topic.PublishOutcome> acks = testKit.createTestProbe();
        TestSubscriber sub = new TestSubscriber(testKit, metrics);
        topics.tell("b", sub.subscribe("s"));
        sub.notices.expectMessageClass(Topic.Subscribed.class);
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
        assertEquals(new ApiBody.TopicList.TopicSummary("b", 1, 1, 1), first.topics().get(1), "with the subscribers of its relay");
        ApiBody.TopicList second = topics.list(first.next(), 2, timeout).toCompletableFuture().get();
        assertEquals(List.of("c", "d"), second.topics().stream().map(ApiBody.TopicList.TopicSummary::topic).toList());
        ApiBody.TopicList last = topics.list(second.next(), 2, timeout).toCompletableFuture().get();
        assertEquals(List.of("e"), last.topics().stream().map(ApiBody.TopicList.TopicSummary::topic).toList());
        assertEquals(null, last.next());
    }

    @Test
    void theRegistryRefusesANewTopicOverMaxTopicsAndKeepsTheOthers() {
        Topics topics = topics(10, 2);
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
        Topic.Refused subscribe = sub.notices.expectMessageClass(Topic.Refused.class);
        assertEquals(true, subscribe.toSubscribe());
        assertEquals(herald.protocol.ErrorCode.TOO_MANY_TOPICS, subscribe.code(), "an owner that cannot start refuses its relay's subscribes");

        topics.tell("one", new Topic.Publish(new Change("one", Op.SET, "k", null, "2"), null, System.nanoTime(),
                acks.getRef()));
        assertEquals(2, ((Topic.Published) acks.receiveMessage()).seq(), "existing topics are unaffected");
    }

    /**
     * An owner with nothing to keep stops after a while and the next one starts with a new epoch;
     * what reaches it while it stops (the registry's held commands, or the ones it defers) goes to
     * the next one, so every publish is answered and none is lost.
     */
    @Test
    void anIdleOwnerStopsAndNothingSentMeanwhileIsLost() throws Exception {
        LocalOwners owners = owners(settings(10, 100), Duration.ofMillis(20));
        TestProbe<Topic.PublishOutcome> acks = testKit.createTestProbe();
        TestProbe<ApiBody.TopicState> states = testKit.createTestProbe();
        owners.publish("t", publish(Op.DELETE, "absent", null, acks.getRef()));
        acks.expectMessageClass(Topic.Published.class);
        owners.getState("t", new Topic.GetState(null, states.getRef()));
        String first = states.receiveMessage().epoch();
        Set<String> epochs = new HashSet<>(Set.of(first));
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        int sent = 0;
        while (epochs.size() < 3 && System.nanoTime() < deadline) {
            // A delete of nothing keeps the topic empty, so its owner may stop between any two of them.
            for (int i = 0; i < 20; i++) {
                owners.publish("t", publish(Op.DELETE, "absent", null, acks.getRef()));
                sent++;
            }
            assertEquals(20, acks.receiveSeveralMessages(20, Duration.ofSeconds(5)).stream()
                    .filter(Topic.Published.class::isInstance).count(), "every publish answered");
            owners.getState("t", new Topic.GetState(null, states.getRef()));
            epochs.add(states.receiveMessage().epoch());
            acks.expectNoMessage(Duration.ofMillis(30));
        }
        assertTrue(epochs.size() >= 3, "owners stopped and started again, each with a new epoch: " + epochs + " after " + sent);
    }

    @Test
    void theRegistryAnswersStateOfAnUnknownTopicWithoutStartingIt() throws Exception {
        Topics topics = topics(10, 2);
        ApiBody.TopicState state = topics.<ApiBody.TopicState>ask("ghost", replyTo -> new Topic.GetState(null, replyTo), Duration.ofSeconds(3))
                .toCompletableFuture().get();
        assertEquals(0, state.seq());
        assertEquals(0, gauge("herald.topics.alive"));
    }

    /**
     * A presence topic lists the members its topic's relay announces, at most max-members (2 here):
     * a third waits, counted, and is listed when a listed one leaves; a member whose session is
     * gone is removed like one that unsubscribed.
     */
    @Test
    void presenceListsMembersUpToTheMostAndPromotesTheNextWhenOneLeaves() throws Exception {
        Topics topics = topics(10, 100);
        TestSubscriber watcher = new TestSubscriber(testKit, metrics);
        topics.tell("$presence:t", watcher.subscribe("w"));
        watcher.notices.expectMessageClass(Topic.Subscribed.class);
        assertTrue(watcher.frames.receiveMessage().contains("\"seq\":0,\"entries\":[]"));

        TestSubscriber a = new TestSubscriber(testKit, metrics);
        TestSubscriber b = new TestSubscriber(testKit, metrics);
        TestSubscriber c = new TestSubscriber(testKit, metrics);
        topics.tell("t", a.subscribeAsMember("A"));
        assertEquals("{\"type\":\"event\",\"topic\":\"$presence:t\",\"seq\":1,\"op\":\"set\",\"key\":\"A\",\"event\":\"joined\","
                + "\"data\":{\"user\":\"A\"}}", watcher.frames.receiveMessage());
        topics.tell("t", b.subscribeAsMember("B"));
        assertTrue(watcher.frames.receiveMessage().contains("\"seq\":2,\"op\":\"set\",\"key\":\"B\""));
        topics.tell("t", c.subscribeAsMember("C"));
        c.notices.expectMessageClass(Topic.Subscribed.class);
        watcher.frames.expectNoMessage(Duration.ofMillis(200));

        ApiBody.TopicList listed = topics.list(null, 10, Duration.ofSeconds(3)).toCompletableFuture().get();
        ApiBody.TopicList.TopicSummary presence = listed.topics().stream()
                .filter(t -> t.topic().equals("$presence:t")).findFirst().orElseThrow();
        assertEquals(3, presence.entries(), "every member counted, listed or not");

        topics.tell("t", new Topic.Unsubscribe(a.notices.getRef()));
        assertTrue(watcher.frames.receiveMessage().contains("\"seq\":3,\"op\":\"delete\",\"key\":\"A\",\"event\":\"left\""));
        assertTrue(watcher.frames.receiveMessage().contains("\"seq\":4,\"op\":\"set\",\"key\":\"C\""));

        b.notices.stop();
        assertTrue(watcher.frames.receiveMessage().contains("\"seq\":5,\"op\":\"delete\",\"key\":\"B\""));
    }

    /** The first relay to join a topic's owner occupies the topic; the last one to leave vacates it, once each. */
    @Test
    void theOwnerTellsWhenATopicGetsItsFirstListenerAndLosesItsLast() throws Exception {
        Topics topics = topics(10, 100);
        TestSubscriber a = new TestSubscriber(testKit, metrics);
        TestSubscriber b = new TestSubscriber(testKit, metrics);
        topics.tell("t", a.subscribe("a"));
        topics.tell("t", b.subscribe("b"));
        a.notices.expectMessageClass(Topic.Subscribed.class);
        b.notices.expectMessageClass(Topic.Subscribed.class);
        assertEquals("+t", occupancyHeard.poll(5, java.util.concurrent.TimeUnit.SECONDS));
        topics.tell("t", new Topic.Unsubscribe(a.notices.getRef()));
        topics.tell("t", new Topic.Unsubscribe(b.notices.getRef()));
        assertEquals("-t", occupancyHeard.poll(5, java.util.concurrent.TimeUnit.SECONDS));
        assertEquals(null, occupancyHeard.poll(200, java.util.concurrent.TimeUnit.MILLISECONDS), "once per transition");
    }
}
