package herald.http;

import herald.config.HeraldSettings;
import java.util.ArrayList;
import java.util.List;

/**
 * Every HTTP route Herald serves, as docs/openapi.yaml names it. {@link HeraldRoutes} serves these
 * and nothing else (one handler each, chosen by an exhaustive switch), and OpenApiTest holds this
 * list and the document equal, so a route cannot be added without its description.
 *
 * <p>A template's parameter is always its last segment; {@code {topic}} takes the rest of the path,
 * since topic names may contain {@code /}. In this order the routes are tried: the web files come last.
 */
enum Endpoint {
    WEB_SOCKET("GET", "/ws"),
    SSE("GET", "/api/sse"),
    PUBLISH("POST", "/api/publish"),
    TOPICS("GET", "/api/topics"),
    TOPIC("GET", "/api/topics/{topic}"),
    CONNECTIONS("GET", "/api/connections"),
    DISCONNECT("POST", "/api/disconnect"),
    UNSUBSCRIBE("POST", "/api/unsubscribe"),
    LIVE("GET", "/health/live"),
    READY("GET", "/health/ready"),
    METRICS("GET", "/metrics"),
    ASYNCAPI("GET", "/asyncapi.yaml"),
    OPENAPI("GET", "/openapi.yaml"),
    SCHEMA("GET", "/schemas/{file}"),
    DEMO_PAGE("GET", "/"),
    WEB_FILE("GET", "/{file}");

    final String method;
    private final String template;

    Endpoint(String method, String template) {
        this.method = method;
        this.template = template;
    }

    /** The path as these settings serve it: the WebSocket's is configurable. */
    String template(HeraldSettings settings) {
        return this == WEB_SOCKET ? settings.websocket().path() : template;
    }

    /** The routes these settings serve: the demo page and its files only while {@code herald.web} is on. */
    static List<Endpoint> served(HeraldSettings settings) {
        List<Endpoint> served = new ArrayList<>();
        for (Endpoint endpoint : values()) {
            if (settings.webEnabled() || (endpoint != DEMO_PAGE && endpoint != WEB_FILE)) {
                served.add(endpoint);
            }
        }
        return served;
    }
}
