package herald.hub.session;

import herald.hub.HubMetrics;
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
        Outbound outbound = Outbound.create(3, 1_000_000, metrics);
        for (int i = 0; i < 3; i++) {
            assertEquals(Outbound.Offer.QUEUED, outbound.offer(OutboundFrame.of("f" + i)));
        }
        assertEquals(Outbound.Offer.OVERFLOW, outbound.offer(OutboundFrame.of("one too many")));
        assertEquals(3, outbound.queuedFrames());
    }

    @Test
    void overflowsOnBytesButAlwaysTakesAFrameIntoAnEmptyQueue() {
        Outbound outbound = Outbound.create(100, 10, metrics);
        assertEquals(Outbound.Offer.QUEUED, outbound.offer(OutboundFrame.of("a big snapshot over the bound")));
        assertEquals(Outbound.Offer.OVERFLOW, outbound.offer(OutboundFrame.of("x")));
        assertEquals(29, outbound.queuedBytes());
    }

    @Test
    void closingDiscardsWhatIsQueuedAndFailsTheStreamWithTheCode() throws Exception {
        Outbound outbound = Outbound.create(10, 1000, metrics);
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
        Outbound outbound = Outbound.create(10, 1000, metrics);
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
        Outbound outbound = Outbound.create(10, 1000, metrics);
        outbound.offer(OutboundFrame.of("abc"));
        outbound.offer(OutboundFrame.of("de"));
        outbound.complete();
        assertEquals(java.util.List.of("abc", "de"), outbound.source().map(OutboundFrame::text)
                .runWith(Sink.seq(), materializer).toCompletableFuture().get(5, TimeUnit.SECONDS));
        assertEquals(0, outbound.queuedBytes());
        assertEquals(2, metrics.framesOut.count());
        assertEquals(5, metrics.bytesOut.count());
    }

    @Test
    void framesOfferedFromManyThreadsWhileTheReaderWaitsArriveAllAndInOrderPerThread() throws Exception {
        Outbound outbound = Outbound.create(100_000, 100_000_000, metrics);
        CompletableFuture<java.util.List<String>> read = outbound.source().map(OutboundFrame::text)
                .runWith(Sink.seq(), materializer).toCompletableFuture();
        java.util.List<Thread> writers = new java.util.ArrayList<>();
        for (int w = 0; w < 4; w++) {
            String name = "w" + w + "-";
            Thread writer = new Thread(() -> {
                for (int i = 0; i < 5_000; i++) {
                    outbound.offer(OutboundFrame.of(name + i));
                }
            });
            writer.start();
            writers.add(writer);
        }
        for (Thread writer : writers) {
            writer.join();
        }
        outbound.complete();
        java.util.List<String> seen = read.get(10, TimeUnit.SECONDS);
        assertEquals(20_000, seen.size());
        for (int w = 0; w < 4; w++) {
            String name = "w" + w + "-";
            assertEquals(java.util.stream.IntStream.range(0, 5_000).mapToObj(i -> name + i).toList(),
                    seen.stream().filter(text -> text.startsWith(name)).toList());
        }
        assertEquals(0, outbound.queuedFrames());
    }

    @Test
    void closeEndsTheStreamAtOnceEvenWhenTheReaderIsNotPulling() throws Exception {
        Outbound outbound = Outbound.create(10, 1000, metrics);
        CompletableFuture<org.apache.pekko.Done> ended = new CompletableFuture<>();
        // A reader that never asks for anything, like a connection whose socket is full.
        outbound.source()
                .watchTermination((notUsed, done) -> done.whenComplete((ok, error) -> {
                    if (error == null) {
                        ended.complete(ok);
                    } else {
                        ended.completeExceptionally(error);
                    }
                }))
                .runWith(Sink.fromSubscriber(new org.reactivestreams.Subscriber<OutboundFrame>() {
                    public void onSubscribe(org.reactivestreams.Subscription s) { }
                    public void onNext(OutboundFrame frame) { }
                    public void onError(Throwable t) { }
                    public void onComplete() { }
                }), materializer);
        outbound.offer(OutboundFrame.of("never read"));
        outbound.close(CloseCode.SLOW_CONSUMER, "slow");
        ExecutionException failure = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                () -> ended.get(5, TimeUnit.SECONDS));
        assertEquals(CloseCode.SLOW_CONSUMER, assertInstanceOf(CloseConnection.class, failure.getCause()).code());
        assertEquals(0, outbound.queuedFrames());
    }

    @Test
    void theFramesCanBeReadOnlyOnce() throws Exception {
        Outbound outbound = Outbound.create(10, 1000, metrics);
        outbound.source().runWith(Sink.ignore(), materializer);
        ExecutionException failure = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                () -> outbound.source().runWith(Sink.ignore(), materializer).toCompletableFuture().get(5, TimeUnit.SECONDS));
        assertInstanceOf(IllegalStateException.class, failure.getCause());
    }
}
