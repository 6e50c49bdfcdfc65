package herald.protocol;

import com.fasterxml.jackson.annotation.JacksonAnnotationsInside;
import com.fasterxml.jackson.annotation.JsonInclude;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * A field that may be absent from the JSON: Herald leaves it out when it is null. One annotation says
 * it to every reader of the records: Jackson omits the field, the TypeScript generator declares it
 * optional ({@code field?: T}) and the JSON Schemas leave it out of {@code required}, so no generated
 * description claims a field the wire does not always carry.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.FIELD, ElementType.METHOD, ElementType.PARAMETER})
@JacksonAnnotationsInside
@JsonInclude(JsonInclude.Include.NON_NULL)
public @interface Omissible {
}
