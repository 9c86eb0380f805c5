package io.failoverkit.discovery.state;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

/** The one JSON mapper: Consul's field names are spelled on the records; keys are matched case-insensitively, as Go's encoding/json does. */
public final class Json {
    public static final ObjectMapper MAPPER = JsonMapper.builder(com.fasterxml.jackson.core.JsonFactory.builder()
                    // HTTP requests run on virtual threads, one new thread per request: Jackson's default buffer pool is
                    // per thread, so every document written or read allocated fresh 8-16 KB buffers (a quarter of the
                    // leader's allocation and a tenth of its CPU under KV PUT load, JFR). One pool for every thread.
                    .recyclerPool(com.fasterxml.jackson.core.util.JsonRecyclerPools.newBoundedPool(256))
                    .build())
            .enable(MapperFeature.ACCEPT_CASE_INSENSITIVE_PROPERTIES)
            .disable(MapperFeature.AUTO_DETECT_IS_GETTERS)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
            .serializationInclusion(JsonInclude.Include.ALWAYS)
            .build();

    private Json() {}
}
