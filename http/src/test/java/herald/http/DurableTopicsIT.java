package herald.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Durable topics against the packaged jar, on the embedded H2 and on a real PostgreSQL: state,
 * epoch and idem keys survive SIGTERM and SIGKILL; nothing a client saw or a publisher had
 * acknowledged is lost; and a database that is down makes durable topics unavailable, not Herald.
 */
class DurableTopicsIT {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    /** Where a test's Herald keeps durable topics: an H2 directory, or a PostgreSQL server. */
    private record Store(List<String> arguments, AutoCloseable resource) implements AutoCloseable {
        static Store of(String kind) throws Exception {
            if (kind.equals("postgres")) {
                Postgres postgres = Postgres.start();
                return new Store(List.of("-Dherald.durable.database.url=" + postgres.url(),
                        "-Dherald.durable.database.user=" + postgres.user()), postgres);
            }
            Path directory = Files.createTempDirectory("herald-h2-");
            return new Store(List.of("-Dherald.durable.directory=" + directory), () -> deleteTree(directory));
        }

        @Override
        public void close() throws Exception {
            resource.close();
        }
    }

    private static HeraldProcess start(Store store) throws Exception {
        List<String> arguments = new ArrayList<>(List.of("-Dherald.durable.topics.0=orders:*",
                "-Dherald.durable.snapshot-every=50", "-Dherald.topics.max-entries=100000"));
        arguments.addAll(store.arguments());
        HeraldProcess herald = HeraldProcess.start(arguments, Map.of());
        try {
            // The first durable call starts the journal's connection pool, which a busy machine may take
            // longer than one call's ask timeout to do; a topic of its own takes that wait.
            Eventually.await("the journal answers", Duration.ofSeconds(60),
                    () -> post(herald, "{\"topic\":\"orders:warm-up\",\"op\":\"set\",\"key\":\"k\",\"data\":1}").statusCode() == 200);
            return herald;
        } catch (Exception | AssertionError e) {
            herald.close();
            throw e;
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"h2", "postgres"})
    void everyAcknowledgedChangeSurvivesSigtermAndSigkillWithTheSameEpoch(String kind) throws Exception {
        try (Store store = Store.of(kind)) {
            HeraldProcess first = start(store);
            JsonNode before;
            Flood flood;
            try {
                for (int i = 0; i < 120; i++) {
                    publish(first, "{\"topic\":\"orders:1\",\"op\":\"set\",\"key\":\"k" + (i % 30) + "\",\"data\":" + i
                            + ",\"idem\":\"first-" + i + "\"}");
                }
                publish(first, "{\"topic\":\"orders:1\",\"op\":\"delete\",\"key\":\"k3\"}");
                publish(first, "{\"topic\":\"memory:1\",\"op\":\"set\",\"key\":\"x\",\"data\":1}");
                before = state(first, "orders:1");
                assertEquals(121, before.path("seq").asLong());
                first.terminate();
                first.awaitExit();
            } finally {
                first.close();
            }

            HeraldProcess second = start(store);
            String epoch = before.path("epoch").asText();
            try {
                JsonNode after = state(second, "orders:1");
                assertEquals(before, after, "SIGTERM: the same epoch, seq and entries");
                assertEquals(0, state(second, "memory:1").path("seq").asLong(), "an in-memory topic starts over");
                HttpResponse<String> repeat = post(second, "{\"topic\":\"orders:1\",\"op\":\"set\",\"key\":\"k0\",\"data\":0,\"idem\":\"first-0\"}");
                assertEquals("{\"results\":[{\"topic\":\"orders:1\",\"seq\":1,\"duplicate\":true}]}", repeat.body(),
                        "idem keys are part of the journaled state");

                try (WsClient client = WsClient.connectWelcomed(second.ws())) {
                    client.send("{\"type\":\"subscribe\",\"id\":\"r\",\"topics\":[\"orders:1\"],\"since\":{\"orders:1\":{\"epoch\":\""
                            + epoch + "\",\"seq\":120}}}");
                    JsonNode resumed = client.nextMatching(f -> f.path("type").asText().equals("snapshot"));
                    assertEquals(120, resumed.path("since").asLong(), "a client resumes across the restart: " + resumed);
                    assertEquals("[\"k3\"]", resumed.path("deleted").toString());
                }
                flood = flood(second, "orders:2");
            } finally {
                second.close();
            }

            HeraldProcess third = start(store);
            try {
                JsonNode after = state(third, flood.topic());
                assertEquals(flood.epoch(), after.path("epoch").asText(), "SIGKILL: the same epoch");
                Map<String, Long> held = new HashMap<>();
                after.path("entries").forEach(entry -> held.put(entry.path("key").asText(), entry.path("seq").asLong()));
                assertTrue(flood.acknowledged().size() >= 200, flood.acknowledged().size() + " acknowledged");
                flood.acknowledged().forEach((key, seq) -> assertEquals(seq, held.get(key), "acknowledged " + key));
                flood.seen().forEach((key, seq) -> assertEquals(seq, held.get(key), "seen by a subscriber: " + key));
                assertEquals(121, state(third, "orders:1").path("seq").asLong(), "the other durable topic is still there");
                if (store.resource() instanceof Postgres postgres) {
                    assertJournalFollowsSnapshots(third, postgres);
                }
            } finally {
                third.close();
            }
        }
    }

    /** Herald starts while the database is down, answers unavailable, and serves once it is back, without a restart. */
    @Test
    void aDatabaseDownAtStartMakesDurableTopicsUnavailableUntilItIsBack() throws Exception {
        try (Postgres postgres = Postgres.start()) {
            postgres.stopServer();
            HeraldProcess herald = HeraldProcess.start(List.of("-Dherald.durable.topics.0=orders:*",
                    "-Dherald.durable.database.url=" + postgres.url(), "-Dherald.durable.database.user=" + postgres.user()), Map.of());
            try {
                HttpResponse<String> ready = HTTP.send(HttpRequest.newBuilder(herald.http("/health/ready")).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertEquals(503, ready.statusCode());
                assertEquals("durable topics' database unreachable", Json.parse(ready.body()).path("status").asText());
                HttpResponse<String> refused = post(herald, "{\"topic\":\"orders:9\",\"op\":\"append\",\"data\":1}");
                assertEquals(503, refused.statusCode());
                assertEquals("unavailable", Json.parse(refused.body()).path("code").asText());
                assertEquals(200, post(herald, "{\"topic\":\"memory:9\",\"op\":\"append\",\"data\":1}").statusCode(),
                        "in-memory topics go on");
                try (WsClient client = WsClient.connectWelcomed(herald.ws())) {
                    client.send("{\"type\":\"subscribe\",\"id\":\"s\",\"topics\":[\"orders:9\"]}");
                    JsonNode error = client.nextMatching(f -> f.path("id").asText().equals("s"));
                    assertEquals("unavailable", error.path("code").asText(), error.toString());
                }

                postgres.startServer();
                Eventually.await("durable topics serve again", Duration.ofSeconds(30),
                        () -> post(herald, "{\"topic\":\"orders:9\",\"op\":\"append\",\"data\":1}").statusCode() == 200);
                assertEquals(200, HTTP.send(HttpRequest.newBuilder(herald.http("/health/ready")).build(),
                        HttpResponse.BodyHandlers.ofString()).statusCode());
                String log = herald.output();
                assertEquals(1, log.split("database is unreachable", -1).length - 1, "said once per outage:\n" + log);
                assertTrue(log.contains("reachable again"), log);

                // Lost while running: the same, and back again without a restart.
                postgres.stopServer();
                List<Integer> answered = new ArrayList<>();
                Map<Integer, Integer> statusOf = new HashMap<>();
                Eventually.await("durable topics refuse while the database is away", Duration.ofSeconds(30), () -> {
                    int attempt = 100 + answered.size();
                    int status = post(herald, "{\"topic\":\"orders:9\",\"op\":\"append\",\"data\":" + attempt + "}").statusCode();
                    answered.add(attempt);
                    statusOf.put(attempt, status);
                    return status == 503;
                });
                assertEquals(200, post(herald, "{\"topic\":\"memory:9\",\"op\":\"append\",\"data\":2}").statusCode());
                postgres.startServer();
                Eventually.await("durable topics serve again", Duration.ofSeconds(30),
                        () -> post(herald, "{\"topic\":\"orders:9\",\"op\":\"append\",\"data\":3}").statusCode() == 200);
                JsonNode state = state(herald, "orders:9");
                List<Integer> held = new ArrayList<>();
                state.path("entries").forEach(entry -> held.add(entry.path("data").asInt()));
                for (int attempt : answered) {
                    assertEquals(statusOf.get(attempt) == 200, held.contains(attempt),
                            "applied exactly when acknowledged: " + statusOf + " " + state);
                }
            } finally {
                herald.close();
            }
        }
    }

    /**
     * 200 changes one after the other, each its own write: with a snapshot every 50 writes, the
     * events before the snapshot ahead of the latest are deleted, so the journal holds about 100 rows, not 200.
     */
    private static void assertJournalFollowsSnapshots(HeraldProcess herald, Postgres postgres) throws Exception {
        for (int i = 0; i < 200; i++) {
            publish(herald, "{\"topic\":\"orders:rows\",\"op\":\"set\",\"key\":\"k" + (i % 10) + "\",\"data\":" + i + "}");
        }
        try (java.sql.Connection db = java.sql.DriverManager.getConnection(postgres.url(), postgres.user(), "");
             java.sql.Statement sql = db.createStatement()) {
            Eventually.await("the journal's old events are deleted", Duration.ofSeconds(30), () -> {
                try (java.sql.ResultSet rows = sql.executeQuery(
                        "SELECT count(*) FROM event_journal WHERE persistence_id = 'herald-topic|orders:rows'")) {
                    rows.next();
                    // About 100: the plugin keeps the newest deleted row, marked, and a snapshot may be under way.
                    return rows.getInt(1) <= 110;
                }
            });
        }
        assertEquals(200, state(herald, "orders:rows").path("seq").asLong());
    }

    /**
     * A database that hangs costs bounded memory: while a topic's write waits on a lock, changes
     * beyond max-waiting are refused at once; once the lock goes, the held ones are written.
     */
    @Test
    void changesWaitingForAHungDatabaseAreBoundedAndWrittenOnceItAnswers() throws Exception {
        try (Postgres postgres = Postgres.start()) {
            HeraldProcess herald = HeraldProcess.start(List.of("-Dherald.durable.topics.0=orders:*",
                    "-Dherald.durable.max-waiting=100", "-Dherald.api.ask-timeout=30s",
                    "-Dherald.durable.database.url=" + postgres.url(), "-Dherald.durable.database.user=" + postgres.user()), Map.of());
            try (java.sql.Connection db = java.sql.DriverManager.getConnection(postgres.url(), postgres.user(), "");
                 java.sql.Statement sql = db.createStatement()) {
                Eventually.await("the journal answers", Duration.ofSeconds(60),
                        () -> post(herald, "{\"topic\":\"orders:slow\",\"op\":\"set\",\"key\":\"first\",\"data\":0}").statusCode() == 200);
                db.setAutoCommit(false);
                sql.execute("LOCK TABLE event_journal IN ACCESS EXCLUSIVE MODE");
                CompletableFuture<HttpResponse<String>> writing = postAsync(herald, fifty("w"));
                Eventually.await("Herald's write waits on the lock", Duration.ofSeconds(10), () -> {
                    try (java.sql.ResultSet rows = db.createStatement().executeQuery("SELECT count(*) FROM pg_locks WHERE NOT granted")) {
                        rows.next();
                        return rows.getInt(1) > 0;
                    }
                });
                List<CompletableFuture<HttpResponse<String>>> more = List.of(
                        postAsync(herald, fifty("a")), postAsync(herald, fifty("b")), postAsync(herald, fifty("c")));
                // Two requests of 50 fill max-waiting; the third is refused while the lock is still held.
                Eventually.await("one request refused at once", Duration.ofSeconds(5),
                        () -> more.stream().anyMatch(f -> f.isDone() && f.join().statusCode() == 503));
                assertFalse(writing.isDone(), "the write under way still waits");
                db.commit();
                List<Integer> statuses = new ArrayList<>();
                for (CompletableFuture<HttpResponse<String>> request : more) {
                    HttpResponse<String> response = request.get(30, java.util.concurrent.TimeUnit.SECONDS);
                    statuses.add(response.statusCode());
                    if (response.statusCode() == 503) {
                        assertTrue(response.body().contains("waiting for its journal"), response.body());
                    }
                }
                assertEquals(200, writing.get(30, java.util.concurrent.TimeUnit.SECONDS).statusCode());
                assertEquals(List.of(200, 200, 503), statuses.stream().sorted().toList(), statuses.toString());
                assertEquals(151, state(herald, "orders:slow").path("seq").asLong(), "the first, the written 50 and two held requests");
            } finally {
                herald.close();
            }
        }
    }

    /** One request of 50 changes to orders:slow. */
    private static String fifty(String prefix) {
        StringBuilder body = new StringBuilder("{\"changes\":[");
        for (int i = 0; i < 50; i++) {
            body.append(i == 0 ? "" : ",").append("{\"topic\":\"orders:slow\",\"op\":\"set\",\"key\":\"")
                    .append(prefix).append(i).append("\",\"data\":").append(i).append('}');
        }
        return body.append("]}").toString();
    }

    private static CompletableFuture<HttpResponse<String>> postAsync(HeraldProcess herald, String body) {
        return HTTP.sendAsync(HttpRequest.newBuilder(herald.http("/api/publish")).timeout(Duration.ofSeconds(60))
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** A row this Herald cannot read makes its topic refuse, said once in the log; other durable topics go on. */
    @Test
    void aTopicWhoseJournalHoldsAForeignRowIsRefusedAndTheOthersGoOn() throws Exception {
        try (Postgres postgres = Postgres.start()) {
            HeraldProcess herald = HeraldProcess.start(List.of("-Dherald.durable.topics.0=orders:*",
                    "-Dherald.durable.database.url=" + postgres.url(), "-Dherald.durable.database.user=" + postgres.user()), Map.of());
            try {
                publish(herald, "{\"topic\":\"orders:good\",\"op\":\"append\",\"data\":1}");
                try (java.sql.Connection db = java.sql.DriverManager.getConnection(postgres.url(), postgres.user(), "");
                     java.sql.Statement sql = db.createStatement()) {
                    sql.execute("INSERT INTO event_journal (persistence_id, sequence_number, writer, write_timestamp, adapter_manifest,"
                            + " event_ser_id, event_ser_manifest, event_payload) VALUES ('herald-topic|orders:bad', 1, 'someone else', 0, '',"
                            + " 33, 'com.example.NotHeralds', '\\x00ff'::bytea)");
                }
                for (int i = 0; i < 3; i++) {
                    HttpResponse<String> refused = post(herald, "{\"topic\":\"orders:bad\",\"op\":\"append\",\"data\":1}");
                    assertEquals(503, refused.statusCode(), refused.body());
                    assertEquals("unavailable", Json.parse(refused.body()).path("code").asText());
                }
                assertEquals(2, publish(herald, "{\"topic\":\"orders:good\",\"op\":\"append\",\"data\":2}"), "other topics go on");
                String log = herald.output();
                assertEquals(1, log.split("Durable topic \\[orders:bad\\] cannot be read from its journal", -1).length - 1,
                        "said once:\n" + log);
            } finally {
                herald.close();
            }
        }
    }

    /** What a flood left: the topic's epoch, the changes acknowledged to publishers and those a subscriber saw, by key. */
    private record Flood(String topic, String epoch, Map<String, Long> acknowledged, Map<String, Long> seen) {
    }

    /**
     * Publishers and a subscriber while the process is SIGKILLed: afterwards, with the same epoch,
     * the topic holds every change that was acknowledged and every change the subscriber saw.
     */
    private static Flood flood(HeraldProcess herald, String topic) throws Exception {
        Map<String, Long> acknowledged = new ConcurrentHashMap<>();
        Map<String, Long> seen = new ConcurrentHashMap<>();
        AtomicBoolean killed = new AtomicBoolean();
        AtomicInteger next = new AtomicInteger();
        String epoch;
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try (WsClient watcher = WsClient.connectWelcomed(herald.ws())) {
            watcher.send("{\"type\":\"subscribe\",\"id\":\"w\",\"topics\":[\"" + topic + "\"]}");
            epoch = watcher.nextMatching(f -> f.path("type").asText().equals("snapshot")).path("epoch").asText();
            List<Future<?>> publishers = new ArrayList<>();
            for (int p = 0; p < 3; p++) {
                publishers.add(pool.submit(() -> {
                    while (!killed.get()) {
                        String key = "f" + next.incrementAndGet();
                        try {
                            HttpResponse<String> answer = post(herald, "{\"topic\":\"" + topic + "\",\"op\":\"set\",\"key\":\""
                                    + key + "\",\"data\":1}");
                            if (answer.statusCode() == 200) {
                                acknowledged.put(key, Json.parse(answer.body()).path("results").get(0).path("seq").asLong());
                            }
                        } catch (Exception e) {
                            return null;
                        }
                    }
                    return null;
                }));
            }
            pool.submit(() -> {
                while (!killed.get()) {
                    JsonNode event = watcher.poll(Duration.ofMillis(100));
                    if (event != null && event.path("type").asText().equals("event")) {
                        seen.put(event.path("key").asText(), event.path("seq").asLong());
                    }
                }
                return null;
            });
            Eventually.await("some changes acknowledged under load", Duration.ofSeconds(30), () -> acknowledged.size() >= 200);
            herald.kill();
            killed.set(true);
            for (Future<?> f : publishers) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
        return new Flood(topic, epoch, Map.copyOf(acknowledged), Map.copyOf(seen));
    }

    private static JsonNode state(HeraldProcess herald, String topic) throws Exception {
        HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(herald.http("/api/topics/" + topic))
                .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, response.statusCode(), response.body());
        return Json.parse(response.body());
    }

    private static long publish(HeraldProcess herald, String change) throws Exception {
        HttpResponse<String> response = post(herald, change);
        assertEquals(200, response.statusCode(), response.body());
        return Json.parse(response.body()).path("results").get(0).path("seq").asLong();
    }

    private static HttpResponse<String> post(HeraldProcess herald, String body) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(herald.http("/api/publish")).timeout(Duration.ofSeconds(30))
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static void deleteTree(Path directory) throws Exception {
        try (var files = Files.walk(directory)) {
            files.sorted(Collections.reverseOrder()).map(Path::toFile).forEach(java.io.File::delete);
        }
    }
}
