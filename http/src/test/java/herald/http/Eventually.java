package herald.http;

import java.time.Duration;
import java.util.concurrent.Callable;

/** Waits for a condition with a deadline, checking it every few milliseconds: never a fixed sleep. */
final class Eventually {
    private Eventually() {
    }

    static void await(String what, Duration within, Callable<Boolean> condition) throws Exception {
        long deadline = System.nanoTime() + within.toNanos();
        long pause = 5;
        while (!condition.call()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + within + ": " + what);
            }
            Thread.sleep(pause);
            pause = Math.min(pause * 2, 100);
        }
    }
}
