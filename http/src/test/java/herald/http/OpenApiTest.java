package herald.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.typesafe.config.ConfigFactory;
import herald.config.HeraldConfig;
import herald.config.HeraldSettings;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * docs/openapi.yaml and the routes Herald serves are the same list, both ways: every route of
 * {@link Endpoint} is in the document, every operation of the document is an {@link Endpoint},
 * a real Herald answers each of them, and it answers nothing else (404 for other paths, 405 for
 * other methods). And Herald serves both API documents, and every schema they refer to, as
 * committed. (docs/check-api.mjs validates the documents themselves, in the same build.)
 */
class OpenApiTest {
    private static final Path DOCS = Path.of("../docs");
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static final List<String> METHODS = List.of("GET", "POST", "PUT", "DELETE", "PATCH");

    private static TestServer server;
    private static JsonNode openApi;

    @BeforeAll
    static void start() throws Exception {
        server = TestServer.start();
        openApi = YAML.readTree(DOCS.resolve("openapi.yaml").toFile());
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    @Test
    void everyServedRouteIsDocumentedAndEveryDocumentedRouteIsServed() {
        HeraldSettings defaults = HeraldSettings.fromConfig(HeraldConfig.load(ConfigFactory.empty()));
        Set<String> served = new TreeSet<>();
        for (Endpoint endpoint : Endpoint.served(defaults)) {
            served.add(endpoint.method + " " + endpoint.template(defaults));
        }
        assertEquals(Endpoint.values().length, served.size(), "with the default settings every endpoint is served, so all are compared");
        assertEquals(served, documentedOperations(), "the routes Herald serves (Endpoint) and docs/openapi.yaml differ");
    }

    @Test
    void heraldAnswersEveryDocumentedOperation() throws Exception {
        for (String operation : documentedOperations()) {
            String method = operation.substring(0, operation.indexOf(' '));
            String path = concrete(operation.substring(operation.indexOf(' ') + 1));
            HttpResponse<String> response = send(method, path);
            assertFalse(response.statusCode() == 404 || response.statusCode() == 405,
                    operation + " is documented but " + path + " answered " + response.statusCode() + ": " + response.body());
        }
    }

    @Test
    void heraldAnswersNothingElse() throws Exception {
        for (String path : List.of("/api", "/api/", "/api/nothing", "/api/topics/a/../../x", "/health", "/health/",
                "/schemas", "/schemas/", "/schemas/nothing.json", "/schemas/..%2Fopenapi.yaml", "/..%2Fpom.xml", "/nothing.js",
                "/herald/web/index.html", "/a/b", "/metrics/x", "/ws/x")) {
            int status = send("GET", path).statusCode();
            assertTrue(status == 404 || (path.startsWith("/api/topics/") && status == 400),
                    "GET " + path + " is not documented, but answered " + status);
        }
        for (Map.Entry<String, JsonNode> pathItem : paths()) {
            String template = pathItem.getKey();
            for (String method : METHODS) {
                if (!pathItem.getValue().has(method.toLowerCase())) {
                    int status = send(method, concrete(template)).statusCode();
                    assertEquals(405, status, method + " " + template + " is not documented, but answered " + status);
                }
            }
        }
    }

    @Test
    void heraldServesBothDocumentsAndEverySchemaTheyReferTo() throws Exception {
        for (String document : List.of("asyncapi.yaml", "openapi.yaml")) {
            HttpResponse<String> served = send("GET", "/" + document);
            assertEquals(200, served.statusCode());
            assertEquals("application/yaml", served.headers().firstValue("Content-Type").orElse("").split(";")[0]);
            assertEquals(Files.readString(DOCS.resolve(document)), served.body(), document + " is served as committed");

            Set<String> files = new TreeSet<>();
            collectSchemaFiles(YAML.readTree(served.body()), files);
            assertFalse(files.isEmpty(), document + " refers to the schemas");
            for (String file : files) {
                HttpResponse<String> schema = send("GET", "/" + file);
                assertEquals(200, schema.statusCode(), document + " refers to " + file + ", relative to where it is served");
                assertEquals("application/json", schema.headers().firstValue("Content-Type").orElse(""));
                assertEquals(Files.readString(DOCS.resolve(file)), schema.body());
            }
        }
    }

    private static Set<String> documentedOperations() {
        Set<String> operations = new TreeSet<>();
        for (Map.Entry<String, JsonNode> pathItem : paths()) {
            for (String method : METHODS) {
                if (pathItem.getValue().has(method.toLowerCase())) {
                    operations.add(method + " " + pathItem.getKey());
                }
            }
        }
        return operations;
    }

    /** The template with each path parameter replaced by the example the document gives for it. */
    private static String concrete(String template) {
        JsonNode operation = openApi.get("paths").get(template).elements().next();
        String path = template;
        for (JsonNode parameter : operation.path("parameters")) {
            if (parameter.path("in").asText().equals("path")) {
                JsonNode example = parameter.get("example");
                assertNotNull(example, "path parameter " + parameter.get("name") + " of " + template + " has an example");
                path = path.replace("{" + parameter.get("name").asText() + "}", example.asText());
            }
        }
        assertFalse(path.contains("{"), template + " documents each of its path parameters");
        return path;
    }

    private static void collectSchemaFiles(JsonNode node, Set<String> files) {
        JsonNode ref = node.get("$ref");
        if (ref != null && ref.isTextual() && ref.asText().startsWith("schemas/")) {
            files.add(ref.asText().split("#")[0]);
        }
        node.forEach(child -> collectSchemaFiles(child, files));
    }

    /** The document's paths: template and path item. */
    private static List<Map.Entry<String, JsonNode>> paths() {
        List<Map.Entry<String, JsonNode>> paths = new ArrayList<>();
        openApi.get("paths").fields().forEachRemaining(paths::add);
        return paths;
    }

    private static HttpResponse<String> send(String method, String path) throws Exception {
        HttpRequest.BodyPublisher body = method.equals("GET") || method.equals("DELETE")
                ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString("{}");
        return HTTP.send(HttpRequest.newBuilder(server.http(path)).timeout(Duration.ofSeconds(10))
                .header("Content-Type", "application/json").method(method, body).build(), HttpResponse.BodyHandlers.ofString());
    }
}
