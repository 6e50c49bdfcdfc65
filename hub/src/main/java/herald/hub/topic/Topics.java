package herald.hub.topic;

import herald.protocol.ApiBody;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * How sessions and the HTTP API reach a topic: by name, starting it if needed. It is the one seam
 * between the session side and the topic side, so that a cluster-sharded implementation can own
 * the topics later without changing a session.
 */
public interface Topics {

    /** Sends a command to the named topic; commands to one topic from one sender arrive in order. */
    void tell(String topic, Topic.Command command);

    /** Sends a command built around a reply address and completes with the reply. */
    <R> CompletionStage<R> ask(String topic, Function<ActorRef<R>, Topic.Command> command, Duration timeout);

    /** One page of the running topics in name order, after the given name (null: from the first). */
    CompletionStage<ApiBody.TopicList> list(String after, int limit, Duration timeout);
}
