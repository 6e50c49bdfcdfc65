package herald.http;

import com.typesafe.config.ConfigFactory;
import herald.config.HeraldConfig;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** A real Herald on an ephemeral loopback port, with the test's settings on top of the defaults. */
final class TestServer implements AutoCloseable {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    final Herald herald;

    private TestServer(Herald herald) {
        this.herald = herald;
    }

    static TestServer start(String settings) throws Exception {
        return new TestServer(Herald.start(HeraldConfig.load(ConfigFactory.parseString(settings))));
    }

    static TestServer start() throws Exception {
        return start("");
    }

    URI ws() {
        return URI.create("ws://127.0.0.1:" + herald.port() + "/ws");
    }

    URI http(String path) {
        return URI.create("http://127.0.0.1:" + herald.port() + path);
    }

    WsClient connect() throws Exception {
        return WsClient.connect(ws());
    }

    HttpResponse<String> post(String path, String body) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(http(path)).timeout(Duration.ofSeconds(10))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** A POST with an API key. */
    HttpResponse<String> post(String path, String body, String key) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(http(path)).timeout(Duration.ofSeconds(10))
                .header("Content-Type", "application/json").header("Authorization", "Bearer " + key)
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** A GET with an API key. */
    HttpResponse<String> get(String path, String key) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(http(path)).timeout(Duration.ofSeconds(10))
                .header("Authorization", "Bearer " + key).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> post(String path, byte[] body) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(http(path)).timeout(Duration.ofSeconds(10))
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> get(String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(http(path)).timeout(Duration.ofSeconds(10)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** Publishes one change over HTTP and returns its seq; fails the test unless the answer is 200. */
    long publish(String changeJson) throws Exception {
        return seqOf(post("/api/publish", changeJson));
    }

    /** The same with an API key. */
    long publish(String changeJson, String key) throws Exception {
        return seqOf(post("/api/publish", changeJson, key));
    }

    private static long seqOf(HttpResponse<String> response) {
        if (response.statusCode() != 200) {
            throw new AssertionError("publish answered " + response.statusCode() + ": " + response.body());
        }
        return Json.parse(response.body()).path("results").get(0).path("seq").asLong();
    }

    @Override
    public void close() throws Exception {
        herald.close();
    }
}
