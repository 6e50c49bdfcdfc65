package herald.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/** The Java client against the packaged server: live views through churn, restarts, lost TCP and 4008, idempotent resends. */
class HeraldClientTest {
    private static final Duration WAIT = Duration.ofSeconds(30);

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + WAIT + ": " + what);
            }
            Thread.sleep(20);
        }
    }

    /** The view holds exactly what GET /api/topics/{topic} says, in the same order. */
    private static void assertSameAs(PackagedHerald herald, TopicView view) throws Exception {
        assertSameAs(herald, view, null);
    }

    private static void assertSameAs(PackagedHerald herald, TopicView view, String key) throws Exception {
        JsonNode state = herald.state(view.topic(), key);
        await("the view at seq " + state.path("seq").asLong() + ": " + view, () -> view.seq() == state.path("seq").asLong());
        List<String> keys = new ArrayList<>();
        state.path("entries").forEach(entry -> keys.add(entry.path("key").asText()));
        assertEquals(keys, view.keys());
        assertEquals(state.path("epoch").asText(), view.epoch());
        for (JsonNode entry : state.path("entries")) {
            assertEquals(entry.path("data"), view.get(entry.path("key").asText()).data());
        }
    }

    @Test
    void aViewFollowsChurnOverSocketAndHttpExactly() throws Exception {
        try (PackagedHerald herald = PackagedHerald.launch("-Dherald.topics.max-entries=20");
             HeraldClient client = HeraldClient.builder(herald.ws()).connect()) {
            TopicView view = client.subscribe("java:churn");
            await("live", () -> view.status() == TopicView.Status.LIVE);
            Random random = new Random(7);
            List<CompletableFuture<Published>> sent = new ArrayList<>();
            for (int i = 0; i < 300; i++) {
                String key = "k" + random.nextInt(30);
                Change change = switch (random.nextInt(4)) {
                    case 0 -> Change.delete("java:churn", key);
                    case 1 -> Change.append("java:churn", "{\"i\":" + i + "}");
                    default -> Change.set("java:churn", key, "{\"i\":" + i + ",\"s\":\"x\"}");
                };
                sent.add(i % 2 == 0 ? client.publish(change) : client.publishHttp(change));
            }
            CompletableFuture.allOf(sent.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
            assertSameAs(herald, view);
            assertEquals("herald.v1.batch", client.subprotocol(), "batched delivery, offered and taken");
        }
    }

    @Test
    void aRestartAndALostConnectionEndInTheServersStateWithPublishesKept() throws Exception {
        try (PackagedHerald herald = PackagedHerald.launch()) {
            HeraldClient client = HeraldClient.builder(herald.ws()).backoff(Duration.ofMillis(100), Duration.ofSeconds(1)).connect();
            try {
                TopicView view = client.subscribe("java:restart");
                await("live", () -> view.status() == TopicView.Status.LIVE);
                client.publish(Change.set("java:restart", "a", "1")).get(10, TimeUnit.SECONDS);
                String epoch = view.epoch();

                herald.stop();
                await("reconnecting", () -> client.state() == HeraldClient.State.RECONNECTING);
                // Queued while offline, sent when the server is back: applied once.
                CompletableFuture<Published> offline = client.publish(Change.set("java:restart", "b", "2"));
                herald.start();
                Published published = offline.get(30, TimeUnit.SECONDS);
                assertFalse(published.duplicate());
                await("open again", () -> client.state() == HeraldClient.State.OPEN);
                assertSameAs(herald, view);
                assertNotEquals(epoch, view.epoch(), "a restart without durable state is a new history");
                assertEquals(List.of("b"), view.keys());

                herald.kill();
                herald.start();
                client.publish(Change.set("java:restart", "c", "3")).get(30, TimeUnit.SECONDS);
                assertSameAs(herald, view);
                assertEquals(List.of("c"), view.keys());
            } finally {
                client.close();
            }
        }
    }

    @Test
    void aClientWhoseListenersBlockIsClosedWith4008AndComesBackCurrent() throws Exception {
        try (PackagedHerald herald = PackagedHerald.launch("-Dherald.websocket.outbound-buffer.frames=16",
                "-Dherald.websocket.outbound-buffer.bytes=64KiB", "-Dherald.websocket.close-grace=2s")) {
            CountDownLatch unblock = new CountDownLatch(1);
            AtomicBoolean blockOnce = new AtomicBoolean(true);
            List<HeraldClient.State> states = new java.util.concurrent.CopyOnWriteArrayList<>();
            // Listeners on the client's own thread: a listener that blocks stops the reading too.
            try (HeraldClient client = HeraldClient.builder(herald.ws()).backoff(Duration.ofMillis(100), Duration.ofSeconds(1))
                    .listenerExecutor(Runnable::run).connect()) {
                client.onState(states::add);
                TopicView view = client.subscribe("java:slow");
                await("live", () -> view.status() == TopicView.Status.LIVE);
                view.onChange(v -> {
                    if (v.seq() > 0 && blockOnce.compareAndSet(true, false)) {
                        try {
                            unblock.await(20, TimeUnit.SECONDS);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }
                });
                String pad = "\"" + "x".repeat(16 * 1024) + "\"";
                HeraldClient publisher = HeraldClient.builder(herald.ws()).connect();
                try {
                    for (int i = 0; i < 400; i++) {
                        publisher.publishHttp(Change.set("java:slow", "k" + (i % 50), pad)).get(10, TimeUnit.SECONDS);
                    }
                } finally {
                    publisher.close();
                }
                unblock.countDown();
                await("reconnected after the cut", () -> states.contains(HeraldClient.State.RECONNECTING)
                        && client.state() == HeraldClient.State.OPEN);
                assertSameAs(herald, view);
                assertTrue(herald.metric("herald_slow_consumer_closes_total") >= 1, "the hub cut the client off with 4008");
            }
        }
    }

    private static final String SECRET = "java-client-test-secret-of-32-bytes!";

    private static String token(String user, Duration validFor) {
        try {
            com.nimbusds.jwt.SignedJWT jwt = new com.nimbusds.jwt.SignedJWT(
                    new com.nimbusds.jose.JWSHeader(com.nimbusds.jose.JWSAlgorithm.HS256),
                    new com.nimbusds.jwt.JWTClaimsSet.Builder().subject(user)
                            .expirationTime(new java.util.Date(System.currentTimeMillis() + validFor.toMillis()))
                            .claim("subscribe", List.of("**")).claim("publish", List.of("**")).build());
            jwt.sign(new com.nimbusds.jose.crypto.MACSigner(SECRET.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
            return jwt.serialize();
        } catch (com.nimbusds.jose.JOSEException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * A token that expires is refreshed in-band (no reconnect); an operator's 4003 makes the client
     * ask its token supplier again and come back.
     */
    @Test
    void tokensAreRefreshedInBandAndA4003BringsANewOne() throws Exception {
        String adminKey = "java-client-admin-key";
        String sha = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                .digest(adminKey.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        try (PackagedHerald herald = PackagedHerald.launch("-Dherald.auth.mode=jwt", "-Dherald.auth.jwt.hs256-secret=" + SECRET,
                "-Dherald.auth.jwt.clock-skew=0s", "-Dherald.api-keys.0.id=ops", "-Dherald.api-keys.0.sha256=" + sha,
                "-Dherald.api-keys.0.admin=on")) {
            java.util.concurrent.atomic.AtomicInteger asked = new java.util.concurrent.atomic.AtomicInteger();
            List<HeraldClient.State> states = new java.util.concurrent.CopyOnWriteArrayList<>();
            try (HeraldClient client = HeraldClient.builder(herald.ws()).backoff(Duration.ofMillis(100), Duration.ofSeconds(1))
                    .token(() -> {
                        asked.incrementAndGet();
                        return token("svc", Duration.ofSeconds(33));
                    }).connect()) {
                client.onState(states::add);
                TopicView view = client.subscribe("java:auth");
                await("live", () -> view.status() == TopicView.Status.LIVE);
                await("refreshed in-band before expiry", () -> asked.get() >= 2);
                client.publish(Change.set("java:auth", "after-refresh", "true")).get(10, TimeUnit.SECONDS);
                assertFalse(states.contains(HeraldClient.State.RECONNECTING), "a refresh is not a reconnect: " + states);

                int before = asked.get();
                assertEquals(200, herald.call("/api/disconnect", "{\"user\":\"svc\"}", adminKey).statusCode());
                await("back with a new token", () -> asked.get() > before && client.state() == HeraldClient.State.OPEN
                        && states.contains(HeraldClient.State.RECONNECTING));
                client.publish(Change.set("java:auth", "after-4003", "true")).get(10, TimeUnit.SECONDS);
                assertSameAs(herald, view, adminKey);
            }
            // Without a token supplier there is no new token to come back with: 4001 is final.
            try (HeraldClient fixed = HeraldClient.builder(java.net.URI.create(herald.ws() + "?token=not-a-jwt")).connect()) {
                await("closed for good", () -> fixed.state() == HeraldClient.State.CLOSED);
            }
        }
    }

    @Test
    void aResendIsAnsweredWithTheOriginalSeqAndBadInputNeverLeavesTheClient() throws Exception {
        try (PackagedHerald herald = PackagedHerald.launch(); HeraldClient client = HeraldClient.builder(herald.ws()).connect()) {
            Change once = Change.set("java:idem", "k", "{\"v\":1}").withIdem("order-42");
            Published first = client.publish(once).get(10, TimeUnit.SECONDS);
            Published again = client.publish(once).get(10, TimeUnit.SECONDS);
            assertEquals(first.seq(), again.seq());
            assertTrue(again.duplicate());
            Published overHttp = client.publishHttp(once).get(10, TimeUnit.SECONDS);
            assertEquals(first.seq(), overHttp.seq(), "the same idem over HTTP is the same change");

            HeraldException conflict = (HeraldException) assertThrows(java.util.concurrent.ExecutionException.class,
                    () -> client.publish(Change.set("java:idem", "k", "2").withIfVersion(99)).get(10, TimeUnit.SECONDS)).getCause();
            assertEquals("conflict", conflict.code());

            IllegalArgumentException badTopic = assertThrows(IllegalArgumentException.class, () -> Change.set("no spaces", "k", "1"));
            assertTrue(badTopic.getMessage().contains("no spaces"));
            IllegalArgumentException badData = assertThrows(IllegalArgumentException.class, () -> Change.set("java:idem", "k", "{not json"));
            assertTrue(badData.getMessage().contains("not JSON"));
            assertThrows(IllegalArgumentException.class, () -> client.subscribe("bad topic"));
        }
    }
}
