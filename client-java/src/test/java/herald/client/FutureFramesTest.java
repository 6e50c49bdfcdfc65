package herald.client;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.junit.jupiter.api.Test;

/**
 * Forward compatibility: a server of a later protocol version sends frames and fields this client
 * does not know. They are ignored (and logged once), never thrown into user code, and what the
 * client does know goes on working. The server here is a stand-in that speaks first and ignores
 * what it hears: Herald itself never sends such frames.
 */
class FutureFramesTest extends AllDirectives {

    @Test
    void framesOfALaterVersionAreIgnoredAndTheRestStillWorks() throws Exception {
        List<String> frames = List.of(
                "{\"type\":\"welcome\",\"session\":\"s1\",\"user\":null,\"heartbeat\":25000,\"protocol\":1,\"features\":[],\"later\":true}",
                "{\"type\":\"hologram\",\"topic\":\"t\",\"what\":\"a frame of protocol 9\"}",
                "[{\"type\":\"hologram\"},{\"type\":\"snapshot\",\"topic\":\"t\",\"epoch\":\"e1\",\"seq\":3,\"shiny\":1,"
                        + "\"entries\":[{\"key\":\"a\",\"seq\":3,\"data\":{\"v\":1},\"extra\":\"field\"}]}]",
                "{\"type\":\"event\",\"topic\":\"t\",\"seq\":4,\"op\":\"teleport\",\"key\":\"a\"}",
                "{\"type\":\"event\",\"topic\":\"t\",\"seq\":5,\"op\":\"set\",\"key\":\"b\",\"data\":2}");
        Flow<Message, Message, NotUsed> speaker = Flow.fromSinkAndSource(Sink.ignore(),
                Source.from(frames).<Message>map(TextMessage::create).concat(Source.maybe()));
        ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "future-server");
        try {
            ServerBinding binding = Http.get(system).newServerAt("127.0.0.1", 0)
                    .bind(path("ws", () -> handleWebSocketMessages(speaker)))
                    .toCompletableFuture().get(10, TimeUnit.SECONDS);
            try (HeraldClient client = HeraldClient.builder(URI.create("ws://127.0.0.1:" + binding.localAddress().getPort() + "/ws"))
                    .batch(false).connect()) {
                TopicView view = client.subscribe("t");
                long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
                while (view.seq() < 5 && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
                assertEquals(5, view.seq(), "an unknown op still counts its seq: " + view);
                assertEquals(TopicView.Status.LIVE, view.status());
                assertEquals(List.of("a", "b"), view.keys());
                assertEquals(HeraldClient.State.OPEN, client.state());
            }
        } finally {
            system.terminate();
            system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
        }
    }
}
