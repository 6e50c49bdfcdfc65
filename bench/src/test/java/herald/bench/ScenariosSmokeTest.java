package herald.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import herald.config.HeraldConfig;
import herald.http.Herald;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Every scenario at a tiny size against a real Herald, so the load generator cannot rot. The
 * figures are not judged here (benchmarks are not timed tests); only that each scenario runs
 * and reports what it should.
 */
class ScenariosSmokeTest {
    private static Herald herald;

    @BeforeAll
    static void start() throws Exception {
        herald = Herald.start(HeraldConfig.load(ConfigFactory.parseString(
                "herald.server.port = 0\nherald.websocket.outbound-buffer.bytes = 64 KiB\nherald.presence.topics = [\"room:*\"]")));
    }

    @AfterAll
    static void stop() throws Exception {
        herald.close();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "fanout  | --clients 50 --rate 20 --step 1 --max-steps 2",
            "latency | --clients 50 --rate 20 --duration 1",
            "idle    | --clients 50 --hold 1",
            "slow    | --clients 50 --stalled 2 --rate 50 --duration 1 --stall 3 --size 16384",
            "storm   | --clients 50 --topics 3",
            "fanout  | --clients 50 --rate 20 --step 1 --max-steps 2 --batch on",
            "memory  | --low 10 --clients 50 --top 5",
            "resume  | --clients 50 --entries 200 --changed 0.05",
            "durable | --prefix memory: --topics 5 --in-flight 4 --duration 1 --rate 50",
            "presence | --clients 50 --rate 20 --churn 20 --duration 1",
    })
    void scenarioRunsAndReports(String scenario, String flags) throws Exception {
        // The memory scenario reads the class histogram of the server's JVM: here, this one.
        String pid = scenario.equals("memory") ? " --server-pid " + ProcessHandle.current().pid() : "";
        String[] args = (scenario + " --url ws://127.0.0.1:" + herald.port() + "/ws " + flags + pid).split("\\s+");
        JsonNode result = Main.run(new Options(args));
        assertEquals(scenario, result.path("scenario").asText());
        assertEquals(scenario.equals("durable") ? 0 : 50, result.path("clients").asInt(), result.toString());
        assertEquals(0, result.path("seqGaps").asInt(), result.toString());
        switch (scenario) {
            case "fanout" -> assertTrue(result.path("steps").size() >= 1
                    && result.path("steps").get(0).path("deliveryRatio").asDouble() > 0.9, result.toString());
            case "latency" -> assertTrue(result.path("result").path("p99Ms").asDouble() > 0, result.toString());
            case "idle" -> assertEquals(1.0, result.path("probeDeliveryRatio").asDouble(), result.toString());
            case "slow" -> assertTrue(result.path("withStalled").path("deliveryRatio").asDouble() > 0.9, result.toString());
            case "memory" -> assertTrue(result.path("heapPerConnectionBytes").asLong() > 0
                    && result.path("topClasses").size() == 5, result.toString());
            case "durable" -> assertTrue(result.path("oneTopic").path("acknowledged").asLong() > 0
                    && result.path("paced50").path("failed").asLong() == 0, result.toString());
            case "presence" -> assertTrue(result.path("churning").path("deliveryRatio").asDouble() > 0.9
                    && result.path("presenceChanges").asLong() > 0, result.toString());
            case "resume" -> {
                assertEquals(0, result.path("full").path("deltaSnapshots").asInt(), result.toString());
                assertEquals(50, result.path("resume").path("deltaSnapshots").asInt(), result.toString());
                assertTrue(result.path("bytesRatio").asDouble() < 0.2, result.toString());
            }
            default -> assertEquals(150, result.path("freshSnapshots").asInt(), result.toString());
        }
    }
}
