package herald.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class TopicPatternTest {

    @ParameterizedTest(name = "{0} matches {1}: {2}")
    @CsvSource({
            "chat:*, chat:42, true",
            "chat:*, chat:42:x, false",
            "chat:*, chat.42, false",
            "chat:*, chat:, false",
            "chat:*, chat, false",
            "sessions.*, sessions.state, true",
            "sessions.*, sessionsXstate, false",
            "team.42.**, team.42.a, true",
            "team.42.**, team.42.a.b:c/d, true",
            "team.42.**, team.42, false",
            "team.42.**, team.43.a, false",
            "team.42.**, team.42:a, false",
            "a/*/c, a/b/c, true",
            "a/*/c, a/b/d, false",
            "*.*, x.y, true",
            "*.*, x.y.z, false",
            "exact:name, exact:name, true",
            "exact:name, exact:nam, false",
            "exact:name, exact:names, false",
            "*, anything, true",
            "*, two.segments, false",
            "**, anything, true",
            "**, a.b:c/d, true",
    })
    void matchesBySegments(String pattern, String topic, boolean expected) {
        assertEquals(expected, TopicPattern.compile(pattern).matches(topic));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "***", "a**", "a.*b", "a..b", "a b", "a.**.b"})
    void refusesWhatIsNotAPattern(String pattern) {
        assertThrows(IllegalArgumentException.class, () -> TopicPattern.compile(pattern));
    }
}
