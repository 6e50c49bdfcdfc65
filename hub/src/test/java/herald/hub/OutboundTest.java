package herald.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import herald.protocol.CloseCode;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Sink;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** The bounded outbound queue without a network: a reader that never reads makes it overflow. */
class OutboundTest {
    static final ActorTestKit testKit = ActorTestKit.create();
    private static final Materializer materializer = Materializer.matFromSystem(testKit.system());
    private final HubMetrics metrics = HubMetrics.unregistered();

    @AfterAll
    static void cleanup() {
        testKit.shutdownTestKit();
    }

    @Test
    void overflowsOnFramesWhenNobodyReads() {
        Outbound outbound = Outbound.create(3, 1_000_000, materializer, metrics);
        for (int i = 0; i < 3; i++) {
            assertEquals(Outbound.Offer.QUEUED, outbound.offer(OutboundFrame.of("f" + i)));
        }
        assertEquals(Outbound.Offer.OVERFLOW, outbound.offer(OutboundFrame.of("one too many")));
        assertEquals(3, outbound.queuedFrames());
    }

    @Test
    void overflowsOnBytesButAlwaysTakesAFrameIntoAnEmptyQueue() {
        Outbound outbound = Outbound.create(100, 10, materializer, metrics);
        assertEquals(Outbound.Offer.QUEUED, outbound.offer(OutboundFrame.of("a big snapshot over the bound")));
        assertEquals(Outbound.Offer.OVERFLOW, outbound.offer(OutboundFrame.of("x")));
        assertEquals(29, outbound.queuedBytes());
    }

    @Test
    void closingDiscardsWhatIsQueuedAndFailsTheStreamWithTheCode() throws Exception {
        Outbound outbound = Outbound.create(10, 1000, materializer, metrics);
        outbound.offer(OutboundFrame.of("queued"));
        outbound.close(CloseCode.SLOW_CONSUMER, "slow");
        CompletableFuture<OutboundFrame> first = outbound.source().runWith(Sink.head(), materializer).toCompletableFuture();
        ExecutionException failure = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                () -> first.get(5, TimeUnit.SECONDS));
        CloseConnection close = assertInstanceOf(CloseConnection.class, failure.getCause());
        assertEquals(CloseCode.SLOW_CONSUMER, close.code());
        assertEquals(Outbound.Offer.CLOSED, outbound.offer(OutboundFrame.of("late")));
        outbound.close(CloseCode.GOING_AWAY, "twice is harmless");
    }

    @Test
    void closingAfterQueuedSendsWhatIsQueuedThenFailsWithTheCode() throws Exception {
        Outbound outbound = Outbound.create(10, 1000, materializer, metrics);
        outbound.offer(OutboundFrame.of("explanation"));
        outbound.closeAfterQueued(CloseCode.UNAUTHENTICATED, "auth failed");
        java.util.List<String> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        CompletableFuture<org.apache.pekko.Done> done = outbound.source()
                .runForeach(frame -> seen.add(frame.text()), materializer).toCompletableFuture();
        ExecutionException failure = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                () -> done.get(5, TimeUnit.SECONDS));
        assertEquals(java.util.List.of("explanation"), seen);
        assertEquals(CloseCode.UNAUTHENTICATED, assertInstanceOf(CloseConnection.class, failure.getCause()).code());
    }

    @Test
    void bytesAreReleasedAsTheReaderTakesFrames() throws Exception {
        Outbound outbound = Outbound.create(10, 1000, materializer, metrics);
        outbound.offer(OutboundFrame.of("abc"));
        outbound.offer(OutboundFrame.of("de"));
        outbound.complete();
        assertEquals(java.util.List.of("abc", "de"), outbound.source().map(OutboundFrame::text)
                .runWith(Sink.seq(), materializer).toCompletableFuture().get(5, TimeUnit.SECONDS));
        assertEquals(0, outbound.queuedBytes());
        assertEquals(2, metrics.framesOut.count());
        assertEquals(5, metrics.bytesOut.count());
    }
}
