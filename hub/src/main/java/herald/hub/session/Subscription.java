package herald.hub.session;

import herald.hub.topic.Topic;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * One session's subscription as its topic holds it: the session, for notices and for watching,
 * and the session's outbound buffer, which the topic writes its frames into directly, so that a
 * change costs one queue offer per subscriber rather than an actor message.
 *
 * <p>This is the one place where a topic and a session touch the same state from two threads. The
 * rule it keeps: once {@link #end} has returned, no frame of the topic enters the buffer, so a frame
 * the session queues next (its {@code unsubscribed}, or the {@code forbidden} of a narrowed token) is
 * the last word about the topic. A check of a flag before the offer is not enough: the topic can
 * pass the check, the session end and answer, and the topic's frame land after the answer. So the
 * topic announces itself while it offers (a count beside the ended flag, two atomic operations and
 * no lock on the fan-out path), and {@code end} waits for a topic that is inside its offer to leave
 * it. The offer never blocks, so that wait is a few hundred nanoseconds at most.
 */
public final class Subscription {
    /** Set in {@link #state} once ended; the bits below it count topics inside {@link #offer}. */
    private static final int ENDED = 1 << 30;
    /** Busy-waits this many times before yielding the thread to a writer that was descheduled. */
    private static final int SPINS = 100;

    public final ActorRef<Topic.Notice> session;
    final Outbound outbound;
    private final AtomicInteger state = new AtomicInteger();

    public Subscription(ActorRef<Topic.Notice> session, Outbound outbound) {
        this.session = session;
        this.outbound = outbound;
    }

    /** Offers a topic's frame to the session's buffer; {@link Outbound.Offer#CLOSED} once the subscription ended. */
    public Outbound.Offer offer(OutboundFrame frame) {
        if (state.getAndIncrement() >= ENDED) {
            state.decrementAndGet();
            return Outbound.Offer.CLOSED;
        }
        try {
            return outbound.offer(frame);
        } finally {
            state.decrementAndGet();
        }
    }

    /** Ends the subscription; when it returns, no frame of the topic can still enter the buffer. */
    public void end() {
        state.getAndUpdate(s -> s >= ENDED ? s : s + ENDED);
        for (int spins = 0; state.get() != ENDED; spins++) {
            if (spins < SPINS) {
                Thread.onSpinWait();
            } else {
                Thread.yield();
            }
        }
    }
}
