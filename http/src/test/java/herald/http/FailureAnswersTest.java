package herald.http;

import herald.hub.Hub;
import herald.hub.HubMetrics;
import herald.hub.auth.Authenticator;
import herald.hub.auth.Hooks;
import herald.hub.session.Connections;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import herald.config.HeraldConfig;
import herald.config.HeraldSettings;
import herald.protocol.FrameCodec;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.LoggingTestKit;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.scaladsl.model.EntityStreamSizeException;
import org.apache.pekko.pattern.AskTimeoutException;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What an HTTP call answers when its work fails: 413 for a body over the limit however deep the cause,
 * 503 only when the hub did not answer in time, and 500 for anything else, with an id that is also in
 * the error log line that carries the stack trace. (The oversized bodies themselves are tested over a
 * real socket in {@link BadInputTest}; nothing a client sends makes the hub throw, so the 500 is tested
 * on the mapping itself.)
 */
@ExtendWith(LogCapturingExtension.class)
class FailureAnswersTest {
    static final ActorTestKit testKit = ActorTestKit.create(HeraldConfig.load());
    private static final HeraldSettings settings = HeraldSettings.fromConfig(HeraldConfig.load());
    private static final HeraldRoutes routes = new HeraldRoutes(
            new Hub(settings, new FrameCodec(), null, new Connections(settings.limits()), HubMetrics.unregistered(),
                    Authenticator.create(settings.auth()), Hooks.NONE),
            new PrometheusMeterRegistry(PrometheusConfig.DEFAULT), null, testKit.system());

    @AfterAll
    static void cleanup() {
        testKit.shutdownTestKit();
    }

    private static JsonNode body(HttpResponse response) throws Exception {
        ByteString bytes = response.entity().toStrict(1000, testKit.system()).toCompletableFuture().get().getData();
        return Json.parse(bytes.utf8String());
    }

    @Test
    void aBodyOverTheLimitIs413HoweverItIsWrapped() throws Exception {
        HttpResponse response = routes.failure(new CompletionException(new RuntimeException(
                new EntityStreamSizeException(10, scala.Option.empty()))));
        assertEquals(413, response.status().intValue());
        assertEquals("payload_too_large", body(response).path("code").asText());
    }

    @Test
    void onlyAHubThatDidNotAnswerInTimeIs503() throws Exception {
        for (Throwable late : List.of(new TimeoutException(), new CompletionException(new AskTimeoutException("late")))) {
            HttpResponse response = routes.failure(late);
            assertEquals(503, response.status().intValue(), late.toString());
            assertTrue(body(response).path("message").asText().contains("did not answer in time"));
        }
    }

    @Test
    void anythingElseIs500WithAnIdThatTheLogLineCarries() throws Exception {
        List<String> logged = new CopyOnWriteArrayList<>();
        AtomicReference<HttpResponse> answer = new AtomicReference<>();
        LoggingTestKit.error("Internal error").withLoggerName(HeraldRoutes.class.getName())
                .withCustom(event -> logged.add(event.message()) && event.throwable().isDefined())
                .expect(testKit.system(), () -> {
                    answer.set(routes.failure(new CompletionException(new IllegalStateException("a bug"))));
                    return null;
                });
        assertEquals(500, answer.get().status().intValue());
        JsonNode error = body(answer.get());
        assertEquals("internal", error.path("code").asText());
        String id = error.path("message").asText().split(" ")[2];
        assertTrue(logged.get(0).contains("[" + id + "]"), logged + " names " + id);
    }
}
