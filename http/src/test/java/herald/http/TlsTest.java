package herald.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.FileInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** https:// and wss:// from a PKCS12 keystore with a self-signed certificate made at test time. */
@ExtendWith(LogCapturingExtension.class)
class TlsTest {
    private static final String PASSWORD = "test-password";

    @Test
    void servesHttpsAndWssFromAPkcs12Keystore() throws Exception {
        Path dir = Files.createTempDirectory("herald-tls");
        Path keystore = dir.resolve("herald.p12");
        String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
        Process process = new ProcessBuilder(keytool, "-genkeypair", "-alias", "herald", "-keyalg", "EC",
                "-groupname", "secp256r1", "-dname", "CN=localhost", "-ext", "SAN=ip:127.0.0.1,dns:localhost",
                "-validity", "2", "-storetype", "PKCS12", "-keystore", keystore.toString(),
                "-storepass", PASSWORD, "-keypass", PASSWORD).redirectErrorStream(true).start();
        assertTrue(process.waitFor(60, TimeUnit.SECONDS) && process.exitValue() == 0,
                new String(process.getInputStream().readAllBytes()));

        try (TestServer server = TestServer.start("""
                herald.tls.enabled = on
                herald.tls.keystore = "%s"
                herald.tls.keystore-password = "%s"
                """.formatted(keystore, PASSWORD))) {
            HttpClient client = HttpClient.newBuilder().sslContext(trusting(keystore)).build();
            int port = server.herald.port();
            HttpResponse<String> ready = client.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + port + "/health/ready"))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, ready.statusCode());

            var welcome = new java.util.concurrent.CompletableFuture<String>();
            WebSocket socket = client.newWebSocketBuilder().buildAsync(URI.create("wss://127.0.0.1:" + port + "/ws"),
                    new WebSocket.Listener() {
                        @Override
                        public java.util.concurrent.CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
                            welcome.complete(data.toString());
                            return null;
                        }
                    }).get(10, TimeUnit.SECONDS);
            assertEquals("welcome", Json.parse(welcome.get(10, TimeUnit.SECONDS)).path("type").asText());
            socket.abort();
        }
    }

    /** A client context that trusts exactly the test's self-signed certificate. */
    private static SSLContext trusting(Path keystore) throws Exception {
        KeyStore store = KeyStore.getInstance("PKCS12");
        try (FileInputStream in = new FileInputStream(keystore.toFile())) {
            store.load(in, PASSWORD.toCharArray());
        }
        TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trust.init(store);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, trust.getTrustManagers(), null);
        return context;
    }
}
