package io.failoverkit.discovery.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/** HTTP/1.1 read off a raw socket, for tests that play one side of a connection by hand. */
public final class RawHttp {
    private RawHttp() {}

    /** A message's head (start line and header fields, up to and with the blank line), or null at end of stream before it. */
    public static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) >= 0) {
            head.write(c);
            if (head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) return head.toString(StandardCharsets.ISO_8859_1);
        }
        return null;
    }

    /** The body that follows {@code head}, by its Content-Length (none: empty). */
    public static String readBody(InputStream in, String head) throws IOException {
        int length = 0;
        for (String line : head.split("\r\n")) {
            if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) length = Integer.parseInt(line.substring(15).trim());
        }
        return new String(in.readNBytes(length), StandardCharsets.UTF_8);
    }
}
