package herald.hub;

import org.apache.pekko.actor.typed.ActorRef;

/**
 * One session's subscription as its topic holds it: the session, for notices and for watching,
 * and the session's outbound buffer, which the topic writes its frames into directly, so that a
 * change costs one queue offer per subscriber rather than an actor message.
 *
 * <p>The session turns {@link #active} off before it answers {@code unsubscribed}; the topic
 * checks it before every offer, so no event of that topic follows the answer.
 */
public final class Subscription {
    final ActorRef<Topic.Notice> session;
    final Outbound outbound;
    private volatile boolean active = true;

    public Subscription(ActorRef<Topic.Notice> session, Outbound outbound) {
        this.session = session;
        this.outbound = outbound;
    }

    boolean active() {
        return active;
    }

    void end() {
        active = false;
    }
}
