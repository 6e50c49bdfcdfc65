package herald.protocol;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * A frame field that is always written but may be JSON {@code null}; the TypeScript generator
 * declares it as {@code T | null}. Fields left out when null are {@link Omissible} instead.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.TYPE_USE)
public @interface Nullable {
}
