package herald.hub.topic;

import herald.hub.HubMetrics;
import herald.hub.session.Outbound;
import herald.hub.session.OutboundFrame;
import herald.hub.session.Subscription;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.stream.Materializer;

/** A stand-in session: notices go to one probe, the frames written into its buffer to another. */
final class TestSubscriber {
    final TestProbe<Topic.Notice> notices;
    final TestProbe<String> frames;
    /** The same frames as written, to see which objects subscribers share. */
    final TestProbe<OutboundFrame> encoded;
    final Outbound outbound;

    TestSubscriber(ActorTestKit testKit, HubMetrics metrics, int maxFrames, boolean reading) {
        notices = testKit.createTestProbe();
        frames = testKit.createTestProbe();
        encoded = testKit.createTestProbe();
        Materializer materializer = Materializer.matFromSystem(testKit.system());
        outbound = Outbound.create(maxFrames, 1 << 20, metrics);
        if (reading) {
            outbound.source().runForeach(frame -> {
                encoded.getRef().tell(frame);
                frames.getRef().tell(frame.text());
            }, materializer);
        }
    }

    TestSubscriber(ActorTestKit testKit, HubMetrics metrics) {
        this(testKit, metrics, 100, true);
    }

    Topic.Subscribe subscribe(String requestId) {
        return subscribe(requestId, null);
    }

    Topic.Subscribe subscribe(String requestId, herald.protocol.Position since) {
        return new Topic.Subscribe(new Subscription(notices.getRef(), outbound), requestId, since, null);
    }

    /** A subscribe of a connection that is a member of the topic's presence topic, as {@code session}. */
    Topic.Subscribe subscribeAsMember(String session) {
        return new Topic.Subscribe(new Subscription(notices.getRef(), outbound), null, null,
                new herald.hub.presence.Members.Announced(session, "{\"user\":\"" + session + "\"}"));
    }
}
