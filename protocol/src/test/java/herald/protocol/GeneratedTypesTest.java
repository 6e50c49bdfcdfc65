package herald.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The TypeScript client's protocol types are generated from these records during the build
 * (typescript-generator, see protocol/pom.xml) and committed in client-js. This fails the build when
 * the committed file is not what the records generate, so the two sides cannot drift apart.
 */
class GeneratedTypesTest {
    private static final Path GENERATED = Path.of("target/typescript/protocol.ts");
    private static final Path COMMITTED = Path.of("../client-js/src/protocol.ts");

    @Test
    void committedClientTypesMatchTheRecords() throws Exception {
        assertTrue(Files.exists(GENERATED), "the build did not generate " + GENERATED.toAbsolutePath());
        assertEquals(Files.readString(GENERATED), Files.exists(COMMITTED) ? Files.readString(COMMITTED) : "",
                "client-js/src/protocol.ts is out of date with the protocol records; run "
                        + "`mvn -pl protocol process-classes && cp protocol/target/typescript/protocol.ts client-js/src/`"
                        + " and commit the result");
    }
}
