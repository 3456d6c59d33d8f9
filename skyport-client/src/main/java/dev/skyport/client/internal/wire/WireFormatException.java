package dev.skyport.client.internal.wire;

import dev.skyport.api.InvalidJobSpecException;

/**
 * A JSON document that does not have the shape {@code /api/v1} expects: malformed JSON or a member of the wrong type
 * ({@code invalid_json}), or a member the shape does not have ({@code unknown_field}). It is an
 * {@link InvalidJobSpecException} because that is what a Java caller of the client sees for it; {@link #code()}
 * keeps the wire's error code apart from {@code invalid_spec}.
 */
public final class WireFormatException extends InvalidJobSpecException {
    /** Malformed JSON, or a member of the wrong type or out of range for its type. */
    public static final String INVALID_JSON = "invalid_json";
    /** A member the shape does not have, or one only responses carry. */
    public static final String UNKNOWN_FIELD = "unknown_field";

    private final String code;

    public WireFormatException(String code, String field, String reason) {
        super(field, reason);
        this.code = code;
    }

    /** {@link #INVALID_JSON} or {@link #UNKNOWN_FIELD}. */
    public String code() {
        return code;
    }
}
