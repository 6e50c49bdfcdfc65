package herald.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.ServerSocket;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

/**
 * Three Herald nodes as separate JVM processes on loopback, joined into one cluster (herald.cluster):
 * publishes through any node reach the clients of every node in seq order, the loss of a node
 * restarts its topics elsewhere with a new epoch that every client is told about, and a slow client
 * on one node slows nobody else.
 */
class ClusterIT {
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final List<String> TOPICS = IntStream.range(0, 12).mapToObj(i -> "room:" + i).toList();
    private static final Duration CLUSTER_CHANGE = Duration.ofSeconds(60);

    @Test
    void publishesReachEveryNodeInOrderAndALostOwnersTopicsRestartElsewhere() throws Exception {
        List<Node> nodes = startCluster();
        try {
            List<WsClient> clients = new ArrayList<>();
            Map<String, String> epochs = new HashMap<>();
            for (Node node : nodes) {
                WsClient client = WsClient.connectWelcomed(node.herald.ws());
                clients.add(client);
                for (JsonNode snapshot : subscribe(client, TOPICS)) {
                    String previous = epochs.putIfAbsent(snapshot.path("topic").asText(), snapshot.path("epoch").asText());
                    assertTrue(previous == null || previous.equals(snapshot.path("epoch").asText()),
                            "every node serves the same history of a topic: " + snapshot);
                }
            }

            int rounds = 5;
            for (int round = 0; round < rounds; round++) {
                for (int n = 0; n < nodes.size(); n++) {
                    int node = n;
                    int value = round;
                    publish(nodes.get(n), TOPICS.stream()
                            .map(topic -> change(topic, "from-node-" + node, "{\"round\":" + value + "}")).toList());
                }
            }
            int published = rounds * nodes.size();
            for (WsClient client : clients) {
                Map<String, List<Long>> received = readEvents(client, TOPICS, published);
                for (String topic : TOPICS) {
                    assertEquals(seqs(1, published), received.get(topic), "gapless and in order: " + topic);
                }
            }

            Map<String, Integer> ownerOf = new HashMap<>();
            for (String topic : TOPICS) {
                ownerOf.put(topic, nodeOwning(nodes, state(nodes.get(0), topic).path("node").asText()));
            }
            int victim = ownerOf.containsValue(2) ? 2 : 1;
            Set<String> lost = TOPICS.stream().filter(t -> ownerOf.get(t) == victim).collect(Collectors.toSet());
            assertFalse(lost.isEmpty(), "the victim owns topics: " + ownerOf);

            nodes.get(victim).herald.kill();

            for (int n = 0; n < nodes.size(); n++) {
                if (n == victim) {
                    continue;
                }
                Set<String> told = new HashSet<>();
                while (!told.equals(lost)) {
                    // Nothing else is sent meanwhile: the next frame is the snapshot, once the cluster has moved the topic.
                    JsonNode snapshot = clients.get(n).next(CLUSTER_CHANGE);
                    assertEquals("snapshot", snapshot.path("type").asText(), snapshot.toString());
                    assertFalse(snapshot.has("id"), "the hub sends it unasked: " + snapshot);
                    String topic = snapshot.path("topic").asText();
                    assertTrue(lost.contains(topic), "only the lost node's topics restart: " + snapshot);
                    assertNotEquals(epochs.get(topic), snapshot.path("epoch").asText(), "a new history: " + snapshot);
                    assertEquals(0, snapshot.path("seq").asLong());
                    assertEquals(0, snapshot.path("entries").size(), "no client keeps the lost state");
                    told.add(topic);
                }
            }

            WsClient.Closed cut = clients.get(victim).awaitClose(CLUSTER_CHANGE);
            assertEquals(1006, cut.code(), "the lost node's clients see their connection die");
            Node survivor = nodes.get(victim == 1 ? 2 : 1);
            WsClient back = WsClient.connectWelcomed(survivor.herald.ws());
            clients.set(victim, back);
            // The lost node's client resumes on another node from where it stood: a delta (here empty)
            // where the owner lived on, a full snapshot where the owner was lost with its history.
            ObjectNode since = Json.object();
            TOPICS.forEach(topic -> since.putObject(topic).put("epoch", epochs.get(topic)).put("seq", published));
            for (JsonNode snapshot : subscribe(back, TOPICS, since)) {
                String topic = snapshot.path("topic").asText();
                JsonNode state = state(survivor, topic);
                assertEquals(state.path("epoch"), snapshot.path("epoch"));
                assertEquals(state.path("seq"), snapshot.path("seq"));
                if (lost.contains(topic)) {
                    assertFalse(snapshot.has("since"), "a new epoch: " + snapshot);
                    assertEquals(state.path("entries"), snapshot.path("entries"));
                    assertEquals(0, snapshot.path("seq").asLong());
                } else {
                    assertEquals(published, snapshot.path("since").asLong(), "resumed on another relay: " + snapshot);
                    assertEquals(0, snapshot.path("entries").size());
                    assertEquals(0, snapshot.path("deleted").size());
                    assertEquals(published, snapshot.path("seq").asLong());
                }
            }

            publish(nodes.get(0), TOPICS.stream().filter(topic -> !topic.equals(TOPICS.get(0)))
                    .map(topic -> change(topic, "after", "true")).toList());
            // A socket publish, on yet another connection, reaches the owner the same way as the HTTP API's.
            try (WsClient publisher = WsClient.connectWelcomed(survivor.herald.ws())) {
                publisher.send("{\"type\":\"publish\",\"id\":\"p\",\"topic\":\"" + TOPICS.get(0)
                        + "\",\"op\":\"set\",\"key\":\"after\",\"data\":true}");
                JsonNode answer = publisher.next();
                assertEquals("published", answer.path("type").asText(), answer.toString());
                assertEquals(lost.contains(TOPICS.get(0)) ? 1 : published + 1, answer.path("seq").asLong());
            }
            for (WsClient client : clients) {
                Map<String, List<Long>> received = readEvents(client, TOPICS, 1);
                for (String topic : TOPICS) {
                    long expected = lost.contains(topic) ? 1 : published + 1;
                    assertEquals(List.of(expected), received.get(topic), "delivery goes on after the loss: " + topic);
                }
            }
            assertTrue(nodes.stream().anyMatch(node -> node.herald.output().contains("SBR took decision DownUnreachable")),
                    "the split-brain resolver downed the lost node");
        } finally {
            stop(nodes);
        }
    }

    /**
     * Presence and the operator API see the whole cluster: a room's members on every node are
     * listed in its presence topic, an operator's disconnect of a user reaches that user's
     * connections on every node (4003), and the members of a node that is lost leave the presence
     * topic on the survivors.
     */
    @Test
    void presenceAndTheOperatorApiSpanTheCluster() throws Exception {
        String key = "cluster-ops-key";
        List<Node> nodes = startCluster("-Dherald.presence.topics.0=room:*",
                "-Dherald.auth.mode=jwt", "-Dherald.auth.jwt.hs256-secret=" + Tokens.SECRET,
                "-Dherald.api-keys.0.id=ops", "-Dherald.api-keys.0.admin=on",
                "-Dherald.api-keys.0.sha256=" + java.util.HexFormat.of().formatHex(ApiKeys.sha256(key)));
        List<WsClient> clients = new ArrayList<>();
        try {
            List<WsClient> multi = new ArrayList<>();
            for (Node node : List.of(nodes.get(0), nodes.get(0), nodes.get(1))) {
                multi.add(connectAs(node, "multi").client());
            }
            clients.addAll(multi);
            Eventually.await("every node's connections are listed", CLUSTER_CHANGE, () -> Json.parse(
                    get(nodes.get(2), "/api/connections?user=multi", key).body()).path("connections").size() == 3);
            HttpResponse<String> disconnected = post(nodes.get(2), "/api/disconnect", "{\"user\":\"multi\"}", key);
            assertEquals(200, disconnected.statusCode(), disconnected.body());
            assertEquals(3, Json.parse(disconnected.body()).path("connections").asInt());
            for (WsClient client : multi) {
                assertEquals(4003, client.awaitClose(CLUSTER_CHANGE).code());
            }

            Map<String, String> members = new HashMap<>();
            for (int n = 0; n < nodes.size(); n++) {
                Connected member = connectAs(nodes.get(n), "member-" + n);
                clients.add(member.client());
                members.put("member-" + n, subscribeAsMember(member, "room:presence"));
            }
            WsClient watcher = connectAs(nodes.get(0), "watcher").client();
            clients.add(watcher);
            Map<String, String> listed = new HashMap<>();
            watcher.send("{\"type\":\"subscribe\",\"topics\":[\"$presence:room:presence\"]}");
            awaitMembers(watcher, listed, Set.copyOf(members.values()));

            // The node that owns the presence topic is lost when it can be (the watcher is on node 0):
            // its successor must hear of every member again from the survivors' relays.
            int owner = nodeOwning(nodes, Json.parse(get(nodes.get(0), "/api/topics/%24presence:room:presence", key).body())
                    .path("node").asText());
            int victim = owner == 0 ? 2 : owner;
            nodes.get(victim).herald.kill();
            Set<String> survivors = new HashSet<>(members.values());
            survivors.remove(members.get("member-" + victim));
            awaitMembers(watcher, listed, survivors);
        } finally {
            clients.forEach(WsClient::close);
            stop(nodes);
        }
    }

    /** A connection and its session id (its key in a presence topic). */
    private record Connected(WsClient client, String session) {
    }

    private static Connected connectAs(Node node, String user) throws Exception {
        WsClient client = WsClient.connect(java.net.URI.create(node.herald.ws() + "?token="
                + Tokens.hs256(user, Duration.ofMinutes(10), List.of("room:*"), List.of())));
        JsonNode welcome = client.next();
        assertEquals("welcome", welcome.path("type").asText());
        return new Connected(client, welcome.path("session").asText());
    }

    /** Subscribes to the room; the connection becomes one of its members. */
    private static String subscribeAsMember(Connected member, String room) throws Exception {
        member.client().send("{\"type\":\"subscribe\",\"topics\":[\"" + room + "\"]}");
        assertEquals("snapshot", member.client().next().path("type").asText());
        return member.session();
    }

    /** Applies the watcher's presence frames (snapshots replace, events change) until exactly these sessions are listed. */
    private static void awaitMembers(WsClient watcher, Map<String, String> listed, Set<String> expected) throws Exception {
        long deadline = System.nanoTime() + CLUSTER_CHANGE.toNanos();
        while (!listed.keySet().equals(expected)) {
            assertTrue(System.nanoTime() < deadline, "listed " + listed.keySet() + ", expected " + expected);
            JsonNode frame = watcher.next(CLUSTER_CHANGE);
            if (frame.path("type").asText().equals("snapshot")) {
                listed.clear();
                frame.path("entries").forEach(entry -> listed.put(entry.path("key").asText(), entry.path("data").toString()));
            } else if (frame.path("op").asText().equals("set")) {
                listed.put(frame.path("key").asText(), frame.path("data").toString());
            } else if (frame.path("op").asText().equals("delete")) {
                listed.remove(frame.path("key").asText());
            }
        }
    }

    @Test
    void aSlowClientOnOneNodeIsClosedWithoutSlowingTheOthers() throws Exception {
        List<Node> nodes = startCluster("-Dherald.websocket.close-grace=30s");
        try {
            WsClient stalled = WsClient.connectWelcomed(nodes.get(1).herald.ws());
            subscribe(stalled, List.of("load"));
            stalled.pause();
            List<WsClient> healthy = new ArrayList<>();
            for (Node node : nodes) {
                WsClient client = WsClient.connectWelcomed(node.herald.ws());
                subscribe(client, List.of("load"));
                healthy.add(client);
            }

            String data = "\"" + "x".repeat(2000) + "\"";
            List<String> batch = IntStream.range(0, 100).mapToObj(i -> change("load", "k" + i, data)).toList();
            int published = 0;
            while (!nodes.get(1).herald.output().contains("Slow consumer closed with 4008")) {
                assertTrue(published < 200 * batch.size(), "the stalled client was never cut off");
                publish(nodes.get(0), batch);
                published += batch.size();
                for (WsClient client : healthy) {
                    assertEquals(Map.of("load", seqs(published - batch.size() + 1, published)),
                            readEvents(client, List.of("load"), batch.size()),
                            "every healthy client, on every node, gets every change in order meanwhile");
                }
            }
            assertFalse(stalled.isClosed(), "the stalled client has still read nothing, and nobody waited for it");
            stalled.resume();
            assertEquals(4008, stalled.awaitClose(Duration.ofSeconds(30)).code());
        } finally {
            stop(nodes);
        }
    }

    /**
     * A durable topic's owner node is killed during a publish flood: its owner restarts on a survivor
     * from the journal (PostgreSQL, shared by the nodes) with the same epoch and every acknowledged
     * change, and a client on a survivor keeps its history (no new epoch reaches it).
     */
    @Test
    void aDurableTopicsOwnerRecoversOnASurvivorWithItsEpochAndEveryAcknowledgedChange() throws Exception {
        try (Postgres postgres = Postgres.start()) {
            List<Node> nodes = startCluster("-Dherald.durable.topics.0=orders:*",
                    "-Dherald.durable.database.url=" + postgres.url(), "-Dherald.durable.database.user=" + postgres.user());
            try {
                String topic = "orders:cluster";
                publishUntilAnswered(nodes.get(0), List.of(change(topic, "first", "1")));
                int owner = nodeOwning(nodes, state(nodes.get(0), topic).path("node").asText());
                int survivor = owner == 1 ? 2 : 1;
                String epoch = state(nodes.get(survivor), topic).path("epoch").asText();
                WsClient watcher = WsClient.connectWelcomed(nodes.get(survivor).herald.ws());
                subscribe(watcher, List.of(topic));

                Map<String, Long> acknowledged = new java.util.concurrent.ConcurrentHashMap<>();
                java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
                java.util.concurrent.atomic.AtomicInteger next = new java.util.concurrent.atomic.AtomicInteger();
                Node publisherNode = nodes.get(survivor);
                CompletableFuture<Void> flood = CompletableFuture.runAsync(() -> {
                    while (!stop.get()) {
                        String key = "k" + next.incrementAndGet();
                        try {
                            HttpResponse<String> answer = HTTP.send(HttpRequest.newBuilder(publisherNode.herald.http("/api/publish"))
                                    .timeout(Duration.ofSeconds(30))
                                    .POST(HttpRequest.BodyPublishers.ofString(change(topic, key, "1"))).build(),
                                    HttpResponse.BodyHandlers.ofString());
                            if (answer.statusCode() == 200) {
                                acknowledged.put(key, Json.parse(answer.body()).path("results").get(0).path("seq").asLong());
                            }
                        } catch (Exception e) {
                            // Refused or timed out while the owner moves: not acknowledged, so nothing is promised.
                        }
                    }
                });
                Eventually.await("changes acknowledged before the loss", CLUSTER_CHANGE, () -> acknowledged.size() >= 100);
                nodes.get(owner).herald.kill();
                int before = acknowledged.size();
                Eventually.await("changes acknowledged again after the loss", CLUSTER_CHANGE, () -> acknowledged.size() >= before + 100);
                stop.set(true);
                flood.get(60, java.util.concurrent.TimeUnit.SECONDS);

                JsonNode after = state(nodes.get(survivor), topic);
                assertEquals(epoch, after.path("epoch").asText(), "the same history after the owner's loss");
                assertNotEquals(owner, nodeOwning(nodes, after.path("node").asText()), "owned by a survivor now");
                Map<String, Long> held = new HashMap<>();
                after.path("entries").forEach(entry -> held.put(entry.path("key").asText(), entry.path("seq").asLong()));
                acknowledged.forEach((key, seq) -> assertEquals(seq, held.get(key), "acknowledged " + key));
                for (JsonNode frame = watcher.poll(Duration.ofMillis(500)); frame != null; frame = watcher.poll(Duration.ofMillis(500))) {
                    if (frame.path("type").asText().equals("snapshot")) {
                        assertEquals(epoch, frame.path("epoch").asText(), "no client is told of a new history: " + frame);
                    }
                }
                watcher.close();
            } finally {
                stop(nodes);
            }
        }
    }

    /** A node that joins later takes its share of durable topics (their shards move), and each keeps its history. */
    @Test
    void aJoiningNodeTakesItsShareOfDurableTopicsWhichKeepTheirHistory() throws Exception {
        try (Postgres postgres = Postgres.start()) {
            String[] durable = {"-Dherald.durable.topics.0=orders:*", "-Dherald.durable.database.url=" + postgres.url(),
                    "-Dherald.durable.database.user=" + postgres.user()};
            List<Node> nodes = startCluster(durable);
            try {
                List<String> topics = IntStream.range(0, 30).mapToObj(i -> "orders:r" + i).toList();
                publishUntilAnswered(nodes.get(0), topics.stream().map(topic -> change(topic, "k", "1")).toList());
                Map<String, String> epochs = new HashMap<>();
                for (String topic : topics) {
                    epochs.put(topic, state(nodes.get(0), topic).path("epoch").asText());
                }
                nodes.add(joinLater(nodes, durable));
                Eventually.await("the joining node owns some durable topics", CLUSTER_CHANGE, () -> {
                    for (String topic : topics) {
                        HttpResponse<String> answer = get(nodes.get(0), "/api/topics/" + topic);
                        if (answer.statusCode() == 200 && nodeOwning(nodes, Json.parse(answer.body()).path("node").asText()) == 3) {
                            return true;
                        }
                    }
                    return false;
                });
                for (String topic : topics) {
                    Eventually.await(topic + " answers after the move", CLUSTER_CHANGE,
                            () -> get(nodes.get(1), "/api/topics/" + topic).statusCode() == 200);
                    JsonNode state = state(nodes.get(1), topic);
                    assertEquals(epochs.get(topic), state.path("epoch").asText(), "the same history: " + state);
                    assertEquals(1, state.path("seq").asLong());
                    assertEquals("k", state.path("entries").get(0).path("key").asText());
                }
            } finally {
                stop(nodes);
            }
        }
    }

    /** Starts one more node, through the same seeds, and waits until it is an Up member. */
    private static Node joinLater(List<Node> nodes, String... extra) throws Exception {
        int port = freePorts(1)[0];
        List<String> arguments = new ArrayList<>(List.of(
                "-Dherald.cluster.enabled=on",
                "-Dherald.cluster.port=" + port,
                "-Dherald.cluster.seed-nodes.0=127.0.0.1:" + nodes.get(0).clusterPort(),
                "-Dherald.cluster.seed-nodes.1=127.0.0.1:" + nodes.get(1).clusterPort(),
                "-Dherald.cluster.down-after=2s"));
        arguments.addAll(List.of(extra));
        Node node = new Node(HeraldProcess.start(arguments, Map.of()), port);
        try {
            Eventually.await("node " + port + " joined the cluster", CLUSTER_CHANGE,
                    () -> get(node, "/health/ready").statusCode() == 200);
            return node;
        } catch (RuntimeException | Error e) {
            node.herald.close();
            throw e;
        }
    }

    private record Node(HeraldProcess herald, int clusterPort) {
    }

    /** Stops the nodes and keeps what each printed in target/, for a failure's post-mortem. */
    private static void stop(List<Node> nodes) throws Exception {
        for (Node node : nodes) {
            node.herald.close();
            Files.writeString(Path.of("target", "cluster-it-node-" + node.clusterPort() + ".log"), node.herald.output());
        }
    }

    /** Starts three nodes at once (the first two are the seeds) and waits until each is an Up member. */
    private static List<Node> startCluster(String... extra) throws Exception {
        int[] ports = freePorts(3);
        List<CompletableFuture<Node>> starting = new ArrayList<>();
        for (int port : ports) {
            List<String> arguments = new ArrayList<>(List.of(
                    "-Dherald.cluster.enabled=on",
                    "-Dherald.cluster.port=" + port,
                    "-Dherald.cluster.seed-nodes.0=127.0.0.1:" + ports[0],
                    "-Dherald.cluster.seed-nodes.1=127.0.0.1:" + ports[1],
                    "-Dherald.cluster.down-after=2s"));
            arguments.addAll(List.of(extra));
            starting.add(CompletableFuture.supplyAsync(() -> {
                try {
                    return new Node(HeraldProcess.start(arguments, Map.of()), port);
                } catch (Exception e) {
                    throw new CompletionException(e);
                }
            }));
        }
        List<Node> nodes = new ArrayList<>();
        try {
            for (CompletableFuture<Node> node : starting) {
                nodes.add(node.join());
            }
            for (Node node : nodes) {
                Eventually.await("node " + node.clusterPort() + " joined the cluster", CLUSTER_CHANGE,
                        () -> get(node, "/health/ready").statusCode() == 200);
            }
            return nodes;
        } catch (RuntimeException | Error e) {
            starting.forEach(future -> future.thenAccept(node -> node.herald.close()));
            throw e;
        }
    }

    private static int[] freePorts(int count) throws Exception {
        int[] ports = new int[count];
        List<ServerSocket> held = new ArrayList<>();
        try {
            for (int i = 0; i < count; i++) {
                ServerSocket socket = new ServerSocket(0);
                held.add(socket);
                ports[i] = socket.getLocalPort();
            }
        } finally {
            for (ServerSocket socket : held) {
                socket.close();
            }
        }
        return ports;
    }

    /** Subscribes in one frame and returns the snapshots, in the request's order. */
    private static List<JsonNode> subscribe(WsClient client, List<String> topics) throws Exception {
        return subscribe(client, topics, null);
    }

    /** The same, resuming from the positions in {@code since}. */
    private static List<JsonNode> subscribe(WsClient client, List<String> topics, ObjectNode since) throws Exception {
        ObjectNode frame = Json.object().put("type", "subscribe").put("id", "s");
        frame.set("topics", Json.MAPPER.valueToTree(topics));
        if (since != null) {
            frame.set("since", since);
        }
        client.send(frame);
        List<JsonNode> snapshots = new ArrayList<>();
        for (String topic : topics) {
            JsonNode snapshot = client.next();
            assertEquals("snapshot", snapshot.path("type").asText(), snapshot.toString());
            assertEquals(topic, snapshot.path("topic").asText());
            snapshots.add(snapshot);
        }
        return snapshots;
    }

    /** Reads events until each of these topics had {@code each} of them; returns their seqs per topic. */
    private static Map<String, List<Long>> readEvents(WsClient client, List<String> topics, int each) throws Exception {
        Map<String, List<Long>> seqs = new HashMap<>();
        topics.forEach(topic -> seqs.put(topic, new ArrayList<>()));
        while (seqs.values().stream().anyMatch(list -> list.size() < each)) {
            JsonNode event = client.nextMatching(frame -> frame.path("type").asText().equals("event"));
            seqs.computeIfAbsent(event.path("topic").asText(), t -> new ArrayList<>()).add(event.path("seq").asLong());
        }
        return seqs;
    }

    private static List<Long> seqs(long from, long to) {
        return LongStream.rangeClosed(from, to).boxed().toList();
    }

    private static String change(String topic, String key, String data) {
        return "{\"topic\":\"" + topic + "\",\"op\":\"set\",\"key\":\"" + key + "\",\"data\":" + data + "}";
    }

    private static void publish(Node node, List<String> changes) throws Exception {
        HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(node.herald.http("/api/publish"))
                .timeout(Duration.ofSeconds(30))
                .POST(HttpRequest.BodyPublishers.ofString("{\"changes\":[" + String.join(",", changes) + "]}"))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, response.statusCode(), response.body());
    }

    /**
     * The first use of durable topics starts the journal and its owners across the cluster, which may
     * take longer than one call's ask timeout on a busy machine: the changes go again, with idem keys,
     * until answered, and apply once.
     */
    private static void publishUntilAnswered(Node node, List<String> changes) throws Exception {
        List<String> once = IntStream.range(0, changes.size())
                .mapToObj(i -> changes.get(i).replaceFirst("}$", ",\"idem\":\"first-" + i + "\"}")).toList();
        Eventually.await("the first durable changes are answered", CLUSTER_CHANGE, () -> HTTP.send(
                HttpRequest.newBuilder(node.herald.http("/api/publish")).timeout(Duration.ofSeconds(30))
                        .POST(HttpRequest.BodyPublishers.ofString("{\"changes\":[" + String.join(",", once) + "]}")).build(),
                HttpResponse.BodyHandlers.ofString()).statusCode() == 200);
    }

    private static JsonNode state(Node node, String topic) throws Exception {
        HttpResponse<String> response = get(node, "/api/topics/" + topic);
        assertEquals(200, response.statusCode(), response.body());
        return Json.parse(response.body());
    }

    private static HttpResponse<String> get(Node node, String path, String key) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(node.herald.http(path)).header("Authorization", "Bearer " + key)
                .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> post(Node node, String path, String body, String key) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(node.herald.http(path)).header("Authorization", "Bearer " + key)
                .timeout(Duration.ofSeconds(30)).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> get(Node node, String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(node.herald.http(path)).timeout(Duration.ofSeconds(30)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** Which node owns a topic, from the owner address GET /api/topics/{topic} names. */
    private static int nodeOwning(List<Node> nodes, String address) {
        for (int i = 0; i < nodes.size(); i++) {
            if (address.endsWith(":" + nodes.get(i).clusterPort())) {
                return i;
            }
        }
        throw new AssertionError("no node at " + address);
    }
}
