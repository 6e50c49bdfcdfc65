package herald.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Herald as users run it: the packaged jar (http/target/herald.jar) in a JVM of its own, on a fixed port so it can restart there. */
final class PackagedHerald implements AutoCloseable {
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final ObjectMapper JSON = new ObjectMapper();

    final int port;
    private final List<String> settings;
    private Process process;

    private PackagedHerald(int port, List<String> settings) {
        this.port = port;
        this.settings = settings;
    }

    /** Starts Herald with these -Dherald... settings on a free port. */
    static PackagedHerald launch(String... settings) throws Exception {
        int port;
        try (ServerSocket free = new ServerSocket(0)) {
            port = free.getLocalPort();
        }
        PackagedHerald herald = new PackagedHerald(port, List.of(settings));
        herald.start();
        return herald;
    }

    void start() throws Exception {
        Path jar = Path.of("..", "http", "target", "herald.jar");
        if (!Files.exists(jar)) {
            throw new AssertionError("the packaged server is built before these tests: " + jar.toAbsolutePath());
        }
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-Dherald.server.port=" + port));
        command.addAll(settings);
        command.addAll(List.of("-jar", jar.toString()));
        process = new ProcessBuilder(command).redirectErrorStream(true).start();
        CompletableFuture<Void> listening = new CompletableFuture<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader lines = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = lines.readLine()) != null) {
                    if (line.contains("Herald listening on")) {
                        listening.complete(null);
                    }
                }
            } catch (java.io.IOException ignored) {
                // the process ended
            }
            listening.completeExceptionally(new AssertionError("Herald exited before it listened"));
        });
        reader.setDaemon(true);
        reader.start();
        try {
            listening.get(60, TimeUnit.SECONDS);
        } catch (Exception e) {
            process.destroyForcibly();
            throw e;
        }
    }

    /** SIGTERM: Herald closes its connections with 1001 and exits. */
    void stop() throws Exception {
        process.destroy();
        process.waitFor(60, TimeUnit.SECONDS);
    }

    /** SIGKILL: connections die without a close frame. */
    void kill() throws Exception {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    URI ws() {
        return URI.create("ws://127.0.0.1:" + port + "/ws");
    }

    /** A GET or, with a body, a POST, with an API key when given. */
    HttpResponse<String> call(String path, String body, String key) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(10));
        if (key != null) {
            request.header("Authorization", "Bearer " + key);
        }
        if (body != null) {
            request.POST(HttpRequest.BodyPublishers.ofString(body));
        }
        return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The sum of a Prometheus series from /metrics. */
    double metric(String prefix) throws Exception {
        return call("/metrics", null, null).body().lines().filter(line -> line.startsWith(prefix))
                .mapToDouble(line -> Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1))).sum();
    }

    /** GET /api/topics/{topic}, with the API key when auth mode is jwt (null otherwise). */
    JsonNode state(String topic, String key) throws Exception {
        HttpResponse<String> response = call("/api/topics/" + topic, null, key);
        if (response.statusCode() != 200) {
            throw new AssertionError("GET /api/topics/" + topic + " answered " + response.statusCode() + ": " + response.body());
        }
        return JSON.readTree(response.body());
    }

    @Override
    public void close() throws Exception {
        if (process != null) {
            process.destroyForcibly();
            process.waitFor(30, TimeUnit.SECONDS);
        }
    }
}
