package herald.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Tens of thousands of random and mutated frames over real connections: the server never answers
 * {@code internal}, never closes a healthy neighbour, and stays healthy. The seed is fixed so a
 * failure can be replayed.
 */
@ExtendWith(LogCapturingExtension.class)
class FuzzTest {
    private static final long SEED = 20261126L;
    private static final int CONNECTIONS = 4;
    private static final int FRAMES_PER_CONNECTION = 10_000;
    private static final String[] SEEDS = {
        "{\"type\":\"ping\",\"id\":\"p\"}",
        "{\"type\":\"subscribe\",\"id\":\"s\",\"topics\":[\"fuzz:a\",\"fuzz:b\"]}",
        "{\"type\":\"unsubscribe\",\"id\":\"u\",\"topics\":[\"fuzz:a\"]}",
        "{\"type\":\"publish\",\"id\":\"x\",\"topic\":\"fuzz:a\",\"op\":\"set\",\"key\":\"k\",\"data\":{\"n\":1,\"s\":\"v\"}}",
        "{\"type\":\"publish\",\"topic\":\"fuzz:b\",\"op\":\"append\",\"event\":\"e\",\"data\":[1,2,3]}",
        "{\"type\":\"publish\",\"topic\":\"fuzz:a\",\"op\":\"delete\",\"key\":\"k\"}",
        "{\"type\":\"publish\",\"topic\":\"fuzz:b\",\"op\":\"clear\"}",
        "{\"type\":\"auth\",\"id\":\"a\",\"token\":\"t\"}",
    };
    private static final String[] NASTY = {
        "1e999999999", "-0", "123456789012345678901234567890123456789012345678901234567890", "null", "true", "[]",
        "{}", "\"\\u0000\"", "\"\\ud800\"", "\"" + "\u0007\u001b\u0001" + "\"", "\"a b\"", "\"" + "t".repeat(300) + "\"",
        "[".repeat(400) + "]".repeat(400), "{\"a\":".repeat(300) + "1" + "}".repeat(300), "NaN", "0x10", "'q'", "\"\\x41\"",
    };

    @Test
    void randomAndMutatedFramesNeverBreakTheServerOrAHealthyNeighbour() throws Exception {
        try (TestServer server = TestServer.start("""
                herald.rate-limit { frames-per-second = 1000000, burst = 1000000 }
                herald.websocket.outbound-buffer.frames = 100000
                herald.websocket.outbound-buffer.bytes = 64 MiB
                """)) {
            WsClient neighbour = WsClient.connectWelcomed(server.ws());
            neighbour.send("{\"type\":\"subscribe\",\"topics\":[\"watch:1\"]}");
            neighbour.next();

            List<CompletableFuture<List<JsonNode>>> fuzzers = new ArrayList<>();
            for (int c = 0; c < CONNECTIONS; c++) {
                long seed = SEED + c;
                fuzzers.add(CompletableFuture.supplyAsync(() -> fuzz(server, seed)));
            }
            for (int i = 1; i <= 200; i++) {
                server.publish("{\"topic\":\"watch:1\",\"op\":\"append\",\"data\":" + i + "}");
            }
            for (long seq = 1; seq <= 200; seq++) {
                assertEquals(seq, neighbour.next().path("seq").asLong(), "the neighbour gets every event in order");
            }
            int replies = 0;
            for (CompletableFuture<List<JsonNode>> fuzzer : fuzzers) {
                for (JsonNode reply : fuzzer.get(5, TimeUnit.MINUTES)) {
                    replies++;
                    assertFalse(reply.path("code").asText().equals("internal"), "never internal: " + reply);
                    assertFalse(reply.path("type").asText().equals("unexpected binary"));
                }
            }
            assertTrue(replies >= CONNECTIONS * FRAMES_PER_CONNECTION, "every frame was answered: " + replies);

            assertEquals(1007, rawClose(server.herald.port(), (byte) 0x81, new byte[] {'{', (byte) 0xC3, (byte) 0x28, '}'}),
                    "invalid UTF-8 in a text frame");
            assertEquals(1002, rawClose(server.herald.port(), (byte) 0x83, new byte[] {1}), "a reserved opcode");

            assertFalse(neighbour.isClosed(), "the neighbour was never closed");
            neighbour.send("{\"type\":\"ping\",\"id\":\"after\"}");
            assertEquals("after", neighbour.next().path("id").asText());
            assertEquals(201, server.publish("{\"topic\":\"watch:1\",\"op\":\"append\",\"data\":0}"));
            assertEquals(201, neighbour.next().path("seq").asLong());
            neighbour.close();
        }
    }

    /** One connection's fuzz run: every reply it got, ended by the pong to a last ping. */
    private static List<JsonNode> fuzz(TestServer server, long seed) {
        Random random = new Random(seed);
        try (WsClient client = WsClient.connectWelcomed(server.ws())) {
            for (int i = 0; i < FRAMES_PER_CONNECTION; i++) {
                client.send(frame(random));
            }
            client.send("{\"type\":\"ping\",\"id\":\"fuzz-done\"}");
            List<JsonNode> replies = new ArrayList<>();
            client.nextMatching(r -> r.path("id").asText().equals("fuzz-done") && r.path("type").asText().equals("pong"),
                    replies);
            assertFalse(client.isClosed(), "a fuzzing connection is answered, not closed");
            return replies;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static String frame(Random random) {
        String seed = SEEDS[random.nextInt(SEEDS.length)];
        return switch (random.nextInt(7)) {
            case 0 -> seed.substring(0, random.nextInt(seed.length()));
            case 1 -> flip(seed, random);
            case 2 -> insert(seed, random, NASTY[random.nextInt(NASTY.length)]);
            case 3 -> replaceValue(seed, random);
            case 4 -> randomText(random);
            case 5 -> NASTY[random.nextInt(NASTY.length)];
            default -> seed;
        };
    }

    private static String flip(String s, Random random) {
        char[] chars = s.toCharArray();
        for (int n = 1 + random.nextInt(4); n > 0; n--) {
            chars[random.nextInt(chars.length)] = (char) random.nextInt(0x3000);
        }
        return new String(chars);
    }

    private static String insert(String s, Random random, String what) {
        int at = random.nextInt(s.length() + 1);
        return s.substring(0, at) + what + s.substring(at);
    }

    /** Swaps one value (after a colon) for a nasty one, keeping the frame otherwise well formed. */
    private static String replaceValue(String s, Random random) {
        int colon = s.indexOf(':', random.nextInt(s.length()));
        if (colon < 0) {
            return s;
        }
        int end = colon + 1;
        while (end < s.length() && s.charAt(end) != ',' && s.charAt(end) != '}') {
            end++;
        }
        return s.substring(0, colon + 1) + NASTY[random.nextInt(NASTY.length)] + s.substring(end);
    }

    private static String randomText(Random random) {
        StringBuilder text = new StringBuilder();
        for (int n = random.nextInt(200); n > 0; n--) {
            text.append((char) random.nextInt(0x80));
        }
        return text.toString();
    }

    /** Upgrades a raw socket, sends one masked frame and returns the close code the server answers with. */
    private static int rawClose(int port, byte firstByte, byte[] payload) throws Exception {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            out.write(("GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            InputStream in = socket.getInputStream();
            skipHttpHead(in);
            byte[] mask = {1, 2, 3, 4};
            out.write(new byte[] {firstByte, (byte) (0x80 | payload.length)});
            out.write(mask);
            for (int i = 0; i < payload.length; i++) {
                out.write(payload[i] ^ mask[i % 4]);
            }
            out.flush();
            while (true) {
                int opcode = in.read() & 0x0F;
                int length = in.read() & 0x7F;
                if (length == 126) {
                    length = (in.read() << 8) | in.read();
                }
                byte[] body = in.readNBytes(length);
                if (opcode == 0x8) {
                    return ((body[0] & 0xFF) << 8) | (body[1] & 0xFF);
                }
            }
        }
    }

    private static void skipHttpHead(InputStream in) throws Exception {
        int matched = 0;
        while (matched < 4) {
            int b = in.read();
            matched = (b == (matched % 2 == 0 ? '\r' : '\n')) ? matched + 1 : (b == '\r' ? 1 : 0);
        }
    }
}
