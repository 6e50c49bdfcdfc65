package herald.protocol;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.ser.std.StdSerializer;
import java.io.IOException;

/**
 * Writes a String field that holds JSON text as that JSON value, not as a string. Used instead of
 * {@code @JsonRawValue} because the TypeScript generator maps a serializer class to a type: fields
 * written with this one become {@code unknown} (any JSON value) on the client.
 */
public final class RawJson extends StdSerializer<String> {

    public RawJson() {
        super(String.class);
    }

    @Override
    public void serialize(String json, JsonGenerator generator, SerializerProvider provider) throws IOException {
        generator.writeRawValue(json);
    }
}
