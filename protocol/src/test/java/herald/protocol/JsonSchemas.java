package herald.protocol;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.annotation.JsonSerialize;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.github.victools.jsonschema.generator.CustomPropertyDefinition;
import com.github.victools.jsonschema.generator.FieldScope;
import com.github.victools.jsonschema.generator.Option;
import com.github.victools.jsonschema.generator.OptionPreset;
import com.github.victools.jsonschema.generator.SchemaGenerationContext;
import com.github.victools.jsonschema.generator.SchemaGenerator;
import com.github.victools.jsonschema.generator.SchemaGeneratorConfigBuilder;
import com.github.victools.jsonschema.generator.SchemaVersion;
import com.github.victools.jsonschema.module.jackson.JacksonModule;
import com.github.victools.jsonschema.module.jackson.JacksonOption;
import java.lang.reflect.Type;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Writes the JSON Schemas of docs/schemas from the wire records, the way typescript-generator writes
 * the client's types: the records are the one description, and the schemas, the TypeScript types,
 * docs/asyncapi.yaml and docs/openapi.yaml follow from them.
 *
 * <p>The records carry what the schemas need: {@link Omissible} marks what may be absent (everything
 * else is required), {@link Nullable} what may be null, {@link RawJson} a value the sender chose
 * (any JSON), and Jackson's own annotations the {@code type} discriminator, the field order and the
 * change's fields that sit beside {@code type} in a publish frame.
 */
final class JsonSchemas {
    /** File name → the type it describes; the order the documents list them in. */
    static final Map<String, Type> FILES = files();

    private static Map<String, Type> files() {
        Map<String, Type> files = new LinkedHashMap<>();
        files.put("client-frame.json", ClientFrame.class);
        files.put("server-frame.json", ServerFrame.class);
        files.put("presence-member.json", PresenceMember.class);
        files.put("change.json", Change.class);
        files.put("change-batch.json", ChangeBatch.class);
        files.put("publish-results.json", ApiBody.PublishResults.class);
        files.put("topic-list.json", ApiBody.TopicList.class);
        files.put("topic-state.json", ApiBody.TopicState.class);
        files.put("operator-request.json", OperatorRequest.class);
        files.put("connections.json", ApiBody.Connections.class);
        files.put("affected.json", ApiBody.Affected.class);
        files.put("health.json", ApiBody.Health.class);
        files.put("error.json", ApiBody.Error.class);
        files.put("hook-connect.json", Hook.Connect.class);
        files.put("hook-subscribe.json", Hook.Subscribe.class);
        files.put("hook-publish.json", Hook.Publish.class);
        files.put("hook-answer.json", Hook.Answer.class);
        files.put("webhook.json", Hook.Webhook.class);
        return files;
    }

    private final SchemaGenerator generator;

    JsonSchemas() {
        SchemaGeneratorConfigBuilder config = new SchemaGeneratorConfigBuilder(SchemaVersion.DRAFT_2020_12, OptionPreset.PLAIN_JSON)
                .with(new JacksonModule(JacksonOption.RESPECT_JSONPROPERTY_ORDER,
                        JacksonOption.FLATTENED_ENUMS_FROM_JSONVALUE, JacksonOption.ALWAYS_REF_SUBTYPES,
                        JacksonOption.INLINE_TRANSFORMED_SUBTYPES))
                .with(Option.MAP_VALUES_AS_ADDITIONAL_PROPERTIES)
                .without(Option.SCHEMA_VERSION_INDICATOR);
        config.forFields()
                .withRequiredCheck(field -> field.getAnnotationConsideringFieldAndGetter(Omissible.class) == null)
                .withNullableCheck(field -> field.getRawMember().getAnnotatedType().isAnnotationPresent(Nullable.class))
                .withCustomDefinitionProvider(JsonSchemas::rawJson)
                .withStringMinLengthResolver(field -> field.getName().equals("idem") ? 1 : null)
                .withStringMaxLengthResolver(field -> field.getName().equals("idem") ? FrameCodec.MAX_IDEM_LENGTH : null)
                .withArrayMinItemsResolver(field -> isBatch(field) ? 1 : null)
                .withArrayMaxItemsResolver(field -> isBatch(field) ? FrameCodec.MAX_BATCH : null);
        generator = new SchemaGenerator(config.build());
    }

    /** The schema of one file, {@code $schema} first. */
    ObjectNode schema(String file) {
        ObjectNode generated = generator.generateSchema(FILES.get(file));
        ObjectNode schema = generated.objectNode();
        schema.put("$schema", SchemaVersion.DRAFT_2020_12.getIdentifier());
        schema.setAll(generated);
        return schema;
    }

    private static boolean isBatch(FieldScope field) {
        return field.getDeclaringType().getErasedType() == ChangeBatch.class;
    }

    /** A field written with {@link RawJson} holds whatever JSON value its sender chose: no constraint. */
    private static CustomPropertyDefinition rawJson(FieldScope field, SchemaGenerationContext context) {
        JsonSerialize serialize = field.getAnnotationConsideringFieldAndGetter(JsonSerialize.class);
        if (serialize == null || serialize.using() != RawJson.class) {
            return null;
        }
        ObjectNode any = context.getGeneratorConfig().createObjectNode();
        any.put("description", "any JSON value");
        return new CustomPropertyDefinition(any);
    }

    static String text(JsonNode schema) {
        return schema.toPrettyString() + "\n";
    }
}
