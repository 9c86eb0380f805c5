package io.failoverkit.discovery.config;

import java.util.Map;
import java.util.regex.Pattern;

/**
 * Node metadata as Consul takes it: {@code -node-meta key:value} (repeatable), at most 64 pairs, keys of letters,
 * digits, '-' and '_' up to 128 characters and not starting with the reserved "consul-", values up to 512 characters.
 */
public final class NodeMeta {
    public static final int MAX_PAIRS = 64;
    public static final int MAX_KEY_LENGTH = 128;
    public static final int MAX_VALUE_LENGTH = 512;
    public static final String RESERVED_PREFIX = "consul-";
    private static final Pattern KEY = Pattern.compile("[a-zA-Z0-9_-]+");

    private NodeMeta() {}

    /** One -node-meta flag: "key:value" (a bare "key" has an empty value, as Consul's). */
    public static Map.Entry<String, String> parseFlag(String flag) {
        int colon = flag.indexOf(':');
        String key = colon < 0 ? flag : flag.substring(0, colon);
        String value = colon < 0 ? "" : flag.substring(colon + 1);
        validatePair(key, value);
        return Map.entry(key, value);
    }

    public static void validate(Map<String, String> meta) {
        if (meta.size() > MAX_PAIRS) throw new IllegalArgumentException("Node metadata cannot contain more than " + MAX_PAIRS + " key/value pairs");
        meta.forEach(NodeMeta::validatePair);
    }

    static void validatePair(String key, String value) {
        String why = null;
        if (key.isEmpty()) why = "Key cannot be blank";
        else if (!KEY.matcher(key).matches()) why = "Key contains invalid characters (use letters, digits, '-' and '_')";
        else if (key.length() > MAX_KEY_LENGTH) why = "Key is too long (limit: " + MAX_KEY_LENGTH + " characters)";
        else if (key.startsWith(RESERVED_PREFIX)) why = "Key prefix '" + RESERVED_PREFIX + "' is reserved for internal use";
        else if (value.length() > MAX_VALUE_LENGTH) why = "Value is too long (limit: " + MAX_VALUE_LENGTH + " characters)";
        if (why != null) throw new IllegalArgumentException("-node-meta: Couldn't load metadata pair ('" + key + "', '" + abbreviate(value) + "'): " + why);
    }

    private static String abbreviate(String v) { return v.length() > 40 ? v.substring(0, 40) + "..." : v; }
}
