package herald.protocol;

import java.util.List;

/**
 * The batch form of a POST /api/publish body (PROTOCOL.md section 8): {@code {"changes":[...]}}, at
 * most {@link FrameCodec#MAX_BATCH} changes, validated whole before any is applied.
 */
public record ChangeBatch(List<Change> changes) {
}
