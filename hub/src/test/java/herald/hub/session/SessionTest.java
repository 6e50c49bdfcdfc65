package herald.hub.session;

import herald.hub.Hub;
import herald.hub.HubMetrics;
import herald.hub.auth.Authenticator;
import herald.hub.auth.Hooks;
import herald.hub.auth.Principal;
import herald.hub.topic.Topic;
import herald.hub.topic.Topics;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import herald.config.HeraldConfig;
import herald.config.HeraldSettings;
import herald.protocol.ApiBody;
import herald.protocol.FrameCodec;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.LoggingTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.stream.Materializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The session actor on its own: its topics are probes, its buffer is read by a plain stream. The wire
 * tests in the http module cover the same behaviour through real sockets; these pin down the
 * actor's own rules (order, acknowledgements, the subscribe state machine, failure) one at a time.
 */
@ExtendWith(LogCapturingExtension.class)
class SessionTest {
    static final ActorTestKit testKit = ActorTestKit.create();
    private static final ObjectMapper json = new ObjectMapper();
    private static int names;

    @AfterAll
    static void cleanup() {
        testKit.shutdownTestKit();
    }

    /** What a session told a topic, by the topic's name. */
    record Told(String topic, Topic.Command command) {
    }

    /** Topics as probes; a topic named "explode" throws, like a handler with a bug. */
    record ProbeTopics(ActorRef<Told> probe) implements Topics {
        @Override
        public void tell(String topic, Topic.Command command) {
            if (topic.equals("explode")) {
                throw new IllegalStateException("a bug in a handler");
            }
            probe.tell(new Told(topic, command));
        }

        @Override
        public <R> CompletionStage<R> ask(String topic, Function<ActorRef<R>, Topic.Command> command, Duration timeout) {
            throw new UnsupportedOperationException();
        }

        @Override
        public CompletionStage<ApiBody.TopicList> list(String after, int limit, Duration timeout) {
            throw new UnsupportedOperationException();
        }
    }

    /** One session under test with everything around it. */
    private static final class Harness {
        final TestProbe<Told> topics = testKit.createTestProbe();
        /** The topics' actors, one per name, as the session watches them. */
        final java.util.Map<String, TestProbe<Topic.Command>> topicActors = new java.util.HashMap<>();
        final TestProbe<Session.Ack> acks = testKit.createTestProbe();
        final TestProbe<String> frames = testKit.createTestProbe();
        final HeraldSettings settings;
        final Connections connections;
        final Outbound outbound;
        final CompletionStage<Done> stream;
        final ActorRef<Session.Command> session;

        Harness(String config) {
            settings = HeraldSettings.fromConfig(HeraldConfig.load(ConfigFactory.parseString(config)));
            connections = new Connections(settings.limits());
            HubMetrics metrics = HubMetrics.unregistered();
            outbound = Outbound.create(100, 1 << 20, metrics);
            stream = outbound.source().runForeach(frame -> frames.getRef().tell(frame.text()),
                    Materializer.matFromSystem(testKit.system()));
            Hub hub = new Hub(settings, new FrameCodec(), new ProbeTopics(topics.getRef()), connections, metrics,
                    Authenticator.create(settings.auth()), Hooks.NONE);
            Connections.Slot slot = (Connections.Slot) connections.reserve("127.0.0.1", null);
            Principal principal = hub.authenticator().required() ? null : hub.authenticator().anonymous();
            session = testKit.spawn(Session.create(new Session.Identity("s" + (++names), "127.0.0.1",
                    Session.Transport.WEBSOCKET), principal, hub, outbound, slot), "session-" + names);
        }

        Harness() {
            this("");
        }

        void send(String text) {
            session.tell(new Session.Inbound(text, acks.getRef()));
        }

        JsonNode frame() throws Exception {
            return json.readTree(frames.receiveMessage(Duration.ofSeconds(5)));
        }

        /** The topic's command the session sent, checking the topic's name. */
        <T extends Topic.Command> T told(String topic, Class<T> type) {
            Told told = topics.receiveMessage(Duration.ofSeconds(5));
            assertEquals(topic, told.topic());
            return assertInstanceOf(type, told.command());
        }

        /** Plays the topic: writes the snapshot into the buffer through the handle, then answers. */
        void answer(String topic, Topic.Subscribe subscribe) {
            assertEquals(Outbound.Offer.QUEUED, subscribe.subscription().offer(OutboundFrame.of(
                    "{\"type\":\"snapshot\",\"topic\":\"" + topic + "\",\"epoch\":\"e\",\"seq\":0,\"entries\":[]}")));
            session.tell(new Topic.Subscribed(topic, subscribe.requestId(), topicActor(topic).getRef()));
        }

        TestProbe<Topic.Command> topicActor(String topic) {
            return topicActors.computeIfAbsent(topic, t -> testKit.createTestProbe());
        }
    }

    @Test
    void welcomesAtOnceWhenAuthenticationIsOff() throws Exception {
        Harness h = new Harness();
        JsonNode welcome = h.frame();
        assertEquals("welcome", welcome.path("type").asText());
        assertEquals(1, welcome.path("protocol").asInt());
        assertEquals(1, h.connections.count(), "the session claimed its place");
    }

    @Test
    void aSubscribeGoesOneTopicAtATimeAndTheNextFrameWaitsForIt() throws Exception {
        Harness h = new Harness();
        h.frame();
        h.send("{\"type\":\"subscribe\",\"id\":\"s1\",\"topics\":[\"a\",\"no space\",\"b\"]}");
        Topic.Subscribe a = h.told("a", Topic.Subscribe.class);
        assertEquals("s1", a.requestId());
        h.topics.expectNoMessage(Duration.ofMillis(50));
        h.acks.expectNoMessage(Duration.ZERO);
        h.answer("a", a);
        assertEquals("snapshot", h.frame().path("type").asText());
        JsonNode invalid = h.frame();
        assertEquals("invalid_topic", invalid.path("code").asText(), "refusals keep the request's order");
        Topic.Subscribe b = h.told("b", Topic.Subscribe.class);
        h.acks.expectNoMessage(Duration.ZERO);
        h.answer("b", b);
        h.acks.expectMessage(Session.Ack.INSTANCE);
        assertEquals("b", h.frame().path("topic").asText());
    }

    @Test
    void unsubscribeEndsTheHandleBeforeItAnswers() throws Exception {
        Harness h = new Harness();
        h.frame();
        h.send("{\"type\":\"subscribe\",\"id\":\"s\",\"topics\":[\"a\"]}");
        Topic.Subscribe a = h.told("a", Topic.Subscribe.class);
        h.answer("a", a);
        h.acks.expectMessage(Session.Ack.INSTANCE);
        h.frame();
        h.send("{\"type\":\"unsubscribe\",\"id\":\"u\",\"topics\":[\"a\"]}");
        h.acks.expectMessage(Session.Ack.INSTANCE);
        assertEquals("unsubscribed", h.frame().path("type").asText());
        h.topicActor("a").expectMessageClass(Topic.Unsubscribe.class);
        assertEquals(Outbound.Offer.CLOSED, a.subscription().offer(OutboundFrame.of("{\"type\":\"event\"}")),
                "the topic can no longer write through the ended handle");
    }

    @Test
    void aTopicThatDoesNotAnswerGetsAnErrorAndTheRequestGoesOn() throws Exception {
        Harness h = new Harness("herald.api.ask-timeout = 200ms");
        h.frame();
        h.send("{\"type\":\"subscribe\",\"id\":\"s\",\"topics\":[\"silent\",\"b\"]}");
        h.told("silent", Topic.Subscribe.class);
        JsonNode error = h.frame();
        assertEquals("internal", error.path("code").asText());
        assertEquals("silent", error.path("topic").asText());
        Topic.Subscribe b = h.told("b", Topic.Subscribe.class);
        h.answer("b", b);
        h.acks.expectMessage(Session.Ack.INSTANCE);
    }

    @Test
    void aFailingHandlerClosesTheSocketWith1011AndGivesItsPlaceBack() throws Exception {
        Harness h = new Harness();
        h.frame();
        LoggingTestKit.error("Connection closed").withMessageContains("code [1011]").expect(testKit.system(), () -> {
            h.send("{\"type\":\"subscribe\",\"id\":\"s\",\"topics\":[\"explode\"]}");
            return null;
        });
        testKit.createTestProbe().expectTerminated(h.session);
        assertEquals(1011, closedWith(h).code().code());
        assertEquals(0, h.connections.count());
        assertEquals(0, h.connections.slots(), "the place is free again");
    }

    @Test
    void aFrameBeforeAuthIsRefusedAndSilenceClosesWith4001() throws Exception {
        Harness h = new Harness("""
                herald.auth.mode = jwt
                herald.auth.jwt.hs256-secret = "a-secret-of-at-least-thirty-two-bytes-long"
                herald.auth.jwt.auth-timeout = 300ms
                """);
        h.send("{\"type\":\"ping\",\"id\":\"p\"}");
        JsonNode refused = h.frame();
        assertEquals("unauthenticated", refused.path("code").asText());
        assertEquals("p", refused.path("id").asText());
        h.acks.expectMessage(Session.Ack.INSTANCE);
        CloseConnection close = closedWith(h);
        assertEquals(4001, close.code().code());
    }

    @Test
    void framesOverTheRateLimitAreAnsweredNotProcessed() throws Exception {
        Harness h = new Harness("herald.rate-limit { frames-per-second = 1, burst = 2 }");
        h.frame();
        for (int i = 0; i < 3; i++) {
            h.send("{\"type\":\"ping\",\"id\":\"p" + i + "\"}");
        }
        assertEquals("pong", h.frame().path("type").asText());
        assertEquals("pong", h.frame().path("type").asText());
        JsonNode limited = h.frame();
        assertEquals("rate_limited", limited.path("code").asText());
        assertEquals("p2", limited.path("id").asText());
    }

    @Test
    void theConnectionsEndIsLoggedOnceAndTheSessionGivesItsPlaceBack() throws Exception {
        Harness h = new Harness();
        h.frame();
        LoggingTestKit.info("Connection closed").withMessageContains("code [1000]").withMessageContains("by [client]")
                .expect(testKit.system(), () -> {
                    h.session.tell(new Session.ConnectionEnded(1000, "", true));
                    return null;
                });
        testKit.createTestProbe().expectTerminated(h.session);
        assertEquals(0, h.connections.slots());
    }

    private static CloseConnection closedWith(Harness h) throws Exception {
        try {
            h.stream.toCompletableFuture().get(5, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            return assertInstanceOf(CloseConnection.class, e.getCause());
        }
        throw new AssertionError("the stream completed without a close code");
    }

}
